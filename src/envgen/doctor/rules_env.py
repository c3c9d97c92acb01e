"""Rules about what sits around torch: Windows runtimes, MKL, NumPy, mixed installers, channels, library paths."""

from __future__ import annotations

import re
from typing import Any

from packaging.version import InvalidVersion, Version

from envgen.compile.commands import display
from envgen.doctor import fixes
from envgen.doctor.facts import Facts
from envgen.doctor.findings import TORCH_FAMILY, Context, Finding, constraint_spec, current_accel, torch_cuda
from envgen.models import Accel


def _windows(f: Facts) -> bool | None:
    if f.os is not None:
        return f.os == "windows"
    return f.platform.startswith("win") if f.platform else None


def _missing_dlls(ctx: Context, cause: str) -> list[str]:
    dlls = ctx.facts.dlls or {}
    return [d.name for d in ctx.data.dlls if d.cause == cause and dlls.get(d.name) is False]


def missing_vc_runtime(ctx: Context) -> list[Finding]:
    f = ctx.facts
    if _windows(f) is False:
        return []
    missing = _missing_dlls(ctx, "missing_vc_runtime")
    if missing:
        msg = (f"{', '.join(missing)} not found: torch's DLLs need the Microsoft Visual C++ 2015-2022 "
               "redistributable (x64). Install it, then open a new terminal.")
        return [ctx.finding("missing_vc_runtime", msg, {"dlls": dict.fromkeys(missing, False), "os": "windows"},
                            fixes.templates(ctx.data, "missing_vc_runtime", f))]
    failed = ctx.stated("failed_dll")
    if failed and not any(d.name.lower() == failed.lower() and d.cause != "missing_vc_runtime" for d in ctx.data.dlls):
        msg = (f"{failed} (or a DLL it needs) failed to load: torch's own DLLs need the Microsoft Visual C++ "
               "2015-2022 redistributable (x64), the usual missing dependency. Install it, then open a new terminal.")
        return [ctx.finding("missing_vc_runtime", msg, {"failed_dll": failed}, fixes.templates(
            ctx.data, "missing_vc_runtime", _as_windows(f)), strength="strong")]
    if ctx.matched("missing_vc_runtime") and not ctx.facts.dlls:
        if ctx.data.strong("missing_vc_runtime", ctx.seen):
            msg = "the error names a Visual C++ runtime DLL; install the Visual C++ 2015-2022 redistributable (x64)."
            return [ctx.finding("missing_vc_runtime", msg, {}, fixes.templates(
                ctx.data, "missing_vc_runtime", _as_windows(f)))]
        return [ctx.possible("missing_vc_runtime", "whether vcruntime140.dll and msvcp140.dll exist "
                             "(run `where vcruntime140.dll msvcp140.dll`, or `envgen doctor` on that machine)")]
    return []


def _as_windows(f: Facts) -> Facts:
    from dataclasses import replace

    return f if f.os else replace(f, os="windows")


def missing_mkl(ctx: Context) -> list[Finding]:
    f = ctx.facts
    missing = _missing_dlls(ctx, "missing_mkl") if _windows(f) is not False else []
    conda_torch = f.package("pytorch")
    absent = (f.install_method == "conda" and f.channel in ctx.data.mkl_channels and f.packages is not None
              and conda_torch is not None and f.package("mkl") is None and f.package("python") is not None
              and "cpu" not in (f.platform or "")
              and not (f.platform or "").endswith(("arm64", "aarch64")))
    strong = ctx.data.strong("missing_mkl", ctx.seen)
    failed = ctx.stated("failed_dll")
    if failed and any(d.name.lower() == failed.lower() and d.cause == "missing_mkl" for d in ctx.data.dlls):
        missing = [*missing, failed] if failed not in missing else missing
    if not (missing or absent or strong):
        if ctx.matched("missing_mkl") and not f.dlls:
            return [ctx.possible("missing_mkl", "whether libiomp5md.dll is in torch\\lib or the environment's "
                                 "Library\\bin (run `where libiomp5md.dll`, or `envgen doctor` on that machine)")]
        return []
    evidence: dict[str, Any] = {}
    if missing:
        evidence["dlls"] = dict.fromkeys(missing, False)
    if absent:
        evidence.update(install_method="conda", channel=f.channel, packages={"mkl": None})
    what = ", ".join(missing) if missing else "the mkl package" if absent else "an MKL / Intel OpenMP library"
    msg = f"{what} is missing; torch's CPU kernels load MKL and Intel OpenMP at import. Reinstall them."
    return [ctx.finding("missing_mkl", msg, evidence, _mkl_fix(ctx))]


