"""Which builds a machine runs: NVIDIA's driver and GPU compatibility rules over the matrix's facts.

One model for every stage (detect, `--cuda auto`, doctor's fixes, migrate's driver check, build-env). Given the OS,
the NVIDIA driver (its version, or the newest CUDA it runs fully) and the GPUs' compute capabilities, a CUDA build

- runs **fully** when the driver meets the toolkit's floor (matrices/cuda.yaml `toolkits`, NVIDIA's table 3);
- runs through **minor-version compatibility** (CUDA 11 on) when the driver meets the floor of the build's CUDA
  major (`minor_compat`, NVIDIA's table 2), at a cost: no PTX JIT compilation and a limited feature set, so every
  GPU needs machine code (SASS, a cubin `sm_XY` of its major with minor <= its own) in the build;
- **could run with the forward-compatibility package** (`forward_compat`: Linux, CUDA 10.0 on, data-centre GPUs
  and Jetson, `datacenter` of matrices/gpu_models.yaml) when the driver is older still;
- otherwise does **not run**, and the verdict says why (the driver floor, or the GPU's missing kernels).

A cubin for sm_XY runs on GPUs of compute capability X.Z with Z >= Y; PTX (compute_XY) is JIT-compiled by a
full driver for any GPU of capability >= X.Y (matrices/gpus.yaml, NVIDIA's compatibility guide).
Pure functions of the `Matrix`; no probing, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envgen.matrix.model import Matrix
from envgen.matrix.records import Release
from envgen.models import Accel, arch_cc

Runs = Literal["full", "minor", "forward", "no", "unknown"]
RUNS_ORDER: dict[str, int] = {"full": 0, "minor": 1, "forward": 2, "unknown": 3, "no": 4}


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One GPU: its name as reported, its compute capability (None: unknown), whether it is a data-centre GPU."""

    name: str
    cc: Version | None = None
    datacenter: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({sm_name(self.cc)})" if self.cc is not None else self.name


@dataclass(frozen=True, slots=True)
class Machine:
    """What decides whether a build runs: the OS, the driver (its version and/or the newest CUDA it runs fully,
    as nvidia-smi prints it) and the GPUs. `gpus == ()`: no NVIDIA GPU."""

    os: str  # linux | windows | macos
    driver: Version | None = None
    driver_cuda: Version | None = None
    gpus: tuple[GpuSpec, ...] = ()

    def describe(self) -> str:
        driver = (f"NVIDIA driver {self.driver}" if self.driver is not None
                  else f"an NVIDIA driver that runs CUDA {self.driver_cuda}" if self.driver_cuda is not None
                  else "an NVIDIA driver of unknown version")
        gpus = ", ".join(g.label for g in self.gpus) or "no NVIDIA GPU"
        return f"{driver} on {self.os}; {gpus}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one build runs on one machine, and why (each reason a sentence)."""

    accel: Accel
    runs: Runs
    reasons: tuple[str, ...]
    caveats: tuple[str, ...] = ()
    full_floor: Version | None = None  # the driver that runs this build fully (None: no CUDA, or unknown)
    compat_floor: Version | None = None  # the driver that runs it through minor-version compatibility
    missing: tuple[str, ...] = ()  # GPUs the build carries no kernels for, as 'name (sm_XY)'
    forward_package: str | None = None  # cuda-compat-12-4, when forward compatibility could make it run
    ptx_only: tuple[str, ...] = ()  # GPUs the build reaches through PTX JIT only (not under minor compatibility)

    @property
    def ok(self) -> bool:
        """Runs as installed: fully or through minor-version compatibility."""
        return self.runs in ("full", "minor")

    @property
    def min_driver(self) -> Version | None:
        """The lowest driver this build runs on (through minor-version compatibility where its GPUs allow)."""
        if self.compat_floor is not None and not self.missing and not self.ptx_only:
            return min(self.compat_floor, self.full_floor) if self.full_floor else self.compat_floor
        return self.full_floor


# --- facts ----------------------------------------------------------------------------------------
def gpu(matrix: Matrix, name: str, cc: str | Version | None = None) -> GpuSpec:
    """A GPU from what a report says: its capability as given, else found by name (matrices/gpu_models.yaml)."""
    parsed: Version | None = None
    if isinstance(cc, Version):
        parsed = cc
    elif cc:
        parsed = parse_cc(cc)
    return GpuSpec(name, parsed or matrix.gpu_cc(name), matrix.is_datacenter(name))


