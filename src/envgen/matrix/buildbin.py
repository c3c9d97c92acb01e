"""Per-release facts of the binary matrix that building from source reuses: Pythons, CUDA versions, arch lists.

Read from the core `Matrix` (matrices/torch.yaml) so build.yaml does not copy them. Only builds of the route
families build.yaml names (`binary_families`: the project's own channels and indexes) count; conda-forge's
CUDA builds say nothing about what the project's source tree built and tested.
"""

from __future__ import annotations

import re

from packaging.version import Version

from envgen.matrix.buildrecords import BinaryFacts
from envgen.matrix.model import Matrix
from envgen.matrix.records import Release
from envgen.models import PyVer

_SM = re.compile(r"sm_(\d+)(\d)([a-z]?)$")


def arch_of(sm: str) -> str | None:
    """'sm_86' -> '8.6', 'sm_120' -> '12.0', 'sm_90a' -> '9.0a'; None for anything else (gfx targets)."""
    m = _SM.match(sm)
    return f"{int(m.group(1))}.{m.group(2)}{m.group(3)}" if m else None


def binary_facts(matrix: Matrix, families: tuple[str, ...]) -> dict[Version, BinaryFacts]:
    return {r.torch: _facts(matrix, r, families) for r in matrix.releases}


def _facts(matrix: Matrix, release: Release, families: tuple[str, ...]) -> BinaryFacts:
    cudas: dict[str, set[Version]] = {}
    for build in release.builds:
        route = matrix.routes.get(build.route)
        if route is None or route.family not in families or build.accel.kind != "cuda" or build.accel.version is None:
            continue
        for platform in build.platforms:
            cudas.setdefault(platform, set()).add(_minor(build.accel.version))
    archs = {}
    for facts in release.accel.values():
        if facts.accel.kind == "cuda" and facts.accel.version is not None and facts.archs:
            listed = [a for sm in facts.archs if (a := arch_of(sm))]
            if listed:
                archs[_key(facts.accel.version)] = ";".join(listed)
    python: dict[str, tuple[PyVer, ...]] = {p: tuple(v) for p, v in release.python.items() if v}
    return BinaryFacts(release.torch, python, {p: tuple(sorted(v)) for p, v in cudas.items()}, archs)


def _minor(v: Version) -> Version:
    return Version(_key(v))


def _key(v: Version) -> str:
    return f"{v.major}.{v.minor}"


__all__ = ["arch_of", "binary_facts"]
