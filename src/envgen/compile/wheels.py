"""What a command takes from PyPI's default index, and whether it installs: the companions' Python gaps and
yanks a release records (`pypi:` in matrices/torch.yaml, held against PyPI by tests/test_pypi_matrix.py).

A pip command with no index options takes every package from PyPI (the `pypi` route; the manual-wheel era,
whose torch is a URL); a conda command takes its `pip:` companions from PyPI. Commands that name
download.pytorch.org's indexes take their packages there, which these facts do not describe.
"""

from __future__ import annotations

from envgen.compile.stack import ROLES, Request
from envgen.matrix.records import Build, Release, Route
from envgen.models import PyVer


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