def _mkl_fix(ctx: Context, pip_first: bool = False) -> tuple[str, ...]:
    f = ctx.facts
    if fixes.fix_installer(f) == "pip":
        return fixes.install(ctx.matrix, f, torch=ctx.torch, accel=current_accel(f), extra=("--force-reinstall",))
    pin = constraint_spec(ctx.matrix, "mkl", "conda", ctx.torch, f)
    channel = ctx.data.mkl_channels.get(f.channel or "", "defaults")
    argv = ["conda", "install", "--force-reinstall", pin[0] if pin else "mkl", "intel-openmp", "-c", channel]
    return (("pip uninstall -y mkl intel-openmp",) if pip_first else ()) + (display(argv),)


def mkl_2024_1_ijit(ctx: Context) -> list[Finding]:
    f = ctx.facts
    pin = constraint_spec(ctx.matrix, "mkl", "conda", ctx.torch, f)
    mkl = f.package("mkl")
    mkl_version = _version(mkl.version) if mkl is not None else None
    bad = (pin is not None and mkl_version is not None and f.install_method == "conda" and mkl_version not in pin[1])
    if not bad and not ctx.matched("mkl_2024_1_ijit"):
        return []
    pin = pin or constraint_spec(ctx.matrix, "mkl", "conda", None, None)
    if pin is None:  # the matrix names no mkl pin: nothing to recommend
        return []
    spec, _, why = pin
    msg = (f"mkl {mkl.version if mkl else '(2024.1 or newer)'} is installed with torch {f.torch or ''} from the "
           f"{f.channel or 'pytorch'} channel: {why}. Pin {spec}.")
    evidence = {"torch": f.torch, "channel": f.channel, "packages": {"mkl": mkl.version}} if mkl else {}
    return [ctx.finding("mkl_2024_1_ijit", msg, evidence, (display(["conda", "install", spec]),))]


def numpy2_abi(ctx: Context) -> list[Finding]:
    f = ctx.facts
    numpy = f.package("numpy")
    installer = (numpy.installer if numpy and numpy.installer else None) or fixes.fix_installer(f)
    pin = constraint_spec(ctx.matrix, "numpy", installer, ctx.torch, f) if ctx.torch else None
    numpy_version = _version(numpy.version) if numpy is not None else None
    bad = pin is not None and numpy_version is not None and numpy_version not in pin[1]
    if not bad and not ctx.matched("numpy2_abi"):
        return []
    pin = pin or constraint_spec(ctx.matrix, "numpy", installer, None, None)
    if pin is None:  # the matrix names no numpy pin: nothing to recommend
        return []
    spec, _, why = pin
    msg = (f"numpy {numpy.version if numpy else '2.x'} is installed with torch {f.torch or ''}: {why}. "
           f"Pin {spec}, or upgrade torch.")
    evidence = {"torch": f.torch, "packages": {"numpy": numpy.version}} if numpy else {}
    argv = ["conda", "install", spec] if installer == "conda" else ["pip", "install", spec]
    return [ctx.finding("numpy2_abi", msg, evidence, (display(argv),))]


def mixed_pip_conda(ctx: Context) -> list[Finding]:
    f = ctx.facts
    family = [p for p in (f.packages or {}).values() if p.name in TORCH_FAMILY]
    by_installer = {p.installer for p in family if p.installer}
    if {"pip", "conda"} <= by_installer:
        pip_side = sorted(f"{p.name} {p.version} (pip)" for p in family if p.installer == "pip")
        conda_side = sorted(f"{p.name} {p.version} (conda)" for p in family if p.installer == "conda")
        msg = (f"torch is installed twice in one environment: {', '.join(conda_side)} and {', '.join(pip_side)}; "
               "which one imports depends on file order, and their libraries clash. Remove the pip copy.")
        cmd = fixes.templates(ctx.data, "mixed_pip_conda", f) + fixes.install(
            ctx.matrix, f, torch=ctx.torch, accel=current_accel(f), installer="conda")
        return [ctx.finding("mixed_pip_conda", msg, {"packages": {p.name: f"{p.version} ({p.installer})"
                                                                  for p in family}}, cmd, strength="decisive")]
    conda_env = f.install_method == "conda" or (f.install_method is None and bool((f.env or {}).get("CONDA_PREFIX")))
    if conda_env and f.torch and re.search(r"\+(cu\d+|cpu|rocm)", f.torch) and "pip" not in by_installer:
        msg = (f"torch {f.torch} carries a pip wheel's local version tag, but this is a conda environment: pip "
               "installed torch over the conda package (often a `pip install` of something that depends on torch). "
               "Remove the pip copy and reinstall with conda, or pin torch in what pip installs.")
        cmd = fixes.templates(ctx.data, "mixed_pip_conda", f) + fixes.install(
            ctx.matrix, f, torch=ctx.torch, accel=current_accel(f), installer="conda")
        return [ctx.finding("mixed_pip_conda", msg, {"torch": f.torch, "install_method": "conda"}, cmd)]
    if ctx.matched("mixed_pip_conda"):
        return [ctx.possible("mixed_pip_conda", "which packages came from pip in a conda environment (run "
                             "`conda list` and look for the pypi channel)")]
    return []


