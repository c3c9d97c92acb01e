"""Parse matrices/*.yaml into records, collecting every problem with its place."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from envgen.matrix.reader import Reader
from envgen.matrix.records import (
    AccelFacts,
    ArchTarget,
    Build,
    Channel,
    Constraint,
    ForwardCompat,
    GpuArch,
    GpuModel,
    GpuName,
    MinorCompat,
    PypiFacts,
    Release,
    Route,
    Source,
    Toolkit,
    When,
)
from envgen.models import PLATFORMS, PyVer

ROLES = ("torch", "torchvision", "torchaudio", "torchtext")
OVERRIDABLE = {"selector", "local_version", "index_url", "extra_index_urls", "find_links", "wheel_url", "build",
               "override_channels"}
ROUTE_KEYS = {"installer", "family", "description", "channels", "names", "pin", "source"} | OVERRIDABLE
BUILD_KEYS = {"route", "accel", "platforms", "python", "channels", "packages", "names", "versions",
              "official", "notes", "source"} | OVERRIDABLE
RELEASE_KEYS = {"torch", "date", "torchvision", "torchaudio", "torchtext", "python", "accel", "builds",
                "pypi", "notes", "source"}
WHEN_KEYS = {"torch", "routes", "families", "installers", "platforms", "accel", "cuda", "python"}


def load_sources(r: Reader, doc: Any) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for sid, node in r.mapping(r.field(r.mapping(doc, ""), "sources", ""), "sources").items():
        path = f"sources.{sid}"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"url", "title"}, path)
        url = r.text(node, "url", path) or ""
        if url and not url.startswith(("https://", "http://")):
            r.problem(f"{path}.url", f"not a URL: {url!r}", node, "url")
        out[str(sid)] = Source(str(sid), url, r.text(node, "title", path, "") or "")
    return out


def load_channels(r: Reader, doc: Any) -> tuple[dict[str, Channel], dict[str, Route]]:
    doc = r.mapping(doc, "")
    channels: dict[str, Channel] = {}
    for cid, node in r.mapping(r.field(doc, "channels", ""), "channels").items():
        path = f"channels.{cid}"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"kind", "url", "history", "source"}, path)
        kind = r.text(node, "kind", path) or ""
        if kind not in ("conda", "pip"):
            r.problem(f"{path}.kind", f"kind must be conda or pip, got {kind!r}", node, "kind")
        channels[str(cid)] = Channel(str(cid), kind, r.text(node, "url", path) or "",
                                     r.text(node, "history", path, "") or "", r.strings(node, "source", path))
    routes: dict[str, Route] = {}
    for rid, node in r.mapping(r.field(doc, "routes", ""), "routes").items():
        path = f"routes.{rid}"
        node = r.mapping(node, path)
        r.unknown_keys(node, ROUTE_KEYS, path)
        installer = r.text(node, "installer", path) or ""
        if installer not in ("conda", "pip"):
            r.problem(f"{path}.installer", f"installer must be conda or pip, got {installer!r}", node, "installer")
        selector = {str(k): tuple(str(s) for s in r.seq(v, f"{path}.selector.{k}"))
                    for k, v in r.mapping(node.get("selector", {}), f"{path}.selector").items()}
        names = {str(k): str(v) for k, v in r.mapping(node.get("names", {}), f"{path}.names").items()}
        routes[str(rid)] = Route(
            id=str(rid), installer=installer, family=r.text(node, "family", path) or "",
            description=r.text(node, "description", path, "") or "",
            channels=r.strings(node, "channels", path), names=names, selector=selector,
            pin=r.text(node, "pin", path, "==") or "==",
            build={str(k): str(v) for k, v in r.mapping(node.get("build", {}), f"{path}.build").items()},
            local_version=r.strings(node, "local_version", path),
            index_url=r.text(node, "index_url", path, None), extra_index_urls=r.strings(node, "extra_index_urls", path),
            find_links=r.strings(node, "find_links", path), wheel_url=r.text(node, "wheel_url", path, None),
            override_channels=bool(node.get("override_channels", False)), sources=r.strings(node, "source", path))
    return channels, routes


def load_cuda(r: Reader, doc: Any) -> tuple[dict[str, Toolkit], dict[int, MinorCompat]]:
    doc = r.mapping(doc, "")
    toolkits: dict[str, Toolkit] = {}
    for i, node in enumerate(r.seq(r.field(doc, "toolkits", ""), "toolkits")):
        path = f"toolkits[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"cuda", "linux", "windows", "source"}, path)
        cuda = r.version(r.field(node, "cuda", path), f"{path}.cuda", node, "cuda")
        linux = r.driver(r.field(node, "linux", path), f"{path}.linux", node, "linux")
        win = node.get("windows")
        windows = r.driver(win, f"{path}.windows", node, "windows") if win is not None else None
        if cuda and linux:
            key = f"{cuda.major}.{cuda.minor}"
            if key in toolkits:
                r.problem(f"{path}.cuda", f"CUDA {key} is listed twice", node, "cuda")
            toolkits[key] = Toolkit(cuda, linux, windows, r.strings(node, "source", path))
    compat: dict[int, MinorCompat] = {}
    for i, node in enumerate(r.seq(doc.get("minor_compat"), "minor_compat")):
        path = f"minor_compat[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"major", "linux", "windows", "source"}, path)
        linux = r.driver(r.field(node, "linux", path), f"{path}.linux", node, "linux")
        win = node.get("windows")
        windows = r.driver(win, f"{path}.windows", node, "windows") if win is not None else None
        major = node.get("major")
        if not isinstance(major, int):
            r.problem(f"{path}.major", f"expected a whole number, got {major!r}", node, "major")
        elif linux:
            compat[major] = MinorCompat(major, linux, windows, r.strings(node, "source", path))
    return toolkits, compat


def load_forward(r: Reader, doc: Any) -> ForwardCompat | None:
    """`forward_compat` of cuda.yaml (optional): since which CUDA, on which OS, the package's name."""
    node = r.mapping(doc, "").get("forward_compat")
    if node is None:
        return None
    path = "forward_compat"
    node = r.mapping(node, path)
    r.unknown_keys(node, {"since", "os", "package", "source"}, path)
    since = r.version(r.field(node, "since", path), f"{path}.since", node, "since")
    oses = r.strings(node, "os", path)
    for os_name in oses:
        if os_name not in ("linux", "windows", "macos"):
            r.problem(f"{path}.os", f"unknown OS {os_name!r} (linux, windows or macos)", node, "os")
    package = r.text(node, "package", path) or ""
    if since is None:
        return None
    return ForwardCompat(since, oses, package, r.strings(node, "source", path))


