"""The environment people have: conda/pip listings (or the running interpreter's prefix) -> a `Snapshot`.

Formats, detected by content (`fmt=` forces one): `conda-list` (the text table with its channel column, and
`conda list --export`), `conda-json` (`conda list --json`), `conda-explicit` (`conda list --explicit`, the
channel taken from each URL), `conda-env` (`conda env export` YAML), `pip-freeze`, `pip-json`
(`pip list --format=json`). Every package keeps where it came from: its conda channel (mirror URLs mapped
back to the channel they mirror, see `matrices/migrate.yaml`) or pip with its local version tag (`+cu102`).
Names, versions and build strings are checked against conda's and pip's grammar here, so nothing else
reaches a script: an invalid one is refused with the line it was on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput
from envgen.matrix.migrate import MigrateData
from envgen.models import Accel

FORMATS: tuple[str, ...] = ("conda-json", "pip-json", "conda-explicit", "conda-env", "conda-list", "pip-freeze")
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


# --- detection and reading ---------------------------------------------------------------------------
def detect(text: str) -> str | None:
    """The format of a listing by its content, or None."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError:
            return None
        if isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
            if any({"build_string", "channel", "dist_name", "base_url"} & set(d) for d in data):
                return "conda-json"
            if all({"name", "version"} <= set(d) for d in data):
                return "pip-json"
        return None
    lines = [ln.strip() for ln in stripped.splitlines()]
    if "@EXPLICIT" in lines:
        return "conda-explicit"
    if any(re.match(r"^dependencies\s*:", ln) for ln in stripped.splitlines()):
        return "conda-env"
    if any(ln.startswith(("# packages in environment at", "# Name")) for ln in lines):
        return "conda-list"
    body = [ln for ln in lines if ln and not ln.startswith(("#", "-"))]
    freeze = sum(1 for ln in body if _FREEZE_LOOSE.match(ln))
    conda = sum(1 for ln in body if _CONDA_ROW.match(ln))
    if not body or not (freeze or conda):
        return None
    # the most lines decide; the strict parser then names any line that does not fit
    return "pip-freeze" if freeze >= conda else "conda-list"


def parse(text: str, data: MigrateData, fmt: str | None = None, origin: str = "input") -> Snapshot:
    """One listing -> a Snapshot. `origin` names the input in messages."""
    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}", hint="use one of: " + ", ".join(FORMATS))
    found = fmt or detect(text)
    if found is None:
        raise BadInput(f"{origin}: not a package listing envgen can read",
                       hint="tried: " + ", ".join(FORMATS) + "; pass --format to force one")
    from envgen.migrate.listings import PARSERS

    snap = PARSERS[found](text, data, origin)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return replace(snap, formats=(found,), digest=digest)


def read(paths: Sequence[str | Path], data: MigrateData, fmt: str | None = None) -> Snapshot:
    """Read and merge several listings (`--from a --from b`)."""
    snaps = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput(f"{path}: not UTF-8 text", hint="save the listing as UTF-8 (PowerShell: "
                           "`conda list | Out-File -Encoding utf8 env.txt`)") from None
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from None
        snaps.append(parse(text, data, fmt, str(path)))
    return merge(snaps)


def merge(snaps: Iterable[Snapshot]) -> Snapshot:
    """Conda packages from the conda listings; pip packages from pip listings over pip rows of conda ones."""
    snaps = list(snaps)
    if not snaps:
        raise BadInput("no input", hint="pass --from FILE (repeatable) or --current")
    conda: dict[str, Package] = {}
    pip_seen: dict[str, Package] = {}
    pip_direct: dict[str, Package] = {}
    for snap in snaps:
        direct = any(f.startswith("pip-") for f in snap.formats)
        for pkg in snap.packages:
            if pkg.installer == "conda":
                conda[pkg.name] = pkg
            else:
                (pip_direct if direct else pip_seen)[pkg.name] = pkg
    pip = dict(pip_seen, **pip_direct)
    for name, pkg in list(pip.items()):
        if pkg.url and pkg.url.startswith("file:") and name in conda:
            del pip[name]  # `pip freeze` in a conda env lists conda's own packages as `name @ file://`
    first = lambda attr: next((getattr(s, attr) for s in snaps if getattr(s, attr)), None)  # noqa: E731
    return Snapshot(
        packages=tuple(sorted(conda.values(), key=lambda p: p.name)) + tuple(sorted(pip.values(), key=lambda p: p.name)),
        platform=first("platform"), name=first("name"), prefix=first("prefix"),
        channels=tuple(dict.fromkeys(c for s in snaps for c in s.channels)),
        formats=tuple(f for s in snaps for f in s.formats),
        digest=hashlib.sha256("".join(s.digest for s in snaps).encode()).hexdigest(),
        notes=tuple(n for s in snaps for n in s.notes))


_FREEZE_LOOSE = re.compile(r"^\S+?\s*(?:===?|\s@\s)\s*\S")
_CONDA_ROW = re.compile(r"^(?:\S+\s+\d\S*(?:\s+\S+){0,4}|[^=\s]+=[^=\s]+=[^=\s]+)$")


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
    if build.startswith("cpu") or "_cpu" in build or build.startswith("py") and "cpu" in build:
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
