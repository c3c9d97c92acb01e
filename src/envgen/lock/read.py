"""Read any lock envgen writes (a lock folder, conda-lock.yml, an explicit file, a pylock, a hashed requirements
file) for one platform, checking it first: every file's stated records (see `envgen.lock.integrity`), and for a
folder, that its files were written together.

The lock package's public reading API: other capabilities (migrate's lockfile targets) read locks through
the names here, never through the format modules."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envgen.errors import BadInput
from envgen.fileio import read_text
from envgen.lock import condalock, explicit, integrity, pylock
from envgen.lock.condalock import CondaLock
from envgen.lock.records import LockedConda, LockedWheel

CONDA_LOCK = "conda-lock.yml"
PIXI_LOCK = "pixi.lock"
STAGE_PREFIX = ".envgen-stage-"


@dataclass(frozen=True, slots=True)
class LockedEnv:
    platform: str
    conda: tuple[LockedConda, ...]
    pip: tuple[LockedWheel, ...]
    source: Path


def kind_of(name: str) -> str | None:
    """Which lock format a file name is (None: not a lockfile envgen writes)."""
    if name == CONDA_LOCK:
        return "conda-lock"
    if name == PIXI_LOCK:
        return "pixi"
    if name.startswith("conda-") and name.endswith(".lock"):
        return "explicit"
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock"
    if name.startswith("requirements-") and name.endswith(".txt"):
        return "requirements"
    return None


def _platform_in(name: str, prefix: str, suffix: str) -> str:
    return name[len(prefix):-len(suffix)]


def records_of(name: str, text: str, where: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """The package records of one lockfile's text, as its reader sees them (what its digest covers)."""
    kind = kind_of(name)
    if kind == "conda-lock":
        return condalock.records(condalock.parse_text(text, where))
    if kind == "explicit":
        return explicit.records(explicit.parse_text(text, where)[1])
    if kind == "pylock":
        return pylock.wheel_records(pylock.read_pylock_text(text, where, _platform_in(name, "pylock.", ".toml")))
    if kind == "requirements":
        plat = _platform_in(name, "requirements-", ".txt")
        return pylock.wheel_records(pylock.read_requirements_text(text, where, plat))
    if kind == "pixi":
        return pixi_records(text)
    raise BadInput(f"{where} is not a lockfile envgen writes",
                   hint="give conda-lock.yml, conda-<platform>.lock, pylock.<platform>.toml, "
                        "requirements-<platform>.txt or pixi.lock")


