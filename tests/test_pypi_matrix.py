"""The matrix held against what PyPI publishes (tests/data/pypi_snapshot.json, see scripts/pypi_snapshot.py).

Only what a command reads from PyPI is checked: every package of a `pypi`-route command, the companions of the
manual-wheel era (`pip-wheel-url`: torch from a URL, the rest from PyPI), the companions a conda command of the
peterjc123 era installs with pip, and the companions without a local version of a command that adds PyPI as an
extra index to a variant's index (torchaudio beside the cu132 index). download.pytorch.org's indexes are another
source, which the snapshot does not describe.

- versions: every version such a command pins is published on PyPI (a wheel or an sdist);
- pairings: the companion's metadata `torch` requirement admits the paired torch, and where it names no torch
  version no newer release of the companion requires one that admits this torch; otherwise a note of the
  command explains the choice (a release note naming the companion reaches the command's notes);
- pythons: for each (release, platform) of the `pypi` route, the Pythons the matrix claims are exactly those a
  torch wheel installs on (PEP 425, through packaging.tags: abi3, `cp3XYt` free-threaded ABIs);
- wheels: every (release, platform, Python) envgen prints a command for has a wheel of every PyPI package in it
  (an sdist is a fallback only for a pure-Python release, one whose wheels are all `-none-any`: the others
  need a compiler, and torch's CUDA);
- yanks: a yanked version is pinned only where no unyanked one fits (its metadata requires a torch range that
  admits this torch), and with a note carrying PyPI's yank reason;
- facts: the `pypi:` facts of each release (companion Python gaps, yanks), which envgen's resolver reads to choose
  a Python with every wheel or refuse, are exactly what the snapshot says.

Every command is enumerated the way envgen prints it: `resolve_one` for each build, platform and Python, with
the default companions and with torchtext too. The checks run on a snapshot changed in memory as well, so each
can be seen to fail.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from envgen.compile import wheels
from envgen.compile.resolve import resolve_one
from envgen.compile.stack import DEFAULT_COMPANIONS, ROLES, Pin, Request, Stack
from envgen.errors import Refusal
from envgen.models import PyVer
from tests.support import pypi

CANDIDATE_PYTHONS = [PyVer(Version("2.7"))] + [PyVer(Version(f"3.{m}")) for m in range(17)] + [
    PyVer(Version(f"3.{m}"), True) for m in range(13, 17)]


@dataclass(frozen=True)
class Printed:
    stack: Stack
    pins: tuple[Pin, ...]  # the packages of the command that come from PyPI


def pypi_pins(stack: Stack, pypi_url: str) -> tuple[Pin, ...]:
    """The torch/companion pins of a command that pip takes from PyPI: all of a command without index options,
    those without a local version (+cu132) of one that adds PyPI as an extra index to a variant's index."""
    pins = tuple(p for p in stack.pip_pins() if p.role in ROLES and not p.url and "+" not in p.constraint)
    if not (stack.index_url or stack.extra_index_urls or stack.find_links):
        return pins
    if stack.index_url and pypi_url in stack.extra_index_urls and not stack.find_links:
        return tuple(p for p in pins if p.role != "torch")
    return ()


def _reads_pypi(matrix, build) -> bool:
    route = matrix.route_for(build)
    if route.installer == "pip":
        return not (route.index_url or route.extra_index_urls or route.find_links) or \
            matrix.channels["pypi"].url in route.extra_index_urls
    return any(name.startswith("pip:") for name in dict(route.names, **build.names).values())


_PRINTED: dict[int, tuple[Printed, ...]] = {}


def _printed(matrix) -> tuple[Printed, ...]:
    if id(matrix) not in _PRINTED:
        _PRINTED[id(matrix)] = _enumerate(matrix)
    return _PRINTED[id(matrix)]


def _enumerate(matrix) -> tuple[Printed, ...]:
    out: dict[tuple, Printed] = {}
    for rel in matrix.releases:
        for build in rel.builds:
            if not _reads_pypi(matrix, build):
                continue
            route = matrix.route_for(build)
            for platform in sorted(build.platforms):
                for python in [None, *build.python.get(platform, ())]:
                    for companions in (DEFAULT_COMPANIONS, ROLES[1:]):
                        request = Request(torch=rel.torch, accel=build.accel, platform=platform, python=python,
                                          installer=route.installer, family=route.family, companions=companions)
                        try:
                            stack = resolve_one(matrix, request)
                        except Refusal:
                            continue
                        pins = pypi_pins(stack, matrix.channels["pypi"].url)
                        key = (str(stack.torch), platform, str(stack.python), stack.route.id,
                               tuple(p.pip_spec() for p in stack.all_pins()))
                        if pins and key not in out:
                            out[key] = Printed(stack, pins)
    return tuple(out.values())


