"""A user's conda environment.yml as input: its name, channels, conda specs, and the requirements and index
options of its `pip:` section. Every key has the type conda gives it, or the file is refused naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from envgen.errors import BadInput
from envgen.fileio import parse_yaml, read_text

_EXAMPLE = {"channels": "conda-forge", "dependencies": "python=3.11", "platforms": "linux-64"}
_FORMAT = "see conda's environment.yml format: `name:` text, `channels:`/`dependencies:`/`platforms:` lists"


class EnvFile(TypedDict):
    """What envgen reads of an environment.yml: `conda` and `pip` are the specs as written."""

    name: Any  # as written (conda itself only needs it to be a scalar)
    channels: list[str]
    conda: list[str]
    pip: list[str]
    platforms: list[str]
    index_url: str | None
    extra_index_urls: list[str]
    find_links: list[str]


def read_environment_yml(path: Path) -> EnvFile:
    """name, channels, conda specs, pip requirements and pip options of a user's environment.yml."""
    return parse_environment_yml(read_text(path, hint="check the path given to --from"), str(path))


def parse_environment_yml(text: str, path: Path | str) -> EnvFile:
    """`read_environment_yml` of text already read (a file pasted into a report); `path` names it in messages."""
    data = parse_yaml(text, str(path), hint="fix the file; `conda env export` writes this format")
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise BadInput(f"{path}: expected a mapping with a `dependencies:` list",
                       hint="see conda's environment.yml format")
    name = data.get("name")
    if name is not None and (isinstance(name, bool) or not isinstance(name, (str, int, float))):
        raise BadInput(f"{path}: name: expected text, got {_kind(name)}", hint=_FORMAT)
    conda: list[str] = []
    pip: list[str] = []
    options: dict[str, Any] = {"index_url": None, "extra_index_urls": [], "find_links": []}
    for i, dep in enumerate(_strings(data, "dependencies", path, allow=frozenset({"pip"}))):
        if isinstance(dep, str):
            conda.append(dep.strip())
            continue
        lines = dep["pip"]
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise BadInput(f"{path}: dependencies[{i}].pip: expected a list of requirement lines",
                           hint="e.g. pip: [\"numpy<2\", \"--index-url https://download.pytorch.org/whl/cu121\"]")
        for line in lines:
            _pip_line(line.strip(), pip, options)
    channels = [c.strip() for c in _strings(data, "channels", path)]
    platforms = [p.strip() for p in _strings(data, "platforms", path)]
    return EnvFile(name=name, channels=channels, conda=conda, pip=pip, platforms=platforms,
                   index_url=options["index_url"], extra_index_urls=options["extra_index_urls"],
                   find_links=options["find_links"])


def _strings(data: dict[Any, Any], key: str, path: Path | str, allow: frozenset[str] = frozenset()) -> list[Any]:
    """The list under `key` (absent or empty: []); each entry text, or a one-key mapping named in `allow`."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{path}: {key}: expected a list, got {_kind(value)}",
                       hint=f"write a list, one `- entry` line per item (e.g. `{key}: [{_EXAMPLE[key]}]`)")
    for i, item in enumerate(value):
        if isinstance(item, str):
            continue
        if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in allow:
            continue
        wanted = "text (a spec) or a `pip:` list" if allow else "text"
        raise BadInput(f"{path}: {key}[{i}]: expected {wanted}, got {_kind(item)}",
                       hint="quote the entry" if not isinstance(item, (dict, list)) else _FORMAT)
    return list(value)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def _pip_line(line: str, pip: list[str], options: dict[str, Any]) -> None:
    for flag, key in (("--index-url", "index_url"), ("-i", "index_url"), ("--extra-index-url", "extra_index_urls"),
                      ("--find-links", "find_links"), ("-f", "find_links")):
        if line.startswith((flag + " ", flag + "=")):
            value = line[len(flag) + 1:].strip()
            if key == "index_url":
                options[key] = value
            else:
                options[key].append(value)
            return
    if line and not line.startswith("#"):
        pip.append(line)
