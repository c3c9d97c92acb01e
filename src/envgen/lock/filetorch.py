"""`--from FILE` with `--cuda`/`--cpu`/`--rocm`/`--torch`/`--channel`: the variant of the file's own torch.

An environment file that names torch (`pytorch=2.1` in its conda dependencies, or `torch...` in its pip section)
keeps it: the flags choose the build of that torch, they do not add a second one. Without `--torch`, the newest
matrix release the file's spec allows that has the asked build is chosen (refused with the nearest builds when
none has); with `--torch`, the flag replaces the file's spec. The file's torch and its build selectors
(`pytorch-cuda`, `cudatoolkit`, `cpuonly`, `cuda-version`) give way to the matrix's pins for that build; its
companions stay as written (unless `--with` names them), and its channel and Python are kept. Every
replacement is said in a note.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envgen.compile.envfile import EnvFile
from envgen.errors import BadInput
from envgen.lock.conda import version_matches
from envgen.lock.request import LockRequest
from envgen.matrix import Matrix
from envgen.matrix.records import Release

TORCH = ("pytorch", "pytorch-gpu", "pytorch-cpu")
SELECTORS = ("pytorch-cuda", "cudatoolkit", "cpuonly", "cuda-version", "pytorch-mutex")
FAMILIES = ("pytorch", "conda-forge")  # the conda channels a torch stack is taken from (`--channel`)


def _conda_name(spec: str) -> str:
    text = spec.rpartition("::")[2].strip()
    return text.split()[0].split("=")[0].split("<")[0].split(">")[0].split("!")[0].split("[")[0].lower() if text else ""


def _pip_name(line: str) -> str | None:
    try:
        return str(canonicalize_name(Requirement(line).name))
    except InvalidRequirement:
        return None


def variant_of_file(matrix: Matrix, request: LockRequest, env: EnvFile, label: str,
                    resolves: Callable[[LockRequest], object]) -> tuple[LockRequest, EnvFile, tuple[str, ...]]:
    """The request and file to lock when flags ask for a build of a file that names torch (see the module doc).
    `resolves(request) -> None` raises when the matrix has no such build (the caller's resolver)."""
    conda_torch = [s for s in env["conda"] if _conda_name(s) in TORCH]
    pip_torch = [r for r in env["pip"] if _pip_name(r) == "torch"]
    if not conda_torch and not pip_torch:
        return request, env, ()
    installer = "conda" if conda_torch else "pip"
    spec = (conda_torch or pip_torch)[0]
    notes = []
    if request.python is None:
        request = dataclasses.replace(request, python=_python(env))
    if request.installer is None:
        request = dataclasses.replace(request, installer=installer)
    families = [request.channel] if request.channel or installer != "conda" else _families(spec, env)
    if request.torch is None:
        request = _first_family(matrix, request, families, spec, installer, label, resolves)
        notes.append(f"{label}: {spec} -> torch {request.torch}, the newest release it allows with that build"
                     + (f" ({request.channel})" if request.channel else ""))
    else:
        if request.channel is None and families[0] is not None:
            request = dataclasses.replace(request, channel=families[0])
        notes.append(f"--torch {request.torch} replaces the file's {spec}")
    # the file's companions stay as written unless --with names them; the matrix adds none the file did not ask for
    taken = tuple(c.strip() for c in request.with_.split(",")) if request.with_ else ()
    if request.with_ is None:
        request = dataclasses.replace(request, with_="")
    drop = set(TORCH + SELECTORS + taken)
    kept = [s for s in env["conda"] if _conda_name(s) not in drop]
    gone = [s for s in env["conda"] if _conda_name(s) in drop and s != spec]
    pip_kept = [r for r in env["pip"] if _pip_name(r) not in ("torch", *taken)]
    gone += [r for r in env["pip"] if r not in pip_kept and r != spec]
    if gone:
        notes.append(f"{label}: {', '.join(gone)} give way to the matrix's pins for that build")
    return request, EnvFile(**{**env, "conda": kept, "pip": pip_kept}), tuple(notes)


def _families(spec: str, env: EnvFile) -> list[str | None]:
    """The torch channel families to try, in the file's order: the spec's own channel, else every family channel
    the file lists (conda would look in each), else none (the matrix's default)."""
    channel = spec.rpartition("::")[0].rstrip("/").rsplit("/", 1)[-1]
    if channel:
        return [channel if channel in FAMILIES else None]
    return list(dict.fromkeys(c for c in env["channels"] if c in FAMILIES)) or [None]


def _first_family(matrix: Matrix, request: LockRequest, families: list[str | None], spec: str, installer: str,
                  label: str, resolves: Callable[[LockRequest], object]) -> LockRequest:
    """The request for the newest allowed release in the first family (in the file's channel order) that has it."""
    first: BadInput | None = None
    for family in families:
        asked = dataclasses.replace(request, channel=family)
        try:
            return dataclasses.replace(asked, torch=_newest_allowed(matrix, asked, spec, installer, label, resolves))
        except BadInput as exc:
            first = first or exc
    assert first is not None
    raise first


_PYTHON = re.compile(r"^python\s*(?:==?|\s)\s*(\d+)\.(\d+)")


def _python(env: EnvFile) -> str | None:
    """The Python minor version the file pins (`python=3.10`, `python==3.10.4`, `python 3.10.*`), if any."""
    for s in env["conda"]:
        m = _PYTHON.match(s.rpartition("::")[2].strip())
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    return None


def _allows(spec: str, installer: str, version: str) -> bool:
    if installer == "conda":
        return version_matches(spec, version)
    try:
        specifier = Requirement(spec).specifier
    except InvalidRequirement:
        return False
    public = ",".join(f"{s.operator}{s.version.split('+', 1)[0]}" for s in specifier)  # +cu117 names a build
    return SpecifierSet(public).contains(version, prereleases=True)


def _newest_allowed(matrix: Matrix, request: LockRequest, spec: str, installer: str, label: str,
                    resolves: Callable[[LockRequest], object]) -> str:
    candidates = [str(r.torch) for r in sorted(matrix.releases, key=lambda r: r.torch, reverse=True)
                  if _allows(spec, installer, str(r.torch))]
    if not candidates:
        raise BadInput(f"{label} asks for {spec}, and the matrix knows no torch release it allows",
                       hint="check the version in the file (`envgen matrix` lists the releases)")
    first: BadInput | None = None
    for version in candidates:
        try:
            resolves(dataclasses.replace(request, torch=version))
            return version
        except BadInput as exc:
            first = first or exc
    assert first is not None
    raise BadInput(f"{label} asks for {spec}; no release it allows ({', '.join(candidates[:6])}"
                   f"{', ...' if len(candidates) > 6 else ''}) has the build asked for. For torch {candidates[0]}: "
                   f"{first.message}", hint=first.hint or "choose another build, or change the file's torch")


def newest_release_allowed(matrix: Matrix, env: EnvFile) -> Release | None:
    """The newest matrix release the file's torch spec allows (None when the file names no torch)."""
    conda_torch = [s for s in env["conda"] if _conda_name(s) in TORCH]
    pip_torch = [r for r in env["pip"] if _pip_name(r) == "torch"]
    if not conda_torch and not pip_torch:
        return None
    spec, installer = (conda_torch[0], "conda") if conda_torch else (pip_torch[0], "pip")
    allowed = [r for r in matrix.releases if _allows(spec, installer, str(r.torch))]
    return max(allowed, key=lambda r: r.torch) if allowed else None