def load_targets(r: Reader, doc: Any) -> dict[str, ArchTarget]:
    """`targets` of gpus.yaml (optional): the CUDA toolkits that compile each architecture."""
    out: dict[str, ArchTarget] = {}
    for i, node in enumerate(r.seq(r.mapping(doc, "").get("targets") or [], "targets")):
        path = f"targets[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"sm", "since", "until", "source"}, path)
        sm = r.text(node, "sm", path) or ""
        since = r.version(node["since"], f"{path}.since", node, "since") if "since" in node else None
        until = r.version(node["until"], f"{path}.until", node, "until") if "until" in node else None
        if sm in out:
            r.problem(f"{path}.sm", f"{sm} is listed twice", node, "sm")
        out[sm] = ArchTarget(sm, since, until, r.strings(node, "source", path))
    return out


def load_datacenter(r: Reader, doc: Any) -> tuple[GpuName, ...]:
    """`datacenter` of gpu_models.yaml (optional): names that mark a data-centre GPU."""
    out: list[GpuName] = []
    for i, node in enumerate(r.seq(r.mapping(doc, "").get("datacenter") or [], "datacenter")):
        path = f"datacenter[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"name", "source"}, path)
        out.append(GpuName(r.text(node, "name", path) or "", r.strings(node, "source", path)))
    return tuple(out)


def load_archs(r: Reader, doc: Any) -> dict[str, GpuArch]:
    doc = r.mapping(doc, "")
    archs: dict[str, GpuArch] = {}
    for i, node in enumerate(r.seq(r.field(doc, "architectures", ""), "architectures")):
        path = f"architectures[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"sm", "cc", "name", "source"}, path)
        sm = r.text(node, "sm", path) or ""
        cc = r.version(r.field(node, "cc", path), f"{path}.cc", node, "cc")
        if not sm.startswith(("sm_", "gfx")):
            r.problem(f"{path}.sm", f"expected sm_XX or gfxNNNN, got {sm!r}", node, "sm")
        if cc:
            if sm in archs:
                r.problem(f"{path}.sm", f"{sm} is listed twice", node, "sm")
            archs[sm] = GpuArch(sm, cc, r.text(node, "name", path) or "", r.strings(node, "source", path))
    return archs


def load_models(r: Reader, doc: Any) -> tuple[GpuModel, ...]:
    doc = r.mapping(doc, "")
    models: list[GpuModel] = []
    for i, node in enumerate(r.seq(r.field(doc, "models", ""), "models")):
        path = f"models[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"name", "cc", "source"}, path)
        cc = r.version(r.field(node, "cc", path), f"{path}.cc", node, "cc")
        if cc:
            models.append(GpuModel(r.text(node, "name", path) or "", cc, r.strings(node, "source", path)))
    return tuple(models)


