"""The GPU, driver, platform and install-integrity rules: each a pure function of a `Context` returning
findings (the environment and package rules are in `rules_env.py`; `diagnose.py` runs them all)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envgen.doctor import fixes
from envgen.doctor.detect import choose, gpu_ccs, runs_on, sm_name
from envgen.doctor.facts import CPU
from envgen.doctor.findings import Context, Finding, current_accel, torch_cuda
from envgen.errors import BadInput
from envgen.matrix import compat
from envgen.models import Accel, arch_cc


def _best_install(ctx: Context, *, same_torch: bool = True, extra: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str]:
    """The install command of the build `detect` picks for this machine, and a phrase naming it."""
    f = ctx.facts
    torch = ctx.torch if same_torch else None
    platform = fixes.fix_platform(f)
    if platform is None:
        return (), ""
    choice = choose(ctx.matrix, f, torch=torch, platform=platform, installer=fixes.fix_installer(f))
    if torch is not None and choice.runs in ("cpu", "none") and (torch_cuda(f) or f.gpus):
        choice = choose(ctx.matrix, f, platform=platform, installer=fixes.fix_installer(f))
    if choice.runs == "none":
        return (), "a build this driver and GPU run (none does now: `envgen detect` lists the choices)"
    cmd = fixes.install(ctx.matrix, f, torch=choice.torch, accel=choice.accel, extra=extra)
    return cmd, f"torch {choice.torch} ({choice.accel.describe()})"


def _ranked_driver_fixes(ctx: Context, cuda: Version, floor: Version) -> tuple[tuple[str, ...], str]:
    """Fixes for a build the driver does not run fully, minimal first: the same torch on a CUDA build this
    driver runs; then the driver update that runs the installed build; then the newest torch that runs here.
    Returns the commands (the driver line is a shell comment) and a phrase for the message."""
    f = ctx.facts
    platform, installer = fixes.fix_platform(f), fixes.fix_installer(f)
    out: list[str] = []
    phrases: list[str] = []
    if platform is None:
        return (f"# update the NVIDIA driver to >= {floor}",), f"update the driver to >= {floor}"
    same = choose(ctx.matrix, f, torch=ctx.torch, platform=platform, installer=installer) if ctx.torch else None
    if same is not None and same.runs in ("full", "minor") and same.accel.cuda != cuda:
        out += fixes.install(ctx.matrix, f, torch=same.torch, accel=same.accel)
        how = " through minor-version compatibility" if same.runs == "minor" else ""
        phrases.append(f"install torch {same.torch} for {same.accel.describe()}, which this driver runs{how}")
    out.append(f"# or update the NVIDIA driver to >= {floor}: torch {f.torch} as installed then runs fully")
    phrases.append(f"update the driver to >= {floor}")
    other = choose(ctx.matrix, f, platform=platform, installer=installer)
    if other.runs in ("full", "minor") and (same is None or (other.torch, other.accel) != (same.torch, same.accel)):
        out += fixes.install(ctx.matrix, f, torch=other.torch, accel=other.accel)
        phrases.append(f"install torch {other.torch} ({other.accel.describe()})")
    return tuple(out), "; or ".join(phrases)


# --- GPU and driver -----------------------------------------------------------------------------------
def _runtime_cuda(f: Any) -> tuple[Version | None, str]:
    """The CUDA runtime torch loads: its build's, or a conda `cudatoolkit` beside it when that is newer (the
    toolkit's libraries are the ones loaded, so its driver floor is the one that counts)."""
    cuda = torch_cuda(f)
    if cuda is None:
        return None, "torch_cuda"
    try:
        toolkit = Version(f.cudatoolkit) if f.cudatoolkit and f.install_method == "conda" else None
    except InvalidVersion:
        toolkit = None
    if toolkit is not None and toolkit > cuda:
        return Version(f"{toolkit.major}.{toolkit.minor}"), "cudatoolkit"
    return cuda, "torch_cuda"


