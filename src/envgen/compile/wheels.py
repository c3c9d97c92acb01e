"""What a command takes from PyPI's default index, and whether it installs: the companions' Python gaps and
yanks a release records (`pypi:` in matrices/torch.yaml, held against PyPI by tests/test_pypi_matrix.py).
`fit`, `installs` and `no_wheel` ask it of a build of the matrix; `resolve` chooses with them.

A pip command with no index options takes every package from PyPI (the `pypi` route; the manual-wheel era,
whose torch is a URL); a conda command takes its `pip:` companions from PyPI. Commands that name
download.pytorch.org's indexes take their packages there, which these facts do not describe.
"""

from __future__ import annotations

import dataclasses

from envgen.compile.candidates import candidate_builds
from envgen.compile.stack import ROLES, Request
from envgen.errors import Refusal
from envgen.matrix import Matrix
from envgen.matrix.records import Build, Release, Route
from envgen.models import Accel, PyVer


def pypi_roles(route: Route, build: Build, request: Request, release: Release, pypi_url: str) -> tuple[str, ...]:
    """The companions this command pins and takes from PyPI (`pypi_url`: PyPI's simple index, which a command
    may add as an extra index for what the variant's index lacks: its companions without a local version)."""
    names = dict(route.names, **build.names)
    versions = dict(release.companions, **build.versions)
    pinned = [r for r in ROLES[1:] if r in request.companions and versions.get(r) and names.get(r, r) not in ("", "-")]
    if route.installer == "conda":
        return tuple(r for r in pinned if names.get(r, r).startswith("pip:"))
    if not (route.index_url or route.extra_index_urls or route.find_links):
        return tuple(pinned)
    if pypi_url in route.extra_index_urls:
        return tuple(r for r in pinned if r not in route.local_version)
    return ()


def _version(role: str, build: Build, release: Release) -> str:
    return build.versions.get(role, release.companions.get(role, ""))


def missing(route: Route, build: Build, request: Request, release: Release, platform: str, python: PyVer,
            pypi_url: str) -> list[str]:
    """'torchvision 0.8.2' for each companion of the command with no wheel on PyPI for this Python."""
    out = []
    for role in pypi_roles(route, build, request, release, pypi_url):
        if role in build.versions:  # a build's own version: the release's facts are about another one
            continue
        if python in release.pypi.gaps.get(role, {}).get(platform, ()):
            out.append(f"{role} {_version(role, build, release)}")
    return out


def fitting(route: Route, build: Build, request: Request, release: Release, platform: str,
            pypi_url: str) -> tuple[PyVer, ...]:
    """The build's Pythons for which every package of the command has a wheel."""
    return tuple(p for p in build.python.get(platform, ())
                 if not missing(route, build, request, release, platform, p, pypi_url))


def yanked(route: Route, build: Build, request: Request, release: Release, pypi_url: str) -> dict[str, str]:
    """Role -> PyPI's yank reason, for the companions of this command taken from PyPI in a yanked version."""
    return {role: release.pypi.yanked[role] for role in pypi_roles(route, build, request, release, pypi_url)
            if role in release.pypi.yanked and role not in build.versions}


def yank_note(role: str, version: str, reason: str, torch: str) -> str:
    return (f"{role} {version} is yanked on PyPI (\"{reason}\"); no unyanked {role} pairs with torch {torch}, "
            "and pip still installs a yanked version pinned with ==")


# --- a build of the matrix ---------------------------------------------------------------------------
def pypi_url(matrix: Matrix) -> str:
    channel = matrix.channels.get("pypi")
    return channel.url if channel else ""


def fit(matrix: Matrix, request: Request, build: Build) -> tuple[PyVer, ...]:
    """The build's Pythons for which every package of the request's command has a wheel."""
    release = matrix.release(build.torch)
    assert release is not None
    return fitting(matrix.route_for(build), build, request, release, request.platform, pypi_url(matrix))


def missing_for(matrix: Matrix, request: Request, build: Build, python: PyVer) -> list[str]:
    release = matrix.release(build.torch)
    assert release is not None
    return missing(matrix.route_for(build), build, request, release, request.platform, python, pypi_url(matrix))


def installs(matrix: Matrix, request: Request, build: Build) -> bool:
    """A wheel of every package for the requested Python (or for one of the build's, when none is asked)."""
    pythons = fit(matrix, request, build)
    return request.python in pythons if request.python is not None else bool(pythons)


def no_wheel(matrix: Matrix, request: Request, build: Build, asked: PyVer) -> Refusal:
    """A companion has no wheel for `asked`: the nearest Pythons, routes, variants, installer and companion sets
    whose command installs."""
    gone = missing_for(matrix, request, build, asked)
    where = f"{request.platform} Python {asked}" if request.python else request.platform
    message = (f"{' and '.join(gone)} {'has' if len(gone) == 1 else 'have'} no wheel on PyPI for {where}: "
               f"the pip command for torch {build.torch} would fail")
    alternatives = [f"Python {p}" for p in _nearest(fit(matrix, request, build), asked)]
    family = matrix.routes[build.route].family
    for other in candidate_builds(matrix, dataclasses.replace(request, family=None)):
        other_family = matrix.routes[other.route].family
        if (other.torch, other.accel) == (build.torch, build.accel) and other_family != family \
                and installs(matrix, request, other):
            alternatives.append(f"--channel {other_family}")
    for other in candidate_builds(matrix, dataclasses.replace(request, accel=None, family=None)):
        flag = _accel_flag(other.accel)
        if other.torch == build.torch and other.accel != build.accel and flag \
                and installs(matrix, dataclasses.replace(request, accel=other.accel), other):
            alternatives.append(flag)
    if candidate_builds(matrix, dataclasses.replace(request, installer="conda", family=None)):
        alternatives.append("--installer conda")
    left_out = [g.split()[0] for g in gone]
    keep = [r for r in request.companions if r not in left_out]
    alternatives.append(f"--with '{','.join(keep)}' (leave {', '.join(left_out)} out)")
    return Refusal(message, alternatives=tuple(dict.fromkeys(alternatives)), context={"request": request.describe()})


def _accel_flag(accel: Accel) -> str | None:
    if accel.kind in ("cpu", "xpu"):
        return f"--{accel.kind}"
    return f"--{accel.kind} {accel.dotted}" if accel.kind in ("cuda", "rocm") else None


def _nearest(pythons: tuple[PyVer, ...], wanted: PyVer) -> list[PyVer]:
    def distance(p: PyVer) -> tuple[int, bool]:
        return (abs(p.version.minor - wanted.version.minor) + 10 * abs(p.version.major - wanted.version.major),
                p.freethreaded != wanted.freethreaded)
    return sorted(pythons, key=distance)[:3]
