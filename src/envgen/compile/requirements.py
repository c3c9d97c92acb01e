"""A pip requirements file (`requirements*.txt`, `*.in`) as input: its requirements and index options.

Read as pip reads it (pip's `req_file.py`): a line ending in `\\` continues on the next; `#` starts a comment
at the start of a line or after whitespace (so `pkg @ https://host/x.whl#sha256=...` keeps its fragment);
`-r`/`--requirement` includes another file, relative to the including file; `-i`/`--index-url` (the last one
wins), `--extra-index-url` and `-f`/`--find-links` (a relative path is taken from the file's folder when it
exists there) are collected; `-e`/`--editable` lines are kept as written, like the `pip:` lines of an
environment.yml; environment markers stay on their requirement; a requirement's `--hash` options are dropped
(the lock computes its own). Refused with a hint: `-c` constraints files (envgen has no place for them yet),
includes by URL, include cycles, includes nested deeper than `MAX_DEPTH` or more than `MAX_FILES` files, any
other pip option, and lines that are neither a requirement nor a path or URL. `${VAR}` is left as written
(pip would expand it from the environment; envgen never copies variables, often secrets, into a lock).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from envgen.compile.envfile import EnvFile
from envgen.errors import BadInput
from envgen.fileio import read_text

MAX_DEPTH = 10  # -r nesting
MAX_FILES = 100  # files read through -r, in all
_COMMENT = re.compile(r"(^|\s+)#.*$")
_SUPPORTED = "-r, -i/--index-url, --extra-index-url, -f/--find-links, -e/--editable"
_FLAGS = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint",
          "-i": "index_url", "--index-url": "index_url", "--extra-index-url": "extra_index_urls",
          "-f": "find_links", "--find-links": "find_links", "-e": "editable", "--editable": "editable"}


def read_requirements(path: Path) -> EnvFile:
    """The requirements and index options of a pip requirements file and the files it includes."""
    env = EnvFile(name=None, channels=[], conda=[], pip=[], platforms=[], index_url=None, extra_index_urls=[],
                  find_links=[])
    _read(path, env, (), [0])
    return env


def _read(path: Path, env: EnvFile, chain: tuple[Path, ...], count: list[int]) -> None:
    where = " -> ".join(str(p) for p in (*chain, path))
    resolved = path.resolve()
    if resolved in {p.resolve() for p in chain}:
        raise BadInput(f"include cycle: {where}", hint="remove the `-r` line that includes a file already being read")
    if len(chain) > MAX_DEPTH:
        raise BadInput(f"includes nested deeper than {MAX_DEPTH} levels: {where}", hint="flatten the `-r` chain")
    count[0] += 1
    if count[0] > MAX_FILES:
        raise BadInput(f"more than {MAX_FILES} requirements files through `-r` (at {path})",
                       hint="a requirements file that includes this many files is not one envgen can lock")
    text = read_text(path, hint="check the path given to --from or in the `-r` line")
    for number, line in _logical_lines(text):
        at = f"{path}:{number}"
        if line.startswith("-"):
            _option(line, at, path, env, (*chain, path), count)
        else:
            env["pip"].append(_requirement(line, at))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each non-empty line, continuations joined and comments removed."""
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        if raw.endswith("\\") and not _COMMENT.match(raw.strip()):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        line = _COMMENT.sub("", "".join(parts)).strip()
        parts = []
        if line:
            out.append((start, line))
    if parts:
        line = _COMMENT.sub("", "".join(parts)).strip()
        if line:
            out.append((start, line))
    return out


def _tokens(line: str, at: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"{at}: cannot split the line ({exc})", hint="close the quote") from None


def _option(line: str, at: str, path: Path, env: EnvFile, chain: tuple[Path, ...], count: list[int]) -> None:
    tokens = _tokens(line, at)
    flag, value = _flag_value(tokens, at)
    key = _FLAGS[flag]
    if key == "constraint":
        raise BadInput(f"{at}: `{flag} {value}`: constraints files are not supported",
                       hint="move the pins you need into the requirements file itself, or drop the line")
    if key == "requirement":
        if "://" in value:
            raise BadInput(f"{at}: `-r {value}`: including a file by URL is not supported",
                           hint="download the file and include it by path")
        _read(path.parent / value, env, chain, count)
    elif key == "editable":
        env["pip"].append(f"-e {value}")
    elif key == "index_url":
        env["index_url"] = value
    elif key == "extra_index_urls":
        env["extra_index_urls"].append(value)
    else:
        local = path.parent / value
        env["find_links"].append(str(local) if "://" not in value and local.exists() else value)


def _flag_value(tokens: list[str], at: str) -> tuple[str, str]:
    """The one option of a line and its value (`-r x`, `-rx`, `--requirement=x`)."""
    first = tokens[0]
    flag, _, value = first.partition("=")
    if flag not in _FLAGS and len(first) > 2 and first[:2] in _FLAGS:
        flag, value = first[:2], first[2:]
    if flag not in _FLAGS:
        raise BadInput(f"{at}: pip option {flag} is not supported", hint=f"envgen reads {_SUPPORTED}; remove the line")
    rest = tokens[1:]
    if not value and rest:
        value, rest = rest[0], rest[1:]
    if not value or rest:
        raise BadInput(f"{at}: expected `{flag} VALUE` alone on its line", hint="write one option per line")
    return flag, value


def _requirement(line: str, at: str) -> str:
    """A requirement as written (its `--hash` options dropped); anything else is refused."""
    tokens = _tokens(line, at)
    cut = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    extra = [t for t in tokens[cut:] if not t.startswith("--hash")]
    if extra:
        raise BadInput(f"{at}: option {extra[0]} after a requirement is not supported",
                       hint="pip takes only --hash there; put index options on lines of their own")
    spec = line if cut == len(tokens) else line[: line.index(tokens[cut])].strip()
    if spec.startswith((".", "/", "~")) or "://" in spec.split(";")[0] or spec.endswith((".whl", ".tar.gz", ".zip")):
        return spec  # a path or URL, passed on as written
    try:
        Requirement(spec)
    except InvalidRequirement as exc:
        raise BadInput(f"{at}: not a requirement: {spec!r} ({exc})",
                       hint="write one requirement per line (`name[extras] specifier ; marker`)") from None
    return spec