def driver_too_old(ctx: Context) -> list[Finding]:
    f, m = ctx.facts, ctx.matrix
    cuda, runtime_from = _runtime_cuda(f)
    driver: Version | None = None
    driver_cuda: Version | None = None
    try:
        driver = Version(f.driver_version) if f.driver_version else None
        driver_cuda = Version(f.driver_cuda) if f.driver_cuda and driver is None else None
    except InvalidVersion:
        pass
    if cuda is None or (driver is None and driver_cuda is None):
        if ctx.matched("driver_too_old"):
            return [ctx.possible("driver_too_old", "the driver version and the torch build's CUDA version "
                                 "(run `nvidia-smi` and `python -c \"import torch; print(torch.version.cuda)\"`)")]
        return []
    os_name = f.os or "linux"
    gpus = tuple(compat.gpu(m, g.name, g.compute_capability) for g in f.gpus or ()) or (compat.GpuSpec("GPU"),)
    verdict = compat.judge(m, compat.Machine(os_name, driver, driver_cuda, gpus), Accel("cuda", cuda),
                           tuple(f.torch_archs or _matrix_archs(ctx)))
    floor = verdict.full_floor
    if floor is None or verdict.runs == "full" or verdict.missing:
        return []  # runs fully, or the GPU's missing kernels are the cause (unsupported_gpu_arch says so)
    has = f"driver {f.driver_version}" if driver is not None else f"a driver that runs CUDA up to {f.driver_cuda}"
    evidence = {"torch": f.torch, "torch_cuda": f.torch_cuda,
                **({"cudatoolkit": f.cudatoolkit} if runtime_from == "cudatoolkit" else {}),
                **({"driver_version": f.driver_version} if driver is not None else {"driver_cuda": f.driver_cuda}),
                "needed_driver": str(floor), "os": os_name}
    cmd, what = _ranked_driver_fixes(ctx, cuda, floor)
    uses = (f"the cudatoolkit {f.cudatoolkit} beside torch {f.torch} (its libraries are the ones loaded)"
            if runtime_from == "cudatoolkit" else f"torch {f.torch}")
    if verdict.runs == "minor":
        msg = (f"{uses} uses CUDA {cuda}, whose full driver floor is {floor}; {has} "
               f"runs it only through minor-version compatibility (>= {verdict.compat_floor}; "
               f"code that needs PTX JIT fails). To fix: {what}.")
        return [ctx.finding("driver_too_old", msg, evidence, cmd, severity="warning")]
    compat_note = (f" (>= {verdict.compat_floor} through minor-version compatibility)"
                   if verdict.compat_floor and cuda.major >= 11 else "")
    msg = (f"{uses} needs an NVIDIA driver >= {floor}{compat_note} for CUDA {cuda}; this machine has {has}. "
           f"To fix, minimal first: {what}.")
    return [ctx.finding("driver_too_old", msg, evidence, cmd)]


def no_gpu_but_cuda_build(ctx: Context) -> list[Finding]:
    f = ctx.facts
    cuda = torch_cuda(f)
    if f.gpus == () and (cuda is not None or ctx.matched("no_gpu_but_cuda_build")):
        why = f.unknown.get("driver_version") or "no NVIDIA GPU was found"
        cmd = fixes.install(ctx.matrix, f, torch=ctx.torch, accel=Accel("cpu"))
        build = f"torch {f.torch} is a CUDA {cuda} build" if cuda else "the code asks torch for CUDA"
        msg = (f"{build}, but this machine has no usable NVIDIA GPU ({why}); torch runs on the CPU only: run on "
               "the CPU (`map_location='cpu'`, `device='cpu'`); the CPU build is much smaller.")
        return [ctx.finding("no_gpu_but_cuda_build", msg, {"torch_cuda": f.torch_cuda, "gpus": []}, cmd)]
    if ctx.matched("no_gpu_but_cuda_build") and f.gpus is None:
        return [ctx.possible("no_gpu_but_cuda_build", "whether an NVIDIA GPU and driver exist (run `nvidia-smi`)")]
    return []


