"""Consistency between the matrix tables: every reference resolves, every range nests."""

from __future__ import annotations

from envgen.matrix.model import Matrix
from envgen.matrix.records import Build, Release


def check(m: Matrix) -> list[str]:
    problems: list[str] = []
    add = problems.append

    def sources(ids: tuple[str, ...], where: str, required: bool = True) -> None:
        if required and not ids:
            add(f"{where}: no source given (every row cites one)")
        for sid in ids:
            if sid not in m.sources:
                add(f"{where}: unknown source '{sid}' (add it to matrices/sources.yaml)")

    for cid, ch in m.channels.items():
        sources(ch.sources, f"matrices/channels.yaml: channels.{cid}")
    for rid, route in m.routes.items():
        sources(route.sources, f"matrices/channels.yaml: routes.{rid}")
        for cid in route.channels:
            if cid not in m.channels:
                add(f"matrices/channels.yaml: routes.{rid}.channels: unknown channel '{cid}'")
    for key, tk in m.toolkits.items():
        sources(tk.sources, f"matrices/cuda.yaml: toolkits(cuda {key})")
    for major, mc in m.minor_compat.items():
        sources(mc.sources, f"matrices/cuda.yaml: minor_compat(major {major})")
    for sm, arch_row in m.archs.items():
        sources(arch_row.sources, f"matrices/gpus.yaml: architectures({sm})")
    for model in m.gpu_models:
        sources(model.sources, f"matrices/gpus.yaml: models({model.name})")
        if not any(a.cc == model.cc for a in m.archs.values()):
            add(f"matrices/gpus.yaml: models({model.name}): compute capability {model.cc} has no architecture row")
    if m.forward_compat is not None:
        sources(m.forward_compat.sources, "matrices/cuda.yaml: forward_compat")
    for sm, target in m.targets.items():
        sources(target.sources, f"matrices/gpus.yaml: targets({sm})")
        if sm not in m.archs:
            add(f"matrices/gpus.yaml: targets({sm}): unknown architecture (add it to architectures)")
    for row in m.datacenter:
        sources(row.sources, f"matrices/gpu_models.yaml: datacenter({row.name})")
    for c in m.constraints:
        where = f"matrices/constraints.yaml: constraints({c.id})"
        sources(c.sources, where)
        for rid in c.when.routes:
            if rid not in m.routes:
                add(f"{where}.when.routes: unknown route '{rid}'")
        if c.channel and c.channel not in m.channels:
            add(f"{where}.channel: unknown channel '{c.channel}'")
    previous = None
    for rel in m.releases:
        where = f"matrices/torch.yaml: releases(torch {rel.torch})"
        if previous is not None and rel.torch <= previous:
            add(f"{where}: releases must be in ascending order without repeats (after {previous})")
        previous = rel.torch
        sources(rel.sources, where)
        if rel.pypi.gaps or rel.pypi.yanked:
            sources(rel.pypi.sources, f"{where}.pypi")
        for tag, facts in rel.accel.items():
            sources(facts.sources, f"{where}.accel.{tag}", required=False)
            for arch in facts.archs:
                if arch not in m.archs:
                    add(f"{where}.accel.{tag}.archs: unknown architecture '{arch}' (add it to matrices/gpus.yaml)")
        for b in rel.builds:
            problems += _check_build(m, rel, b)
    return problems


def _check_build(m: Matrix, rel: Release, b: Build) -> list[str]:
    out: list[str] = []
    where = f"{b.place}(route {b.route}, {b.accel.tag})"
    route = m.routes.get(b.route)
    if route is None:
        return [f"{where}: unknown route '{b.route}' (routes are defined in matrices/channels.yaml)"]
    for sid in b.sources:
        if sid not in m.sources:
            out.append(f"{where}: unknown source '{sid}'")
    for cid in b.extra_channels:
        if cid not in m.channels:
            out.append(f"{where}.channels: unknown channel '{cid}'")
    eff = m.route_for(b)
    if eff.installer == "pip" and eff.family != "pypi" and not (eff.wheel_url or eff.index_url or eff.extra_index_urls
                                                                or eff.find_links):
        out.append(f"{where}: a pip build needs a wheel_url, index_url, extra_index_urls or find_links")
    if b.accel.kind == "cuda":
        key = b.accel.dotted
        if key not in m.toolkits:
            out.append(f"{where}: unknown CUDA version '{key}' (no driver row in matrices/cuda.yaml)")
    if b.accel.kind in ("cuda", "rocm") and b.accel.tag not in rel.accel:
        out.append(f"{where}: no accel.{b.accel.tag} facts (cuDNN, architectures) for this release")
    for plat in b.platforms:
        rel_py = {str(p) for p in rel.python.get(plat, ())}
        pys = b.python.get(plat, ())
        if not pys:
            out.append(f"{where}: no Python versions for {plat}")
        extra = sorted(str(p) for p in pys if str(p) not in rel_py)
        if extra and rel_py:
            out.append(f"{where}: Python {', '.join(extra)} on {plat} is outside the release's Pythons")
    for c in m.constraints:
        if c.kind == "refuse":
            for plat in b.platforms:
                if m.constraint_applies(c, b, plat, None):
                    out.append(f"{where}: contradicts refusal '{c.id}' on {plat}")
    return out