def parse_cc(text: str) -> Version | None:
    """'8.6', 'sm_86', 'compute_86' -> 8.6; None when the text is no compute capability."""
    raw = text.strip().lower()
    if raw.startswith(("sm_", "compute_")):
        parsed = arch_cc(raw)
        return parsed[1] if parsed else None
    parts = raw.split(".")
    if len(parts) == 2 and all(p.isdigit() and len(p) <= 2 for p in parts) and 1 <= int(parts[0]) <= 20:
        return Version(raw)
    return None


def floors(matrix: Matrix, cuda: Version, os_name: str) -> tuple[Version | None, Version | None]:
    """(the full driver floor of CUDA `cuda`, the minor-version-compatibility floor of its major) on `os_name`."""
    full = matrix.driver_floor(cuda, os_name)
    row = matrix.minor_compat.get(cuda.major)
    compat = (row.driver_windows if os_name == "windows" else row.driver_linux) if row else None
    return full, compat


def implied_driver(matrix: Matrix, driver_cuda: Version, os_name: str) -> Version | None:
    """The lowest driver that runs CUDA `driver_cuda` fully: the highest floor among the toolkits up to it."""
    found = [f for tk in matrix.toolkits.values() if _mm(tk.cuda) <= _mm(driver_cuda)
             if (f := (tk.driver_windows if os_name == "windows" else tk.driver_linux)) is not None]
    return max(found) if found else None


def runs_on(cc: Version, archs: tuple[str, ...], *, ptx: bool = True) -> bool:
    """Kernels compiled for sm_XY run on X.Z with Z >= Y; PTX (compute_XY) is JIT-compiled for any GPU >= X.Y
    (not through minor-version compatibility: `ptx=False`)."""
    for arch in archs:
        parsed = arch_cc(arch)
        if parsed is None:
            continue
        kind, have = parsed
        if kind == "sm" and have.major == cc.major and have.minor <= cc.minor:
            return True
        if ptx and kind == "compute" and have <= cc:
            return True
    return False


def build_archs(rel: Release, accel: Accel) -> tuple[tuple[str, ...], bool]:
    """The architectures a build carries, and whether the matrix lists them for this very build (else: every
    list the release has, which judges a build by its siblings; empty: nothing is known)."""
    facts = rel.accel.get(accel.tag)
    if facts is not None and facts.archs:
        return facts.archs, True
    return tuple(dict.fromkeys(a for f in rel.accel.values() for a in f.archs if arch_cc(a))), False


def compilable(matrix: Matrix, archs: tuple[str, ...], cuda: Version) -> tuple[str, ...]:
    """The architectures of `archs` a CUDA `cuda` toolkit can compile (matrices/gpus.yaml `targets`)."""
    out = []
    for arch in archs:
        parsed = arch_cc(arch)
        target = matrix.targets.get(f"sm_{parsed[1].major}{parsed[1].minor}") if parsed else None
        if target is None or target.compiled_by(cuda):
            out.append(arch)
    return tuple(out)


def sm_name(cc: Version) -> str:
    return f"sm_{cc.major}{cc.minor}"


# --- the verdict -----------------------------------------------------------------------------------
def judge(matrix: Matrix, machine: Machine, accel: Accel, archs: tuple[str, ...] = (), *,
          archs_exact: bool = True) -> Verdict:
    """Whether the build `accel` carrying `archs` runs on `machine`, and why."""
    if accel.kind == "cpu":
        return Verdict(accel, "full", ("the CPU build runs anywhere; it leaves any GPU unused",))
    if accel.kind != "cuda" or accel.version is None:
        return Verdict(accel, "no", (f"a {accel.describe()} build does not run on NVIDIA GPUs",))
    if not machine.gpus:
        return Verdict(accel, "no", ("there is no NVIDIA GPU: a CUDA build runs on the CPU only",))
    cuda = accel.version
    full, compat = floors(matrix, cuda, machine.os)
    runs, why = _driver_side(matrix, machine, cuda, full, compat)
    missing, ptx_only = _kernels(machine, archs)
    reasons, caveats = [why], []
    if archs and not archs_exact:
        caveats.append(f"the matrix lists no architectures for this {accel.tag} build; judged by the release's "
                       "other builds")
    if missing:
        carried = ", ".join(a for a in archs if arch_cc(a))
        lacking = f"the {accel.tag} build carries no kernels for {', '.join(missing)} (it has {carried})"
        return Verdict(accel, "no", (lacking, *reasons), tuple(caveats), full, compat, tuple(missing))
    if ptx_only:
        if runs == "minor":
            jit = (f"{', '.join(ptx_only)} would need PTX JIT compilation (the build has no machine code for it), "
                   "which minor-version compatibility does not provide")
            return Verdict(accel, "no", (jit, *reasons), tuple(caveats), full, compat, ptx_only=tuple(ptx_only))
        reasons.append(f"{', '.join(ptx_only)} runs its PTX, JIT-compiled by the driver on first use (slow start)")
    package = None
    if runs == "minor":
        caveats.insert(0, f"runs through CUDA minor-version compatibility: a driver >= {compat} runs any CUDA "
                          f"{cuda.major}.x build without PTX JIT compilation and with a limited feature set; "
                          f"a driver >= {full} runs it fully")
    elif runs in ("no", "forward"):
        package = _forward(matrix, machine, cuda)
        if package is not None:
            runs = "forward"
            reasons.append(f"NVIDIA's forward-compatibility package ({package}) could make it run on this "
                           "data-centre GPU (Linux only; see NVIDIA's forward compatibility notes for the driver "
                           "branches it supports)")
        else:
            runs = "no"
    return Verdict(accel, runs, tuple(reasons), tuple(caveats), full, compat, (), package, tuple(ptx_only))


