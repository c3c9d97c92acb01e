"""The recorded PyPI snapshot (tests/data/pypi_snapshot.json, written by scripts/pypi_snapshot.py) and the
PEP 425 rules that say which of its wheels an interpreter on a platform installs.

`supported(python, platform)` is the set of tags pip accepts for CPython `python` on an envgen platform
(packaging.tags: the interpreter's ABI, abi3 or abi3t where it applies, `none`, the pure-Python tags);
`installable(entry, python, platform)` asks whether one of a version's wheels carries one of them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from packaging import tags as pep425
from packaging.requirements import Requirement
from packaging.version import Version

from envgen.models import PyVer

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "pypi_snapshot.json"

_GLIBC_NEWEST = 40  # manylinux_2_5 .. manylinux_2_40
_LEGACY = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}
_MACOS = (26, 0)  # newest macOS; packaging lists every older macosx tag it accepts


def _linux(arch: str) -> list[str]:
    out = [f"manylinux_2_{minor}_{arch}" for minor in range(_GLIBC_NEWEST, 4, -1)]
    out += [f"{name}_{arch}" for name in _LEGACY if arch in ("x86_64", "i686") or name == "manylinux2014"]
    return out + [f"linux_{arch}"]


PLATFORM_TAGS: dict[str, list[str]] = {
    "linux-64": _linux("x86_64"),
    "linux-aarch64": _linux("aarch64"),
    "win-64": ["win_amd64"],
    "osx-64": list(pep425.mac_platforms(_MACOS, "x86_64")),
    "osx-arm64": list(pep425.mac_platforms(_MACOS, "arm64")),
}


def abi(python: PyVer, platform: str) -> str:
    """The interpreter's own ABI tag: cp27mu (Linux UCS4) / cp27m, cp37m before 3.8, cp313t free-threaded."""
    v = python.version
    tag = f"cp{v.major}{v.minor}"
    if v.major == 2:
        return tag + ("mu" if platform.startswith("linux") else "m")
    if v < Version("3.8"):
        return tag + "m"
    return tag + ("t" if python.freethreaded else "")


@functools.cache
def supported(python: PyVer, platform: str) -> frozenset[str]:
    version = (python.version.major, python.version.minor)
    plats = PLATFORM_TAGS[platform]
    found = set(pep425.cpython_tags(version, [abi(python, platform)], plats))
    found |= set(pep425.compatible_tags(version, f"cp{version[0]}{version[1]}", plats))
    if python.freethreaded:  # `cp313-none-<platform>` is a GIL build tagged without its ABI (torch's macOS
        # wheels): pip takes it for 3.13t and it does not import there
        found = {t for t in found if not (t.interpreter.startswith("cp") and t.abi == "none")}
    return frozenset(str(t) for t in found)


def installable(entry: dict, python: PyVer, platform: str) -> bool:
    """A wheel of this version installs on this Python and platform."""
    return not supported(python, platform).isdisjoint(entry["tags"])


def specific(entry: dict, python: PyVer, platform: str) -> bool:
    """A wheel built for exactly this interpreter: its cpXY tag with its ABI (or `none` for a GIL build, as
    the macOS wheels of 1.x were tagged), not only abi3 or a pure-Python wheel."""
    own = abi(python, platform)
    interpreter = f"cp{python.version.major}{python.version.minor}"
    abis = {own} if python.freethreaded else {own, "none"}
    plats = set(PLATFORM_TAGS[platform])
    return any(t.split("-")[0] == interpreter and t.split("-")[1] in abis and t.split("-")[2] in plats
               for t in entry["tags"])


def admits(requirements: list[str], torch: Version) -> bool:
    """The companion's unconditional `torch` requirements all admit this torch (prereleases too)."""
    reqs = [Requirement(r) for r in requirements]
    return all(r.specifier.contains(torch, prereleases=True) for r in reqs if r.marker is None)


@dataclass(frozen=True)
class Snapshot:
    projects: dict

    def entry(self, project: str, version: str) -> dict | None:
        versions = self.projects.get(project, {}).get("versions", {})
        if version in versions:
            return versions[version]
        wanted = Version(version)
        return next((e for v, e in versions.items() if Version(v) == wanted), None)

    def versions(self, project: str) -> dict[str, dict]:
        return self.projects[project]["versions"]


@functools.cache
def load(path: Path = SNAPSHOT) -> Snapshot:
    return Snapshot(json.loads(path.read_text(encoding="utf-8"))["projects"])
