"""What changed between two locks, per platform and package: added, removed, upgraded, downgraded, build
changed (same version, another build) or source changed (same version and build from another URL).

Both sides are read through the checked readers (`envgen.lock.read`), so a summary is never drawn from a lock
that fails its own check; either side may also be an installed conda environment (its conda-meta records and
the pip packages conda did not install). `envgen diff A B` prints it; `envgen lock` prints it against the lock
it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput
from envgen.lock import read
from envgen.lock.records import LockedConda, LockedWheel

KINDS = ("added", "removed", "upgraded", "downgraded", "build changed", "source changed")


@dataclass(frozen=True, slots=True)
class Entry:
    version: str
    build: str  # "" for pip
    url: str


# platform -> (manager, name) -> Entry
Side = dict[str, dict[tuple[str, str], Entry]]


@dataclass(frozen=True, slots=True)
class Change:
    platform: str
    manager: str
    name: str
    kind: str
    old: str  # "version build" (conda) or "version" (pip); "" when added
    new: str  # "" when removed

    def describe(self) -> str:
        arrow = f"{self.old} -> {self.new}" if self.old and self.new else (self.new or self.old)
        return f"{self.platform} {self.manager}: {self.name} {arrow} ({self.kind})"

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "manager": self.manager, "name": self.name, "change": self.kind,
                "old": self.old or None, "new": self.new or None}


def side_of(conda: dict[str, tuple[LockedConda, ...]], pip: dict[str, tuple[LockedWheel, ...]]) -> Side:
    out: Side = {}
    for plat, pkgs in conda.items():
        for c in pkgs:
            out.setdefault(plat, {})[("conda", c.name)] = Entry(c.version, c.build, c.url)
    for plat, wheels in pip.items():
        for w in wheels:
            out.setdefault(plat, {})[("pip", canonicalize_name(w.name))] = Entry(w.version, "", w.url)
    return out


def installed_side(prefix: Path, platform: str) -> Side:
    """An installed conda environment as a side (its platform is the one it was made for: given, or this one)."""
    from envgen.lock.verify import installed_conda, installed_pip

    entries: dict[tuple[str, str], Entry] = {}
    for name, meta in installed_conda(prefix).items():  # its URL is where it was fetched from (a mirror, a cache):
        entries[("conda", name)] = Entry(str(meta.get("version", "")), str(meta.get("build", "")), "")  # unknown
    for name, version in installed_pip(prefix).items():
        entries[("pip", canonicalize_name(name))] = Entry(version, "", "")
    return {platform: entries}


def read_side(path: Path, platform: str) -> Side:
    """Every platform of a lock folder or lockfile, checked first (BadInput, exit 2, when it fails); or an
    installed conda environment, taken as `platform`."""
    path = Path(path)
    if path.is_dir() and (path / "conda-meta").is_dir():
        return installed_side(path, platform)
    if path.is_dir():
        problems = read.check_folder(path)
        if problems:
            raise BadInput(f"the lock in {path} fails its check:\n  " + "\n  ".join(problems),
                           hint="re-create it with `envgen lock`")
        files = sorted(p for p in path.iterdir() if read.kind_of(p.name) in ("conda-lock", "pylock"))
        if not files:
            raise BadInput(f"{path} holds no conda-lock.yml or pylock.<platform>.toml",
                           hint="give a lock folder or file made by `envgen lock`")
        side: Side = {}
        for file in files:  # conda-lock.yml first: a pylock adds the pip packages it does not already hold
            for plat, entries in _file_side(file).items():
                for key, entry in entries.items():
                    side.setdefault(plat, {}).setdefault(key, entry)
        return side
    if not path.is_file():
        raise BadInput(f"{path} does not exist", hint="give a lock folder or file made by `envgen lock`")
    return _file_side(path)


def _file_side(path: Path) -> Side:
    text = read.checked_text(path)
    kind = read.kind_of(path.name, text)
    if kind == "conda-lock":
        lock = read.read_conda_lock(path)
        return side_of(dict(lock.conda), {k: v for k, v in lock.pip.items() if v})
    if kind == "pylock":
        plat = _platform_in(path.name, "pylock.", ".toml")
        return side_of({}, {plat: read.read_pylock(path, plat)})
    if kind == "explicit":
        plat, pairs = read.read_explicit(path)
        return side_of({plat: tuple(read.conda_from_url(u, m, "") for u, m in pairs)}, {})
    raise BadInput(f"{path}: envgen compares conda-lock.yml, conda-<platform>.lock and pylock files",
                   hint="give the lock folder, or one of those files")


def _platform_in(name: str, prefix: str, suffix: str) -> str:
    return name[len(prefix):-len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else "any"


def diff(old: Side, new: Side, platforms: tuple[str, ...] = ()) -> list[Change]:
    """Every change from `old` to `new`, by platform, manager and name."""
    out: list[Change] = []
    for plat in sorted(set(old) | set(new)):
        if platforms and plat not in platforms:
            continue
        before, after = old.get(plat, {}), new.get(plat, {})
        for key in sorted(set(before) | set(after)):
            manager, name = key
            a, b = before.get(key), after.get(key)
            if a is not None and b is not None and _same(a, b):
                continue
            if a is None or b is None:
                out.append(Change(plat, manager, name, "added" if a is None else "removed",
                                  _show(a), _show(b)))
                continue
            order = _compare(a.version, b.version)
            kind = ("upgraded" if order < 0 else "downgraded" if order > 0 else
                    "build changed" if a.build != b.build else "source changed")
            out.append(Change(plat, manager, name, kind, _show(a), _show(b)))
    return out


def _same(a: Entry, b: Entry) -> bool:
    """Equal, where a URL one side does not know (an installed pip package) never counts as another source."""
    return a.version == b.version and a.build == b.build and (not a.url or not b.url or a.url == b.url)


def _show(entry: Entry | None) -> str:
    if entry is None:
        return ""
    return f"{entry.version} {entry.build}".strip()


def _compare(a: str, b: str) -> int:
    """-1, 0, 1 as version a is lower, equal or higher than b (PEP 440 where both parse, else by their parts)."""
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        ka, kb = _parts(a), _parts(b)
        return (ka > kb) - (ka < kb)
    return (va > vb) - (va < vb)


def _parts(version: str) -> tuple[tuple[int, str], ...]:
    """conda-style version parts: numbers compare as numbers, words as text (1.10 > 1.9, 2021.4 > 2021.3b)."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.findall(r"\d+|[A-Za-z]+", version))


def summary(changes: list[Change]) -> str:
    if not changes:
        return "no changes"
    counts = {kind: sum(c.kind == kind for c in changes) for kind in KINDS}
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''} (" + ", ".join(
        f"{n} {kind}" for kind, n in counts.items() if n) + ")"