def cpu_build_installed(ctx: Context) -> list[Finding]:
    f = ctx.facts
    if f.os == "macos" or (f.platform or "").startswith("osx"):
        return []
    if f.torch_cuda == CPU and f.gpus:
        cmd, what = _best_install(ctx)
        names = ", ".join(g.name for g in f.gpus)
        why = " (plain `pip install torch` gives the CPU build on Windows)" \
            if f.os == "windows" and f.install_method == "pip" else ""
        msg = f"torch {f.torch} is the CPU build, but this machine has an NVIDIA GPU ({names}){why}. Install {what}."
        return [ctx.finding("cpu_build_installed", msg, {"torch": f.torch, "torch_cuda": CPU,
                                                          "gpus": [g.name for g in f.gpus]}, cmd)]
    if f.torch_cuda == CPU and f.gpus is None and (f.cuda_available is False or ctx.matched("cpu_build_installed")):
        cmd, what = _best_install(ctx)
        msg = (f"torch {f.torch or ''} is the CPU build, and CUDA was expected of it. On a machine with an NVIDIA GPU "
               f"install {what or 'a CUDA build (`envgen detect` picks it)'}.")
        return [ctx.finding("cpu_build_installed", msg, {"torch": f.torch, "torch_cuda": CPU}, cmd)]
    asked_cpu = bool(re.search(r"cpuonly|\+cpu\b|whl/cpu|--cpu\b|cpu-only", ctx.seen or "", re.IGNORECASE))
    if f.torch_cuda == CPU and f.gpus is None and f.os != "macos" and not (f.platform or "").startswith("osx") \
            and not asked_cpu:
        how = _derived(ctx, "torch_cuda")
        return [ctx.possible("cpu_build_installed", f"whether this machine has an NVIDIA GPU (run `nvidia-smi`): "
                             f"torch {f.torch or ''} is the CPU build" + (f" ({how})" if how else ""))]
    if ctx.matched("cpu_build_installed"):
        if f.torch_cuda == CPU:
            cmd, what = _best_install(ctx)
            return [ctx.finding("cpu_build_installed", f"torch {f.torch or ''} is the CPU build; install {what}.",
                                {"torch_cuda": CPU}, cmd)]
        return [ctx.possible("cpu_build_installed", "the torch build (run `python -c \"import torch; "
                             "print(torch.__version__, torch.version.cuda)\"`) and whether an NVIDIA GPU exists")]
    return []


def unsupported_gpu_arch(ctx: Context) -> list[Finding]:
    f, m = ctx.facts, ctx.matrix
    ccs = gpu_ccs(m, f)
    archs = f.torch_archs or _matrix_archs(ctx)
    low = ctx.stated("min_cc")  # "The minimum cuda capability supported by this library is 3.7"
    if ccs and low and not archs:
        try:
            below = [(n, cc) for n, cc in ccs if cc < Version(low)]
        except InvalidVersion:
            below = []
        if below:
            return _arch_finding(ctx, below, (f"sm_{low.replace('.', '')}",))
    if ccs and not archs and ctx.torch is None:
        oldest = _no_build_runs(ctx, ccs)
        if oldest:
            return oldest
    if not ccs or not archs or (torch_cuda(f) is None and not f.torch_archs):
        if ctx.matched("unsupported_gpu_arch"):
            return [ctx.possible("unsupported_gpu_arch", "the GPU's compute capability (run `nvidia-smi "
                                 "--query-gpu=name,compute_cap --format=csv`) and the build's architectures "
                                 "(`python -c \"import torch; print(torch.cuda.get_arch_list())\"`)")]
        return []
    lacking = [(name, cc) for name, cc in ccs if not runs_on(cc, archs)]
    if not lacking:
        return []
    return _arch_finding(ctx, lacking, archs)


