"""Request -> Stack: choose the release, build, installer and Python a request means, and pin it."""

from __future__ import annotations

import dataclasses
import re

from packaging.version import Version

from envgen.compile import wheels
from envgen.compile.candidates import candidate_builds
from envgen.compile.refusal import refuse
from envgen.compile.stack import DEFAULT_COMPANIONS, ROLES, Pin, Request, Stack
from envgen.errors import Refusal
from envgen.matrix import Matrix
from envgen.matrix.records import Build, Release, Route
from envgen.models import Accel, PyVer, check_platform, os_of


def resolve(matrix: Matrix, request: Request) -> tuple[Stack, ...]:
    """One Stack per installer (both where both exist when the request leaves it open)."""
    check_platform(request.platform)
    if request.installer:
        return (resolve_one(matrix, request),)
    stacks, refusals = [], []
    for installer in ("conda", "pip"):
        one = dataclasses.replace(request, installer=installer)
        try:
            stacks.append(resolve_one(matrix, one))
        except Refusal as exc:
            if candidate_builds(matrix, one):  # a build exists but its command would not install: say why
                refusals.append(exc)
    if not stacks:
        raise refusals[0] if refusals else refuse(matrix, request)
    return tuple(stacks)


def resolve_one(matrix: Matrix, request: Request) -> Stack:
    check_platform(request.platform)
    assert request.installer, "resolve_one needs an installer"
    candidates = candidate_builds(matrix, request)
    if not candidates:
        raise refuse(matrix, request)
    build, notes = _choose(matrix, request, candidates)
    return _stack(matrix, request, build, notes)


def _choose(matrix: Matrix, request: Request, candidates: list[Build]) -> tuple[Build, list[str]]:
    notes: list[str] = list(request.notes)
    newest = max(b.torch for b in candidates)
    if request.torch is None:
        notes.append(f"no torch version given: chose {newest}, the newest that fits the request")
    pool = [b for b in candidates if b.torch == newest]
    if request.accel is None:
        official = [b for b in pool if b.official] or pool  # an unofficial build is never chosen by default
        accel = max((b.accel for b in official), key=_accel_rank)
        pool = [b for b in official if b.accel == accel]
        notes.append(f"no variant given: chose {accel.describe()}, the newest this release builds for "
                     f"{request.platform} via {request.installer} (pass --cpu or --cuda X to choose)")
    installs = [b for b in pool if wheels.installs(matrix, request, b)]
    if installs and installs[0] is not pool[0]:
        first = pool[0]
        notes.append(f"chose the {installs[0].route} route: the {first.route} command has no wheel of every "
                     f"package for {request.platform}" + (f" Python {request.python}" if request.python else ""))
    return (installs or pool)[0], notes


def _accel_rank(accel: Accel) -> tuple[int, Version]:
    order = {"cuda": 3, "cpu": 2, "mps": 1, "rocm": 0, "xpu": 0}
    return (order[accel.kind], accel.version or Version("0"))


def _stack(matrix: Matrix, request: Request, build: Build, notes: list[str]) -> Stack:
    release = matrix.release(build.torch)
    assert release is not None
    route = matrix.route_for(build)
    python = _python(matrix, request, build, notes)
    ctx = template_context(build, release, python, request.platform)
    packages = _with_yanks(_packages(route, build, release, request, ctx, notes),
                           wheels.yanked(route, build, request, release, wheels.pypi_url(matrix)))
    constraints = tuple(_constraint_pins(matrix, build, request.platform, python, route.installer))
    channels = _channels(route, build, constraints)
    facts = release.accel.get(build.accel.tag)
    os_name = os_of(request.platform)
    cudnn = None
    if facts is not None:
        cudnn = facts.cudnn.get(os_name) or facts.cudnn.get("default")
    floor = matrix.driver_floor(build.accel.cuda, os_name) if build.accel.cuda else None
    notes += list(build.notes) + _release_notes(release, packages)
    notes += [wheels.yank_note(p.name, p.version, p.yanked, str(release.torch)) for p in packages if p.yanked]
    notes += _constraint_notes(constraints, route.installer)
    return Stack(
        request=request, release=release, build=build, route=route, installer=route.installer,
        platform=request.platform, python=python, accel=build.accel, packages=packages, constraints=constraints,
        channels=channels, channel_urls=tuple(matrix.channels[c].url for c in channels if c in matrix.channels),
        index_url=route.index_url.format(**ctx) if route.index_url else None,
        extra_index_urls=tuple(u.format(**ctx) for u in route.extra_index_urls),
        find_links=tuple(u.format(**ctx) for u in route.find_links),
        cudnn=cudnn, archs=facts.archs if facts else (), driver_floor=floor, notes=tuple(notes))


def _python(matrix: Matrix, request: Request, build: Build, notes: list[str]) -> PyVer:
    """The requested Python, or the newest for which every package of the command has a wheel; a refusal
    naming the nearest that install when there is none."""
    fit = wheels.fit(matrix, request, build)
    newest = _newest_python(build.python.get(request.platform, ()))
    if request.python is not None and request.python in fit:
        return request.python
    if request.python is None and fit:
        python = _newest_python(fit)
        gone = wheels.missing_for(matrix, request, build, newest)
        why = "" if python == newest else (f" ({' and '.join(gone)} {'has' if len(gone) == 1 else 'have'} no wheel "
                                           f"on PyPI for Python {newest})")
        notes.append(f"no Python given: chose {python}, the newest with binaries for this build{why}")
        return python
    raise wheels.no_wheel(matrix, request, build, request.python or newest)