def channel_conflict_vc14(ctx: Context) -> list[Finding]:
    f = ctx.facts
    vc = f.package("vc") or f.package("vs2015-runtime")
    mixed = (_windows(f) and f.install_method == "conda" and vc is not None and vc.channel == "conda-forge"
             and f.channel not in (None, "conda-forge"))
    if not mixed and not ctx.matched("channel_conflict_vc14"):
        return []
    evidence = {"channel": f.channel, "packages": {vc.name: f"{vc.version} ({vc.channel})"}} if mixed and vc else {}
    msg = (f"the Visual C++ runtime package ({vc.name if vc else 'vc'}) comes from conda-forge while torch comes "
           f"from {f.channel or 'the pytorch/defaults channels'}; their vc=14 builds conflict. Take vc from "
           "defaults, or install everything from one channel.")
    win = _as_windows(f)
    cmd = fixes.templates(ctx.data, "channel_conflict_vc14", win) + fixes.install(
        ctx.matrix, win, torch=ctx.torch, accel=current_accel(f), installer="conda")
    return [ctx.finding("channel_conflict_vc14", msg, evidence, cmd)]


def _feature_packages(ctx: Context) -> dict[str, Accel]:
    """Conda CUDA feature packages (cuda80, cuda90, ...) named by routes that select CUDA that way."""
    out: dict[str, Accel] = {}
    for build in ctx.matrix.builds():
        sel = ctx.matrix.route_for(build).selector.get("cuda", ())
        if build.accel.kind == "cuda" and "cuda{tagnum}" in sel:
            out[f"cuda{build.accel.tag[2:]}"] = build.accel
    return out


def cuda_feature_conflict(ctx: Context) -> list[Finding]:
    f = ctx.facts
    features = _feature_packages(ctx)
    present = sorted(n for n in features if f.package(n) is not None)
    cuda = torch_cuda(f)
    disagree = [n for n in present if cuda is not None and features[n].version != cuda]
    if not (len(present) > 1 or disagree):
        if ctx.matched("cuda_feature_conflict"):
            msg = "conda reports a conflict around a CUDA feature package (cuda80, cuda90, ...)."
            return [ctx.finding("cuda_feature_conflict", msg, {}, fixes.install(
                ctx.matrix, f, torch=ctx.torch, installer="conda"))]
        return []
    msg = (f"CUDA feature packages {', '.join(present)} are installed"
           + (f" but torch {f.torch} is the CUDA {cuda} build" if disagree else "")
           + "; conda keeps one CUDA feature per environment. Remove the stray ones and reinstall.")
    keep = Accel("cuda", cuda) if cuda else None
    stray = [n for n in present if keep is None or features[n] != keep]
    cmd = (display(["conda", "remove", *stray]),) + fixes.install(ctx.matrix, f, torch=ctx.torch, accel=keep,
                                                                  installer="conda")
    versions = {n: pkg.version for n in present if (pkg := f.package(n)) is not None}
    return [ctx.finding("cuda_feature_conflict", msg, {"packages": versions, "torch_cuda": f.torch_cuda}, cmd)]


def mkl_channel_mismatch(ctx: Context) -> list[Finding]:
    f = ctx.facts
    mkl = f.package("mkl")
    expected = ctx.data.mkl_channels.get(f.channel or "")
    wrong = (f.install_method == "conda" and mkl is not None and expected is not None
             and (mkl.installer == "pip" or (mkl.channel not in (None, expected))))
    if not wrong:
        if ctx.matched("mkl_channel_mismatch"):
            return [ctx.possible("mkl_channel_mismatch", "where mkl and intel-openmp came from (run `conda list "
                                 "mkl` and `conda list intel-openmp`: the channel column)")]
        return []
    assert mkl is not None
    source = "pip" if mkl.installer == "pip" else f"the {mkl.channel} channel"
    msg = (f"mkl {mkl.version} comes from {source}, but torch {f.torch} from the {f.channel} channel was built "
           f"against mkl from {expected}. Reinstall mkl and intel-openmp from {expected}.")
    return [ctx.finding("mkl_channel_mismatch", msg, {"channel": f.channel, "packages": {
        "mkl": f"{mkl.version} ({mkl.installer}, {mkl.channel})"}}, _mkl_fix(ctx, pip_first=mkl.installer == "pip"),
        strength="decisive")]


