"""The records every part of the lock stage shares: a solved conda package (`LockedConda`), a locked wheel
(`LockedWheel`), a virtual package of the target machine (`VirtualPkg`) and the channel priorities. The
engines produce them, the format modules write and read them; none of them knows a rattler or uv type."""

from __future__ import annotations

import re
from dataclasses import dataclass

MD5 = re.compile(r"[0-9a-f]{32}")  # a hex digest as lockfiles hold it
SHA256 = re.compile(r"[0-9a-f]{64}")

PRIORITIES = ("strict", "flexible", "disabled")


@dataclass(frozen=True, slots=True)
class VirtualPkg:
    name: str  # __cuda, __glibc, ...
    version: str
    build: str = "0"

    def __str__(self) -> str:
        return f"{self.name}={self.version}={self.build}"


@dataclass(frozen=True, slots=True)
class LockedConda:
    """One solved conda package, as every lockfile format needs it."""

    name: str
    version: str
    build: str
    build_number: int
    subdir: str
    url: str
    channel: str  # canonical channel URL, no trailing slash
    md5: str
    sha256: str
    depends: tuple[str, ...] = ()
    constrains: tuple[str, ...] = ()
    noarch: str | None = None
    size: int | None = None
    timestamp: int | None = None

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class LockedWheel:
    """One pip package of a lock: a wheel (or sdist) URL and its sha256."""

    name: str
    version: str
    url: str
    sha256: str
    platform: str
    requires_python: str | None = None