def load_constraints(r: Reader, doc: Any) -> tuple[Constraint, ...]:
    out = []
    for i, node in enumerate(r.seq(r.field(r.mapping(doc, ""), "constraints", ""), "constraints")):
        path = f"constraints[{i}]"
        node = r.mapping(node, path)
        r.unknown_keys(node, {"id", "kind", "when", "conda", "pip", "channel", "why", "source"}, path)
        kind = r.text(node, "kind", path) or ""
        if kind not in ("pin", "require", "refuse"):
            r.problem(f"{path}.kind", f"kind must be pin, require or refuse, got {kind!r}", node, "kind")
        when = _when(r, r.mapping(node.get("when", {}), f"{path}.when"), f"{path}.when")
        out.append(Constraint(r.text(node, "id", path) or f"#{i}", kind, when, r.strings(node, "conda", path),
                              r.strings(node, "pip", path), r.text(node, "channel", path, None),
                              r.text(node, "why", path) or "", r.strings(node, "source", path)))
    return tuple(out)


def _when(r: Reader, node: dict[str, Any], path: str) -> When:
    r.unknown_keys(node, WHEN_KEYS, path)
    platforms = r.strings(node, "platforms", path)
    for p in platforms:
        if p not in PLATFORMS:
            r.problem(f"{path}.platforms", f"unknown platform {p!r}", node, "platforms")
    return When(torch=r.specifier(node.get("torch"), f"{path}.torch", node, "torch"),
                routes=frozenset(r.strings(node, "routes", path)),
                families=frozenset(r.strings(node, "families", path)),
                installers=frozenset(r.strings(node, "installers", path)), platforms=frozenset(platforms),
                accel_kinds=frozenset(r.strings(node, "accel", path)),
                cuda=r.specifier(node.get("cuda"), f"{path}.cuda", node, "cuda"),
                python=r.specifier(node.get("python"), f"{path}.python", node, "python"))


def load_releases(r: Reader, doc: Any) -> tuple[Release, ...]:
    out = []
    for i, node in enumerate(r.seq(r.field(r.mapping(doc, ""), "releases", ""), "releases")):
        node = r.mapping(node, f"releases[{i}]")
        release = _release(r, node, f"releases[{i}]")
        if release:
            out.append(release)
    return tuple(out)


def _release(r: Reader, node: dict[str, Any], path: str) -> Release | None:
    r.unknown_keys(node, RELEASE_KEYS, path)
    torch = r.version(r.field(node, "torch", path), f"{path}.torch", node, "torch")
    if torch is None:
        return None
    path = f"{path}(torch {torch})"
    companions = {}
    for role in ROLES[1:]:
        value = node.get(role)
        if value is not None and r.version(value, f"{path}.{role}", node, role):
            companions[role] = str(value)
    python = _python_map(r, r.mapping(r.field(node, "python", path, {}), f"{path}.python"), f"{path}.python")
    accel: dict[str, AccelFacts] = {}
    for tag, facts in r.mapping(node.get("accel", {}), f"{path}.accel").items():
        fpath = f"{path}.accel.{tag}"
        facts = r.mapping(facts, fpath)
        r.unknown_keys(facts, {"cudnn", "archs", "notes", "source"}, fpath)
        a = r.accel(tag, fpath, node.get("accel"), tag)
        cudnn = facts.get("cudnn")
        cudnn_map = ({str(k): str(v) for k, v in cudnn.items()} if isinstance(cudnn, dict)
                     else ({"default": str(cudnn)} if cudnn is not None else {}))
        if a:
            accel[a.tag] = AccelFacts(a, cudnn_map, r.strings(facts, "archs", fpath), r.strings(facts, "source", fpath),
                                      r.strings(facts, "notes", fpath))
    date = node.get("date")
    builds: list[Build] = []
    for j, bnode in enumerate(r.seq(node.get("builds"), f"{path}.builds")):
        builds += _builds(r, torch, python, r.mapping(bnode, f"{path}.builds[{j}]"), f"{path}.builds[{j}]")
    return Release(torch, date.isoformat() if isinstance(date, _dt.date) else str(date or ""), companions, python,
                   accel, tuple(builds), r.strings(node, "notes", path), r.strings(node, "source", path),
                   _pypi(r, node, companions, f"{path}.pypi"))