def _where(p: Printed) -> str:
    s = p.stack
    return f"torch {s.torch} {s.platform} Python {s.python} ({s.route.id}, {s.accel.tag})"


def check_versions(printed, snap) -> list[str]:
    found = set()
    for p in printed:
        for pin in p.pins:
            entry = snap.entry(pin.name, pin.version)
            if entry is None or not (entry["tags"] or entry["sdist"]):
                found.add(f"{pin.name} {pin.version}: not published on PyPI (pinned for torch {p.stack.torch})")
    return sorted(found)


def check_pairings(printed, snap) -> list[str]:
    found = set()
    for p in printed:
        torch = p.stack.torch
        for pin in p.pins:
            entry = snap.entry(pin.name, pin.version)
            if pin.role == "torch" or entry is None:
                continue
            if any(f"{pin.name} {pin.version}" in note for note in p.stack.notes):
                continue  # the command says why
            requires = entry["torch"]
            if requires is None:
                found.add(f"{pin.name} {pin.version} with torch {torch}: no wheel, so no metadata to read")
            elif not pypi.admits(requires, torch):
                found.add(f"{pin.name} {pin.version} requires {', '.join(requires)}; paired with torch {torch}")
            elif not any(Requirement(r).specifier for r in requires):  # paired by assumption
                better = [v for v, e in snap.versions(pin.name).items()
                          if Version(v) > Version(pin.version) and not e["yanked"]
                          and any(Requirement(r).specifier for r in e["torch"] or []) and pypi.admits(e["torch"], torch)]
                if better:
                    found.add(f"{pin.name} {pin.version} names no torch version; the newer {', '.join(sorted(better))} "
                              f"requires one that admits torch {torch}")
    return sorted(found)


def check_pythons(matrix, snap) -> list[str]:
    found = []
    for rel in matrix.releases:
        entry = snap.entry("torch", str(rel.torch))
        claimed: dict[str, set[PyVer]] = {}
        for build in rel.builds:
            if matrix.routes[build.route].family == "pypi":
                for platform in build.platforms:
                    claimed.setdefault(platform, set()).update(build.python.get(platform, ()))
        if entry is None:
            found += [f"torch {rel.torch} {plat}: claimed, but no such version on PyPI" for plat in sorted(claimed)]
            continue
        for platform in sorted(pypi.PLATFORM_TAGS):
            mine = claimed.get(platform, set())
            for py in CANDIDATE_PYTHONS:
                wheel = pypi.installable(entry, py, platform)
                if py in mine and not wheel:
                    found.append(f"torch {rel.torch} {platform} Python {py}: claimed, but no wheel installs on it")
                elif py not in mine and wheel and pypi.specific(entry, py, platform):
                    found.append(f"torch {rel.torch} {platform} Python {py}: PyPI has a wheel the matrix omits")
    return found


def check_wheels(printed, snap) -> list[str]:
    found = set()
    for p in printed:
        for pin in p.pins:
            entry = snap.entry(pin.name, pin.version)
            if entry is None:
                continue  # check_versions says it
            if pypi.installable(entry, p.stack.python, p.stack.platform):
                continue
            if entry["sdist"] and all(t.endswith("-none-any") for t in entry["tags"]):
                continue  # a pure-Python release: pip builds its sdist anywhere
            found.add(f"torch {p.stack.torch} {p.stack.platform} Python {p.stack.python}: no {pin.name} "
                      f"{pin.version} wheel for it ({p.stack.route.id}, {p.stack.accel.tag})")
    return sorted(found, key=_by_version)


def _by_version(text: str) -> tuple:
    words = text.split()
    return (Version(words[1]), *words[2:])


