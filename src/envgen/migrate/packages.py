"""The records of an environment people have: a `Package` (one installed package and where it came from)
and a `Snapshot` (all of them, with the platform, prefix and channels). Names, versions and build strings are
checked against conda's and pip's grammar when a Package is made, so nothing else reaches a script."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput
from envgen.models import Accel

CONDA_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
CONDA_VERSION = re.compile(r"^(?:\d+!)?[A-Za-z0-9_][A-Za-z0-9_.+]{0,99}$")
CONDA_BUILD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+]{0,199}$")
PIP_NAME = re.compile(r"^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]{0,198}[A-Za-z0-9])$")
_CUDA_DOTTED = re.compile(r"cuda_?(\d+)\.(\d+)")
_CUDA_DIGITS = re.compile(r"cuda_?(\d{2,3})(?!\d)")


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package and where it came from."""

    name: str  # conda name, or pip's canonical name (PEP 503)
    version: str  # as installed: conda version, or pip version with its local tag
    installer: str  # conda | pip
    channel: str | None = None  # conda: channel id (pytorch, defaults, conda-forge, ...); None when not known
    build: str | None = None  # conda build string
    url: str | None = None  # where it was fetched from, when the input says

    @property
    def local(self) -> str | None:
        """pip's local version tag: 'cu102' for 1.8.1+cu102."""
        return self.version.split("+", 1)[1] if self.installer == "pip" and "+" in self.version else None

    @property
    def pep440(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None

    @property
    def public(self) -> Version | None:
        """The version without its local tag (1.8.1 for 1.8.1+cu102)."""
        v = self.pep440
        return Version(v.public) if v is not None else None

    def describe(self) -> str:
        where = "pip" if self.installer == "pip" else (self.channel or "conda, channel not recorded")
        return f"{self.name} {self.version} ({where})"

    def to_json(self) -> dict[str, str]:
        data = {"name": self.name, "version": self.version, "installer": self.installer}
        for key in ("channel", "build", "url"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True, slots=True)
class Snapshot:
    packages: tuple[Package, ...]
    platform: str | None = None
    name: str | None = None
    prefix: str | None = None
    channels: tuple[str, ...] = ()  # environment-wide channels (conda env export)
    formats: tuple[str, ...] = ()
    digest: str = ""  # sha256 of the inputs
    notes: tuple[str, ...] = field(default=())

    def find(self, name: str, installer: str | None = None) -> Package | None:
        return next((p for p in self.packages if p.name == name and installer in (None, p.installer)), None)

    def of(self, installer: str) -> tuple[Package, ...]:
        return tuple(p for p in self.packages if p.installer == installer)


# --- validation --------------------------------------------------------------------------------------
def _bad(what: str, value: str, where: str, grammar: str) -> BadInput:
    return BadInput(f"{where}: {value!r} is not a valid {what}",
                    hint=f"{grammar}; fix or remove that line (envgen never writes such text into a script)")


def conda_package(name: str, version: str, build: str | None, channel: str | None, where: str,
                  url: str | None = None) -> Package:
    if not CONDA_NAME.match(name):
        raise _bad("conda package name", name, where, "conda names use letters, digits, _ . -")
    if not CONDA_VERSION.match(version):
        raise _bad(f"conda version of {name}", version, where, "conda versions use letters, digits, _ . + !")
    if build is not None and not CONDA_BUILD.match(build):
        raise _bad(f"conda build string of {name}", build, where, "build strings use letters, digits, _ . +")
    return Package(name.lower(), version, "conda", channel, build, url)


def pip_package(name: str, version: str, where: str, url: str | None = None) -> Package:
    if not PIP_NAME.match(name):
        raise _bad("pip project name", name, where, "PEP 508 names use letters, digits, . _ - inside")
    try:
        Version(version)
    except InvalidVersion:
        raise _bad(f"version of {name}", version, where, "pip versions follow PEP 440 (1.8.1, 1.8.1+cu102)") from None
    return Package(str(canonicalize_name(name)), version, "pip", None, None, url)


# --- what the packages say --------------------------------------------------------------------------
def platform_of_prefix(prefix: str | None) -> str | None:
    """win-64 for a Windows path (C:\\...), else None (a POSIX path does not say Linux or macOS)."""
    if prefix and re.match(r"^[A-Za-z]:[\\/]", prefix):
        return "win-64"
    return None


def conda_accel(pkg: Package) -> Accel | None:
    """The accelerator of a conda torch build from its name and build string, or None when it does not say."""
    if pkg.name.endswith("-cpu") or pkg.name.endswith("cpuonly"):
        return Accel("cpu")
    build = (pkg.build or "").lower()
    if m := _CUDA_DOTTED.search(build):
        return Accel.parse(f"{m.group(1)}.{m.group(2)}")
    if m := _CUDA_DIGITS.search(build):
        return Accel.parse(f"cu{m.group(1)}")
    if build.startswith("cpu") or "_cpu" in build or (build.startswith("py") and "cpu" in build):
        return Accel("cpu")
    return None


def pip_accel(pkg: Package) -> Accel | None:
    """The accelerator of a pip torch from its local version tag (+cu102, +cpu, +rocm5.7), None without one."""
    tag = pkg.local
    if not tag:
        return None
    try:
        return Accel.parse(tag)
    except BadInput:
        return None