def _arch_finding(ctx: Context, lacking: list[tuple[str, Version]], archs: tuple[str, ...]) -> list[Finding]:
    f = ctx.facts
    cmd, what = _best_install(ctx, same_torch=False)
    gpus = ", ".join(f"{n} ({sm_name(cc)}, compute capability {cc})" for n, cc in lacking)
    carried = ", ".join(a for a in archs if arch_cc(a))
    if cmd:
        then = f"Install {what}, whose build carries it."
    else:
        cc = min(cc for _, cc in lacking)
        then = f"No published build that runs here carries compute capability {cc}. {_build_it(ctx, cc)}"
    msg = (f"torch {f.torch} carries kernels for {carried}, none of which runs on {gpus} "
           f"(\"no kernel image is available\"). {then}")
    evidence = {"torch": f.torch, "torch_archs": list(archs), "gpus": [n for n, _ in lacking],
                "compute_capability": [str(cc) for _, cc in lacking]}
    return [ctx.finding("unsupported_gpu_arch", msg, evidence, cmd)]


def _build_it(ctx: Context, cc: Version) -> str:
    """How to get kernels for `cc`: a source build with a toolkit that still compiles it (matrices/gpus.yaml)."""
    target = ctx.matrix.targets.get(sm_name(cc))
    which = f" with {target.compilers()}, which still compiles {sm_name(cc)}" if target else ""
    return (f"Build torch from source for it{which} (`envgen build-env --torch <release> --cuda <cuda> --arch {cc}` "
            "writes the environment and the checklist, and refuses a CUDA that cannot compile it), or use a newer "
            "GPU.")


def _no_build_runs(ctx: Context, ccs: list[tuple[str, Version]]) -> list[Finding]:
    """GPUs no published CUDA build of any release carries kernels for (on this platform, when known); or, where
    only old releases do, a warning naming the newest that does."""
    platform = ctx.facts.platform
    per_release = {rel.torch: {a for tag, facts in rel.accel.items() if tag.startswith("cu")
                               and (platform is None or any(b.accel.tag == tag and platform in b.platforms
                                                            for b in rel.builds)) for a in facts.archs}
                   for rel in ctx.matrix.releases}
    archs = set().union(*per_release.values()) if per_release else set()
    if not archs and platform is not None:
        names = ", ".join(n for n, _ in ccs)
        msg = (f"no CUDA build of torch has ever been published for {platform}: prebuilt torch runs on the CPU here "
               f"and leaves {names} unused. Only torch built from source can use it (`envgen build-env`), where "
               "the toolkit still compiles for its architecture.")
        return [ctx.finding("unsupported_gpu_arch", msg, {"platform": platform, "gpus": [n for n, _ in ccs]}, (),
                            severity="error" if ctx.seen else "warning")]
    lacking = [(n, cc) for n, cc in ccs if archs and not runs_on(cc, tuple(archs))]
    if not lacking:
        newest = max(per_release)
        old = []
        for name, cc in ccs:
            last = max((t for t, a in per_release.items() if a and runs_on(cc, tuple(a))), default=None)
            if last is not None and last.major < newest.major:
                old.append(f"{name} (compute capability {cc}): the newest torch with kernels for it is {last}")
        if not old:
            return []
        msg = ("; ".join(old) + f". Every later release (up to {newest}) carries no kernels for it: pin that release, "
               "build torch from source for it (`envgen build-env`), or use a newer GPU.")
        return [ctx.finding("unsupported_gpu_arch", msg, {"gpus": [n for n, _ in ccs]}, (),
                            severity="error" if ctx.seen else "warning")]
    names = ", ".join(f"{n} ({sm_name(cc)}, compute capability {cc})" for n, cc in lacking)
    low = min(cc for _, cc in lacking)
    msg = (f"no published torch build carries kernels for {names}: every CUDA build envgen knows needs a newer GPU. "
           + _build_it(ctx, low))
    evidence = {"gpus": [n for n, _ in lacking], "compute_capability": [str(cc) for _, cc in lacking]}
    return [ctx.finding("unsupported_gpu_arch", msg, evidence, (), severity="error" if ctx.seen else "warning")]


def _derived(ctx: Context, fact: str) -> str | None:
    d = ctx.derivation.about(fact) if ctx.derivation else None
    return d.source if d else None


