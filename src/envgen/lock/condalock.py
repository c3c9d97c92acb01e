"""conda-lock.yml, format version 1: written by envgen, read by conda-lock, and read back here.

The writer renders YAML by hand so that the bytes are stable (sorted packages, fixed key order, no timestamps);
conda-lock's own parser reads it (a test checks). The reader validates every entry and says where a hand-edited
file went wrong.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from envgen.errors import BadInput
from envgen.lock.records import MD5, SHA256, LockedConda, LockedWheel

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/+]*$")
_NUMERIC = re.compile(r"[0-9]+(?:[eE][0-9]+)?|0b[01]+")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CondaLock:
    """What a conda-lock.yml holds, as envgen needs it."""

    platforms: tuple[str, ...]
    content_hash: dict[str, str]
    channels: tuple[str, ...]
    conda: dict[str, tuple[LockedConda, ...]]
    pip: dict[str, tuple[LockedWheel, ...]]


def _s(value: str) -> str:
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    import json

    return json.dumps(text)


def split_dep(dep: str) -> tuple[str, str]:
    """`blas * mkl` -> ('blas', '* mkl'); `python >=3.9` -> ('python', '>=3.9'); `numpy` -> ('numpy', '*')."""
    dep = dep.strip()
    m = re.match(r"^([^\s<>=!~\[]+)\s*(.*)$", dep)
    if not m:
        return dep, "*"
    return m.group(1), (m.group(2).strip() or "*")


def render(header: str, platforms: tuple[str, ...], channels: tuple[str, ...], content_hash: dict[str, str],
           sources: tuple[str, ...], conda: dict[str, tuple[LockedConda, ...]],
           pip: dict[str, tuple[LockedWheel, ...]]) -> str:
    lines = [header.rstrip("\n"), "version: 1", "metadata:", "  content_hash:"]
    lines += [f"    {_s(p)}: {_hex(content_hash[p])}" for p in platforms]
    lines += ["  channels:"]
    for url in channels:
        lines += [f"  - url: {_s(url)}", "    used_env_vars: []"]
    lines += ["  platforms:"] + [f"  - {_s(p)}" for p in platforms]
    lines += ["  sources:"] + [f"  - {_s(s)}" for s in sources]
    lines += ["package:"]
    for plat in platforms:
        for p in sorted(conda.get(plat, ()), key=lambda x: x.name):
            lines += _conda_entry(p, plat)
        for w in sorted(pip.get(plat, ()), key=lambda x: x.name):
            lines += _pip_entry(w)
    return "\n".join(lines) + "\n"


def _conda_entry(p: LockedConda, plat: str) -> list[str]:
    out = [f"- name: {_s(p.name)}", f"  version: {_s(p.version)}", "  manager: conda", f"  platform: {_s(plat)}"]
    deps = dict(split_dep(d) for d in p.depends if not d.startswith("__"))
    if deps:
        out.append("  dependencies:")
        out += [f"    {_s(k)}: {_s(v)}" for k, v in sorted(deps.items())]
    else:
        out.append("  dependencies: {}")
    out += [f"  url: {_s(p.url)}", "  hash:", f"    md5: {_hex(p.md5)}"]
    if p.sha256:
        out.append(f"    sha256: {_hex(p.sha256)}")
    out += [f"  build: {_s(p.build)}", "  category: main", "  optional: false"]
    return out


def _hex(digest: str) -> str:
    """A hex digest, bare, unless YAML would read it as a number (all digits, 1e5, 0b101)."""
    return f'"{digest}"' if _NUMERIC.fullmatch(digest) else digest


def _pip_entry(w: LockedWheel) -> list[str]:
    return [f"- name: {_s(w.name)}", f"  version: {_s(w.version)}", "  manager: pip", f"  platform: {_s(w.platform)}",
            "  dependencies: {}", f"  url: {_s(w.url)}", "  hash:", f"    sha256: {_hex(w.sha256)}",
            "  category: main", "  optional: false"]


# -- reading ------------------------------------------------------------------------------------------------

def parse(path: Path) -> CondaLock:
    """Read and check a conda-lock.yml; BadInput says which entry is wrong."""
    from envgen.fileio import read_text

    return parse_text(read_text(path, hint="check the lockfile path"), str(path))


@functools.lru_cache(maxsize=16)  # pure; a folder is checked, then one of its files loaded
def parse_text(text: str, where_file: str) -> CondaLock:
    """A conda-lock.yml's text, checked. A file exactly as `render` writes it (the usual case: envgen's own lock) is
    read line by line and accepted only when rendering what was read gives back the same bytes, so it means what
    a YAML reader would make of it; anything else (hand-edited, written by conda-lock) goes through the YAML
    reader. A 4-platform torch lock of 1,700 packages: about 2.4 s through ruamel.yaml's pure-Python reader,
    under 0.1 s line by line."""
    quick = _read_own(text, where_file)
    if quick is not None:
        return quick
    from envgen.fileio import parse_yaml

    data = parse_yaml(text, where_file,
                      hint="the file was damaged or edited by hand; re-create it with `envgen lock`")
    return _from_data(data, where_file)


def _from_data(data: object, path: str) -> CondaLock:
    meta = _need(data, dict, path, "the file")
    if meta.get("version") != 1:
        raise BadInput(f"{path}: unsupported conda-lock format version {meta.get('version')!r}",
                       hint="envgen reads version 1 (`conda-lock lock --kind lock` writes it)")
    md = _need(meta.get("metadata"), dict, path, "metadata")
    platforms = tuple(_text(p, path, "metadata.platforms[]")
                      for p in _need(md.get("platforms"), list, path, "metadata.platforms"))
    channels = tuple(_text(c.get("url") if isinstance(c, dict) else c, path, "metadata.channels[]")
                     for c in _need(md.get("channels") or [], list, path, "metadata.channels"))
    conda: dict[str, list[LockedConda]] = {p: [] for p in platforms}
    pip: dict[str, list[LockedWheel]] = {p: [] for p in platforms}
    for i, item in enumerate(_need(meta.get("package"), list, path, "package")):
        where = f"package[{i}]"
        entry = _need(item, dict, path, where)
        missing = [k for k in ("name", "version", "manager", "platform", "url", "hash") if k not in entry]
        if missing:
            raise BadInput(f"{path}: {where} lacks {', '.join(missing)}",
                           hint="the file was edited by hand; re-create it with `envgen lock`")
        name = _text(entry["name"], path, f"{where}.name")
        where = f"{where} ({name})"
        plat = _text(entry["platform"], path, f"{where}.platform")
        if plat not in conda:
            raise BadInput(f"{path}: {where} is for platform {plat!r}, not in metadata.platforms",
                           hint="re-create the lock with `envgen lock`")
        manager = entry["manager"]
        if manager == "conda":
            conda[plat].append(_conda_from(entry, name, path, where))
        elif manager == "pip":
            pip[plat].append(_pip_from(entry, name, plat, path, where))
        else:
            raise BadInput(f"{path}: {where} has manager {manager!r}; a conda-lock file knows only conda and pip",
                           hint="the file was edited by hand; re-create it with `envgen lock`")
    content = {str(k): str(v) for k, v in _need(md.get("content_hash") or {}, dict, path,
                                                "metadata.content_hash").items()}
    return CondaLock(platforms, content, channels, {k: tuple(v) for k, v in conda.items()},
                     {k: tuple(v) for k, v in pip.items()})


# -- envgen's own files, line by line --------------------------------------------------------------------------

_HEAD_KEYS = ("content_hash", "channels", "platforms", "sources")


def _read_own(text: str, where: str) -> CondaLock | None:
    """The lock `text` holds when it is byte for byte what `render` writes for it; None for any other text.

    The lines are read as the writer lays them out (two-space nesting, one key per line, a value bare or as a JSON
    string); the result goes through the same checks as the YAML reader's, and is rendered again: only when that
    gives back `text` is it returned. Since the writer's output is read by YAML readers as the values it was
    written from (conda-lock reads it; tests/test_lock_formats.py), the two readers agree on every file this
    accepts; every other file gets None and the YAML reader."""
    start = text.find("\nversion: 1\nmetadata:\n")
    if start <= 0 or not text.endswith("\n"):
        return None
    try:
        data, sources = _own_data(text[start + 1:].split("\n")[:-1])
        lock = _from_data(data, where)
        again = render(text[:start], lock.platforms, lock.channels, lock.content_hash, sources, lock.conda, lock.pip)
    except (BadInput, ValueError, KeyError, IndexError, TypeError):
        return None
    return lock if again == text else None


def _own_data(lines: list[str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """`version: 1` to the end, as nested dicts and lists (ValueError where the layout is not the writer's)."""
    if lines[:2] != ["version: 1", "metadata:"]:
        raise ValueError("not the writer's layout")
    at = lines.index("package:")
    md: dict[str, Any] = {}
    key = ""
    for line in lines[2:at]:
        if line.startswith("  - url: ") and key == "channels":
            md[key].append({"url": _scalar(line[len("  - url: "):])})
        elif line == "    used_env_vars: []" and key == "channels" and md[key]:
            md[key][-1]["used_env_vars"] = []
        elif line.startswith("  - ") and key in ("platforms", "sources"):
            md[key].append(_scalar(line[4:]))
        elif line.startswith("    ") and key == "content_hash":
            name, _, value = line[4:].partition(": ")
            md[key][_scalar(name)] = _scalar(value)
        elif line.startswith("  ") and line.endswith(":") and line[2:-1] in _HEAD_KEYS and line[2:-1] not in md:
            key = line[2:-1]
            md[key] = {} if key == "content_hash" else []
        else:
            raise ValueError(line)
    packages: list[dict[str, Any]] = []
    nested: dict[str, Any] | None = None
    for line in lines[at + 1:]:
        if line.startswith("- name: "):
            packages.append({"name": _scalar(line[len("- name: "):])})
            nested = None
        elif line.startswith("    ") and nested is not None:
            name, sep, value = line[4:].partition(": ")
            if not sep or name in nested:
                raise ValueError(line)
            nested[_scalar(name)] = _scalar(value)
        elif line.startswith("  ") and packages:
            name, sep, value = line[2:].partition(": ")
            entry = packages[-1]
            if name in entry:
                raise ValueError(line)
            if not sep and name.endswith(":") and name[:-1] in ("dependencies", "hash"):
                nested = entry[name[:-1]] = {}
            elif sep:
                entry[name] = {} if value == "{}" else False if value == "false" else _scalar(value)
                nested = None
            else:
                raise ValueError(line)
        else:
            raise ValueError(line)
    data = {"version": 1, "metadata": md, "package": packages}
    return data, tuple(md.get("sources") or ())


def _scalar(value: str) -> str:
    """A value as the writer writes it: bare, or a JSON string."""
    import json

    if value.startswith('"'):
        text = json.loads(value)
        if not isinstance(text, str):
            raise ValueError(value)
        return text
    return value


def records(lock: CondaLock) -> tuple[list[tuple[str, ...]], list[str]]:
    """Every package record of the file in its order (the integrity digest covers these), and their names."""
    rows: list[tuple[str, ...]] = []
    names: list[str] = []
    for plat in lock.platforms:
        for c in lock.conda.get(plat, ()):
            rows.append((plat, "conda", c.name, c.version, c.build, c.url, c.md5, c.sha256))
            names.append(f"{c.name} ({plat})")
        for w in lock.pip.get(plat, ()):
            rows.append((plat, "pip", w.name, w.version, w.url, w.sha256))
            names.append(f"{w.name} ({plat})")
    return rows, names


def _need(value: object, kind: type[_T], path: str | Path, where: str) -> _T:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadInput(f"{path}: {where} should be a {kind.__name__}, found {type(value).__name__}",
                       hint="the file was damaged or edited by hand; re-create it with `envgen lock`")
    return value


def _text(value: object, path: str | Path, where: str) -> str:
    """A scalar written as text (YAML may read a version such as 1.10 as a number)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value) == "":
        raise BadInput(f"{path}: {where} should be text, found {type(value).__name__}",
                       hint="the file was damaged or edited by hand; re-create it with `envgen lock`")
    return str(value)


def _hashes(entry: dict[str, Any], path: str | Path, where: str, need_md5: bool) -> tuple[str, str]:
    """(md5, sha256) of an entry, each well-formed where given; a missing required hash is refused, never skipped."""
    hashes = entry["hash"]
    if not isinstance(hashes, dict):
        raise BadInput(f"{path}: {where}: `hash` should be a mapping of md5/sha256, found {type(hashes).__name__}",
                       hint="the file was edited by hand; re-create it with `envgen lock`")
    md5, sha = hashes.get("md5"), hashes.get("sha256")
    if md5 is not None and not (isinstance(md5, str) and MD5.fullmatch(md5)):
        raise BadInput(f"{path}: {where} has a malformed md5 {str(md5)[:70]!r}", hint="re-create it with `envgen lock`")
    if sha is not None and not (isinstance(sha, str) and SHA256.fullmatch(sha)):
        raise BadInput(f"{path}: {where} has a malformed sha256 {str(sha)[:70]!r}",
                       hint="re-create it with `envgen lock`")
    if need_md5 and md5 is None:
        raise BadInput(f"{path}: {where} carries no md5: a conda package is never installed unchecked",
                       hint="re-create the lock with `envgen lock`")
    if not need_md5 and sha is None:
        raise BadInput(f"{path}: {where} carries no sha256: a pip package is never installed unchecked",
                       hint="re-create the lock with `envgen lock`")
    return md5 or "", sha or ""


def _pip_from(entry: dict[str, Any], name: str, plat: str, path: str | Path, where: str) -> LockedWheel:
    _, sha = _hashes(entry, path, where, need_md5=False)
    return LockedWheel(name, _text(entry["version"], path, f"{where}.version"), _text(entry["url"], path,
                       f"{where}.url"), sha, plat)


def _conda_from(entry: dict[str, Any], name: str, path: str | Path, where: str) -> LockedConda:
    md5, sha = _hashes(entry, path, where, need_md5=True)
    version = _text(entry["version"], path, f"{where}.version")
    url = _text(entry["url"], path, f"{where}.url")
    subdir = url.rsplit("/", 2)[-2] if url.count("/") >= 2 else str(entry["platform"])
    raw_deps = entry.get("dependencies") or {}
    deps = tuple(f"{k} {v}".strip() if v not in ("", "*") else str(k)
                 for k, v in _need(raw_deps, dict, path, f"{where}.dependencies").items())
    build = str(entry.get("build") or _build_from_url(url, name, version))
    tail = build.rsplit("_", 1)[-1]
    return LockedConda(name=name, version=version, build=build,
                       build_number=int(tail) if tail.isdigit() and len(tail) < 10 else 0, subdir=subdir, url=url,
                       channel=url.rsplit("/", 2)[0], md5=md5, sha256=sha, depends=deps)


def _build_from_url(url: str, name: str, version: str) -> str:
    fn = url.rsplit("/", 1)[-1]
    stem = fn[: -len(".tar.bz2")] if fn.endswith(".tar.bz2") else fn.rsplit(".", 1)[0]
    prefix = f"{name}-{version}-"
    return stem[len(prefix):] if stem.startswith(prefix) else stem.rsplit("-", 1)[-1]
