"""Facts + matrix -> findings, most likely cause first. Each rule is a pure function of a `Context` (GPU,
driver and platform rules in `rules.py`; packages, runtimes and environment in `rules_env.py`); the cause
codes, severities and error-message patterns are data (matrices/doctor.yaml), documented in docs/doctor.md.
"""

from __future__ import annotations

from collections.abc import Callable

from envgen.doctor import rules_env as e
from envgen.doctor.derive import Derivation, derive
from envgen.doctor.facts import Facts
from envgen.doctor.findings import Context, Finding
from envgen.doctor.rules import (
    corrupt_package,
    cpu_build_installed,
    driver_too_old,
    no_gpu_but_cuda_build,
    python_32bit,
    python_unsupported,
    shadowing_torch_py,
    unsupported_gpu_arch,
    win32_no_package,
    wrong_python_env,
)
from envgen.matrix import Matrix
from envgen.matrix.doctor import DoctorData, doctor_data


def diagnose(matrix: Matrix, facts: Facts, data: DoctorData | None = None) -> list[Finding]:
    """Every finding for these facts, most likely cause first."""
    return diagnosis(matrix, facts, data)[0]


def diagnosis(matrix: Matrix, facts: Facts, data: DoctorData | None = None) -> tuple[list[Finding], Derivation]:
    """Every finding, ranked by the strength of its evidence, then severity, then the vocabulary's order; and the
    derivation the rules read (the facts completed, each derived fact with its provenance). When the user gave an
    error and no rule explains it, one `unexplained` finding says what to collect: never "no problems"."""
    data = data or doctor_data(matrix)
    seen = window("\n".join(t for t in (facts.error, facts.torch_error) if t))
    derivation = derive(matrix, data, facts, seen)
    ctx = Context(derivation.facts, matrix, data, seen, derivation)
    found: list[Finding] = []
    for rule in all_rules():
        found += rule(ctx)
    order = list(data.causes)
    found.sort(key=lambda f: (*f.rank, not f.confirmed, order.index(f.cause) if f.cause in order else len(order)))
    absent = (facts.torch_error or "").startswith("ModuleNotFoundError") and "'torch'" in (facts.torch_error or "")
    if not found and ((facts.error or "").strip() or (facts.torch_error and not absent)):
        found.append(_unexplained(ctx))  # torch merely not installed here is no error to explain
    return found, derivation


HEAD, TAIL = 32 * 1024, 224 * 1024


def window(text: str) -> str:
    """The part of a long pasted error the patterns read: its first 32 KiB (the command that failed) and its last
    224 KiB (where a traceback ends in its message). Every pattern's own spans are bounded too, so no input makes
    matching slow; a 64 MiB paste is mostly a log, and its cause is at its ends."""
    if len(text) <= HEAD + TAIL:
        return text
    return text[:HEAD] + "\n[...]\n" + text[-TAIL:]


def _unexplained(ctx: Context) -> Finding:
    f = ctx.facts
    collect = ["python -m torch.utils.collect_env"]
    if f.os != "macos":
        collect.append("nvidia-smi")
    collect.append("conda list" if f.install_method != "pip" else "python -m pip list")
    msg = ("the error you gave matches no cause envgen knows well enough to name; collect the facts "
           "that decide it and run doctor again with them (--from each output, --error the message): "
           + "; ".join(f"`{c}`" for c in collect))
    return Finding("unexplained", "possible", msg, {"error": ctx.seen.strip().splitlines()[-1][:300]}, (),
                   strength="suggestive", collect=tuple(collect))


def all_rules() -> tuple[Callable[[Context], list[Finding]], ...]:
    """Every rule, in the order of the cause vocabulary."""
    return (driver_too_old, no_gpu_but_cuda_build, cpu_build_installed, e.missing_vc_runtime, e.missing_mkl,
            unsupported_gpu_arch, python_32bit, win32_no_package, python_unsupported, shadowing_torch_py,
            e.mkl_2024_1_ijit,
            e.numpy2_abi, e.mixed_pip_conda, wrong_python_env, e.channel_conflict_vc14, e.cuda_feature_conflict,
            e.mkl_channel_mismatch, e.ld_library_path_conflict, corrupt_package)
