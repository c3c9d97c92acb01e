"""The builds and refusal rules of the matrix that a Request matches (fields it leaves open match anything)."""

from __future__ import annotations

from envgen.compile.stack import Request
from envgen.matrix import Matrix
from envgen.matrix.records import Build, Constraint


def candidate_builds(matrix: Matrix, request: Request) -> list[Build]:
    out = []
    for rel in matrix.releases:
        if request.torch is not None and rel.torch != request.torch:
            continue
        for b in rel.builds:
            route = matrix.routes[b.route]
            if request.platform not in b.platforms:
                continue
            if request.installer and route.installer != request.installer:
                continue
            if request.family and route.family != request.family:
                continue
            if request.accel is not None and b.accel != request.accel:
                continue
            if request.python is not None and request.python not in b.python.get(request.platform, ()):
                continue
            out.append(b)
    return out


def applicable_refusals(matrix: Matrix, request: Request) -> list[Constraint]:
    """Refuse rules whose condition the request meets (fields the request leaves open match)."""
    out = []
    for c in matrix.constraints:
        if c.kind != "refuse":
            continue
        w = c.when
        if w.platforms and request.platform not in w.platforms:
            continue
        if w.torch and request.torch is not None and request.torch not in w.torch:
            continue
        if w.accel_kinds and (request.accel is None or request.accel.kind not in w.accel_kinds):
            continue
        if w.cuda and (request.accel is None or request.accel.cuda is None or request.accel.cuda not in w.cuda):
            continue
        if w.python and (request.python is None or request.python.version not in w.python):
            continue
        if w.installers and request.installer and request.installer not in w.installers:
            continue
        if w.families and (request.family is None or request.family not in w.families):
            continue
        out.append(c)
    return out
