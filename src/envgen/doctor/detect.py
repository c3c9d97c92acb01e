"""Pick the build for a machine through the one compatibility model (`envgen.matrix.compat`): the newest torch
(or the torch asked for) with a CUDA build that runs on the driver and carries kernels for every GPU, fully or
through CUDA minor-version compatibility (said, with its cost). CPU only without an NVIDIA GPU, on macOS, or when
an override says so; on a GPU machine where nothing runs, the choice says so (`runs == "none"`) with the ways out.

Overrides for another machine, read from the facts' environment (the probe records them; the CLI adds them to
pasted reports): ENVGEN_GPU (GPU names or compute capabilities, comma-separated), ENVGEN_DRIVER (a driver version),
ENVGEN_CUDA (the newest CUDA the driver runs, as nvidia-smi prints it; `none` for CPU), then CONDA_OVERRIDE_CUDA.
Each is validated: a driver-looking ENVGEN_CUDA (470.82) is refused with a hint.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal, cast

from packaging.version import InvalidVersion, Version

from envgen.doctor.facts import Facts
from envgen.errors import BadInput, ExitCode, Refusal
from envgen.matrix import Matrix
from envgen.matrix.compat import (
    GpuSpec,
    Machine,
    Verdict,
    gpu,
    implied_driver,
    judge_build,
    parse_cc,
    runs_on,
    sm_name,
)
from envgen.matrix.records import Build, Release
from envgen.models import Accel, DriverVersion, host_platform, os_of

__all__ = ["CPU", "OVERRIDES", "Choice", "Detection", "NothingRuns", "agreement", "auto_accel", "choose", "detect",
           "gpu_ccs", "machine", "missing_archs", "overrides_in_force", "runs_on", "sm_name", "with_cpu"]

CPU = Accel("cpu")
OVERRIDES = ("ENVGEN_GPU", "ENVGEN_DRIVER", "ENVGEN_CUDA", "CONDA_OVERRIDE_CUDA")
ChoiceRuns = Literal["full", "minor", "cpu", "none"]
_DRIVER_LIKE = re.compile(r"^\d{3,}(\.\d+)*$")


class NothingRuns(Refusal):
    """No build runs on this GPU machine, and the CPU build was not asked for: exit 1 with the choices."""

    exit_code = ExitCode.FINDINGS


@dataclass(frozen=True, slots=True)
class Choice:
    """The variant for one installer (None: any), the torch it was chosen for, how it runs, and why.

    `runs`: full | minor (through minor-version compatibility, `warnings` say the cost) | cpu (no NVIDIA GPU, or
    an override asks for CPU) | none (a GPU machine where no CUDA build runs: `accel` is CPU only as a placeholder;
    `alternatives` are the ways out)."""

    installer: str | None
    torch: Version | None
    accel: Accel
    reasons: tuple[str, ...]
    runs: ChoiceRuns = "full"
    warnings: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()


def auto_accel(matrix: Matrix, facts: Facts, *, torch: Version | None = None, platform: str | None = None,
               installer: str | None = None) -> tuple[Accel, tuple[str, ...]]:
    """The accelerator `--cuda auto` means for this machine, and the reasons."""
    choice = choose(matrix, facts, torch=torch, platform=platform, installer=installer)
    return choice.accel, choice.reasons


# --- the machine: facts and overrides -> compat.Machine ----------------------------------------------
def overrides_in_force(facts: Facts) -> dict[str, str]:
    env = facts.env or {}
    return {k: env[k] for k in OVERRIDES if k in env}


def machine(matrix: Matrix, facts: Facts, os_name: str) -> tuple[Machine | None, str]:
    """The machine builds are judged against, or None when the CPU build is the answer; and why, in words."""
    env = facts.env or {}
    cuda_var = next((v for v in ("ENVGEN_CUDA", "CONDA_OVERRIDE_CUDA") if v in env), None)
    cuda = _cuda_override(cuda_var, env[cuda_var]) if cuda_var else None
    driver = _driver_override(env["ENVGEN_DRIVER"]) if "ENVGEN_DRIVER" in env else None
    gpus = _gpu_override(matrix, env["ENVGEN_GPU"]) if "ENVGEN_GPU" in env else None
    if cuda_var == "ENVGEN_CUDA" and cuda is not None and driver is not None:
        raise BadInput(f"both ENVGEN_DRIVER={env['ENVGEN_DRIVER']} and ENVGEN_CUDA={env['ENVGEN_CUDA']} are set",
                       hint="set one: ENVGEN_DRIVER (the driver version) or ENVGEN_CUDA (the CUDA version "
                            "nvidia-smi shows)")
    if cuda_var and cuda is None:
        return None, f"{cuda_var}={env[cuda_var]!r}: no CUDA, so the CPU build"
    if os_name == "macos":
        return None, "macOS: PyTorch has no CUDA builds for macOS, so the CPU (MPS on Apple silicon) build"
    overridden = cuda is not None or driver is not None or gpus is not None
    if not overridden and not facts.gpus:
        if facts.gpus == ():
            why = facts.unknown.get("driver_version") or "no NVIDIA GPU found"
            return None, (f"no NVIDIA GPU: {why}; chose the CPU build (set ENVGEN_GPU and ENVGEN_DRIVER to choose "
                          "for another machine)")
        why = facts.unknown.get("gpus") or facts.unknown.get("driver_version") or "no GPU facts"
        return None, (f"cannot tell whether this machine has an NVIDIA GPU ({why}); chose the CPU build (set "
                      "ENVGEN_GPU and ENVGEN_DRIVER, or pass detect --from nvidia-smi.txt)")
    if gpus is None:
        gpus = tuple(gpu(matrix, g.name, g.compute_capability) for g in facts.gpus or ())
        if not gpus:
            gpus = (GpuSpec("an NVIDIA GPU of unknown model"),)
    if cuda is None and driver is None:
        driver = _facts_driver(facts)
        cuda = _facts_cuda(facts) if driver is None else None
    m = Machine(os_name, driver, cuda, gpus)
    return m, m.describe() + (f" ({', '.join(f'{k}={v}' for k, v in overrides_in_force(facts).items())})"
                              if overridden else "")


def _cuda_override(var: str, value: str) -> Version | None:
    text = value.strip()
    if text.lower() in ("", "none", "cpu", "0"):
        return None
    hint = (f"set {var} to the CUDA version the driver supports, as nvidia-smi prints it (e.g. 12.4), or to "
            "'none' for the CPU build")
    if _DRIVER_LIKE.match(text):
        raise BadInput(f"{var}={value!r} looks like an NVIDIA driver version, not a CUDA version",
                       hint=f"set ENVGEN_DRIVER={text} for a driver version; {hint}")
    try:
        accel = Accel.parse(text)
    except BadInput:
        raise BadInput(f"{var}={value!r} is not a CUDA version", hint=hint) from None
    if accel.kind != "cuda" or accel.version is None or not 7 <= accel.version.major <= 99:
        raise BadInput(f"{var}={value!r} is not a CUDA version", hint=hint)
    return accel.version


def _driver_override(value: str) -> Version:
    text = value.strip()
    hint = "set ENVGEN_DRIVER to the NVIDIA driver version nvidia-smi prints, e.g. 470.82.01 or 551.61"
    try:
        driver = DriverVersion(text)
    except InvalidVersion:
        raise BadInput(f"ENVGEN_DRIVER={value!r} is not a driver version", hint=hint) from None
    if driver.release[0] < 100 or driver.pre or driver.post or driver.dev or driver.local or driver.epoch:
        like = " (it looks like a CUDA version: set ENVGEN_CUDA for that)" if driver.release[0] < 100 else ""
        raise BadInput(f"ENVGEN_DRIVER={value!r} is not an NVIDIA driver version{like}", hint=hint)
    return driver


def _gpu_override(matrix: Matrix, value: str) -> tuple[GpuSpec, ...]:
    out = []
    for item in (x.strip() for x in value.split(",")):
        if not item:
            continue
        cc = parse_cc(item)
        spec = GpuSpec(f"compute capability {cc}", cc) if cc is not None else gpu(matrix, item)
        if spec.cc is None:
            raise BadInput(f"ENVGEN_GPU: unknown GPU {item!r}",
                           hint="give its compute capability instead (ENVGEN_GPU=8.6; `nvidia-smi --query-gpu="
                                "name,compute_cap --format=csv` prints it), or a name from matrices/gpu_models.yaml")
        out.append(spec)
    if not out:
        raise BadInput(f"ENVGEN_GPU={value!r} names no GPU", hint="e.g. ENVGEN_GPU='RTX 3090' or ENVGEN_GPU=8.6")
    return tuple(out)


def _facts_driver(facts: Facts) -> Version | None:
    try:
        return DriverVersion(facts.driver_version) if facts.driver_version else None
    except InvalidVersion:
        return None


def _facts_cuda(facts: Facts) -> Version | None:
    try:
        return Version(facts.driver_cuda) if facts.driver_cuda else None
    except InvalidVersion:
        return None


def gpu_ccs(matrix: Matrix, facts: Facts) -> list[tuple[str, Version]]:
    """(GPU name, compute capability) for each GPU whose capability is known or found by name."""
    return [(g.name, g.cc) for x in facts.gpus or () if (g := gpu(matrix, x.name, x.compute_capability)).cc]


def missing_archs(matrix: Matrix, rel: Release, accel: Accel, ccs: list[tuple[str, Version]]) -> list[str]:
    """GPUs (as 'name (sm_XY)') that this build carries no kernels for (judged by the model)."""
    m = Machine("linux", DriverVersion("999.99"), None, tuple(GpuSpec(n, cc) for n, cc in ccs))
    return list(judge_build(matrix, m, rel, accel).missing)


# --- the choice ------------------------------------------------------------------------------------
def choose(matrix: Matrix, facts: Facts, *, torch: Version | None = None, platform: str | None = None,
           installer: str | None = None) -> Choice:
    platform = platform or facts.platform or host_platform()
    m, why = machine(matrix, facts, os_of(platform))
    reasons = [why]
    releases = _releases(matrix, torch, platform, installer)
    via = f" via {installer}" if installer else ""
    if not releases:
        what = f"torch {torch}" if torch else "any torch"
        reasons.append(f"the matrix has no {what} build for {platform}{via}")
        return Choice(installer, None, CPU, tuple(reasons), runs="cpu")  # torch None: nothing of this installer
    if m is None:
        return Choice(installer, releases[0].torch, CPU, tuple(reasons), runs="cpu")
    unknown = [g.name for g in m.gpus if g.cc is None]
    if unknown:
        reasons.append(f"kernels not checked: the compute capability of {', '.join(unknown)} is unknown (set "
                       "ENVGEN_GPU to the GPU's name or capability, or also pass `nvidia-smi --query-gpu=name,"
                       "compute_cap --format=csv` output)")
    first_no = ""
    for index, rel in enumerate(releases):
        verdicts = [judge_build(matrix, m, rel, b.accel) for b in _cuda_builds(matrix, rel, platform, installer)]
        ok = [v for v in verdicts if v.ok]
        if ok:
            best = max(ok, key=lambda v: _cuda(v.accel))
            if index:
                reasons += [first_no, f"chose torch {rel.torch}, the newest release with a CUDA build that runs here"]
            offered = ", ".join(sorted({v.accel.dotted for v in verdicts}, key=Version, reverse=True))
            how = "fully" if best.runs == "full" else "through CUDA minor-version compatibility"
            reasons.append(f"torch {rel.torch} builds for CUDA {offered} on {platform}{via}; the newest that runs "
                           f"here is {best.accel.dotted} ({how}): {best.reasons[0]}")
            reasons += best.reasons[1:]
            return Choice(installer, rel.torch, best.accel, tuple(reasons), runs=cast(ChoiceRuns, best.runs),
                          warnings=best.caveats)
        if index == 0:
            first_no = _why_not(rel, verdicts, platform)
        if torch is not None:
            break
    reasons += [first_no, "no CUDA build runs on this machine"]
    alternatives = _alternatives(matrix, m, releases[0], platform, installer)
    return Choice(installer, releases[0].torch, CPU, tuple(reasons), runs="none", alternatives=alternatives)


def _why_not(rel: Release, verdicts: list[Verdict], platform: str) -> str:
    if not verdicts:
        return f"torch {rel.torch} has no CUDA build for {platform}"
    if all(v.missing for v in verdicts):
        lacking = sorted({g for v in verdicts for g in v.missing})
        return f"torch {rel.torch} dropped kernels for {', '.join(lacking)} from its CUDA builds"
    if all(v.runs == "unknown" for v in verdicts):
        return f"whether torch {rel.torch} runs depends on the driver, which is unknown"
    near = min((v for v in verdicts if not v.missing), key=_need)
    return f"torch {rel.torch} {near.accel.tag} does not run here: " + "; ".join(near.reasons)


def _need(v: Verdict) -> Version:
    return v.min_driver or Version("9999")


def _alternatives(matrix: Matrix, m: Machine, rel: Release, platform: str, installer: str | None) -> tuple[str, ...]:
    """The ways out when nothing runs: the driver that runs `rel`, a torch that runs on this driver, forward
    compatibility on data-centre GPUs, or the facts that are missing."""
    verdicts = [judge_build(matrix, m, rel, b.accel) for b in _cuda_builds(matrix, rel, platform, installer)]
    out = []
    if verdicts and all(v.runs == "unknown" for v in verdicts):
        out.append("tell envgen the driver: ENVGEN_DRIVER=<version> (or ENVGEN_CUDA=<the CUDA version nvidia-smi "
                   "shows>), or detect --from nvidia-smi.txt")
    fitting = [v for v in verdicts if not v.missing and v.min_driver is not None]
    if fitting and (m.driver is not None or m.driver_cuda is not None):
        best = min(fitting, key=_need)
        how = (f" through minor-version compatibility (>= {best.full_floor} runs it fully)"
               if best.min_driver != best.full_floor else "")
        out.append(f"update the NVIDIA driver to >= {best.min_driver}: it runs torch {rel.torch} {best.accel.tag}"
                   f"{how}")
    for v in verdicts:
        if v.forward_package:
            out.append(f"install NVIDIA's forward-compatibility package {v.forward_package}: it could run torch "
                       f"{rel.torch} {v.accel.tag} on this data-centre GPU without a driver update")
            break
    have = m.driver if m.driver is not None else (
        implied_driver(matrix, m.driver_cuda, m.os) if m.driver_cuda is not None else None)
    if have is not None:  # the driver is what stops every build: the oldest that would do
        low = _lowest_driver(matrix, m, platform, installer)
        if low is not None and have < low[0] and (not fitting or low[0] < _need(min(fitting, key=_need))):
            out.append(f"the oldest driver that runs a CUDA build for this GPU: >= {low[0]} (torch {low[1]} "
                       f"{low[2].tag})")
    other = _newest_running(matrix, m, platform, installer, exclude=rel.torch)
    if other is not None:
        out.append(f"torch {other[0]} {other[1].tag} runs on this driver: --torch {other[0]}")
    elif any(v.missing for v in verdicts):
        out.append("no torch envgen knows has kernels for this GPU and runs on this driver")
    return tuple(out)


def _lowest_driver(matrix: Matrix, m: Machine, platform: str,
                   installer: str | None) -> tuple[Version, Version, Accel] | None:
    """The lowest driver any build runs on with these GPUs, and the newest torch (and its build) it runs."""
    best: tuple[Version, Version, Accel] | None = None
    for rel in _releases(matrix, None, platform, installer):
        for b in _cuda_builds(matrix, rel, platform, installer):
            v = judge_build(matrix, m, rel, b.accel)
            if not v.missing and v.min_driver is not None and (best is None or v.min_driver < best[0]):
                best = (v.min_driver, rel.torch, v.accel)
    return best


def _newest_running(matrix: Matrix, m: Machine, platform: str, installer: str | None,
                    exclude: Version | None = None) -> tuple[Version, Accel] | None:
    for rel in _releases(matrix, None, platform, installer):
        if rel.torch == exclude:
            continue
        ok = [v for b in _cuda_builds(matrix, rel, platform, installer)
              if (v := judge_build(matrix, m, rel, b.accel)).ok]
        if ok:
            return rel.torch, max(ok, key=lambda v: _cuda(v.accel)).accel
    return None


def agreement(matrix: Matrix, facts: Facts, choices: list[Choice], platform: str) -> str | None:
    """Why the installers' choices differ (None: they agree, or there is nothing to compare)."""
    chosen = sorted((c for c in choices if c.torch is not None and c.runs in ("full", "minor") and c.installer),
                    key=lambda c: (cast(Version, c.torch), _cuda(c.accel)), reverse=True)
    if len(chosen) < 2 or (chosen[0].torch, chosen[0].accel) == (chosen[-1].torch, chosen[-1].accel):
        return None
    lead, lag = chosen[0], chosen[-1]
    head = f"{lead.installer} and {lag.installer} differ because "
    m, _why = machine(matrix, facts, os_of(platform))
    rel = matrix.release(cast(Version, lead.torch))
    builds = matrix.builds(torch=lead.torch, platform=platform, installer=lag.installer) if rel else []
    if not builds:
        return head + f"{lag.installer} has no torch {lead.torch} for {platform}"
    if rel is None or m is None:
        return None
    tags = sorted({b.accel.tag for b in builds})
    verdicts = [judge_build(matrix, m, rel, b.accel) for b in builds if b.accel.kind == "cuda"]
    if lead.torch == lag.torch:
        return head + (f"{lag.installer} has no {lead.accel.tag} build of torch {lead.torch} for {platform} "
                       f"(it has {', '.join(tags)})")
    why = "; ".join(v.reasons[0] for v in verdicts) or "none is a CUDA build"
    return head + f"{lag.installer}'s torch {lead.torch} builds ({', '.join(tags)}) do not run here: {why}"


