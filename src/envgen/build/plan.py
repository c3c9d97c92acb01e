"""`envgen build-env`: the environment for building PyTorch from source, compiled from matrices/build.yaml.

    BuildRequest -plan(build matrix)-> BuildPlan -render-> environment.yml, an env script, a checklist

Everything a build needs that conda can give goes into environment.yml; the script sets what the build
reads; what no package manager can give (CUDA, cuDNN, the host compiler, Visual Studio, NVTX) becomes a
checklist of `CheckItem`s that `envgen.build.check` can verify on this machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import cast

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput, Refusal
from envgen.matrix.build import BuildMatrix, HostCompiler, Layout, SourceEra, VsDefect
from envgen.models import Accel, PyVer, arch_cc, os_of

DEFAULT_COMMAND = ("python", "setup.py", "develop")


@dataclass(frozen=True, slots=True)
class BuildRequest:
    torch: Version | None = None
    ref: str | None = None
    accel: Accel = field(default_factory=lambda: Accel("cpu"))
    platform: str = "linux-64"
    python: PyVer | None = None
    shell: str = "bash"
    arch: str | None = None  # TORCH_CUDA_ARCH_LIST chosen by the user; None or "all": see `gpus`
    gpus: tuple[str, ...] = ()  # compute capabilities of the GPUs found on this machine ("8.6")
    vs: str | None = None  # the Visual Studio the user has: 2019, 17.4.2
    ccache: bool = False
    cuda_home: str | None = None
    build_type: str = "release"


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One thing no package manager provides: what is required and how to check it."""

    id: str  # cuda | cudnn | gcc | msvc | nvtx | cmake | magma
    what: str
    required: str
    how: str
    argv: tuple[str, ...] = ()  # the command that shows the version
    spec: SpecifierSet | None = None  # machine-checkable version range
    why: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildPlan:
    request: BuildRequest
    era: SourceEra
    label: str  # 2.0.0 | main
    platform: str
    python: PyVer
    cuda: Version | None
    host: HostCompiler | None
    layout: Layout
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    pip: tuple[str, ...]
    env: tuple[tuple[str, str], ...]  # name -> value template (${VAR} = another variable)
    checklist: tuple[CheckItem, ...]
    notes: tuple[str, ...]
    env_name: str
    digest: str


# --- planning ------------------------------------------------------------------------------------------
def plan(bm: BuildMatrix, req: BuildRequest) -> BuildPlan:
    era = _era(bm, req)
    layout = bm.layouts.get(req.platform)
    if layout is None:
        raise Refusal(f"build-env has no build facts for platform {req.platform}",
                      alternatives=tuple(f"--platform {p}" for p in bm.layouts))
    if why := era.refuse.get(req.platform):
        raise Refusal(f"torch {req.torch or req.ref} has no source build recipe for {req.platform}: {why}",
                      alternatives=tuple(f"--platform {p}" for p in bm.layouts if p not in era.refuse))
    python = _python(bm, era, req)
    cuda = _cuda(bm, era, req)
    host = bm.host(cuda) if cuda else None
    if req.vs is not None:
        check_vs(bm, era, req.platform, cuda, host, req.vs, _probe(req))
    label = str(req.torch) if req.torch else (req.ref or "")
    notes = list(era.notes) + (list(host.notes) if host else [])
    conda = [f"python={python}", *era.conda]
    magma = bm.magma_conda.get(f"{cuda.major}.{cuda.minor}") if cuda else None
    if magma and os_of(req.platform) == "linux":
        conda.append(magma.package)
    if req.ccache and layout.cache:
        conda.append(f"{layout.cache.channel}::{layout.cache.package}")
    if era.pip:
        conda.append("pip")
    env, arch_note = _env(bm, era, req, layout, cuda, magma is not None)
    if arch_note:
        notes.append(arch_note)
    tag = req.accel.tag
    return BuildPlan(req, era, label, req.platform, python, cuda, host, layout, era.channels, tuple(conda), era.pip,
                     env, tuple(_checklist(bm, era, req, layout, cuda, host, magma is not None)), tuple(notes),
                     f"torch-build-{label}-{tag}", bm.digest)


def _era(bm: BuildMatrix, req: BuildRequest) -> SourceEra:
    era = bm.era_for(req.torch, req.ref)
    if era is None or (req.torch is not None and not bm.known(req.torch)):
        what = f"torch {req.torch}" if req.torch else f"--ref {req.ref}"
        raise BadInput(f"build-env has no build facts for {what}", hint=_known_hint(bm, req.torch))
    return era


