"""Frozen records of matrices/build.yaml (loaded by `envgen.matrix.build.load_build`).

A source era names what building a range of torch releases needs. Pythons, CUDA versions and arch lists are
read from the binary matrix (matrices/torch.yaml) per release (`BinaryFacts`) unless the era states them.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.models import PyVer


@dataclass(frozen=True, slots=True)
class VisualStudio:
    year: int
    generator: str
    updates: tuple[tuple[Version, Version], ...]  # product update (17.4) -> cl.exe version (19.34), ascending
    sources: tuple[str, ...]

    def cl_for(self, product: Version) -> Version | None:
        """The cl.exe version of a product version (17.4.2 -> 19.34): the newest listed update not after it."""
        key = Version(".".join(str(p) for p in (product.release + (0,))[:2]))
        found = [cl for upd, cl in self.updates if upd <= key]
        return found[-1] if found else None


@dataclass(frozen=True, slots=True)
class VsDefect:
    id: str
    vs: SpecifierSet  # product versions (17.4.0 ...) that fail
    torch: SpecifierSet
    why: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HostCompiler:
    cuda: Version
    gcc_max: int
    clang_max: int | None
    msvc: SpecifierSet  # cl.exe versions nvcc accepts
    confidence: str
    notes: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MagmaPackage:
    cuda: Version
    package: str
    confidence: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MagmaArchive:
    torch: SpecifierSet
    url: str  # template: {cudanum}, {build_type}
    cuda: tuple[Version, ...]
    confidence: str
    notes: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CacheTool:
    tool: str
    package: str
    channel: str
    env: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Layout:
    platform: str
    prefix: str
    include: str | None
    lib: str | None
    magma_home: str | None
    cuda_home: str  # template with {cuda}
    cuda_var: str
    nvtx: str | None
    cache: CacheTool | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceEra:
    era: str
    versions: tuple[Version, ...]  # releases listed one by one
    torch: SpecifierSet | None  # or a range of releases (those the binary matrix knows)
    ref: str | None
    python: dict[str, tuple[PyVer, ...]]  # platform -> Pythons; empty: the release's binaries decide
    cuda: dict[str, tuple[Version, ...]]  # platform -> CUDA versions; empty: the release's binaries decide
    cudnn: Version
    gcc: Version  # the oldest gcc the tree compiles with
    cxx: str
    cmake: SpecifierSet
    vs_cpu: tuple[int, ...]
    vs_cuda: tuple[int, ...]
    vs_host: dict[str, tuple[int, ...]]  # CUDA 'X.Y' -> VS years nvcc must use as host compiler
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    pip: tuple[str, ...]
    cuda_on: tuple[tuple[str, str], ...]
    cuda_off: tuple[tuple[str, str], ...]
    generator: dict[str, str]  # platform or 'default' -> CMake generator
    ninja: bool
    nvtx: bool
    arch_list: dict[str, dict[str, str]]  # platform or 'default' -> CUDA 'X.Y' -> TORCH_CUDA_ARCH_LIST (overrides)
    refuse: dict[str, str]  # platform -> why this era has no source build recipe there
    notes: tuple[str, ...]
    confidence: str
    sources: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.ref:
            return self.ref
        return ", ".join([str(v) for v in self.versions] + ([f"torch{self.torch}"] if self.torch else []))

    def covers(self, torch: Version) -> bool:
        return torch in self.versions or (self.torch is not None and self.torch.contains(torch, prereleases=True))

    def arch_list_for(self, platform: str, cuda: Version) -> str | None:
        """The era's own TORCH_CUDA_ARCH_LIST for this CUDA (an override of the binary matrix's list)."""
        key = f"{cuda.major}.{cuda.minor}"
        return self.arch_list.get(platform, {}).get(key) or self.arch_list.get("default", {}).get(key)

    def generator_for(self, platform: str) -> str | None:
        return self.generator.get(platform, self.generator.get("default"))


@dataclass(frozen=True, slots=True)
class BinaryFacts:
    """What the binary matrix (torch.yaml) says about one release: Pythons, CUDA versions, arch lists."""

    torch: Version
    python: dict[str, tuple[PyVer, ...]]  # platform -> Pythons with binaries
    cuda: dict[str, tuple[Version, ...]]  # platform -> CUDA versions of the project's own builds
    archs: dict[str, str]  # CUDA 'X.Y' -> '5.0;6.0;7.0' (from the builds' sm_XX lists)


@dataclass(frozen=True, slots=True)
class BuildMatrix:
    visual_studio: tuple[VisualStudio, ...]
    vs_defects: tuple[VsDefect, ...]
    host_compilers: dict[str, HostCompiler]  # 'X.Y' -> row
    magma_conda: dict[str, MagmaPackage]
    magma_windows: tuple[MagmaArchive, ...]
    layouts: dict[str, Layout]
    releases: tuple[SourceEra, ...]
    families: tuple[str, ...]  # route families of torch.yaml whose builds count as the project's own
    binaries: dict[Version, BinaryFacts]  # per release of torch.yaml
    sources: dict[str, str]  # id -> URL
    directory: str
    digest: str  # of build.yaml

    def era_for(self, torch: Version | None = None, ref: str | None = None) -> SourceEra | None:
        for era in self.releases:
            if (ref is not None and era.ref == ref) or (torch is not None and era.covers(torch)):
                return era
        return None

    def known(self, torch: Version) -> bool:
        """A release envgen knows: in torch.yaml, or listed by an era."""
        return torch in self.binaries or any(torch in e.versions for e in self.releases)

    def pythons(self, era: SourceEra, torch: Version | None, platform: str) -> tuple[PyVer, ...]:
        """The era's Pythons for the platform, else the release's binary Pythons there (else on linux-64)."""
        if era.python:
            return era.python.get(platform, era.python.get("default", ()))
        facts = self.binaries.get(torch) if torch else None
        if facts is None:
            return ()
        return facts.python.get(platform) or facts.python.get("linux-64", ())

    def cudas(self, era: SourceEra, torch: Version | None, platform: str) -> tuple[Version, ...]:
        """The CUDA versions this source release built and tested on the platform (era override, else binaries)."""
        if era.cuda:
            return era.cuda.get(platform, era.cuda.get("default", ()))
        facts = self.binaries.get(torch) if torch else None
        return facts.cuda.get(platform, ()) if facts else ()

    def arch_list(self, era: SourceEra, torch: Version | None, platform: str, cuda: Version) -> str | None:
        if own := era.arch_list_for(platform, cuda):
            return own
        facts = self.binaries.get(torch) if torch else None
        return facts.archs.get(f"{cuda.major}.{cuda.minor}") if facts else None

    def host(self, cuda: Version) -> HostCompiler | None:
        return self.host_compilers.get(f"{cuda.major}.{cuda.minor}")

    def vs(self, year: int) -> VisualStudio | None:
        return next((v for v in self.visual_studio if v.year == year), None)

    def vs_for_product(self, product: Version) -> VisualStudio | None:
        """VS 2022 for 17.x, 2019 for 16.x ... (the product major of the year's first update)."""
        return next((v for v in self.visual_studio if v.updates and v.updates[0][0].major == product.major), None)


__all__ = ["BinaryFacts", "BuildMatrix", "CacheTool", "HostCompiler", "Layout", "MagmaArchive", "MagmaPackage",
           "SourceEra", "VisualStudio", "VsDefect"]