def check_yanks(printed, snap) -> list[str]:
    found = set()
    for p in printed:
        for pin in p.pins:
            entry = snap.entry(pin.name, pin.version)
            if entry is None or not entry["yanked"]:
                continue
            reason = entry["yank_reason"] or "yanked"
            if not any(f"{pin.name} {pin.version}" in n and reason in n for n in p.stack.notes):
                found.add(f"{pin.name} {pin.version} is yanked ({reason}); pinned without a note for torch "
                          f"{p.stack.torch}")
            fits = [v for v, e in snap.versions(pin.name).items() if not e["yanked"] and e["torch"]
                    and any(Requirement(r).specifier for r in e["torch"]) and pypi.admits(e["torch"], p.stack.torch)]
            if fits:
                found.add(f"{pin.name} {pin.version} is yanked; the unyanked {', '.join(sorted(fits))} fits torch "
                          f"{p.stack.torch}")
    return sorted(found)


def _lacks(entry: dict | None, python: PyVer, platform: str) -> bool:
    if entry is None:
        return True
    if pypi.installable(entry, python, platform):
        return False
    return not (entry["sdist"] and all(t.endswith("-none-any") for t in entry["tags"]))


def check_facts(matrix, snap) -> list[str]:
    """The release's `pypi:` facts are exactly PyPI's: a gap for each Python of a build reading the companion from
    PyPI that has no wheel of it, none where a wheel exists; a yank reason for each yanked companion so read."""
    pypi_url = matrix.channels["pypi"].url
    everything = Request(companions=ROLES[1:])
    found = []
    for rel in matrix.releases:
        gaps: dict[str, dict[str, set[PyVer]]] = {}
        yanked: dict[str, str] = {}
        for build in rel.builds:
            for role in wheels.pypi_roles(matrix.route_for(build), build, everything, rel, pypi_url):
                if role in build.versions:
                    continue
                entry = snap.entry(role, rel.companions[role])
                if entry is not None and entry["yanked"]:
                    yanked[role] = entry["yank_reason"] or ""
                for plat in build.platforms:
                    gaps.setdefault(role, {}).setdefault(plat, set()).update(
                        p for p in build.python.get(plat, ()) if _lacks(entry, p, plat))
        recorded = {role: {plat: set(pys) for plat, pys in per.items()} for role, per in rel.pypi.gaps.items()}
        for role in sorted(set(gaps) | set(recorded)):
            for plat in sorted(set(gaps.get(role, {})) | set(recorded.get(role, {}))):
                want, have = gaps.get(role, {}).get(plat, set()), recorded.get(role, {}).get(plat, set())
                for py in sorted(want - have, key=lambda p: p.sort_key):
                    found.append(f"torch {rel.torch}: {role} {rel.companions[role]} has no {plat} wheel for Python "
                                 f"{py} on PyPI; add it to pypi.gaps")
                for py in sorted(have - want, key=lambda p: p.sort_key):
                    found.append(f"torch {rel.torch}: pypi.gaps says {role} has no {plat} wheel for Python {py}, "
                                 "but PyPI has one (or no command reads it there)")
        if yanked != dict(rel.pypi.yanked):
            found.append(f"torch {rel.torch}: pypi.yanked is {dict(rel.pypi.yanked)}, PyPI says {yanked}")
    return found


def findings(matrix, snap) -> dict[str, list[str]]:
    printed = _printed(matrix)
    return {"versions": check_versions(printed, snap), "pairings": check_pairings(printed, snap),
            "pythons": check_pythons(matrix, snap), "wheels": check_wheels(printed, snap),
            "yanks": check_yanks(printed, snap), "facts": check_facts(matrix, snap)}


@pytest.fixture(scope="module")
def snap():
    return pypi.load()


def test_commands_reading_pypi_are_enumerated(matrix):
    printed = _printed(matrix)
    routes = {p.stack.route.id for p in printed}
    assert {"pypi", "pip-wheel-url", "conda-peterjc123"} <= routes
    assert len({(p.stack.torch, p.stack.platform) for p in printed}) > 100


@pytest.mark.parametrize("check", ["versions", "pairings", "pythons", "wheels", "yanks", "facts"])
def test_matrix_agrees_with_pypi(matrix, snap, check):
    problems = findings(matrix, snap)[check]
    assert not problems, f"{len(problems)} found:\n" + "\n".join(problems)


def _changed(snap, project, version, **changes) -> pypi.Snapshot:
    projects = copy.deepcopy(snap.projects)
    projects[project]["versions"][version].update(changes)
    return pypi.Snapshot(projects)