def _known_hint(bm: BuildMatrix, torch: Version | None) -> str:
    """The releases of the same minor when there are some, else the eras and refs."""
    if torch is not None:
        near = sorted(v for v in bm.binaries if (v.major, v.minor) == (torch.major, torch.minor))
        if near:
            return "releases of that minor: " + ", ".join(str(v) for v in near)
    return "known eras: " + "; ".join(e.era for e in bm.releases) + " (matrices/build.yaml, matrices/torch.yaml)"


def _probe(req: BuildRequest) -> Version:
    """The release that decides ranges keyed by torch version (a ref counts as newer than any release)."""
    return req.torch if req.torch is not None else Version("9999")


def _python(bm: BuildMatrix, era: SourceEra, req: BuildRequest) -> PyVer:
    pys = tuple(sorted(bm.pythons(era, req.torch, req.platform), key=lambda p: p.sort_key))
    if not pys:
        raise Refusal(f"the torch {_name(era, req.torch)} source tree has no Python range for {req.platform}",
                      hint="build for linux-64 or win-64, or another release (envgen matrix --platform "
                           f"{req.platform} lists the releases that platform has)")
    if req.python is None:
        return [p for p in pys if not p.freethreaded][-1] if any(not p.freethreaded for p in pys) else pys[-1]
    if req.python not in pys:
        raise Refusal(f"the torch {_name(era, req.torch)} source tree does not build for Python {req.python} "
                      f"on {req.platform}",
                      alternatives=tuple(f"--python {p}" for p in reversed(pys)))
    return req.python


def _cuda(bm: BuildMatrix, era: SourceEra, req: BuildRequest) -> Version | None:
    if req.accel.kind == "cpu":
        return None
    if req.accel.kind != "cuda" or req.accel.version is None:
        raise BadInput(f"build-env builds CPU or CUDA variants, not {req.accel.describe()}",
                       hint="use --cpu or --cuda X.Y")
    cudas = bm.cudas(era, req.torch, req.platform)
    if req.accel.version not in cudas:
        alts = tuple(f"--cuda {c}" for c in reversed(cudas)) + ("--cpu",)
        raise Refusal(f"the torch {_name(era, req.torch)} source tree never supported CUDA {req.accel.version} "
                      f"on {req.platform} "
                      f"(it built and tested with CUDA {', '.join(str(c) for c in cudas) or 'none'})",
                      alternatives=alts)
    return req.accel.version


def parse_vs(text: str) -> tuple[int | None, Version | None]:
    """'2019' -> (2019, None); '17.4.2' -> (None, 17.4.2)."""
    raw = text.strip()
    if re.fullmatch(r"20\d\d", raw):
        return int(raw), None
    try:
        return None, Version(raw)
    except InvalidVersion:
        raise BadInput(f"invalid Visual Studio version {text!r}",
                       hint="write a year (2019) or a version (17.4.3)") from None


def check_vs(bm: BuildMatrix, era: SourceEra, platform: str, cuda: Version | None, host: HostCompiler | None,
             text: str, torch: Version) -> None:
    """Raise a Refusal when the given Visual Studio cannot build this era (and CUDA) on Windows."""
    if os_of(platform) != "windows":
        raise BadInput("--vs applies to Windows builds", hint="add --platform win-64 or drop --vs")
    year, product = parse_vs(text)
    vs = bm.vs(year) if year else bm.vs_for_product(cast(Version, product))  # parse_vs gives a year or a version
    allowed = accepted_years(era, cuda)
    ok_names = vs_requirement(bm, era, cuda, host, torch)
    if vs is None or vs.year not in allowed:
        raise Refusal(f"Visual Studio {text} cannot build torch {_name(era, torch)}{_with(cuda)}",
                      hint=f"use {ok_names}")
    if product is not None and host is not None:
        cl = vs.cl_for(product)
        if cl is not None and cl not in host.msvc:
            raise Refusal(f"CUDA {cuda} does not accept Visual Studio {product} (cl {cl}) as host compiler",
                          hint=f"use {ok_names}")
    for d in defects(bm, torch):
        if product is not None and product in d.vs:
            raise Refusal(f"Visual Studio {product} cannot build torch {_name(era, torch)}: {d.why}",
                          hint=f"use {ok_names}")


def _name(era: SourceEra, torch: Version | None) -> str:
    """The release (2.6.0) when there is one, else the era's name (main)."""
    return str(torch) if torch is not None and torch != Version("9999") else era.era