def pixi_records(text: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """pixi.lock is read by rattler; its records are the text of each package entry (and the part before them)."""
    blocks: list[list[str]] = [[]]
    for line in integrity.body(text).split("\n"):
        if line.startswith(("- conda: ", "- pypi: ")):
            blocks.append([])
        blocks[-1].append(line)
    rows = [("pixi", hashlib.sha256("\n".join(b).encode()).hexdigest()) for b in blocks]
    names = ["the header"] + [b[0].rsplit("/", 1)[-1] for b in blocks[1:]]
    return [tuple(r) for r in rows], names


def checked_text(path: Path) -> str:
    """A lockfile's text once its records match what its header states (BadInput, exit 2, otherwise)."""
    text = read_text(path, hint="check the lockfile path")
    records, names = records_of(path.name, text, str(path))
    integrity.verify(str(path), text, records, names)
    return text


def check_folder(folder: Path, expected: Sequence[str] = ()) -> list[str]:
    """Every problem with the lockfiles in `folder` (each file's records, then the set), as lines; empty: all good.
    The set is checked only when every file reads and none of `expected` is missing (that says enough)."""
    problems = []
    stages = sorted(p.name for p in folder.glob(STAGE_PREFIX + "*"))
    if stages:
        problems.append(f"{stages[0]}: an interrupted `envgen lock` left new files unplaced; run it again")
    texts: dict[str, str] = {}
    broken = False
    for path in sorted(p for p in folder.iterdir() if kind_of(p.name) and p.is_file()):
        try:
            texts[path.name] = checked_text(path)
        except BadInput as exc:
            broken = True
            problems.append(f"{path.name}: {exc.message.removeprefix(str(path)).lstrip(': ')}")
    if not broken and all((folder / name).is_file() for name in expected):
        problems += integrity.verify_set(texts)
    return problems


def _verified_folder(folder: Path) -> None:
    problems = check_folder(folder)
    if problems:
        raise BadInput(f"the lock in {folder} fails its check:\n  " + "\n  ".join(problems),
                       hint=integrity.REGENERATE)


def read_conda_lock(path: Path) -> CondaLock:
    """A checked conda-lock.yml."""
    path = Path(path)
    return condalock.parse_text(checked_text(path), str(path))


def read_pylock(path: Path, platform: str) -> tuple[LockedWheel, ...]:
    """The wheels of a checked pylock.<platform>.toml."""
    path = Path(path)
    return pylock.read_pylock_text(checked_text(path), str(path), platform)


def read_explicit(path: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(platform, ((url, md5), ...)) of a checked explicit lock."""
    path = Path(path)
    return explicit.parse_text(checked_text(path), str(path))


def _from_filename(url: str, md5: str, sha256: str) -> LockedConda:
    fn = url.rsplit("/", 1)[-1]
    stem = fn[: -len(".tar.bz2")] if fn.endswith(".tar.bz2") else fn.rsplit(".", 1)[0]
    parts = stem.rsplit("-", 2)
    if len(parts) != 3:
        raise BadInput(f"{fn} is not a conda package file name (name-version-build.conda)",
                       hint="re-create the lock with `envgen lock`")
    name, version, build = parts
    return LockedConda(name, version, build, 0, url.rsplit("/", 2)[-2], url, url.rsplit("/", 2)[0], md5, sha256)


def load_lock(path: Path, platform: str) -> LockedEnv:
    path = Path(path)
    if path.is_dir():
        for candidate in (CONDA_LOCK, f"pylock.{platform}.toml", f"conda-{platform}.lock"):
            if (path / candidate).is_file():
                _verified_folder(path)
                return load_lock(path / candidate, platform)
        raise BadInput(f"{path} holds no lock for {platform}",
                       hint=f"expected conda-lock.yml or pylock.{platform}.toml there (made by `envgen lock`)")
    if not path.is_file():
        raise BadInput(f"{path} does not exist", hint="give a lock folder or file made by `envgen lock`")
    if path.suffix in (".yml", ".yaml"):
        lock = read_conda_lock(path)
        if platform not in lock.platforms:
            raise BadInput(f"{path} has no {platform} packages",
                           hint="locked platforms: " + ", ".join(lock.platforms) + " (choose with --platform)")
        return LockedEnv(platform, lock.conda[platform], lock.pip.get(platform, ()), path)
    if path.suffix == ".toml":
        return LockedEnv(platform, (), read_pylock(path, platform), path)
    found, pairs = read_explicit(path)
    if found and found != platform:
        raise BadInput(f"{path} is a {found} lock, not {platform}", hint=f"pass --platform {found}")
    sha = _sha256_beside(path, platform)
    return LockedEnv(platform, tuple(_from_filename(u, m, sha.get(u, "")) for u, m in pairs), (), path)


def _sha256_beside(path: Path, platform: str) -> dict[str, str]:
    """An explicit file holds md5s only; the conda-lock.yml written with it adds the sha256s (checked too)."""
    beside = path.parent / CONDA_LOCK
    if not beside.is_file():
        return {}
    lock = read_conda_lock(beside)
    return {p.url: p.sha256 for p in lock.conda.get(platform, ()) if p.sha256}


__all__ = ["LockedConda", "LockedEnv", "LockedWheel", "check_folder", "checked_text", "load_lock",
           "read_conda_lock", "read_explicit", "read_pylock"]
