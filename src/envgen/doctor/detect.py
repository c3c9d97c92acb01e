"""Pick the build for a machine: the newest CUDA its driver supports that the chosen torch builds for and that
carries its GPU's architecture; CPU without an NVIDIA GPU. Overrides: ENVGEN_CUDA, then CONDA_OVERRIDE_CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from packaging.version import InvalidVersion, Version

from envgen.doctor.facts import Facts
from envgen.errors import BadInput
from envgen.matrix import Matrix
from envgen.matrix.records import Build, Release
from envgen.models import Accel, arch_cc, host_platform, os_of

CPU = Accel("cpu")


@dataclass(frozen=True, slots=True)
class Choice:
    """The variant for one installer (None: any), the torch it was chosen for, and why."""

    installer: str | None
    torch: Version | None
    accel: Accel
    reasons: tuple[str, ...]


def auto_accel(matrix: Matrix, facts: Facts, *, torch: Version | None = None, platform: str | None = None,
               installer: str | None = None) -> tuple[Accel, tuple[str, ...]]:
    """The accelerator `--cuda auto` means for this machine, and the reasons."""
    choice = choose(matrix, facts, torch=torch, platform=platform, installer=installer)
    return choice.accel, choice.reasons


def choose(matrix: Matrix, facts: Facts, *, torch: Version | None = None, platform: str | None = None,
           installer: str | None = None) -> Choice:
    platform = platform or facts.platform or host_platform()
    os_name = os_of(platform)
    ceiling, why = cuda_ceiling(matrix, facts, os_name)
    reasons = [why]
    releases = _releases(matrix, torch, platform, installer)
    if not releases:
        what = f"torch {torch}" if torch else "any torch"
        reasons.append(f"the matrix has no {what} build for {platform}" + (f" via {installer}" if installer else ""))
        return Choice(installer, torch, CPU, tuple(reasons))
    if ceiling is None:
        return Choice(installer, releases[0].torch, CPU, tuple(reasons))
    ccs = gpu_ccs(matrix, facts)
    for index, rel in enumerate(releases):
        builds = _cuda_builds(matrix, rel, platform, installer)
        usable = [b for b in builds if _cuda(b) <= ceiling]
        fitting = [b for b in usable if not missing_archs(matrix, rel, b.accel, ccs)]
        if fitting:
            best = max(fitting, key=lambda b: (known_archs(rel, b.accel) is not None or not ccs, _cuda(b)))
            offered = ", ".join(sorted({b.accel.dotted for b in builds}, key=Version, reverse=True))
            if index:
                reasons.append(f"chose torch {rel.torch}, the newest release with a CUDA build that fits")
            reasons.append(f"torch {rel.torch} builds for CUDA {offered} on {platform}"
                           + (f" via {installer}" if installer else "")
                           + f"; the newest this driver runs is {best.accel.dotted}")
            if ccs and known_archs(rel, best.accel) is None:
                reasons.append(f"the matrix lists no architectures for torch {rel.torch} {best.accel.tag}; "
                               "judged by the release's other builds")
            if alt := _minor_compat_alternative(matrix, releases[:index], platform, installer, ccs, ceiling, os_name):
                reasons.append(alt)
            return Choice(installer, rel.torch, best.accel, tuple(reasons))
        if index == 0:
            reasons.append(_why_not(matrix, rel, builds, usable, ccs, ceiling, platform))
        if torch is not None:
            break
    hint = None
    if torch is not None:
        hint = _newest_fitting(matrix, _releases(matrix, None, platform, installer), platform, installer, ccs,
                               ceiling)
    reasons.append("chose the CPU build: no CUDA build fits this driver and GPU"
                   + (f"; torch {hint} has one (--torch {hint})" if hint else ""))
    return Choice(installer, releases[0].torch, CPU, tuple(reasons))


def _minor_compat_alternative(matrix: Matrix, newer: list[Release], platform: str, installer: str | None,
                              ccs: list[tuple[str, Version]], ceiling: Version, os_name: str) -> str | None:
    """A newer torch whose build has the driver's CUDA major: it runs through minor-version compatibility."""
    compat = matrix.minor_compat.get(ceiling.major)
    floor = (compat.driver_windows if os_name == "windows" else compat.driver_linux) if compat else None
    if floor is None:
        return None
    for rel in newer:
        same_major = [b for b in _cuda_builds(matrix, rel, platform, installer)
                      if _cuda(b).major == ceiling.major and not missing_archs(matrix, rel, b.accel, ccs)]
        if same_major:
            best = max(same_major, key=_cuda)
            return (f"torch {rel.torch} {best.accel.tag} would also run on this driver through CUDA minor-version "
                    f"compatibility (any CUDA {ceiling.major}.x on a driver >= {floor}; "
                    f"no PTX JIT): pass --torch {rel.torch} --cuda {best.accel.dotted} to choose it")
    return None


