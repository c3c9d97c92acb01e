"""Questions to the matrix as plain data: what exists for a release, a variant, a platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from envgen.matrix import Matrix
from envgen.matrix.compat import floors
from envgen.matrix.records import Build, Release
from envgen.models import Accel, PyVer


@dataclass(frozen=True, slots=True)
class Filters:
    torch: Version | None = None
    accel: Accel | None = None
    python: PyVer | None = None
    platform: str | None = None
    installer: str | None = None


def matching_builds(matrix: Matrix, f: Filters) -> list[Build]:
    out = []
    for b in matrix.builds(torch=f.torch, platform=f.platform, installer=f.installer):
        if f.accel is not None and b.accel != f.accel:
            continue
        if f.python is not None and not any(f.python in pys for pys in b.python.values()):
            continue
        out.append(b)
    return out


def build_rows(matrix: Matrix, builds: list[Build]) -> list[dict[str, Any]]:
    """One row per (torch, route, platform set, accel), in matrix order."""
    rows = []
    for b in builds:
        route = matrix.routes[b.route]
        pys = sorted({p for v in b.python.values() for p in v}, key=lambda p: p.sort_key)
        rows.append({"torch": str(b.torch), "installer": route.installer, "route": b.route,
                     "family": route.family, "variant": b.accel.tag, "platforms": sorted(b.platforms),
                     "python": [str(p) for p in pys], "official": b.official, "notes": list(b.notes)})
    return rows


def release_detail(matrix: Matrix, rel: Release, builds: list[Build]) -> dict[str, Any]:
    accel: dict[str, Any] = {}
    for tag in sorted({b.accel.tag for b in builds}, key=lambda t: _accel_key(Accel.parse(t))):
        facts = rel.accel.get(tag)
        a = Accel.parse(tag)
        entry: dict[str, Any] = {"variant": tag}
        if a.cuda is not None:
            full = {os_name: floors(matrix, a.cuda, os_name) for os_name in ("linux", "windows")}
            entry["driver_min"] = {k: str(v[0]) if v[0] else None for k, v in full.items()}
            if a.cuda.major >= 11 and full["linux"][1] is not None:
                entry["driver_min_compat"] = {k: str(v[1]) if v[1] else None for k, v in full.items()}
        if facts:
            entry["cudnn"] = facts.cudnn or None
            entry["archs"] = list(facts.archs)
            if facts.notes:
                entry["notes"] = list(facts.notes)
        accel[tag] = entry
    return {
        "torch": str(rel.torch), "date": rel.date, "companions": rel.companions,
        "python": {p: [str(v) for v in pys] for p, pys in rel.python.items() if pys},
        "builds": build_rows(matrix, builds), "variants": list(accel.values()), "notes": list(rel.notes),
        "pypi": {"gaps": {role: {plat: [str(p) for p in pys] for plat, pys in per.items()}
                          for role, per in rel.pypi.gaps.items()},
                 "yanked": dict(rel.pypi.yanked)},
        "sources": [matrix.sources[s].url for s in rel.sources if s in matrix.sources],
    }


def summary(matrix: Matrix, builds: list[Build]) -> list[dict[str, Any]]:
    """One row per release that has a matching build."""
    by_torch: dict[Version, list[Build]] = {}
    for b in builds:
        by_torch.setdefault(b.torch, []).append(b)
    rows = []
    for rel in matrix.releases:
        bs = by_torch.get(rel.torch)
        if not bs:
            continue
        variants = sorted({b.accel.tag for b in bs}, key=lambda t: _accel_key(Accel.parse(t)))
        rows.append({"torch": str(rel.torch), "date": rel.date, "companions": rel.companions, "variants": variants,
                     "platforms": sorted({p for b in bs for p in b.platforms}),
                     "installers": sorted({matrix.routes[b.route].installer for b in bs})})
    return rows


def _accel_key(a: Accel) -> tuple[int, Version]:
    return ({"cuda": 0, "rocm": 1, "xpu": 2, "mps": 3, "cpu": 4}[a.kind], a.version or Version("0"))