def _with_yanks(pins: tuple[Pin, ...], yanked: dict[str, str]) -> tuple[Pin, ...]:
    return tuple(dataclasses.replace(p, yanked=yanked[p.role], why=f"{p.why}; yanked on PyPI: {yanked[p.role]}")
                 if p.role in yanked else p for p in pins)


def _release_notes(release: Release, packages: tuple[Pin, ...]) -> list[str]:
    """The release's notes that name a companion this command pins (e.g. a version the official page names that
    PyPI never published)."""
    names = {p.name for p in packages if p.role in ROLES[1:]}
    return [n for n in release.notes if any(re.search(rf"\b{re.escape(name)}\b", n) for name in names)]


def _constraint_notes(pins: tuple[Pin, ...], installer: str) -> list[str]:
    """One note per reason, naming every spec it added."""
    by_why: dict[str, list[str]] = {}
    for p in pins:
        if p.why:
            by_why.setdefault(p.why, []).append(p.conda_spec() if installer == "conda" else p.pip_spec())
    return [f"{', '.join(specs)}: {why}" for why, specs in by_why.items()]


def _newest_python(pythons: tuple[PyVer, ...]) -> PyVer:
    regular = [p for p in pythons if not p.freethreaded] or list(pythons)
    return max(regular, key=lambda p: p.sort_key)


def template_context(build: Build, release: Release, python: PyVer, platform: str) -> dict[str, str]:
    """Values the matrix's templates may use."""
    accel = build.accel
    version = build.versions.get("torch", str(release.torch))  # e.g. 0.3.0.post4 in wheel file names
    return {
        "torch": str(release.torch), "version": version, "tag": accel.tag,
        "tagnum": accel.tag[2:] if accel.kind == "cuda" else accel.tag,
        "cuda": accel.dotted if accel.kind == "cuda" else "", "rocm": accel.dotted if accel.kind == "rocm" else "",
        "py": f"{python.version.major}{python.version.minor}", "abi": cpython_abi(python, platform),
    }


def cpython_abi(python: PyVer, platform: str) -> str:
    """The interpreter-ABI pair of a CPython wheel (PEP 3149 flags: 'm' before 3.8, 'mu' for 2.7 UCS4 Linux)."""
    v = python.version
    tag = f"cp{v.major}{v.minor}"
    if v.major == 2:
        return f"{tag}-{tag}mu" if platform.startswith("linux") else f"{tag}-{tag}m"
    if v < Version("3.8"):
        return f"{tag}-{tag}m"
    return f"{tag}-{tag}{'t' if python.freethreaded else ''}"



def _packages(route: Route, build: Build, release: Release, request: Request,
              ctx: dict[str, str], notes: list[str]) -> tuple[Pin, ...]:
    versions = dict(release.companions, **build.versions)
    versions["torch"] = str(release.torch)
    names = dict(route.names, **build.names)
    roles = ["torch"] + [r for r in ROLES[1:] if r in request.companions and versions.get(r)]
    pins: list[Pin] = []
    for role in request.companions if request.companions != DEFAULT_COMPANIONS else ():  # only what was asked for
        if role not in roles:
            notes.append(f"{role} was asked for, but no {role} release pairs with torch {release.torch}"
                         " in the matrix; it is left out")
    for role in roles:
        name = names.get(role, role)
        if not name or name == "-":  # a build may drop a companion that its route never carried
            continue
        version = versions[role]
        why = "the requested torch" if role == "torch" else f"the {role} release paired with torch {release.torch}"
        if route.installer == "conda" and name.startswith("pip:"):
            pins.append(Pin(name[4:], f"=={version}", role, f"{why}; this era installed it with pip", pip=True))
        elif route.installer == "conda":
            glob = route.build.get(build.accel.kind) if role == "torch" else None
            pins.append(Pin(name, f"{route.pin}{version}", role, why, build=glob))
        else:
            local = f"+{build.accel.tag}" if role in route.local_version else ""
            url = route.wheel_url.format(**ctx) if (role == "torch" and route.wheel_url) else None
            pins.append(Pin(name, f"=={version}{local}", role, why, url=url))
    for spec in route.selector.get(build.accel.kind, ()):
        pins.append(_spec_pin(spec.format(**ctx), "selector", f"selects the {build.accel.describe()} build"))
    for spec in build.extra_packages:
        pins.append(_spec_pin(spec.format(**ctx), "extra", "this build needs it"))
    return tuple(pins)


def _constraint_pins(matrix: Matrix, build: Build, platform: str, python: PyVer, installer: str) -> list[Pin]:
    out: list[Pin] = []
    for kind in ("require", "pin"):
        for c in matrix.applicable(build, platform, python, kind):
            for spec in (c.conda if installer == "conda" else c.pip):
                pin = _spec_pin(spec, kind, c.why)
                if c.channel and installer == "conda":
                    pin = dataclasses.replace(pin, channel=c.channel)
                out.append(pin)
    return out


def _spec_pin(spec: str, role: str, why: str) -> Pin:
    """Split 'mkl<2024.1', 'cudatoolkit=10.2', 'blas=*=mkl' or 'cuda90' into a Pin."""
    text = spec.strip()
    i = next((k for k, ch in enumerate(text) if ch in "=<>!~ "), len(text))
    name, rest = text[:i], text[i:].strip()
    build = None
    if rest.startswith("=") and not rest.startswith("==") and rest.count("=") == 2:
        _, version, build = rest.split("=")
        rest = f"={version}"
    return Pin(name, rest, role, why, build=build)


def _channels(route: Route, build: Build, constraints: tuple[Pin, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for cid in list(route.channels) + list(build.extra_channels):
        if cid not in out:
            out.append(cid)
    return tuple(out)
