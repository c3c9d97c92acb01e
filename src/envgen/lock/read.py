"""Read any lock envgen writes (a lock folder, conda-lock.yml, an explicit file, a pylock) for one platform.

The lock package's public reading API: other capabilities (migrate's lockfile targets) read locks through
the names here, never through the format modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envgen.errors import BadInput
from envgen.lock import condalock, explicit, pylock
from envgen.lock.condalock import parse as read_conda_lock
from envgen.lock.pylock import read_pylock
from envgen.lock.records import LockedConda, LockedWheel


@dataclass(frozen=True, slots=True)
class LockedEnv:
    platform: str
    conda: tuple[LockedConda, ...]
    pip: tuple[LockedWheel, ...]
    source: Path


def _from_filename(url: str, md5: str) -> LockedConda:
    fn = url.rsplit("/", 1)[-1]
    stem = fn[: -len(".tar.bz2")] if fn.endswith(".tar.bz2") else fn.rsplit(".", 1)[0]
    name, version, build = stem.rsplit("-", 2)
    return LockedConda(name, version, build, 0, url.rsplit("/", 2)[-2], url, url.rsplit("/", 2)[0], md5, "")


def load_lock(path: Path, platform: str) -> LockedEnv:
    path = Path(path)
    if path.is_dir():
        for candidate in ("conda-lock.yml", f"pylock.{platform}.toml", f"conda-{platform}.lock"):
            if (path / candidate).is_file():
                return load_lock(path / candidate, platform)
        raise BadInput(f"{path} holds no lock for {platform}",
                       hint=f"expected conda-lock.yml or pylock.{platform}.toml there (made by `envgen lock`)")
    if not path.is_file():
        raise BadInput(f"{path} does not exist", hint="give a lock folder or file made by `envgen lock`")
    if path.suffix in (".yml", ".yaml"):
        lock = condalock.parse(path)
        if platform not in lock.platforms:
            raise BadInput(f"{path} has no {platform} packages",
                           hint="locked platforms: " + ", ".join(lock.platforms) + " (choose with --platform)")
        return LockedEnv(platform, lock.conda[platform], lock.pip.get(platform, ()), path)
    if path.suffix == ".toml":
        return LockedEnv(platform, (), pylock.read_pylock(path, platform), path)
    found, pairs = explicit.parse(path)
    if found and found != platform:
        raise BadInput(f"{path} is a {found} lock, not {platform}", hint=f"pass --platform {found}")
    return LockedEnv(platform, tuple(_from_filename(u, m) for u, m in pairs), (), path)


__all__ = ["LockedConda", "LockedEnv", "LockedWheel", "load_lock", "read_conda_lock", "read_pylock"]