@dataclass(frozen=True, slots=True)
class Detection:
    """What `envgen detect` says: the machine as judged, one choice per installer, why they differ."""

    platform: str
    judged_as: str
    choices: tuple[Choice, ...]
    differ: str | None

    @property
    def nothing_runs(self) -> bool:
        return bool(self.choices) and all(c.runs == "none" for c in self.choices)

    def ways_out(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for c in self.choices for a in c.alternatives))


def detect(matrix: Matrix, facts: Facts, *, torch: Version | None, platform: str, allow_cpu: bool) -> Detection:
    """The choice for each installer with builds for `platform` (validating the overrides first); with
    `allow_cpu`, a GPU machine where nothing runs gets the CPU build, said."""
    _m, judged = machine(matrix, facts, os_of(platform))
    choices = [choose(matrix, facts, torch=torch, platform=platform, installer=installer)
               for installer in ("conda", "pip") if matrix.builds(torch=torch, platform=platform, installer=installer)]
    if allow_cpu:
        choices = [with_cpu(c, "--allow-cpu: the CPU build, since no CUDA build runs here") if c.runs == "none"
                   else c for c in choices]
    return Detection(platform, judged, tuple(choices),
                     agreement(matrix, facts, choices, platform))


def with_cpu(choice: Choice, why: str) -> Choice:
    """The CPU build, asked for (`--allow-cpu`) where nothing else runs."""
    return dataclasses.replace(choice, runs="cpu", reasons=(*choice.reasons, why))


def _releases(matrix: Matrix, torch: Version | None, platform: str, installer: str | None) -> list[Release]:
    out = [r for r in matrix.releases if (torch is None or r.torch == torch)
           and matrix.builds(torch=r.torch, platform=platform, installer=installer)]
    return sorted(out, key=lambda r: r.torch, reverse=True)


def _cuda_builds(matrix: Matrix, rel: Release, platform: str, installer: str | None) -> list[Build]:
    seen: dict[Accel, Build] = {}
    for b in matrix.builds(torch=rel.torch, platform=platform, installer=installer):
        if b.accel.kind == "cuda" and b.accel.version is not None:
            seen.setdefault(b.accel, b)
    return list(seen.values())


def _cuda(accel: Accel) -> Version:
    """The CUDA version of a CUDA build (each judged one has one)."""
    return cast(Version, accel.version)
