"""matrices/build.yaml: what building PyTorch from source needs, loaded and validated on its own.

`load_build(directory) -> BuildMatrix` reads build.yaml (and sources.yaml for the ids it cites, and the core
matrix for each release's Pythons, CUDA versions and arch lists) and reports every problem with its place,
like the core loader. The records live in `matrix.buildrecords`, the cross-reference checks in
`matrix.buildxref`, the facts taken from torch.yaml in `matrix.buildbin`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.version import Version

from envgen.errors import MatrixError
from envgen.matrix.buildrecords import (
    BinaryFacts,
    BuildMatrix,
    CacheTool,
    HostCompiler,
    Layout,
    MagmaArchive,
    MagmaPackage,
    SourceEra,
    VisualStudio,
    VsDefect,
)
from envgen.matrix.reader import Reader
from envgen.models import PLATFORMS

FILE = "build.yaml"
TOP_KEYS = {"visual_studio", "vs_defects", "host_compilers", "magma", "layout", "binary_families", "releases"}
ERA_KEYS = {"era", "versions", "torch", "ref", "python", "cuda", "cudnn", "gcc", "cxx", "cmake", "visual_studio",
            "channels", "conda", "pip", "cuda_switch", "generator", "ninja", "nvtx", "arch_list", "refuse", "notes",
            "confidence", "source"}
HOST_KEYS = {"cuda", "gcc", "clang", "msvc", "confidence", "notes", "source"}
LAYOUT_KEYS = {"prefix", "include", "lib", "magma_home", "cuda_home", "cuda_var", "nvtx", "cache", "source"}
CONFIDENCE = ("H", "M", "L")


# --- loading ---------------------------------------------------------------------------------------------
def load_build(directory: str | os.PathLike[str] | None = None) -> BuildMatrix:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from envgen.matrix.buildbin import binary_facts
    from envgen.matrix.buildxref import check
    from envgen.matrix.loader import find_matrix_dir, load_matrix
    from envgen.matrix.tables import load_sources

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
    core = load_matrix(folder)
    r = Reader(FILE, problems)
    digest = hashlib.sha256(texts[FILE]).hexdigest()  # what a plan takes from torch.yaml is in the plan itself
    matrix = _parse(r, docs[FILE], sources, folder, digest)
    matrix = replace(matrix, binaries=binary_facts(core, matrix.families))
    if not problems:
        problems += check(matrix)
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
        families=r.strings(doc, "binary_families", ""), binaries={}, sources=sources, directory=str(folder),
        digest=digest)


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
    def opt(key: str) -> str | None:
        return r.text(node, key, path, None)

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
    torch = r.specifier(node["torch"], f"{path}.torch", node, "torch") if "torch" in node else None
    if not versions and not ref and torch is None:
        r.problem(path, "an era needs `versions`, a `torch` range or a `ref`", node)
    vs = r.mapping(r.field(node, "visual_studio", path), f"{path}.visual_studio")
    r.unknown_keys(vs, {"cpu", "cuda", "host"}, f"{path}.visual_studio")
    switch = r.mapping(r.field(node, "cuda_switch", path), f"{path}.cuda_switch")
    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        return tuple((str(k), str(v)) for k, v in r.mapping(switch.get(key, {}), f"{path}.cuda_switch.{key}").items())

    cudnn = r.version(r.field(node, "cudnn", path), f"{path}.cudnn", node, "cudnn")
    gcc = r.version(r.field(node, "gcc", path), f"{path}.gcc", node, "gcc")
    if cudnn is None or gcc is None:
        return None
    return SourceEra(
        era=name, versions=versions, torch=torch, ref=ref, python=_per_platform(r, node, "python", path, r.pythons),
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
        refuse=_refuse(r, node, path), notes=r.strings(node, "notes", path), confidence=_confidence(r, node, path),
        sources=r.strings(node, "source", path))


def _refuse(r: Reader, node: dict[str, Any], path: str) -> dict[str, str]:
    out = {}
    for plat, why in r.mapping(node.get("refuse", {}), f"{path}.refuse").items():
        if plat not in PLATFORMS:
            r.problem(f"{path}.refuse.{plat}", f"unknown platform {plat!r}", node.get("refuse"), plat)
        out[str(plat)] = str(why)
    return out


def _per_platform(r: Reader, node: dict[str, Any], key: str, path: str, parse: Any) -> dict[str, tuple[Any, ...]]:
    """An optional per-platform table (`default` + platforms); absent: the binary matrix decides."""
    out = {}
    for plat, value in r.mapping(node.get(key, {}), f"{path}.{key}").items():
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


__all__ = ["BinaryFacts", "BuildMatrix", "CacheTool", "HostCompiler", "Layout", "MagmaArchive", "MagmaPackage",
           "SourceEra", "VisualStudio", "VsDefect", "load_build"]