def _printed_pin(matrix, route, name):
    """A command of `route` pinning `name` whose notes say nothing about that pin."""
    return next((p, pin) for p in _printed(matrix) if p.stack.route.id == route for pin in p.pins
                if pin.name == name and not any(f"{name} {pin.version}" in n for n in p.stack.notes))


def test_each_check_fails_on_a_snapshot_that_disagrees(matrix, snap):
    printed = _printed(matrix)
    p, vision = _printed_pin(matrix, "pypi", "torchvision")
    torch = str(p.stack.torch)
    gone = pypi.Snapshot(copy.deepcopy(snap.projects))
    del gone.projects["torchvision"]["versions"][vision.version]
    assert any(vision.version in f for f in check_versions(printed, gone))
    wrong = _changed(snap, "torchvision", vision.version, torch=["torch==0.0.1"])
    assert any(f"{vision.name} {vision.version} requires torch==0.0.1" in f for f in check_pairings(printed, wrong))
    no_wheels = _changed(snap, "torch", torch, tags=[])
    assert any(f"torch {torch} " in f and "claimed" in f for f in check_pythons(matrix, no_wheels))
    extra = _changed(snap, "torch", torch, tags=[*snap.entry("torch", torch)["tags"], "cp399-cp399-win_amd64",
                                                  "cp316-cp316-win_amd64"])
    assert any("3.16" in f and "omits" in f for f in check_pythons(matrix, extra))
    sdist_only = _changed(snap, "torchvision", vision.version, tags=["cp30-cp30m-linux_armv7l"], sdist=True)
    assert any(f"no torchvision {vision.version} wheel" in f for f in check_wheels(printed, sdist_only))
    yanked = _changed(snap, "torchvision", vision.version, yanked=True, yank_reason="broken on purpose")
    assert any("broken on purpose" in f for f in check_yanks(printed, yanked))
    assert any("broken on purpose" in f for f in check_facts(matrix, yanked))
    spare = copy.deepcopy(yanked.projects)
    spare["torchvision"]["versions"]["99.0"] = {**spare["torchvision"]["versions"][vision.version], "yanked": False,
                                                 "torch": [f"torch=={torch}"]}
    assert any("the unyanked 99.0 fits" in f for f in check_yanks(printed, pypi.Snapshot(spare)))
    assert any(f"torchvision {vision.version} has no" in f for f in check_facts(matrix, sdist_only))
    gap_free = pypi.Snapshot(copy.deepcopy(snap.projects))
    for entry in gap_free.projects["torchvision"]["versions"].values():
        entry["tags"] = ["py3-none-any"]
    assert any("but PyPI has one" in f for f in check_facts(matrix, gap_free))


@pytest.mark.parametrize(("tag", "python", "platform", "ok"), [
    ("cp313-cp313t-manylinux_2_28_x86_64", "3.13t", "linux-64", True),
    ("cp313-cp313-manylinux_2_28_x86_64", "3.13t", "linux-64", False),
    ("cp313-cp313t-macosx_11_0_arm64", "3.13", "osx-arm64", False),
    ("cp310-abi3-win_amd64", "3.12", "win-64", True),
    ("cp310-abi3-win_amd64", "3.13t", "win-64", False),
    ("cp313-none-macosx_11_0_arm64", "3.13t", "osx-arm64", False),
    ("cp313-none-macosx_11_0_arm64", "3.13", "osx-arm64", True),
    ("py3-none-any", "3.13t", "osx-arm64", True),
    ("cp37-cp37m-manylinux1_x86_64", "3.7", "linux-64", True),
    ("cp27-cp27mu-manylinux1_x86_64", "2.7", "linux-64", True),
    ("cp27-cp27m-manylinux1_x86_64", "2.7", "linux-64", False),
    ("cp36-none-macosx_10_7_x86_64", "3.6", "osx-64", True),
    ("cp39-cp39-manylinux2014_aarch64", "3.9", "linux-aarch64", True),
    ("cp39-cp39-manylinux2014_aarch64", "3.9", "linux-64", False),
    ("py3-none-any", "3.11", "win-64", True),
    ("py2-none-any", "3.11", "win-64", False),
], ids=lambda v: str(v))
def test_pep425_rules(tag, python, platform, ok):
    assert pypi.installable({"tags": [tag]}, PyVer.parse(python), platform) is ok