def _matrix_archs(ctx: Context) -> tuple[str, ...]:
    cuda, torch = torch_cuda(ctx.facts), ctx.torch
    rel = ctx.matrix.release(torch) if torch else None
    if rel is None or cuda is None:
        return ()
    facts = rel.accel.get(Accel("cuda", cuda).tag)
    return facts.archs if facts else ()


# --- the interpreter ----------------------------------------------------------------------------------
def python_32bit(ctx: Context) -> list[Finding]:
    f = ctx.facts
    if f.python_bits == 32 and f.platform != "win-32":
        cmd = fixes.templates(ctx.data, "python_32bit", f, python=fixes.python_minor(f))
        msg = (f"Python {f.python or ''} is a 32-bit interpreter; PyTorch publishes 64-bit binaries only. "
               "Install a 64-bit Python and create the environment with it.")
        return [ctx.finding("python_32bit", msg, {"python_bits": 32, "platform": f.platform}, cmd)]
    if ctx.matched("python_32bit") and f.python_bits is None and f.os in (None, "windows"):
        stub = ctx.stated("available_torch") or ""
        if stub.startswith("0.1.2") and f.python and _supported_on_win64(ctx):
            msg = (f"pip sees only torch's 0.1.2 placeholder, yet torch has 64-bit Windows wheels for Python "
                   f"{f.python}: this Python is 32-bit. Install a 64-bit Python and create the environment with it.")
            return [ctx.finding("python_32bit", msg, {"python": f.python, "available_torch": stub},
                                fixes.templates(ctx.data, "python_32bit", dataclasses.replace(f, os="windows"),
                                                python=fixes.python_minor(f)))]
        found = ctx.possible("python_32bit", "the interpreter's bitness (run `python -c \"import struct; "
                             "print(struct.calcsize('P') * 8)\"`)")
        if f.python and python_unsupported(ctx):  # the Python's own wheels explain it better
            found = dataclasses.replace(found, strength="suggestive")
        return [found]
    return []


def _supported_on_win64(ctx: Context) -> bool:
    """Whether the torch the pip error pins has win-64 wheels for this Python (unpinned: python_unsupported
    weighs the Python's first release instead)."""
    from envgen.models import PyVer

    spec = wanted_spec(ctx)
    try:
        py = PyVer.parse(ctx.facts.python or "")
    except BadInput:
        return False
    return spec is not None and _exact(spec) and any(
        b.torch in spec and py.version in {p.version for p in b.python.get("win-64", ())}
        for b in ctx.matrix.builds(platform="win-64", installer="pip"))


def win32_no_package(ctx: Context) -> list[Finding]:
    f = ctx.facts
    if f.platform == "win-32" or (ctx.matched("win32_no_package") and f.os == "windows" and f.python_bits == 32):
        cmd = fixes.templates(ctx.data, "win32_no_package", f)
        msg = ("this is a 32-bit Windows environment (win-32); PyTorch has never published 32-bit Windows "
               "packages, so conda and pip find none. Install 64-bit Miniconda or Python and recreate it.")
        return [ctx.finding("win32_no_package", msg, {"platform": f.platform, "python_bits": f.python_bits}, cmd)]
    return []


def shadowing_torch_py(ctx: Context) -> list[Finding]:
    f = ctx.facts
    paths = list(f.shadowing or ()) + [p for p in f.cwd_files or () if p.rstrip("/") in ("torch.py", "torch")
                                       and not any(s.endswith(p.rstrip("/")) for s in f.shadowing or ())]
    if not paths:
        if ctx.matched("shadowing_torch_py"):
            return [ctx.possible("shadowing_torch_py", "whether a torch.py or torch/ sits in the working directory "
                                 "or on sys.path (run `python -c \"import torch; print(torch.__file__)\"`)")]
        return []
    fix = tuple(c for p in paths for c in fixes.templates(
        ctx.data, "shadowing_torch_py", f, path=p.rstrip("/"), renamed=_renamed(p.rstrip("/"))))
    msg = (f"{', '.join(paths)} is imported as `torch` instead of the installed package; rename it "
           "(and delete any __pycache__ beside it).")
    return [ctx.finding("shadowing_torch_py", msg, {"shadowing": paths}, fix)]


