"""matrices/build.yaml: what building PyTorch from source needs, loaded and validated on its own.

`load_build(directory) -> BuildMatrix` reads build.yaml (and sources.yaml for the ids it cites) and reports
every problem with its place, like the core loader. The core `Matrix` does not include this file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.errors import MatrixError
from envgen.matrix.reader import Reader
from envgen.models import PLATFORMS, PyVer

FILE = "build.yaml"
TOP_KEYS = {"visual_studio", "vs_defects", "host_compilers", "magma", "layout", "releases"}
ERA_KEYS = {"era", "versions", "ref", "python", "cuda", "cudnn", "gcc", "cxx", "cmake", "visual_studio", "channels",
            "conda", "pip", "cuda_switch", "generator", "ninja", "nvtx", "arch_list", "notes", "confidence", "source"}
HOST_KEYS = {"cuda", "gcc", "clang", "msvc", "confidence", "notes", "source"}
LAYOUT_KEYS = {"prefix", "include", "lib", "magma_home", "cuda_home", "cuda_var", "nvtx", "cache", "source"}
CONFIDENCE = ("H", "M", "L")


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
    versions: tuple[Version, ...]
    ref: str | None
    python: dict[str, tuple[PyVer, ...]]  # platform -> Pythons
    cuda: dict[str, tuple[Version, ...]]  # platform -> CUDA versions built and tested
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
    arch_list: dict[str, dict[str, str]]  # platform or 'default' -> CUDA 'X.Y' -> TORCH_CUDA_ARCH_LIST
    notes: tuple[str, ...]
    confidence: str
    sources: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.ref if self.ref else ", ".join(str(v) for v in self.versions)

    def pythons(self, platform: str) -> tuple[PyVer, ...]:
        return self.python.get(platform, self.python.get("default", ()))

    def cudas(self, platform: str) -> tuple[Version, ...]:
        return self.cuda.get(platform, self.cuda.get("default", ()))

    def arch_list_for(self, platform: str, cuda: Version) -> str | None:
        key = f"{cuda.major}.{cuda.minor}"
        return self.arch_list.get(platform, {}).get(key) or self.arch_list.get("default", {}).get(key)

    def generator_for(self, platform: str) -> str | None:
        return self.generator.get(platform, self.generator.get("default"))


@dataclass(frozen=True, slots=True)
class BuildMatrix:
    visual_studio: tuple[VisualStudio, ...]
    vs_defects: tuple[VsDefect, ...]
    host_compilers: dict[str, HostCompiler]  # 'X.Y' -> row
    magma_conda: dict[str, MagmaPackage]
    magma_windows: tuple[MagmaArchive, ...]
    layouts: dict[str, Layout]
    releases: tuple[SourceEra, ...]
    sources: dict[str, str]  # id -> URL
    directory: str
    digest: str

    def era_for(self, torch: Version | None = None, ref: str | None = None) -> SourceEra | None:
        for era in self.releases:
            if (ref is not None and era.ref == ref) or (torch is not None and torch in era.versions):
                return era
        return None

    def host(self, cuda: Version) -> HostCompiler | None:
        return self.host_compilers.get(f"{cuda.major}.{cuda.minor}")

    def vs(self, year: int) -> VisualStudio | None:
        return next((v for v in self.visual_studio if v.year == year), None)

    def vs_for_product(self, product: Version) -> VisualStudio | None:
        """VS 2022 for 17.x, 2019 for 16.x ... (the product major of the year's first update)."""
        return next((v for v in self.visual_studio if v.updates and v.updates[0][0].major == product.major), None)


# --- loading ---------------------------------------------------------------------------------------------
def load_build(directory: str | os.PathLike[str] | None = None) -> BuildMatrix:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from envgen.matrix import find_matrix_dir
    from envgen.matrix.load import load_sources

    folder = find_matrix_dir(directory)
    problems: list[str] = []
    texts = {}
    for name in (FILE, "sources.yaml"):
        path = folder / name
        if not path.is_file():
            raise MatrixError([f"matrices/{name}: file missing from {folder}"])
        texts[name] = path.read_bytes()
    docs = {}
    for name, data in texts.items():
        try:
            docs[name] = YAML(typ="rt").load(data)
        except YAMLError as exc:
            problems.append(f"matrices/{name}: not valid YAML: {str(exc).splitlines()[0]}")
    if problems:
        raise MatrixError(problems)
    sources = {sid: s.url for sid, s in load_sources(Reader("sources.yaml", problems), docs["sources.yaml"]).items()}
    r = Reader(FILE, problems)
    matrix = _parse(r, docs[FILE], sources, folder, hashlib.sha256(texts[FILE]).hexdigest())
    if not problems:
        problems += _check(matrix)
    if problems:
        raise MatrixError(problems)
    return matrix


def _parse(r: Reader, doc: Any, sources: dict[str, str], folder: Path, digest: str) -> BuildMatrix:
    doc = r.mapping(doc, "")
    r.unknown_keys(doc, TOP_KEYS, "")
    magma = r.mapping(r.field(doc, "magma", ""), "magma")
    r.unknown_keys(magma, {"conda", "windows"}, "magma")
    return BuildMatrix(
        visual_studio=tuple(_visual_studio(r, n, f"visual_studio[{i}]") for i, n in _rows(r, doc, "visual_studio")),
        vs_defects=tuple(_defect(r, n, f"vs_defects[{i}]") for i, n in _rows(r, doc, "vs_defects")),
        host_compilers=_keyed(r, [_host(r, n, f"host_compilers[{i}]") for i, n in _rows(r, doc, "host_compilers")],
                              "host_compilers"),
        magma_conda=_keyed(r, [_magma(r, n, f"magma.conda[{i}]") for i, n in _rows(r, magma, "conda", "magma.")],
                           "magma.conda"),
        magma_windows=tuple(_archive(r, n, f"magma.windows[{i}]") for i, n in _rows(r, magma, "windows", "magma.")),
        layouts={str(p): _layout(r, str(p), r.mapping(n, f"layout.{p}"), f"layout.{p}")
                 for p, n in r.mapping(r.field(doc, "layout", ""), "layout").items()},
        releases=tuple(e for i, n in _rows(r, doc, "releases") if (e := _era(r, n, f"releases[{i}]"))),
        sources=sources, directory=str(folder), digest=digest)


def _rows(r: Reader, doc: dict[str, Any], key: str, prefix: str = "") -> list[tuple[int, dict[str, Any]]]:
    return [(i, r.mapping(n, f"{prefix}{key}[{i}]")) for i, n in enumerate(r.seq(r.field(doc, key, prefix.rstrip(".")),
                                                                                  f"{prefix}{key}"))]


def _keyed(r: Reader, rows: list[Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        if row is None:
            continue
        key = f"{row.cuda.major}.{row.cuda.minor}"
        if key in out:
            r.problem(path, f"CUDA {key} is listed twice")
        out[key] = row
    return out


def _confidence(r: Reader, node: dict[str, Any], path: str) -> str:
    value = r.text(node, "confidence", path, "H") or "H"
    if value not in CONFIDENCE:
        r.problem(f"{path}.confidence", f"confidence must be H, M or L, got {value!r}", node, "confidence")
    return value


def _int(r: Reader, node: dict[str, Any], key: str, path: str, required: bool = True) -> int | None:
    value = r.field(node, key, path) if required else node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        r.problem(f"{path}.{key}", f"expected a whole number, got {value!r}", node, key)
        return None
    return value


def _visual_studio(r: Reader, node: dict[str, Any], path: str) -> VisualStudio:
    r.unknown_keys(node, {"year", "generator", "updates", "source"}, path)
    updates = []
    for key, value in r.mapping(r.field(node, "updates", path, {}), f"{path}.updates").items():
        upd = r.version(key, f"{path}.updates.{key}", node.get("updates"), key)
        cl = r.version(value, f"{path}.updates.{key}", node.get("updates"), key)
        if upd and cl:
            updates.append((upd, cl))
    return VisualStudio(_int(r, node, "year", path) or 0, r.text(node, "generator", path) or "",
                        tuple(sorted(updates)), r.strings(node, "source", path))


def _defect(r: Reader, node: dict[str, Any], path: str) -> VsDefect:
    r.unknown_keys(node, {"id", "vs", "torch", "why", "source"}, path)
    return VsDefect(r.text(node, "id", path) or path, r.specifier(r.field(node, "vs", path), f"{path}.vs", node, "vs"),
                    r.specifier(node.get("torch"), f"{path}.torch", node, "torch"), r.text(node, "why", path) or "",
                    r.strings(node, "source", path))


def _host(r: Reader, node: dict[str, Any], path: str) -> HostCompiler | None:
    r.unknown_keys(node, HOST_KEYS, path)
    cuda = r.version(r.field(node, "cuda", path), f"{path}.cuda", node, "cuda")
    gcc = _int(r, node, "gcc", path)
    if cuda is None or gcc is None:
        return None
    return HostCompiler(cuda, gcc, _int(r, node, "clang", path, required=False),
                        r.specifier(r.field(node, "msvc", path), f"{path}.msvc", node, "msvc"),
                        _confidence(r, node, path), r.strings(node, "notes", path), r.strings(node, "source", path))


def _magma(r: Reader, node: dict[str, Any], path: str) -> MagmaPackage | None:
    r.unknown_keys(node, {"cuda", "package", "confidence", "source"}, path)
    cuda = r.version(r.field(node, "cuda", path), f"{path}.cuda", node, "cuda")
    package = r.text(node, "package", path) or ""
    if cuda and package != f"magma-cuda{cuda.major}{cuda.minor}":
        r.problem(f"{path}.package", f"expected magma-cuda{cuda.major}{cuda.minor} for CUDA {cuda}, got {package!r}",
                  node, "package")
    return MagmaPackage(cuda, package, _confidence(r, node, path), r.strings(node, "source", path)) if cuda else None


def _archive(r: Reader, node: dict[str, Any], path: str) -> MagmaArchive:
    r.unknown_keys(node, {"torch", "url", "cuda", "confidence", "notes", "source"}, path)
    url = r.text(node, "url", path) or ""
    if not url.startswith("https://"):
        r.problem(f"{path}.url", f"not an https URL: {url!r}", node, "url")
    cudas = tuple(v for i, c in enumerate(r.strings(node, "cuda", path))
                  if (v := r.version(c, f"{path}.cuda[{i}]", node.get("cuda"), i)))
    return MagmaArchive(r.specifier(r.field(node, "torch", path), f"{path}.torch", node, "torch"), url, cudas,
                        _confidence(r, node, path), r.strings(node, "notes", path), r.strings(node, "source", path))


def _layout(r: Reader, platform: str, node: dict[str, Any], path: str) -> Layout:
    if platform not in PLATFORMS:
        r.problem(path, f"unknown platform {platform!r}")
    r.unknown_keys(node, LAYOUT_KEYS, path)
    cache = None
    if "cache" in node:
        c = r.mapping(node["cache"], f"{path}.cache")
        r.unknown_keys(c, {"tool", "package", "channel", "env"}, f"{path}.cache")
        env = tuple((str(k), str(v)) for k, v in r.mapping(c.get("env", {}), f"{path}.cache.env").items())
        cache = CacheTool(r.text(c, "tool", f"{path}.cache") or "", r.text(c, "package", f"{path}.cache") or "",
                          r.text(c, "channel", f"{path}.cache") or "", env)
    opt = lambda key: r.text(node, key, path, None)  # noqa: E731
    return Layout(platform, r.text(node, "prefix", path) or "", opt("include"), opt("lib"), opt("magma_home"),
                  r.text(node, "cuda_home", path) or "", r.text(node, "cuda_var", path) or "", opt("nvtx"), cache,
                  r.strings(node, "source", path))


def _era(r: Reader, node: dict[str, Any], path: str) -> SourceEra | None:
    name = r.text(node, "era", path) or ""
    path = f"{path}(era {name})"
    r.unknown_keys(node, ERA_KEYS, path)
    versions = tuple(v for i, t in enumerate(r.strings(node, "versions", path))
                     if (v := r.version(t, f"{path}.versions[{i}]", node.get("versions"), i)))
    ref = r.text(node, "ref", path, None)
    if not versions and not ref:
        r.problem(path, "an era needs `versions` or a `ref`", node)
    vs = r.mapping(r.field(node, "visual_studio", path), f"{path}.visual_studio")
    r.unknown_keys(vs, {"cpu", "cuda", "host"}, f"{path}.visual_studio")
    switch = r.mapping(r.field(node, "cuda_switch", path), f"{path}.cuda_switch")
    pairs = lambda key: tuple((str(k), str(v)) for k, v in r.mapping(switch.get(key, {}),  # noqa: E731
                                                                      f"{path}.cuda_switch.{key}").items())
    cudnn = r.version(r.field(node, "cudnn", path), f"{path}.cudnn", node, "cudnn")
    gcc = r.version(r.field(node, "gcc", path), f"{path}.gcc", node, "gcc")
    if cudnn is None or gcc is None:
        return None
    return SourceEra(
        era=name, versions=versions, ref=ref, python=_per_platform(r, node, "python", path, r.pythons),
        cuda=_per_platform(r, node, "cuda", path, lambda v, p, n, k: _versions(r, v, p)),
        cudnn=cudnn, gcc=gcc, cxx=r.text(node, "cxx", path) or "",
        cmake=r.specifier(r.field(node, "cmake", path), f"{path}.cmake", node, "cmake"),
        vs_cpu=_years(r, vs, "cpu", f"{path}.visual_studio"), vs_cuda=_years(r, vs, "cuda", f"{path}.visual_studio"),
        vs_host={str(k): _years(r, {k: v}, k, f"{path}.visual_studio.host")
                 for k, v in r.mapping(vs.get("host", {}), f"{path}.visual_studio.host").items()},
        channels=r.strings(node, "channels", path), conda=r.strings(node, "conda", path),
        pip=r.strings(node, "pip", path), cuda_on=pairs("on"), cuda_off=pairs("off"),
        generator={str(k): str(v) for k, v in r.mapping(node.get("generator", {}), f"{path}.generator").items()},
        ninja=bool(node.get("ninja", False)), nvtx=bool(node.get("nvtx", False)),
        arch_list={str(p): {str(c): str(a) for c, a in r.mapping(m, f"{path}.arch_list.{p}").items()}
                   for p, m in r.mapping(node.get("arch_list", {}), f"{path}.arch_list").items()},
        notes=r.strings(node, "notes", path), confidence=_confidence(r, node, path),
        sources=r.strings(node, "source", path))


def _per_platform(r: Reader, node: dict[str, Any], key: str, path: str, parse: Any) -> dict[str, tuple[Any, ...]]:
    out = {}
    for plat, value in r.mapping(r.field(node, key, path), f"{path}.{key}").items():
        if plat != "default" and plat not in PLATFORMS:
            r.problem(f"{path}.{key}.{plat}", f"unknown platform {plat!r}", node.get(key), plat)
        if isinstance(value, str) and key == "python":
            value = [v.strip() for v in value.split(",")]
        out[str(plat)] = parse(value, f"{path}.{key}.{plat}", node.get(key), plat)
    return out


def _versions(r: Reader, value: Any, path: str) -> tuple[Version, ...]:
    return tuple(v for i, t in enumerate(r.seq(value, path)) if (v := r.version(t, f"{path}[{i}]", value, i)))


def _years(r: Reader, node: dict[str, Any], key: str, path: str) -> tuple[int, ...]:
    out = []
    for i, year in enumerate(r.seq(node.get(key), f"{path}.{key}")):
        if isinstance(year, bool) or not isinstance(year, int):
            r.problem(f"{path}.{key}[{i}]", f"expected a Visual Studio year like 2019, got {year!r}", node.get(key), i)
        else:
            out.append(year)
    return tuple(out)


# --- consistency ------------------------------------------------------------------------------------------
def _check(m: BuildMatrix) -> list[str]:
    out: list[str] = []
    where = f"matrices/{FILE}"

    def cite(ids: tuple[str, ...], place: str) -> None:
        if not ids:
            out.append(f"{where}: {place}: no source given (every row cites one)")
        out.extend(f"{where}: {place}: unknown source '{s}' (add it to matrices/sources.yaml)"
                   for s in ids if s not in m.sources)

    for vs in m.visual_studio:
        cite(vs.sources, f"visual_studio({vs.year})")
    for d in m.vs_defects:
        cite(d.sources, f"vs_defects({d.id})")
    for key, h in m.host_compilers.items():
        cite(h.sources, f"host_compilers(cuda {key})")
    for key, p in m.magma_conda.items():
        cite(p.sources, f"magma.conda(cuda {key})")
    for a in m.magma_windows:
        cite(a.sources, f"magma.windows({a.torch})")
    for plat, lay in m.layouts.items():
        cite(lay.sources, f"layout.{plat}")
    years = {vs.year for vs in m.visual_studio}
    seen: dict[Version, str] = {}
    for era in m.releases:
        place = f"releases(era {era.era})"
        cite(era.sources, place)
        for v in era.versions:
            if v in seen:
                out.append(f"{where}: {place}.versions: {v} is also in era {seen[v]}")
            seen[v] = era.era
        for plat, cudas in era.cuda.items():
            out.extend(f"{where}: {place}.cuda.{plat}: CUDA {c} has no host_compilers row"
                       for c in cudas if m.host(c) is None)
        all_cuda = {f"{c.major}.{c.minor}" for cs in era.cuda.values() for c in cs}
        for plat, table in era.arch_list.items():
            out.extend(f"{where}: {place}.arch_list.{plat}: CUDA {c} is not one of the era's CUDA versions"
                       for c in table if c not in all_cuda)
        for y in era.vs_cpu + era.vs_cuda + tuple(y for ys in era.vs_host.values() for y in ys):
            if y not in years:
                out.append(f"{where}: {place}.visual_studio: unknown Visual Studio {y} (not in visual_studio)")
    return out


__all__ = ["BuildMatrix", "HostCompiler", "Layout", "MagmaArchive", "MagmaPackage", "SourceEra", "VisualStudio",
           "VsDefect", "load_build"]