def judge_build(matrix: Matrix, machine: Machine, rel: Release, accel: Accel) -> Verdict:
    """`judge` with the architectures the matrix lists for this build of `rel`."""
    archs, exact = judged_archs(matrix, rel, accel)
    return judge(matrix, machine, accel, archs, archs_exact=exact)


def judged_archs(matrix: Matrix, rel: Release, accel: Accel) -> tuple[tuple[str, ...], bool]:
    """The architectures `judge_build` judges a build of `rel` by, and whether the matrix lists them for this
    very build (else: its siblings' lists, less what the build's CUDA cannot compile)."""
    archs, exact = build_archs(rel, accel)
    if not exact and accel.cuda is not None:
        archs = compilable(matrix, archs, accel.cuda)
    return archs, exact


def _driver_side(matrix: Matrix, m: Machine, cuda: Version, full: Version | None,
                 compat: Version | None) -> tuple[Runs, str]:
    where = f"on {m.os}"
    if m.driver is not None:
        if full is not None and m.driver >= full:
            return "full", f"CUDA {_mm(cuda)} needs a driver >= {full} {where}; driver {m.driver} runs it fully"
        if cuda.major >= 11 and compat is not None and m.driver >= compat:
            return "minor", (f"CUDA {_mm(cuda)} needs a driver >= {full} {where} to run fully; driver {m.driver} "
                             f"meets the CUDA {cuda.major}.x minor-version-compatibility floor {compat}")
        if full is None:
            return "no", (f"envgen knows no driver floor for CUDA {_mm(cuda)} {where} (matrices/cuda.yaml; NVIDIA's "
                          "table gives none), so it cannot say this driver runs it")
        also = f" (>= {compat} through minor-version compatibility)" if compat and cuda.major >= 11 else ""
        return "no", f"CUDA {_mm(cuda)} needs a driver >= {full}{also} {where}; this driver is {m.driver}"
    if m.driver_cuda is not None:
        if _mm(cuda) <= _mm(m.driver_cuda):
            return "full", f"the driver runs CUDA up to {_mm(m.driver_cuda)}, so CUDA {_mm(cuda)} fully"
        low = implied_driver(matrix, m.driver_cuda, m.os)
        if cuda.major == m.driver_cuda.major >= 11 and compat is not None and low is not None and low >= compat:
            return "minor", (f"the driver runs CUDA up to {_mm(m.driver_cuda)} (so it is >= {low}), which meets the "
                             f"CUDA {cuda.major}.x minor-version-compatibility floor {compat}")
        need = f" (a driver >= {full} {where})" if full else ""
        return "no", f"the driver runs CUDA up to {_mm(m.driver_cuda)}; CUDA {_mm(cuda)} needs more{need}"
    return "unknown", "the NVIDIA driver version is unknown (set ENVGEN_DRIVER to the driver's version)"


def _kernels(m: Machine, archs: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(GPUs with no kernels at all, GPUs with PTX only) for a build carrying `archs` (empty: unknown, none)."""
    if not any(arch_cc(a) for a in archs):
        return [], []
    missing, ptx_only = [], []
    for g in m.gpus:
        if g.cc is None:
            continue
        if not runs_on(g.cc, archs):
            missing.append(g.label)
        elif not runs_on(g.cc, archs, ptx=False):
            ptx_only.append(g.label)
    return missing, ptx_only


def _forward(matrix: Matrix, m: Machine, cuda: Version) -> str | None:
    fc = matrix.forward_compat
    if fc is None or m.os not in fc.oses or cuda < fc.since or not m.gpus:
        return None
    if not all(g.datacenter for g in m.gpus):
        return None
    return fc.package.format(major=cuda.major, minor=cuda.minor)


def _mm(v: Version) -> Version:
    return Version(f"{v.major}.{v.minor}")