def _renamed(path: str) -> str:
    head, sep, name = path.replace("\\", "/").rpartition("/")
    return f"{head}{sep}my_{name}" if "\\" not in path else path[: len(path) - len(name)] + f"my_{name}"


def wrong_python_env(ctx: Context) -> list[Finding]:
    f = ctx.facts
    missing = "no module named 'torch'" in (ctx.seen or "").lower()
    installed = f.package("torch", "pytorch")
    active = (f.env or {}).get("CONDA_PREFIX") or (f.env or {}).get("VIRTUAL_ENV")
    evidence: dict[str, Any] = {}
    if missing and installed is not None:
        evidence = {"packages": {installed.name: installed.version}}
        msg = (f"torch {installed.version} is installed in this environment, yet the interpreter that ran says "
               "\"No module named 'torch'\": it is another Python (another env, a Jupyter kernel, or the system one).")
    elif missing and active and f.python_prefix and _norm(active) != _norm(f.python_prefix):
        evidence = {"python_prefix": f.python_prefix, "env": {"active": active}}
        msg = (f"the active environment is {active}, but the Python that ran lives in {f.python_prefix}; "
               "torch is installed for the other one. Run `python` from the active environment.")
    elif ctx.matched("wrong_python_env") and f.packages is None:
        return [ctx.possible("wrong_python_env", "which interpreters have torch (run `python -c \"import sys; "
                             "print(sys.executable)\"` and `conda list torch` or `pip show torch`)")]
    else:
        return []
    cmd = fixes.templates(ctx.data, "wrong_python_env", f)
    install = tuple(f"python -m {c}" if c.startswith("pip ") else c for c in fixes.install(ctx.matrix, f))
    return [ctx.finding("wrong_python_env", msg, evidence, cmd + install)]