def cuda_ceiling(matrix: Matrix, facts: Facts, os_name: str) -> tuple[Version | None, str]:
    """The newest CUDA this machine can run (None: no CUDA at all) and why."""
    env = facts.env or {}
    if "ENVGEN_CUDA" in env:
        return _override("ENVGEN_CUDA", env["ENVGEN_CUDA"])
    if "CONDA_OVERRIDE_CUDA" in env:
        return _override("CONDA_OVERRIDE_CUDA", env["CONDA_OVERRIDE_CUDA"])
    if os_name == "macos":
        return None, "macOS: PyTorch has no CUDA builds for macOS, so the CPU (MPS on Apple silicon) build"
    if facts.gpus == ():
        why = facts.unknown.get("driver_version") or "no NVIDIA GPU found"
        return None, f"no NVIDIA GPU: {why}; chose the CPU build (set ENVGEN_CUDA=X.Y to build for another machine)"
    if facts.driver_version:
        try:
            driver = Version(facts.driver_version)
        except InvalidVersion:
            driver = None
        newest = matrix.newest_cuda_for_driver(driver, os_name) if driver else None
        if newest is None:
            return None, f"NVIDIA driver {facts.driver_version} is older than every CUDA toolkit envgen knows"
        return newest, (f"NVIDIA driver {facts.driver_version} runs CUDA toolkits up to {newest} "
                        f"({os_name} driver floors in matrices/cuda.yaml)")
    if facts.driver_cuda:
        return Version(facts.driver_cuda), f"the NVIDIA driver reports CUDA {facts.driver_cuda}"
    why = facts.unknown.get("gpus") or facts.unknown.get("driver_version") or "the NVIDIA driver version is unknown"
    return None, f"cannot tell which CUDA the driver runs ({why}); chose the CPU build (set ENVGEN_CUDA to choose)"


def _override(var: str, value: str) -> tuple[Version | None, str]:
    text = value.strip()
    if text.lower() in ("", "none", "cpu", "0"):
        return None, f"{var}={value!r}: no CUDA, so the CPU build"
    try:
        accel = Accel.parse(text)
    except BadInput:
        raise BadInput(f"{var}={value!r} is not a CUDA version", hint=f"set {var} to a version such as 12.4, "
                                                                         "or to 'none' for CPU") from None
    if accel.kind != "cuda":
        raise BadInput(f"{var}={value!r} is not a CUDA version", hint=f"set {var} to a version such as 12.4")
    return accel.version, f"{var}={text}: building for a driver that runs CUDA up to {accel.dotted}"


def gpu_ccs(matrix: Matrix, facts: Facts) -> list[tuple[str, Version]]:
    """(GPU name, compute capability) for each GPU whose capability is known or found by name."""
    out = []
    for gpu in facts.gpus or ():
        cc = None
        if gpu.compute_capability:
            try:
                cc = Version(gpu.compute_capability)
            except InvalidVersion:
                cc = None
        cc = cc or matrix.gpu_cc(gpu.name)
        if cc is not None:
            out.append((gpu.name, cc))
    return out


def runs_on(cc: Version, archs: tuple[str, ...]) -> bool:
    """Kernels compiled for sm_XY run on X.Z with Z >= Y; PTX (compute_XY) is compiled for any newer GPU."""
    for arch in archs:
        parsed = arch_cc(arch)
        if parsed is None:
            continue
        kind, have = parsed
        if kind == "sm" and have.major == cc.major and have.minor <= cc.minor:
            return True
        if kind == "compute" and have <= cc:
            return True
    return False


def missing_archs(matrix: Matrix, rel: Release, accel: Accel, ccs: list[tuple[str, Version]]) -> list[str]:
    """GPUs (as 'name (sm_XY)') that this build carries no kernels for. A build without an architecture list
    in the matrix is judged by every list the release has (none at all: nothing is missing)."""
    archs = known_archs(rel, accel)
    if archs is None:
        archs = tuple(a for facts in rel.accel.values() for a in facts.archs)
    if not archs:
        return []
    return [f"{name} ({sm_name(cc)})" for name, cc in ccs if not runs_on(cc, archs)]


def known_archs(rel: Release, accel: Accel) -> tuple[str, ...] | None:
    facts = rel.accel.get(accel.tag)
    return facts.archs if facts is not None and facts.archs else None



def sm_name(cc: Version) -> str:
    return f"sm_{cc.major}{cc.minor}"


def _releases(matrix: Matrix, torch: Version | None, platform: str, installer: str | None) -> list[Release]:
    out = [r for r in matrix.releases if (torch is None or r.torch == torch)
           and matrix.builds(torch=r.torch, platform=platform, installer=installer)]
    return sorted(out, key=lambda r: r.torch, reverse=True)


def _cuda_builds(matrix: Matrix, rel: Release, platform: str, installer: str | None) -> list[Build]:
    return [b for b in matrix.builds(torch=rel.torch, platform=platform, installer=installer)
            if b.accel.kind == "cuda" and b.accel.version is not None]


def _cuda(build: Build) -> Version:
    """The CUDA version of a build that `_cuda_builds` kept (each has one)."""
    return cast(Version, build.accel.version)


def _why_not(matrix: Matrix, rel: Release, builds: list[Build], usable: list[Build], ccs: list[tuple[str, Version]],
             ceiling: Version, platform: str) -> str:
    if not builds:
        return f"torch {rel.torch} has no CUDA build for {platform}"
    if not usable:
        low = min(_cuda(b) for b in builds)
        floor = matrix.driver_floor(low, os_of(platform))
        return (f"torch {rel.torch}'s oldest CUDA build is {low}, newer than the driver runs ({ceiling})"
                + (f"; a driver >= {floor} would run it" if floor else ""))
    lacking = sorted({g for b in usable for g in missing_archs(matrix, rel, b.accel, ccs)})
    return f"torch {rel.torch} dropped kernels for {', '.join(lacking)} from its CUDA builds"


def _newest_fitting(matrix: Matrix, releases: list[Release], platform: str, installer: str | None,
                    ccs: list[tuple[str, Version]], ceiling: Version) -> Version | None:
    for rel in releases:
        for b in _cuda_builds(matrix, rel, platform, installer):
            if _cuda(b) <= ceiling and not missing_archs(matrix, rel, b.accel, ccs):
                return rel.torch
    return None
