"""Request -> Stack: choose the release, build, installer and Python a request means, and pin it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from packaging.version import Version

from envgen.errors import Refusal
from envgen.matrix import Matrix
from envgen.matrix.records import Build, Constraint, Release, Route
from envgen.models import Accel, PyVer, check_platform, host_platform, os_of

ROLES = ("torch", "torchvision", "torchaudio", "torchtext")
DEFAULT_COMPANIONS = ("torchvision", "torchaudio")


@dataclass(frozen=True, slots=True)
class Request:
    torch: Version | None = None
    accel: Accel | None = None
    platform: str = field(default_factory=host_platform)
    python: PyVer | None = None
    installer: str | None = None
    family: str | None = None
    companions: tuple[str, ...] = DEFAULT_COMPANIONS
    notes: tuple[str, ...] = ()  # why the request is what it is (e.g. what --cuda auto detected)

    def describe(self) -> str:
        parts = [f"torch {self.torch}" if self.torch else "torch (newest)"]
        if self.accel:
            parts.append(self.accel.describe())
        parts.append(self.platform)
        if self.python:
            parts.append(f"Python {self.python}")
        if self.installer:
            parts.append(self.installer if not self.family else f"{self.installer} ({self.family})")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Pin:
    """One package line of a manifest; `constraint` is the version part (`==1.8.1`, `<2024.1`, `=10.2`)."""

    name: str
    constraint: str
    role: str
    why: str = ""
    build: str | None = None
    channel: str | None = None
    url: str | None = None
    pip: bool = False  # installed with pip inside a conda environment (torchvision in the peterjc123 era)

    @property
    def version(self) -> str:
        return self.constraint.lstrip("=<>!~") if self.constraint[:1] in "=<>!~" else self.constraint

    def conda_spec(self) -> str:
        prefix = f"{self.channel}::" if self.channel else ""
        if self.build:
            return f"{prefix}{self.name}={self.version or '*'}={self.build}"
        return f"{prefix}{self.name}{self.constraint}"

    def pip_spec(self) -> str:
        return self.url or f"{self.name}{self.constraint}"


@dataclass(frozen=True, slots=True)
class Stack:
    request: Request
    release: Release
    build: Build
    route: Route
    installer: str
    platform: str
    python: PyVer
    accel: Accel
    packages: tuple[Pin, ...]
    constraints: tuple[Pin, ...]
    channels: tuple[str, ...]
    channel_urls: tuple[str, ...]
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    cudnn: str | None
    archs: tuple[str, ...]
    driver_floor: Version | None
    notes: tuple[str, ...]

    @property
    def torch(self) -> Version:
        return self.release.torch

    def all_pins(self) -> tuple[Pin, ...]:
        return self.packages + self.constraints

    def conda_pins(self) -> tuple[Pin, ...]:
        """What conda installs (for a pip stack: nothing)."""
        return tuple(p for p in self.all_pins() if not p.pip) if self.installer == "conda" else ()

    def pip_pins(self) -> tuple[Pin, ...]:
        """What pip installs: everything of a pip stack, the pip-only companions of a conda stack."""
        return self.all_pins() if self.installer == "pip" else tuple(p for p in self.all_pins() if p.pip)


def resolve(matrix: Matrix, request: Request) -> tuple[Stack, ...]:
    """One Stack per installer (both where both exist when the request leaves it open)."""
    check_platform(request.platform)
    if request.installer:
        return (resolve_one(matrix, request),)
    stacks, refusals = [], []
    for installer in ("conda", "pip"):
        try:
            stacks.append(resolve_one(matrix, dataclasses.replace(request, installer=installer)))
        except Refusal as exc:
            refusals.append(exc)
    if not stacks:
        from envgen.compile.refusal import refuse

        raise refuse(matrix, request)
    return tuple(stacks)


def resolve_one(matrix: Matrix, request: Request) -> Stack:
    from envgen.compile.refusal import refuse

    check_platform(request.platform)
    assert request.installer, "resolve_one needs an installer"
    candidates = candidate_builds(matrix, request)
    if not candidates:
        raise refuse(matrix, request)
    build, notes = _choose(matrix, request, candidates)
    return _stack(matrix, request, build, notes)


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
    return pool[0], notes


def _accel_rank(accel: Accel) -> tuple[int, Version]:
    order = {"cuda": 3, "cpu": 2, "mps": 1, "rocm": 0, "xpu": 0}
    return (order[accel.kind], accel.version or Version("0"))


def _stack(matrix: Matrix, request: Request, build: Build, notes: list[str]) -> Stack:
    release = matrix.release(build.torch)
    assert release is not None
    route = matrix.route_for(build)
    pythons = build.python.get(request.platform, ())
    python = request.python or _newest_python(pythons)
    if request.python is None:
        notes.append(f"no Python given: chose {python}, the newest with binaries for this build")
    ctx = template_context(build, release, python, request.platform)
    packages = _packages(route, build, release, request, ctx, notes)
    constraints = tuple(_constraint_pins(matrix, build, request.platform, python, route.installer))
    channels = _channels(route, build, constraints)
    facts = release.accel.get(build.accel.tag)
    os_name = os_of(request.platform)
    cudnn = None
    if facts is not None:
        cudnn = facts.cudnn.get(os_name) or facts.cudnn.get("default")
    floor = matrix.driver_floor(build.accel.version, os_name) if build.accel.kind == "cuda" else None
    notes += list(build.notes) + _constraint_notes(constraints, route.installer)
    return Stack(
        request=request, release=release, build=build, route=route, installer=route.installer,
        platform=request.platform, python=python, accel=build.accel, packages=packages, constraints=constraints,
        channels=channels, channel_urls=tuple(matrix.channels[c].url for c in channels if c in matrix.channels),
        index_url=route.index_url.format(**ctx) if route.index_url else None,
        extra_index_urls=tuple(u.format(**ctx) for u in route.extra_index_urls),
        find_links=tuple(u.format(**ctx) for u in route.find_links),
        cudnn=cudnn, archs=facts.archs if facts else (), driver_floor=floor, notes=tuple(notes))


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
        if w.cuda and (request.accel is None or request.accel.kind != "cuda" or request.accel.version not in w.cuda):
            continue
        if w.python and (request.python is None or request.python.version not in w.python):
            continue
        if w.installers and request.installer and request.installer not in w.installers:
            continue
        if w.families and (request.family is None or request.family not in w.families):
            continue
        out.append(c)
    return out