def ld_library_path_conflict(ctx: Context) -> list[Finding]:
    f = ctx.facts
    windows = _windows(f)
    var = "PATH" if windows else "LD_LIBRARY_PATH"
    value = (f.env or {}).get(var)
    has_torch = f.torch is not None or f.package("torch", "pytorch") is not None
    if not value and windows is not True:
        outside = _outside_library(ctx)
        if outside is not None:
            folder, lib = outside
            msg = (f"{lib} was loaded from {folder}, outside the environment torch is installed in: "
                   "LD_LIBRARY_PATH (or the system's library configuration) puts that folder ahead of the "
                   "libraries torch ships with, and its version does not match. Remove it from LD_LIBRARY_PATH.")
            return [ctx.finding("ld_library_path_conflict", msg, {"error_library": f"{folder}/{lib}"},
                                ("echo \"$LD_LIBRARY_PATH\"", f"export LD_LIBRARY_PATH=<the same without {folder}>"),
                                severity="error")]
    if not value and ctx.matched("ld_library_path_conflict"):
        var_cmd = "echo %PATH%" if windows else "echo $LD_LIBRARY_PATH"
        return [ctx.possible("ld_library_path_conflict", f"which folders {var} lists (run `{var_cmd}`) and "
                             "whether one holds CUDA, MKL or torch libraries of another version")]
    if not value or not (has_torch or ctx.matched("ld_library_path_conflict")):
        return []
    sep = ";" if windows else ":"
    entries = [e for e in value.split(sep) if e]
    flagged = [e for e in entries if _conflicts(ctx, e, bool(windows))]
    if not flagged:
        return []
    kept = sep.join(e for e in entries if e not in flagged)
    msg = (f"{var} puts {', '.join(flagged)} ahead of the libraries torch ships with; other CUDA/MKL versions "
           "there are loaded first and break torch (undefined symbols, version mismatches). Drop them.")
    evidence: dict[str, Any] = {"env": {var: value}}
    if f.libraries:
        evidence["libraries"] = {e: list(f.libraries[e]) for e in flagged if e in f.libraries}
    named = _library_named(ctx)
    pointed = named is not None and (any(named.split(".so")[0] in lib for e in flagged for lib in (f.libraries or {})
                                         .get(e, ())) or ctx.matched("ld_library_path_conflict") is not None)
    if named:
        evidence["error_library"] = named
    return [ctx.finding("ld_library_path_conflict", msg, evidence,
                        fixes.templates(ctx.data, "ld_library_path_conflict", f, value=kept),
                        severity="error" if pointed else None, strength="decisive" if pointed else None)]


_ENV_DIRS = re.compile(r"site-packages|dist-packages|/envs/|conda|mamba|miniforge|/\.venv|/venv", re.IGNORECASE)


_OUTSIDE = re.compile(r"(/[^\s:'\"/]{1,100}(?:/[^\s:'\"/]{1,100}){0,20})/"
                      r"(lib(?:mkl|cu|nv|nccl|iomp)[\w.+-]{0,80}\.so[.\d]{0,20})\b")


def _outside_library(ctx: Context) -> tuple[str, str] | None:
    """(folder, library) of a CUDA/MKL library an error shows loaded from outside any environment (a system MKL
    under /opt/intel, a CUDA toolkit under /usr/local/cuda): what LD_LIBRARY_PATH put first."""
    for m in _OUTSIDE.finditer(ctx.seen or ""):
        folder = m.group(1)
        if not _ENV_DIRS.search(folder):
            return folder, m.group(2)
    return None


def _library_named(ctx: Context) -> str | None:
    """The CUDA/MKL library an error names (a missing one, or the one an undefined symbol was looked up from)."""
    if lib := ctx.stated("missing_library"):
        return lib
    m = re.search(r"(lib(?:cu|nv|mkl|nccl|iomp)[\w.+-]{0,80}?\.so[.\d]{0,20})", ctx.seen or "")
    return m.group(1) if m else None


def _conflicts(ctx: Context, entry: str, windows: bool) -> bool:
    f = ctx.facts
    if f.libraries is not None and not windows:
        return entry in f.libraries
    low = entry.lower()
    if not any(word in low for word in ctx.data.libraries):
        return False
    if not windows:
        return True
    cuda = torch_cuda(f)  # Windows: torch loads its own DLLs first; only another CUDA version is worth a word
    m = re.search(r"v(\d+\.\d+)", entry)
    return bool(cuda and m and Version(m.group(1)) != cuda)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None

