"""Frozen records of the compatibility matrix. Loading and validation live in `matrix.loader` and `matrix.tables`."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.models import Accel, PyVer


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Channel:
    """A conda channel or pip index and its history."""

    id: str
    kind: str  # conda | pip
    url: str
    history: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """How a build is installed: the installer, channels or index style, package names and selectors.

    Templates may use {torch}, {cuda} (10.2), {tag} (cu102), {rocm} (5.7), {py} (36), {abi} (cp36-cp36m),
    {version} (the torch package version, e.g. 1.0.1.post2).
    """

    id: str
    installer: str  # conda | pip
    family: str  # pytorch | conda-forge | peterjc123 | pytorch-index | pypi ...
    description: str
    channels: tuple[str, ...]
    names: dict[str, str]  # role -> package name (torch -> pytorch)
    selector: dict[str, tuple[str, ...]]  # accel kind -> extra package specs
    pin: str  # '==' or '='
    build: dict[str, str]  # accel kind -> build-string glob of the torch package (conda-forge: cuda*, cpu*)
    local_version: tuple[str, ...]  # pip: roles pinned with +tag (torch==1.8.1+cu102)
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    wheel_url: str | None  # manual wheel era: the torch wheel URL template
    override_channels: bool
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccelFacts:
    """What one accelerator build of one release carries."""

    accel: Accel
    cudnn: dict[str, str]  # os ('linux'|'windows'|'default') -> cuDNN version
    archs: tuple[str, ...]  # sm_XX / gfxXXXX
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Build:
    """One way a release exists: a route, an accelerator, the platforms it is published for."""

    torch: Version
    route: str
    accel: Accel
    platforms: frozenset[str]
    python: dict[str, tuple[PyVer, ...]]  # per platform (already resolved against the release)
    extra_channels: tuple[str, ...]
    extra_packages: tuple[str, ...]
    names: dict[str, str]  # overrides of the route's names
    versions: dict[str, str]  # overrides of companion versions for this build (role -> version)
    overrides: dict[str, object]  # route fields replaced for this build (selector, local_version, index_url ...)
    official: bool
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    place: str  # file: path, for messages


@dataclass(frozen=True, slots=True)
class PypiFacts:
    """What PyPI lacks of a release's companions (the versions the release names): Pythons per platform with no
    wheel (`gaps`, role -> platform -> Pythons) and yanked versions with PyPI's reason (`yanked`, role -> reason)."""

    gaps: dict[str, dict[str, tuple[PyVer, ...]]] = field(default_factory=dict)
    yanked: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Release:
    torch: Version
    date: str
    companions: dict[str, str]  # torchvision/torchaudio/torchtext -> version
    python: dict[str, tuple[PyVer, ...]]  # platform -> Pythons with binaries
    accel: dict[str, AccelFacts]  # tag -> facts
    builds: tuple[Build, ...]
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    pypi: PypiFacts = field(default_factory=PypiFacts)

    @property
    def minor(self) -> tuple[int, int]:
        return (self.torch.major, self.torch.minor)


@dataclass(frozen=True, slots=True)
class Toolkit:
    """An NVIDIA CUDA toolkit release and the driver it needs."""

    cuda: Version
    driver_linux: Version
    driver_windows: Version | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MinorCompat:
    """The driver floor that lets any toolkit of a major version run (minor-version compatibility)."""

    major: int
    driver_linux: Version
    driver_windows: Version | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForwardCompat:
    """NVIDIA's forward-compatibility package: a newer CUDA on an older driver, where NVIDIA supports it."""

    since: Version  # the first CUDA with the package
    oses: tuple[str, ...]  # linux
    package: str  # cuda-compat-{major}-{minor}
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GpuName:
    """A GPU name (or a name's family word, such as 'Tesla') that marks a class of GPUs."""

    name: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GpuArch:
    sm: str  # sm_61
    cc: Version
    name: str  # Pascal
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArchTarget:
    """The CUDA toolkits that compile code for an architecture: from `since`, before `until` (None: open)."""

    sm: str
    since: Version | None
    until: Version | None
    sources: tuple[str, ...]

    def compiled_by(self, cuda: Version) -> bool:
        return (self.since is None or cuda >= self.since) and (self.until is None or cuda < self.until)

    def compilers(self) -> str:
        """'CUDA 11.8 or later', 'CUDA before 11.0', 'CUDA 8.0 up to (not including) 13.0'."""
        if self.since and self.until:
            return f"CUDA {self.since} up to (not including) {self.until}"
        if self.until:
            return f"CUDA before {self.until}"
        return f"CUDA {self.since} or later" if self.since else "every CUDA"


@dataclass(frozen=True, slots=True)
class GpuModel:
    name: str
    cc: Version
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class When:
    """The condition of a constraint; an empty field matches anything."""

    torch: SpecifierSet = field(default_factory=SpecifierSet)
    routes: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    installers: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    accel_kinds: frozenset[str] = frozenset()
    cuda: SpecifierSet = field(default_factory=SpecifierSet)
    python: SpecifierSet = field(default_factory=SpecifierSet)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A known breakage or requirement: `pin` adds specs, `require` adds packages, `refuse` forbids."""

    id: str
    kind: str  # pin | require | refuse
    when: When
    conda: tuple[str, ...]
    pip: tuple[str, ...]
    channel: str | None  # channel the required packages come from (e.g. defaults for vc=14)
    why: str
    sources: tuple[str, ...]
