"""The NVIDIA driver a migration's target needs, and whether a machine has it (`envgen.matrix.compat` decides).

`floor_note` is what every plan states (from the matrix alone, so the script stays byte-stable); `check` compares
the target with a machine (probed, or given through ENVGEN_DRIVER / ENVGEN_GPU / ENVGEN_CUDA) for the CLI, which
warns, or refuses unless `--force`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envgen.matrix import Matrix
from envgen.matrix.compat import Machine, Verdict, floors, judge, judge_build
from envgen.migrate.plan import Target
from envgen.models import os_of

Status = Literal["ok", "minor", "refused", "unchecked", "not-cuda"]


@dataclass(frozen=True, slots=True)
class DriverCheck:
    """The target against one machine: `ok`, `minor` (runs through minor-version compatibility: a warning),
    `refused` (does not run), `unchecked` (no NVIDIA GPU or driver known here), `not-cuda` (no driver needed)."""

    status: Status
    message: str
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "message": self.message, "reasons": list(self.reasons)}


def floor_note(matrix: Matrix, target: Target) -> str | None:
    """'the target's CUDA 12.4 build needs an NVIDIA driver >= 550.54.15 on linux (>= 525.60.13 through CUDA
    minor-version compatibility)'; None for a target that is no CUDA build."""
    cuda = target.accel.cuda if target.accel is not None else None
    if cuda is None:
        return None
    os_name = os_of(target.platform)
    full, compat = floors(matrix, cuda, os_name)
    if full is None:
        return f"the target's CUDA {cuda} build needs an NVIDIA driver; envgen knows no floor for it on {os_name}"
    minor = (f" (>= {compat} through CUDA minor-version compatibility)"
             if compat is not None and cuda.major >= 11 else "")
    return f"the target's CUDA {cuda} build needs an NVIDIA driver >= {full} on {os_name}{minor}"


def check(matrix: Matrix, target: Target, machine: Machine | None, why: str) -> DriverCheck:
    """The target's driver floor against `machine` (None: no NVIDIA GPU known here; `why` says so)."""
    note = floor_note(matrix, target)
    if note is None:
        what = target.accel.describe() if target.accel is not None else "an unknown build"
        return DriverCheck("not-cuda", f"the target is {what}: no NVIDIA driver needed")
    if machine is None:
        return DriverCheck("unchecked", f"{note}; not checked against this machine: {why} (set ENVGEN_DRIVER and "
                                        "ENVGEN_GPU to check it for the machine the script will run on)")
    verdict = _verdict(matrix, target, machine)
    here = f"this machine: {machine.describe()}"
    if verdict.runs == "full":
        return DriverCheck("ok", f"{note}; {here}: it runs fully", verdict.reasons)
    if verdict.runs == "minor":
        return DriverCheck("minor", f"{note}; {here}: it runs only through minor-version compatibility",
                           verdict.reasons + verdict.caveats)
    if verdict.runs == "unknown":
        return DriverCheck("unchecked", f"{note}; {here}: {verdict.reasons[0]}", verdict.reasons)
    return DriverCheck("refused", f"{note}; {here}: the target does not run here", verdict.reasons)


def _verdict(matrix: Matrix, target: Target, machine: Machine) -> Verdict:
    assert target.accel is not None
    rel = matrix.release(target.torch) if target.torch is not None else None
    if rel is not None:
        return judge_build(matrix, machine, rel, target.accel)
    return judge(matrix, machine, target.accel)
