"""The records of the compile stage: a Request (what was asked), a Pin (one manifest line), a Stack (one
resolved install: the release, build, installer, platform and Python, pinned, with the reasons)."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.version import Version

from envgen.matrix.records import Build, Release, Route
from envgen.models import Accel, PyVer, host_platform

ROLES = ("torch", "torchvision", "torchaudio", "torchtext")
DEFAULT_COMPANIONS = ("torchvision", "torchaudio")


@dataclass(frozen=True, slots=True)
class Request:
    torch: Version | None = None
    accel: Accel | None = None
    platform: str = field(default_factory=host_platform)
    python: PyVer | None = None
    installer: str | None = None
    family: str | None = None
    companions: tuple[str, ...] = DEFAULT_COMPANIONS
    notes: tuple[str, ...] = ()  # why the request is what it is (e.g. what --cuda auto detected)

    def describe(self) -> str:
        parts = [f"torch {self.torch}" if self.torch else "torch (newest)"]
        if self.accel:
            parts.append(self.accel.describe())
        parts.append(self.platform)
        if self.python:
            parts.append(f"Python {self.python}")
        if self.installer:
            parts.append(self.installer if not self.family else f"{self.installer} ({self.family})")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Pin:
    """One package line of a manifest; `constraint` is the version part (`==1.8.1`, `<2024.1`, `=10.2`)."""

    name: str
    constraint: str
    role: str
    why: str = ""
    build: str | None = None
    channel: str | None = None
    url: str | None = None
    pip: bool = False  # installed with pip inside a conda environment (torchvision in the peterjc123 era)
    yanked: str | None = None  # PyPI yanked this version: its reason (pip installs it only when pinned with ==)

    @property
    def version(self) -> str:
        return self.constraint.lstrip("=<>!~") if self.constraint[:1] in "=<>!~" else self.constraint

    def conda_spec(self) -> str:
        prefix = f"{self.channel}::" if self.channel else ""
        if self.build:
            return f"{prefix}{self.name}={self.version or '*'}={self.build}"
        return f"{prefix}{self.name}{self.constraint}"

    def pip_spec(self) -> str:
        return self.url or f"{self.name}{self.constraint}"


@dataclass(frozen=True, slots=True)
class Stack:
    request: Request
    release: Release
    build: Build
    route: Route
    installer: str
    platform: str
    python: PyVer
    accel: Accel
    packages: tuple[Pin, ...]
    constraints: tuple[Pin, ...]
    channels: tuple[str, ...]
    channel_urls: tuple[str, ...]
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    cudnn: str | None
    archs: tuple[str, ...]
    driver_floor: Version | None
    notes: tuple[str, ...]

    @property
    def torch(self) -> Version:
        return self.release.torch

    def all_pins(self) -> tuple[Pin, ...]:
        return self.packages + self.constraints

    def conda_pins(self) -> tuple[Pin, ...]:
        """What conda installs (for a pip stack: nothing)."""
        return tuple(p for p in self.all_pins() if not p.pip) if self.installer == "conda" else ()

    def pip_pins(self) -> tuple[Pin, ...]:
        """What pip installs: everything of a pip stack, the pip-only companions of a conda stack."""
        return self.all_pins() if self.installer == "pip" else tuple(p for p in self.all_pins() if p.pip)