def _with(cuda: Version | None) -> str:
    return f" with CUDA {cuda}" if cuda else " (CPU)"


def accepted_years(era: SourceEra, cuda: Version | None) -> tuple[int, ...]:
    if cuda is None:
        return era.vs_cpu
    return era.vs_host.get(f"{cuda.major}.{cuda.minor}", era.vs_cuda)


def defects(bm: BuildMatrix, torch: Version) -> list[VsDefect]:
    return [d for d in bm.vs_defects if torch in d.torch]


def vs_requirement(bm: BuildMatrix, era: SourceEra, cuda: Version | None, host: HostCompiler | None,
                   torch: Version) -> str:
    """'Visual Studio 2022 17.0-17.9 (cl 19.30-19.39), not 17.4.0-17.4.2 (...); ...' for this era and CUDA."""
    out = []
    for year in sorted(accepted_years(era, cuda), reverse=True):
        vs = bm.vs(year)
        if vs is None:
            continue
        ok = [(upd, cl) for upd, cl in vs.updates if host is None or cl in host.msvc]
        if not ok:
            continue
        text = f"Visual Studio {year} {ok[0][0]}-{ok[-1][0]} (cl {ok[0][1]}-{ok[-1][1]})"
        if host is None and ok[-1][0] == vs.updates[-1][0]:
            text = f"Visual Studio {year} {ok[0][0]} or later (cl {ok[0][1]} or later)"
        for d in defects(bm, torch):
            if any(upd.major == ok[0][0].major and Version(f"{upd}.0") in d.vs for upd, _ in ok):
                text += f", not {spec_text(d.vs)}: {d.why}"
        out.append(text)
    return "; ".join(out) or "no Visual Studio (none of the era's versions is accepted by this CUDA)"


def spec_text(spec: SpecifierSet) -> str:
    """'>=17.4.0, <17.4.3' with the lower bounds first (SpecifierSet's own text is sorted by operator)."""
    order = {">=": 0, ">": 0, "==": 1, "<=": 2, "<": 2, "!=": 3}
    return ", ".join(str(s) for s in sorted(spec, key=lambda s: (order.get(s.operator, 4), s.version)))


def gcc_range(era: SourceEra, host: HostCompiler | None) -> SpecifierSet:
    spec = f">={era.gcc}"
    return SpecifierSet(spec + (f",<{host.gcc_max + 1}" if host else ""))


def normalize_arch(text: str, known: set[str] | None = None) -> str:
    """'sm_86', 'sm_120' or '8.6' or '8.6;9.0+PTX' -> '8.6;9.0+PTX'; with `known`, unknown architectures are refused."""
    parts = []
    for item in re.split(r"[;, ]+", text.strip()):
        if not item:
            continue
        core, ptx = (item[:-4], True) if item.upper().endswith("+PTX") else (item, False)
        named = arch_cc(core)
        if named:
            cc = named[1]
        else:
            m = re.fullmatch(r"(\d)(\d)|(\d+)\.(\d)", core)
            if not m:
                raise BadInput(f"invalid CUDA architecture {item!r}", hint="write 8.6, sm_86, sm_120 or 8.6+PTX")
            cc = Version(f"{m.group(1) or m.group(3)}.{m.group(2) or m.group(4)}")
        major, minor = str(cc.major), str(cc.minor)
        if known is not None and f"{int(major)}.{minor}" not in known:
            raise BadInput(f"unknown CUDA architecture {item!r} (compute capability {int(major)}.{minor})",
                           hint="known: " + ", ".join(sorted(known, key=lambda k: tuple(map(int, k.split("."))))))
        parts.append(f"{int(major)}.{minor}{'+PTX' if ptx else ''}")
    if not parts:
        raise BadInput("empty --arch", hint="write 8.6, sm_86 or 8.6+PTX")
    return ";".join(parts)


def _check_compilable(bm: BuildMatrix, arch: str, cuda: Version) -> None:
    """Refuse an --arch the chosen CUDA toolkit cannot compile (matrices/gpus.yaml `targets`, NVIDIA's notes)."""
    from envgen.matrix import load_matrix

    targets = load_matrix(bm.directory).targets
    for item in arch.split(";"):
        major, minor = item.removesuffix("+PTX").split(".")
        target = targets.get(f"sm_{major}{minor}")
        if target is None or target.compiled_by(cuda):
            continue
        raise BadInput(f"CUDA {cuda} cannot compile for compute capability {item.removesuffix('+PTX')} "
                       f"(sm_{major}{minor}): {target.compilers()} compiles it",
                       hint="choose such a --cuda (with a torch release whose source tree builds with it), or leave "
                            "--arch out")