def _pypi(r: Reader, node: dict[str, Any], companions: dict[str, str], path: str) -> PypiFacts:
    """`pypi: {gaps: {role: {platform: Pythons}}, yanked: {role: reason}, source: [...]}`."""
    if "pypi" not in node:
        return PypiFacts()
    pnode = r.mapping(node["pypi"], path)
    r.unknown_keys(pnode, {"gaps", "yanked", "source"}, path)
    gaps: dict[str, dict[str, tuple[PyVer, ...]]] = {}
    for role, per_platform in r.mapping(pnode.get("gaps", {}), f"{path}.gaps").items():
        if role not in companions:
            r.problem(f"{path}.gaps.{role}", f"{role!r} is not a companion this release names", pnode.get("gaps"), role)
            continue
        pmap = r.mapping(per_platform, f"{path}.gaps.{role}")
        gaps[role] = {}
        for plat, pys in pmap.items():
            if plat not in PLATFORMS:
                r.problem(f"{path}.gaps.{role}.{plat}", f"unknown platform {plat!r}", pmap, plat)
                continue
            gaps[role][plat] = r.pythons(pys, f"{path}.gaps.{role}.{plat}", pmap, plat)
    yanked: dict[str, str] = {}
    for role, reason in r.mapping(pnode.get("yanked", {}), f"{path}.yanked").items():
        if role not in companions:
            r.problem(f"{path}.yanked.{role}", f"{role!r} is not a companion this release names", pnode.get("yanked"),
                      role)
        elif not isinstance(reason, str) or not reason.strip():
            r.problem(f"{path}.yanked.{role}", "the reason PyPI gives for the yank, as text", pnode.get("yanked"), role)
        else:
            yanked[role] = reason.strip()
    sources = r.strings(pnode, "source", path)
    if not sources:
        r.problem(f"{path}.source", "the pypi facts need a source (pypi-json)", pnode)
    return PypiFacts(gaps, yanked, sources)


def _python_map(r: Reader, node: dict[str, Any], path: str) -> dict[str, tuple[PyVer, ...]]:
    default = r.pythons(node["default"], f"{path}.default", node, "default") if "default" in node else ()
    out: dict[str, tuple[PyVer, ...]] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key not in PLATFORMS:
            r.problem(f"{path}.{key}", f"unknown platform {key!r}", node, key)
            continue
        out[key] = r.pythons(value, f"{path}.{key}", node, key)
    for plat in PLATFORMS:
        out.setdefault(plat, default)
    return out


def _builds(r: Reader, torch: Any, rel_python: dict[str, tuple[PyVer, ...]], node: dict[str, Any],
            path: str) -> list[Build]:
    r.unknown_keys(node, BUILD_KEYS, path)
    route = r.text(node, "route", path) or ""
    platforms = r.strings(node, "platforms", path)
    if not platforms:
        r.problem(f"{path}.platforms", "a build needs at least one platform", node)
    for p in platforms:
        if p not in PLATFORMS:
            r.problem(f"{path}.platforms", f"unknown platform {p!r}", node, "platforms")
    py_node = node.get("python")
    if isinstance(py_node, dict):
        override = _python_map(r, py_node, f"{path}.python")
        python = {p: (override[p] if p in py_node or "default" in py_node else rel_python.get(p, ()))
                  for p in platforms}
    elif py_node is not None:
        pys = r.pythons(py_node, f"{path}.python", node, "python")
        python = dict.fromkeys(platforms, pys)
    else:
        python = {p: rel_python.get(p, ()) for p in platforms}
    names = {str(k): str(v) for k, v in r.mapping(node.get("names", {}), f"{path}.names").items()}
    versions = {str(k): str(v) for k, v in r.mapping(node.get("versions", {}), f"{path}.versions").items()}
    overrides = _overrides(r, node, path)
    out = []
    for k, tag in enumerate(r.strings(node, "accel", path)):
        accel = r.accel(tag, f"{path}.accel[{k}]", node.get("accel"), k)
        if accel is None:
            continue
        out.append(Build(torch=torch, route=route, accel=accel,
                         platforms=frozenset(p for p in platforms if p in PLATFORMS),
                         python={p: python.get(p, ()) for p in platforms},
                         extra_channels=r.strings(node, "channels", path),
                         extra_packages=r.strings(node, "packages", path), names=names, versions=versions,
                         overrides=overrides, official=bool(node.get("official", True)),
                         notes=r.strings(node, "notes", path), sources=r.strings(node, "source", path),
                         place=f"matrices/torch.yaml: {path}"))
    return out


def _overrides(r: Reader, node: dict[str, Any], path: str) -> dict[str, object]:
    """Route fields a build replaces, typed as the Route holds them."""
    out: dict[str, object] = {}
    for key in OVERRIDABLE & set(node):
        if key == "selector":
            sel = node[key]
            if isinstance(sel, list):  # a plain list replaces the selector of this build's accelerator kind
                out[key] = {"*": tuple(str(s) for s in sel)}
            else:
                out[key] = {str(k): tuple(str(s) for s in r.seq(v, f"{path}.selector.{k}"))
                            for k, v in r.mapping(sel, f"{path}.selector").items()}
        elif key == "build":
            out[key] = {str(k): str(v) for k, v in r.mapping(node[key], f"{path}.build").items()}
        elif key in ("local_version", "extra_index_urls", "find_links"):
            out[key] = r.strings(node, key, path)
        elif key == "override_channels":
            out[key] = bool(node[key])
        else:
            out[key] = r.text(node, key, path, None)
    return out