def _norm(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").lower()


def corrupt_package(ctx: Context) -> list[Finding]:
    f = ctx.facts
    if f.corrupt:
        cmd = fixes.templates(ctx.data, "corrupt_package", f) + fixes.install(
            ctx.matrix, f, torch=ctx.torch, accel=current_accel(f), extra=("--force-reinstall",))
        msg = "installed files are damaged: " + "; ".join(f.corrupt) + ". Reinstall from a clean download."
        return [ctx.finding("corrupt_package", msg, {"corrupt": list(f.corrupt)}, cmd)]
    if ctx.matched("corrupt_package"):
        cmd = fixes.templates(ctx.data, "corrupt_package", f)
        msg = "the error says a package download or install is damaged; clear the cache and reinstall."
        return [ctx.finding("corrupt_package", msg, {}, cmd)]
    return []


# --- pip finds no torch for this Python ---------------------------------------------------------------------
def wanted_spec(ctx: Context) -> SpecifierSet | None:
    """The torch versions the failed install asked for ('torch==1.13.1', 'torch>=1.2', a poetry/conda '1.13.1'):
    an empty set when unpinned, None when no failed install is stated or the pin cannot be read."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    wanted = ctx.stated("wanted_torch")
    if wanted is None:
        return None if ctx.stated("available_torch") is None else SpecifierSet()
    # 'torch==1.13.1+cu117', 'torch===1.4.0', 'torch (1.13.1)', 'pytorch=1.8.1' -> ==X; a local tag names an index
    rest = wanted.removeprefix("pytorch").removeprefix("torch").strip(" ()=").split("+", 1)[0]
    if rest[:1].isdigit():
        rest = f"=={rest}"
    try:
        return SpecifierSet(rest)
    except InvalidSpecifier:
        return None


def _exact(spec: SpecifierSet) -> bool:
    """A pin of one release (`==1.13.1`), not a range: a range may end at releases pip could not yet see."""
    return bool(str(spec)) and all(s.operator in ("==", "===") and "*" not in s.version for s in spec)


def python_unsupported(ctx: Context) -> list[Finding]:
    """A failed install of torch (pip's "No matching distribution found for torch==X" / "(from versions: none)",
    poetry's "Unable to find installation candidates", conda's unsatisfiable pytorch==X) with a Python that no
    release asked for has binaries for on this platform and installer: too new for the release, or too old. When
    pip sees no release at all for an unpinned torch, the Python's first release is named: before it (or through an
    index that lacks it) there is nothing to find."""
    from envgen.models import PyVer

    f, m = ctx.facts, ctx.matrix
    spec = wanted_spec(ctx)
    if spec is None or f.python_bits == 32 or f.platform == "win-32":
        return []  # nothing failed to install, or python_32bit / win32_no_package say why
    installer = "conda" if "conda" in (f.install_method or "") or re.search(r"\bconda install", ctx.seen) else "pip"
    platform = fixes.fix_platform(f) or "linux-64"
    pythons: dict[Version, set[Version]] = {}
    for b in m.builds(platform=platform, installer=installer):
        pythons.setdefault(b.torch, set()).update(p.version for p in b.python.get(platform, ()))
    asked = {t: ps for t, ps in pythons.items() if t in spec or not str(spec)}
    if not f.python:
        if asked and (ctx.matched("python_unsupported") or str(spec)):
            newest = max(asked)
            listed = ", ".join(str(v) for v in sorted(asked[newest]))
            return [ctx.possible("python_unsupported", f"the Python version (run `python -VV`): torch {newest} has "
                                 f"{installer} binaries on {platform} for Python {listed} only")]
        return []
    try:
        py = PyVer.parse(f.python)
    except BadInput:
        return []
    if not asked:
        return []
    supported = sorted(t for t, ps in asked.items() if py.version in ps)
    if supported:
        nothing_seen = (ctx.stated("available_torch") or "none").startswith(("none", "0.1.2"))
        if _exact(spec) or not nothing_seen or supported[0] == min(asked):
            return []
        first = supported[0]
        msg = (f"pip saw no torch release at all for Python {py.version} on {platform}: torch has wheels for Python "
               f"{py.version} only from {first} on, so before that release (or through an index that lacks it) "
               f"there is nothing to install. Use an older Python, or make sure torch >= {first} is reachable"
               + (" (a 32-bit Python sees nothing either)." if platform.startswith("win") else "."))
        older = sorted(pythons[max(t for t in pythons if t < first)]) if any(t < first for t in pythons) else []
        older_py: tuple[str, ...] = (f"uv venv --python {older[-1]}",) if older else ()
        return [ctx.finding("python_unsupported", msg, {"python": f.python, "platform": platform,
                                                         "first_release": str(first)}, older_py, severity="possible",
                            strength="strong")]
    newest = max(asked)
    have = sorted(pythons[newest])
    runs = sorted((t for t, ps in pythons.items() if py.version in ps), reverse=True)
    what = f"torch {spec}" if str(spec) else "any torch release"
    where = "PyPI has no wheel" if installer == "pip" else "the channels have no build"
    msg = (f"{installer} finds no {what} for Python {py.version} on {platform}: {where} for that Python "
           f"(torch {newest} has them for Python {', '.join(str(v) for v in have)}). ")
    cmd: tuple[str, ...] = ()
    if have:
        closest = min(have, key=lambda v: abs(v.minor - py.version.minor) if v.major == py.version.major else 99)
        msg += f"Use Python {closest} for torch {newest}"
        cmd = (f"conda create -n torch{newest} python={closest}", f"uv venv --python {closest}")
    if runs:
        msg += f"{'; or ' if have else ''}install torch {runs[0]}, the newest with them for Python {py.version}"
        cmd += fixes.install(m, f, torch=runs[0], installer=installer)
    evidence = {"python": f.python, "platform": platform, "wanted_torch": ctx.stated("wanted_torch") or "torch"}
    return [ctx.finding("python_unsupported", msg + ".", evidence, cmd)]
