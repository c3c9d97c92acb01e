"""Explain why a request has no build, and rank the nearest combinations that exist."""

from __future__ import annotations

import dataclasses
from typing import Any

from packaging.version import Version

from envgen.compile.candidates import applicable_refusals, candidate_builds
from envgen.compile.stack import Request
from envgen.errors import Refusal
from envgen.matrix import Matrix
from envgen.matrix.records import Build
from envgen.models import Accel

MAX_ALTERNATIVES = 5


def refuse(matrix: Matrix, request: Request) -> Refusal:
    context = {"request": request.describe()}
    rules = applicable_refusals(matrix, request)
    reason = "; ".join(dict.fromkeys(r.why for r in rules))
    if request.torch is not None and matrix.release(request.torch) is None:
        near = _nearest_versions(matrix, request.torch)
        return Refusal(f"unknown torch version {request.torch}" + (f" ({reason})" if reason else ""),
                       alternatives=tuple(f"torch {v}" for v in near), context=context)
    message = f"no build of {_what(request)}"
    if reason:
        message += f": {reason}"
    else:
        loose = candidate_builds(matrix, dataclasses.replace(request, python=None))
        if request.python is not None and loose:
            pys = sorted({str(p) for b in loose for p in b.python.get(request.platform, ())},
                         key=lambda s: Version(s.rstrip("t")))
            message += f": Python {request.python} has no binaries (this build has Python {', '.join(pys)})"
    if request.accel is not None and request.accel.cuda and matrix.toolkit(request.accel.cuda) is None:
        message += f" (no PyTorch build of any release uses CUDA {request.accel.dotted})"
    known = _notes_about(matrix, request)
    if known:
        message += f" (matrix note: {known})"
    return Refusal(message, alternatives=tuple(alternatives(matrix, request)), context=context)


def _notes_about(matrix: Matrix, request: Request) -> str | None:
    """A note of the release that names the requested variant (e.g. a page that lists a build that never existed)."""
    import re

    rel = matrix.release(request.torch) if request.torch is not None else None
    if rel is None or request.accel is None or request.accel.kind not in ("cuda", "rocm"):
        return None
    words = {request.accel.dotted, request.accel.tag}
    notes = list(rel.notes) + [n for b in rel.builds for n in b.notes]
    for note in notes:
        if any(re.search(rf"(?<![\d.]){re.escape(w)}(?![\d])", note) for w in words):
            return note
    return None


def _what(request: Request) -> str:
    parts = [f"torch {request.torch}" if request.torch else "any torch"]
    if request.accel:
        parts.append(f"for {request.accel.describe()}")
    parts.append(f"on {request.platform}")
    if request.python:
        parts.append(f"with Python {request.python}")
    if request.installer:
        parts.append(f"via {request.installer}" + (f" ({request.family})" if request.family else ""))
    return " ".join(parts)


def _nearest_versions(matrix: Matrix, torch: Version) -> list[Version]:
    versions = [r.torch for r in matrix.releases]
    return sorted(versions, key=lambda v: (_distance(v, torch), v))[:3]


def _distance(a: Version, b: Version) -> float:
    ra = (a.release + (0, 0, 0))[:3]
    rb = (b.release + (0, 0, 0))[:3]
    return abs((ra[0] - rb[0]) * 10000 + (ra[1] - rb[1]) * 100 + (ra[2] - rb[2]))


def alternatives(matrix: Matrix, request: Request) -> list[str]:
    """Relax one dimension at a time; rank by how little changes."""
    out: list[str] = []
    relaxations: list[tuple[str, dict[str, Any]]] = [
        ("accel", {"accel": None}), ("python", {"python": None}), ("installer", {"installer": None, "family": None}),
        ("torch", {"torch": None}), ("platform", {})]
    for dim, change in relaxations:
        if dim == "platform":
            out += _other_platforms(matrix, request)
            continue
        if getattr(request, dim) is None and dim != "installer":
            continue
        loose = candidate_builds(matrix, dataclasses.replace(request, **change))
        out += _describe(matrix, request, dim, loose)
    return list(dict.fromkeys(out))[:MAX_ALTERNATIVES]


def _describe(matrix: Matrix, request: Request, dim: str, builds: list[Build]) -> list[str]:
    groups: dict[str, set[str]] = {}
    keyed: dict[str, object] = {}
    for b in builds:
        route = matrix.routes[b.route]
        via = route.installer if route.family in ("pytorch", "pytorch-index") else route.family
        if dim == "accel":
            key, sort = b.accel.describe(), _accel_distance(request.accel, b.accel)
        elif dim == "python":
            pys = b.python.get(request.platform, ())
            key, sort = "Python " + (", ".join(str(p) for p in pys) if len(pys) < 4 else f"{pys[0]}-{pys[-1]}"), 0
        elif dim == "installer":
            if route.installer == request.installer and route.family == request.family:
                continue
            key, sort = f"torch {b.torch} {b.accel.describe()}", 0
        else:
            assert request.torch is not None  # `alternatives` relaxes torch only when the request names one
            key, sort = f"torch {b.torch}", _distance(b.torch, request.torch)
        groups.setdefault(key, set()).add(via)
        keyed[key] = sort
    ranked = sorted(groups, key=lambda k: (keyed[k], k))
    return [f"{k} ({', '.join(sorted(groups[k]))})" for k in ranked]


def _accel_distance(want: Accel | None, have: Accel) -> float:
    if want is None:
        return 0
    if want.kind != have.kind:
        return 1000
    if want.version is None or have.version is None:
        return 0
    w, h = want.version.release, have.version.release
    return abs((w[0] - h[0]) * 10 + (w[1] - h[1])) + (0.5 if h > w else 0)


def _other_platforms(matrix: Matrix, request: Request) -> list[str]:
    out = []
    same_os = request.platform.split("-")[0]
    plats = sorted({p for b in matrix.builds() for p in b.platforms}, key=lambda p: (p.split("-")[0] != same_os, p))
    for plat in plats:
        if plat != request.platform and candidate_builds(matrix, dataclasses.replace(request, platform=plat)):
            out.append(f"{_what(dataclasses.replace(request, platform=plat, python=None))}")
    return out[:2]