def _known_archs(bm: BuildMatrix) -> set[str]:
    """Compute capabilities of the NVIDIA architectures in matrices/gpus.yaml."""
    from envgen.matrix import load_matrix

    return {f"{a.cc.major}.{a.cc.minor}" for a in load_matrix(bm.directory).archs.values() if a.sm.startswith("sm_")}


def _env(bm: BuildMatrix, era: SourceEra, req: BuildRequest, layout: Layout, cuda: Version | None,
         has_magma_pkg: bool) -> tuple[tuple[tuple[str, str], ...], str | None]:
    env: list[tuple[str, str]] = [("CMAKE_PREFIX_PATH", layout.prefix)]
    windows = os_of(req.platform) == "windows"
    if windows and layout.include and layout.lib:
        env += [("CMAKE_INCLUDE_PATH", layout.include), ("LIB", layout.lib + ";${LIB}"), ("DISTUTILS_USE_SDK", "1")]
    if gen := era.generator_for(req.platform):
        env.append(("CMAKE_GENERATOR", gen))
    if era.ninja:
        env.append(("USE_NINJA", "1"))
    note = None
    if cuda is None:
        env += list(era.cuda_off)
    else:
        env += list(era.cuda_on)
        env.append((layout.cuda_var, req.cuda_home or layout.cuda_home.format(cuda=cuda)))
        explicit = req.arch not in (None, "all", "auto")
        if explicit:
            arch, why = normalize_arch(req.arch or "", _known_archs(bm)), "from --arch"
            _check_compilable(bm, arch, cuda)
        elif req.gpus and req.arch != "all":
            arch = normalize_arch(";".join(req.gpus))
            why = "the GPUs found on this machine (--arch all: every binary arch)"
        else:
            arch = bm.arch_list(era, req.torch, req.platform, cuda) or ""
            why = (f"the list the torch {_name(era, req.torch)} binaries were built with; pass --arch for your GPU "
                   "only (faster build)")
        if arch:
            env.append(("TORCH_CUDA_ARCH_LIST", arch))
            note = f"TORCH_CUDA_ARCH_LIST={arch}: {why}"
        if windows and magma_archive(bm, _probe(req), cuda, req.build_type) and layout.magma_home:
            env.append(("MAGMA_HOME", layout.magma_home))
        elif has_magma_pkg and not windows:
            env.append(("MAGMA_HOME", layout.prefix))
    if req.ccache and layout.cache:
        env += list(layout.cache.env)
    return tuple(env), note


def magma_archive(bm: BuildMatrix, torch: Version, cuda: Version, build_type: str) -> str | None:
    for a in bm.magma_windows:
        if torch in a.torch and cuda in a.cuda:
            return a.url.format(cudanum=f"{cuda.major}{cuda.minor}", build_type=build_type)
    return None


# --- the checklist -----------------------------------------------------------------------------------------
def _checklist(bm: BuildMatrix, era: SourceEra, req: BuildRequest, layout: Layout, cuda: Version | None,
               host: HostCompiler | None, has_magma_pkg: bool) -> list[CheckItem]:
    windows = os_of(req.platform) == "windows"
    sep = "\\" if windows else "/"
    items: list[CheckItem] = []
    if cuda is not None:
        home = req.cuda_home or layout.cuda_home.format(cuda=cuda)
        items.append(CheckItem(
            "cuda", "CUDA toolkit", f"CUDA {cuda} (nvcc release {cuda})",
            f"`nvcc --version` prints `release {cuda}`; install it from NVIDIA's CUDA toolkit archive into {home}",
            ("nvcc", "--version"), SpecifierSet(f"=={cuda}.*"), f"torch {req.torch or req.ref} built and tested with "
            f"CUDA {', '.join(str(c) for c in bm.cudas(era, req.torch, req.platform))}", era.sources))
        items.append(CheckItem(
            "cudnn", "cuDNN", f"cuDNN {era.cudnn} or later, built for CUDA {cuda.major}.x",
            f"CUDNN_MAJOR in cudnn_version.h (cuDNN 8+) or cudnn.h under {home}{sep}include or CUDNN_INCLUDE_DIR",
            (), SpecifierSet(f">={era.cudnn}"), "the README's cuDNN floor for this source tree", era.sources))
    if windows:
        items += _windows_items(bm, era, req, layout, cuda, host)
    else:
        items.append(CheckItem(
            "gcc", "gcc (host compiler)", f"gcc {spec_text(gcc_range(era, host))} ({era.cxx})",
            "`gcc --version`; with several installed, point CC/CXX (and CUDAHOSTCXX) at one in range",
            ("gcc", "--version"), gcc_range(era, host),
            (f"nvcc {cuda} accepts gcc {host.gcc_max} at most; " if host else "") + f"the tree needs {era.cxx}",
            tuple(dict.fromkeys((host.sources if host else ()) + era.sources))))
    if cuda is not None and not windows and not has_magma_pkg:
        items.append(CheckItem("magma", "MAGMA", f"no magma-cuda package for CUDA {cuda}",
                               "build MAGMA yourself and set MAGMA_HOME, or build without it (USE_MAGMA=0)"))
    items.append(CheckItem("cmake", "CMake", f"cmake {spec_text(era.cmake)}",
                           "`cmake --version` (environment.yml pins it)",
                           ("cmake", "--version"), era.cmake, "the tree's cmake_minimum_required; CMake 4 dropped "
                           "compatibility with projects older than 3.5", era.sources))
    return items


