"""conda-lock.yml, format version 1: written by envgen, read by conda-lock, and read back here.

The writer renders YAML by hand so that the bytes are stable (sorted packages, fixed key order, no timestamps);
conda-lock's own parser reads it (a test checks). The reader validates every entry and says where a hand-edited
file went wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from envgen.errors import BadInput
from envgen.lock.records import LockedConda, LockedWheel

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
    lines += [f"    {p}: {content_hash[p]}" for p in platforms]
    lines += ["  channels:"]
    for url in channels:
        lines += [f"  - url: {_s(url)}", "    used_env_vars: []"]
    lines += ["  platforms:"] + [f"  - {p}" for p in platforms]
    lines += ["  sources:"] + [f"  - {_s(s)}" for s in sources]
    lines += ["package:"]
    for plat in platforms:
        for p in sorted(conda.get(plat, ()), key=lambda x: x.name):
            lines += _conda_entry(p, plat)
        for w in sorted(pip.get(plat, ()), key=lambda x: x.name):
            lines += _pip_entry(w)
    return "\n".join(lines) + "\n"


def _conda_entry(p: LockedConda, plat: str) -> list[str]:
    out = [f"- name: {_s(p.name)}", f"  version: {_s(p.version)}", "  manager: conda", f"  platform: {plat}"]
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
    return [f"- name: {_s(w.name)}", f"  version: {_s(w.version)}", "  manager: pip", f"  platform: {w.platform}",
            "  dependencies: {}", f"  url: {_s(w.url)}", "  hash:", f"    sha256: {_hex(w.sha256)}",
            "  category: main", "  optional: false"]


# -- reading ------------------------------------------------------------------------------------------------

def parse(path: Path) -> CondaLock:
    """Read and check a conda-lock.yml (ours or conda-lock's); BadInput says which entry is wrong."""
    from envgen.fileio import parse_yaml, read_text

    data = parse_yaml(read_text(path, hint="check the lockfile path"), str(path),
                      hint="the file was damaged or edited by hand; re-create it with `envgen lock`")
    meta = _need(data, dict, path, "the file")
    if meta.get("version") != 1:
        raise BadInput(f"{path}: unsupported conda-lock format version {meta.get('version')!r}",
                       hint="envgen reads version 1 (`conda-lock lock --kind lock` writes it)")
    md = _need(meta.get("metadata"), dict, path, "metadata")
    platforms = tuple(str(p) for p in _need(md.get("platforms"), list, path, "metadata.platforms"))
    channels = tuple(str(c["url"]) if isinstance(c, dict) else str(c) for c in md.get("channels") or [])
    conda: dict[str, list[LockedConda]] = {p: [] for p in platforms}
    pip: dict[str, list[LockedWheel]] = {p: [] for p in platforms}
    for i, entry in enumerate(_need(meta.get("package"), list, path, "package")):
        where = f"package[{i}]"
        _need(entry, dict, path, where)
        missing = [k for k in ("name", "version", "manager", "platform", "url", "hash") if k not in entry]
        if missing:
            raise BadInput(f"{path}: {where} lacks {', '.join(missing)}",
                           hint="the file was edited by hand; re-create it with `envgen lock`")
        plat = str(entry["platform"])
        if plat not in conda:
            raise BadInput(f"{path}: {where} ({entry['name']}) is for platform {plat!r}, not in metadata.platforms",
                           hint="re-create the lock with `envgen lock`")
        if entry["manager"] == "conda":
            conda[plat].append(_conda_from(entry, path, where))
        else:
            pip[plat].append(LockedWheel(str(entry["name"]), str(entry["version"]), str(entry["url"]),
                                         str((entry["hash"] or {}).get("sha256") or ""), plat))
    content = {str(k): str(v) for k, v in (md.get("content_hash") or {}).items()}
    return CondaLock(platforms, content, channels, {k: tuple(v) for k, v in conda.items()},
                     {k: tuple(v) for k, v in pip.items()})


def _need(value: object, kind: type[_T], path: Path, where: str) -> _T:
    if not isinstance(value, kind):
        raise BadInput(f"{path}: {where} should be a {kind.__name__}, found {type(value).__name__}",
                       hint="the file was damaged or edited by hand; re-create it with `envgen lock`")
    return value


def _conda_from(entry: dict[str, Any], path: Path, where: str) -> LockedConda:
    hashes = entry["hash"] if isinstance(entry["hash"], dict) else {}
    md5, sha = str(hashes.get("md5") or ""), str(hashes.get("sha256") or "")
    if not re.fullmatch(r"[0-9a-f]{32}", md5) or (sha and not re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise BadInput(f"{path}: {where} ({entry['name']}) has a malformed md5 or sha256",
                       hint="the file was edited by hand; re-create it with `envgen lock`")
    url = str(entry["url"])
    subdir = url.rsplit("/", 2)[-2] if url.count("/") >= 2 else str(entry["platform"])
    deps = tuple(f"{k} {v}".strip() if v not in ("", "*") else str(k)
                 for k, v in (entry.get("dependencies") or {}).items())
    build = str(entry.get("build") or _build_from_url(url, str(entry["name"]), str(entry["version"])))
    tail = build.rsplit("_", 1)[-1]
    return LockedConda(name=str(entry["name"]), version=str(entry["version"]), build=build,
                       build_number=int(tail) if tail.isdigit() else 0, subdir=subdir, url=url,
                       channel=url.rsplit("/", 2)[0], md5=md5, sha256=sha, depends=deps)


def _build_from_url(url: str, name: str, version: str) -> str:
    fn = url.rsplit("/", 1)[-1]
    stem = fn[: -len(".tar.bz2")] if fn.endswith(".tar.bz2") else fn.rsplit(".", 1)[0]
    prefix = f"{name}-{version}-"
    return stem[len(prefix):] if stem.startswith(prefix) else stem.rsplit("-", 1)[-1]
