"""The loaded matrix as one frozen record, and the questions every stage asks it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from packaging.version import Version

from envgen.matrix.records import (
    ArchTarget,
    Build,
    Channel,
    Constraint,
    ForwardCompat,
    GpuArch,
    GpuModel,
    GpuName,
    MinorCompat,
    Release,
    Route,
    Source,
    Toolkit,
)
from envgen.models import PyVer


@dataclass(frozen=True, slots=True)
class Matrix:
    sources: dict[str, Source]
    channels: dict[str, Channel]
    routes: dict[str, Route]
    toolkits: dict[str, Toolkit]  # '10.2' -> Toolkit
    minor_compat: dict[int, MinorCompat]
    archs: dict[str, GpuArch]
    gpu_models: tuple[GpuModel, ...]
    constraints: tuple[Constraint, ...]
    releases: tuple[Release, ...]
    directory: str
    digest: str
    forward_compat: ForwardCompat | None = None
    datacenter: tuple[GpuName, ...] = ()
    targets: dict[str, ArchTarget] = dataclasses.field(default_factory=dict)

    # --- questions -------------------------------------------------------------------------------
    def release(self, torch: Version) -> Release | None:
        for rel in self.releases:
            if rel.torch == torch:
                return rel
        return None

    def builds(self, *, torch: Version | None = None, platform: str | None = None,
               installer: str | None = None) -> list[Build]:
        out = []
        for rel in self.releases:
            if torch is not None and rel.torch != torch:
                continue
            for b in rel.builds:
                if platform is not None and platform not in b.platforms:
                    continue
                if installer is not None and self.routes[b.route].installer != installer:
                    continue
                out.append(b)
        return out

    def route_for(self, build: Build) -> Route:
        """The build's route with the build's overrides applied."""
        route = self.routes[build.route]
        if not build.overrides:
            return route
        changes: dict[str, Any] = dict(build.overrides)
        if "selector" in changes:
            sel = dict(route.selector)
            for kind, specs in changes["selector"].items():
                sel[build.accel.kind if kind == "*" else kind] = specs
            changes["selector"] = sel
        return dataclasses.replace(route, **changes)

    def toolkit(self, cuda: Version) -> Toolkit | None:
        return self.toolkits.get(f"{cuda.major}.{cuda.minor}")

    def driver_floor(self, cuda: Version, os_name: str) -> Version | None:
        tk = self.toolkit(cuda)
        if tk is None:
            return None
        return tk.driver_windows if os_name == "windows" else tk.driver_linux

    def newest_cuda_for_driver(self, driver: Version, os_name: str) -> Version | None:
        """The newest toolkit whose full driver floor this driver meets."""
        ok = [tk.cuda for tk in self.toolkits.values()
              if (floor := (tk.driver_windows if os_name == "windows" else tk.driver_linux)) and driver >= floor]
        return max(ok) if ok else None

    def gpu_cc(self, name: str) -> Version | None:
        """Compute capability of a GPU model name as people report it ('NVIDIA GeForce GTX 1080', 'RTX 3090',
        'A100-SXM4-40GB', 'NVIDIA GeForce RTX 4060 Laptop GPU'): the longest listed name found in it as whole
        words, first as written, then without brand words (GeForce, Quadro, Tesla) and trimmings (memory
        sizes, board forms, 'Laptop GPU', 'Max-Q')."""
        for norm in (_norm_gpu, _bare_gpu):
            wanted = norm(name)
            if not wanted:
                continue
            found = _longest_in(wanted, ((norm(m.name), m) for m in self.gpu_models))
            if found is not None:
                return found.cc
        return None

    def is_datacenter(self, name: str) -> bool:
        """Whether a reported GPU name is a data-centre GPU or a Jetson board (matrices/gpu_models.yaml)."""
        wanted = _norm_gpu(name)
        return _longest_in(wanted, ((_norm_gpu(g.name), g) for g in self.datacenter)) is not None

    def constraint_applies(self, c: Constraint, build: Build, platform: str, python: PyVer | None) -> bool:
        w = c.when
        route = self.routes.get(build.route)
        if w.torch and build.torch not in w.torch:
            return False
        if w.routes and build.route not in w.routes:
            return False
        if w.families and (route is None or route.family not in w.families):
            return False
        if w.installers and (route is None or route.installer not in w.installers):
            return False
        if w.platforms and platform not in w.platforms:
            return False
        if w.accel_kinds and build.accel.kind not in w.accel_kinds:
            return False
        if w.cuda and (build.accel.cuda is None or build.accel.cuda not in w.cuda):
            return False
        return not (w.python and (python is None or python.version not in w.python))

    def applicable(self, build: Build, platform: str, python: PyVer | None, kind: str) -> list[Constraint]:
        return [c for c in self.constraints if c.kind == kind and self.constraint_applies(c, build, platform, python)]


_T = TypeVar("_T")
_BRANDS = frozenset({"nvidia", "geforce", "quadro", "tesla"})
# trimmings that name a board, memory or power variant of the same chip, never another chip
_TRIM = re.compile(r"\b(?:\d+\s?gb|hbm\d*e?|pcie|sxm\d*|nvl|mig|with max q design|max q|laptop gpu|mobile|"
                   r"(?:tm)|gpu)\b")


def _norm_gpu(name: str) -> str:
    text = name.lower().replace("(r)", " ").replace("(tm)", " ").replace("...", " ").replace("-", " ").replace("_", " ")
    text = " ".join(text.split())
    return text[len("nvidia "):] if text.startswith("nvidia ") else text


def _bare_gpu(name: str) -> str:
    """The chip's name alone: brand words and board trimmings dropped ('rtx 3090', 'a100', 'rtx 4060')."""
    text = _TRIM.sub(" ", _norm_gpu(name))
    return " ".join(w for w in text.split() if w not in _BRANDS)


def _longest_in(wanted: str, keyed: Iterable[tuple[str, _T]]) -> _T | None:
    """The item whose key is `wanted`, else the one with the longest key found in it as whole words."""
    best: tuple[int, _T] | None = None
    padded = f" {wanted} "
    for key, item in keyed:
        if not key:
            continue
        if key == wanted:
            return item
        if f" {key} " in padded and (best is None or len(key) > best[0]):
            best = (len(key), item)
    return best[1] if best else None