def _windows_items(bm: BuildMatrix, era: SourceEra, req: BuildRequest, layout: Layout, cuda: Version | None,
                   host: HostCompiler | None) -> list[CheckItem]:
    """Visual Studio, NVTX (eras that link NvToolsExt) and the MAGMA archive."""
    items: list[CheckItem] = []
    items.append(CheckItem(
        "msvc", "Visual Studio / Build Tools",
        vs_requirement(bm, era, cuda, host, _probe(req)) + "; Community, Professional, Enterprise or Build Tools "
        "with the 'Desktop development with C++' workload (Visual Studio Code is not enough)",
        "`cl` (in a Developer Command Prompt) prints `Version 19.xx`; the Visual Studio Installer shows the update",
        ("cl",), host.msvc if host else None, "nvcc accepts only these cl.exe versions as host compiler"
        if host else "the Visual Studio versions this source tree was built with",
        tuple(dict.fromkeys((host.sources if host else ()) + era.sources))))
    if cuda is not None and era.nvtx and layout.nvtx:
        items.append(CheckItem(
            "nvtx", "NVTX (NvToolsExt)", f"{layout.nvtx} (or NVTOOLSEXT_PATH set)",
            "re-run the CUDA installer and tick Nsight NVTX / Visual Studio Integration; the file must exist",
            (), None, "the Windows build links nvToolsExt64_1.lib", era.sources))
    if cuda is not None and (url := magma_archive(bm, _probe(req), cuda, req.build_type)):
        items.append(CheckItem(
            "magma", "MAGMA (prebuilt archive)", url, f"download it and extract it into {_shown(layout.magma_home)} "
            "(7z x ARCHIVE -oDIR); no conda package exists for Windows", (), None,
            "GPU LAPACK (torch.linalg on CUDA)", tuple(s for a in bm.magma_windows for s in a.sources)))
    elif cuda is not None:
        items.append(CheckItem("magma", "MAGMA", f"no prebuilt MAGMA archive known for torch {req.torch or req.ref} "
                               f"with CUDA {cuda}", "build MAGMA yourself and set MAGMA_HOME, or build without "
                               "it (USE_MAGMA=0)"))
    return items


def describe(plan_: BuildPlan) -> dict[str, object]:
    """The plan as JSON-ready data."""
    return {
        "torch": plan_.label, "platform": plan_.platform, "python": str(plan_.python),
        "accel": plan_.request.accel.tag, "cuda": str(plan_.cuda) if plan_.cuda else None,
        "channels": list(plan_.channels), "conda": list(plan_.conda), "pip": list(plan_.pip),
        "env": dict(plan_.env), "notes": list(plan_.notes),
        "checklist": [{"id": c.id, "what": c.what, "required": c.required, "how": c.how,
                       "command": list(c.argv), "spec": str(c.spec) if c.spec is not None else None,
                       "why": c.why, "sources": list(c.sources)} for c in plan_.checklist],
    }


def input_hash(plan_: BuildPlan) -> str:
    import hashlib

    data = json.dumps([describe(plan_), plan_.request.shell, plan_.digest], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def _shown(template: str | None) -> str:
    """A ${VAR} template as Windows users read it: %VAR%."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"%\1%", template or "")
