"""Every command of the PyTorch previous-versions page, compiled by envgen from the shipped matrix and compared.

`tests/data/official_commands.yaml` holds the page's commands verbatim (with their source). For each row and each
platform it covers, the same request goes through `resolve_one` + `install_command`, and the parts that make the
environment are compared: torch/companion package names and versions (with +cuXXX local versions), the variant
selector (cudatoolkit=, pytorch-cuda=, cpuonly, cuda90), conda channels in order, pip index options and, for the
download-a-wheel era, the wheel directory. envgen's added constraint pins (roles pin/require) are not page text.

Where envgen differs on purpose (the page is wrong, or envgen pins more precisely) the row says so (`deviation`, with
the `truth` envgen must give instead) and the matrix must carry a note saying it; a deviation that no longer deviates
fails too, so none outlives its cause. No row is skipped.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import pytest
from packaging.version import Version
from ruamel.yaml import YAML

from envgen.compile.commands import install_command
from envgen.compile.resolve import resolve_one
from envgen.compile.stack import Request
from envgen.errors import Refusal
from envgen.models import Accel

DATA = Path(__file__).parent / "data" / "official_commands.yaml"
ROWS = YAML(typ="safe").load(DATA.read_text(encoding="utf-8"))["commands"]
CASES = [(row, platform) for row in ROWS for platform in row["platforms"]]

ROLE_OF = {"pytorch": "torch", "pytorch-cpu": "torch", "torch": "torch", "torchvision": "torchvision",
           "torchvision-cpu": "torchvision", "torchaudio": "torchaudio", "torchtext": "torchtext"}
COMPANIONS = ("torchvision", "torchaudio", "torchtext")
IGNORED_ROLES = ("pin", "require")  # envgen's own constraint pins (numpy<2, mkl<2024.1, vc=14 ...)
PLATFORMS = {"linux-64", "linux-aarch64", "win-64", "osx-64", "osx-arm64"}
REQUEST_KEYS = ("variant", "family")  # a truth may correct the request the page's command stands for
FACETS = ("packages", "selector", "channels", "index_url", "extra_index_urls", "find_links", "wheel_dir")
SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:(?P<op>==|=)(?P<version>\S+))?$")


def _spec(text: str) -> tuple[str, str | None]:
    m = SPEC.match(text)
    return (m["name"], m["version"]) if m else (text, None)


def page_facets(row: dict) -> dict:
    """The page's command, taken apart into the facets envgen's output is compared on."""
    facets: dict = {"packages": {}, "selector": [], "channels": [], "index_url": None, "extra_index_urls": [],
                    "find_links": [], "wheel_dir": None}
    command = row["command"]
    if command.startswith("Download and install wheel from "):
        facets["packages"]["torch"] = ("torch", row["torch"])
        facets["wheel_dir"] = command.split()[-1].rsplit("/", 1)[0] + "/"
        return facets
    for line in command.splitlines():
        words = shlex.split(line)
        assert words[1] == "install", line
        rest = iter(words[2:])
        for word in rest:
            if word == "-c":
                facets["channels"].append(next(rest))
            elif word in ("--index-url", "-i"):
                facets["index_url"] = next(rest)
            elif word == "--extra-index-url":
                facets["extra_index_urls"].append(next(rest))
            elif word in ("-f", "--find-links"):
                facets["find_links"].append(next(rest))
            else:
                name, version = _spec(word)
                if name in ROLE_OF:
                    facets["packages"][ROLE_OF[name]] = (name, version)
                else:
                    facets["selector"].append(word)
    facets["selector"].sort()
    return facets


def envgen_facets(row: dict, platform: str, matrix) -> dict:
    """What envgen compiles for the row's request, in the same facets ({"refused": True} when it refuses).

    A deviation's truth may correct the request itself: the variant the page meant (`cudatoolkit=11.3` for a CUDA
    11.1 build) or the family that serves it (PyPI has no Windows CUDA wheels).
    """
    facets = page_facets(row)
    truth = truth_for(row, platform)
    request = Request(torch=Version(row["torch"]), accel=Accel.parse(truth.get("variant", row["variant"])),
                      platform=platform, installer=row["installer"], family=truth.get("family", _family(row)),
                      companions=tuple(r for r in COMPANIONS if r in facets["packages"]))
    try:
        cmd = install_command(resolve_one(matrix, request))
    except Refusal:
        return {"refused": True}
    pins = [p for p in cmd.packages if p.role not in IGNORED_ROLES]
    torch = next(p for p in pins if p.role == "torch")
    return {
        "packages": {p.role: (p.name, p.version) for p in pins if p.role in ROLE_OF.values()},
        "selector": sorted(p.conda_spec() if cmd.installer == "conda" and not p.pip else p.pip_spec()
                           for p in pins if p.role not in ROLE_OF.values()),
        "channels": list(cmd.channels), "index_url": cmd.index_url,
        "extra_index_urls": list(cmd.extra_index_urls), "find_links": list(cmd.find_links),
        "wheel_dir": torch.url.rsplit("/", 1)[0] + "/" if torch.url else None,
    }


def _family(row: dict) -> str:
    """The route family the page's command uses: the pytorch conda channels, download.pytorch.org, or plain PyPI."""
    if row["installer"] == "conda":
        return "pytorch"
    command = row["command"]
    uses_index = any(opt in command for opt in ("--index-url", "--extra-index-url", " -f ", "Download and install"))
    return "pytorch-index" if uses_index else "pypi"


def truth_for(row: dict, platform: str) -> dict:
    """The row's correction of the page for this platform ({} where the page is right)."""
    truth = row.get("truth") or {}
    if truth and set(truth) <= PLATFORMS:  # one correction per platform
        return truth.get(platform, {})
    return truth if platform in row.get("deviation_platforms", row["platforms"]) else {}


def _deviates(row: dict, platform: str) -> bool:
    return "deviation" in row and bool(truth_for(row, platform))


def expected_facets(row: dict, platform: str) -> dict:
    """The page's facets, corrected by the row's `truth` where the page is known to be wrong."""
    facets = page_facets(row)
    truth = truth_for(row, platform)
    if truth.get("refused"):
        return {"refused": True}
    for key, value in truth.items():
        if key in REQUEST_KEYS:
            continue
        if key == "packages":
            for role, spec in value.items():
                facets["packages"][role] = _spec(spec)
        elif key == "selector":
            facets["selector"] = sorted(value)
        else:
            facets[key] = value
    return facets


def _unpinned_as_page(expected: dict, got: dict) -> dict:
    """The page leaves a package unpinned (1.8.2 LTS conda): any version envgen pins matches."""
    if "packages" not in got or "packages" not in expected:
        return got
    packages = dict(got["packages"])
    for role, (_name, version) in expected["packages"].items():
        if version is None and role in packages:
            packages[role] = (packages[role][0], None)
    return dict(got, packages=packages)


def release_notes(matrix, torch: str) -> list[str]:
    release = matrix.release(Version(torch))
    assert release is not None, f"the matrix has no torch {torch}"
    notes = list(release.notes)
    for build in release.builds:
        notes += build.notes
    for facts in release.accel.values():
        notes += facts.notes
    return notes


def _case_id(case) -> str:
    row, platform = case
    return f"{row['id']}@{platform}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_page_command_matches_envgen(case, matrix):
    row, platform = case
    expected = expected_facets(row, platform)
    got = _unpinned_as_page(expected, envgen_facets(row, platform, matrix))
    assert got == expected, f"{row['command']!r} on {platform}"
    if _deviates(row, platform):
        assert _unpinned_as_page(page_facets(row), got) != page_facets(row), (
            f"{row['id']}: envgen now agrees with the page; drop the row's deviation")
        notes = release_notes(matrix, row["torch"])
        for text in _as_list(row["matrix_note"]):
            assert any(text in n for n in notes), f"{row['id']}: no note of torch {row['torch']} says {text!r}"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


DEPARTURES = [c for c in CASES if _deviates(*c) and not truth_for(*c).get("refused")]


@pytest.mark.parametrize("case", DEPARTURES, ids=[_case_id(c) for c in DEPARTURES])
def test_a_departure_from_the_page_is_explained_in_the_command(case, matrix):
    """Where envgen's command differs from the page's, a matrix note saying why is among the command's notes
    (`envgen command` and `--json`), not only in `envgen matrix`."""
    row, platform = case
    truth = truth_for(row, platform)
    facets = page_facets(row)
    request = Request(torch=Version(row["torch"]), accel=Accel.parse(truth.get("variant", row["variant"])),
                      platform=platform, installer=row["installer"], family=truth.get("family", _family(row)),
                      companions=tuple(r for r in COMPANIONS if r in facets["packages"]))
    notes = install_command(resolve_one(matrix, request)).notes
    wanted = _as_list(row["matrix_note"])
    assert any(text in n for text in wanted for n in notes), f"{row['id']}: none of {wanted} in {notes}"


def test_rows_are_well_formed():
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for row in ROWS:
        assert row["installer"] in ("conda", "pip"), row["id"]
        assert row["source"] in ("official", "kr"), row["id"]
        assert row["platforms"], row["id"]
        Accel.parse(row["variant"])
        if "deviation" in row:
            assert row["deviation"].endswith("see matrix note"), row["id"]
            assert row["matrix_note"] and row["truth"], row["id"]
            assert set(row.get("deviation_platforms", [])) <= set(row["platforms"]), row["id"]
            truth = row["truth"]
            per_platform = set(truth) <= PLATFORMS
            assert not per_platform or set(truth) <= set(row["platforms"]), row["id"]
            for part in (truth.values() if per_platform else [truth]):
                assert set(part) <= set(FACETS) | set(REQUEST_KEYS) | {"refused"}, row["id"]
        else:
            assert not {"truth", "matrix_note", "deviation_platforms"} & set(row), row["id"]


def test_rows_cover_every_page_section():
    """The page's sections >= 1.0.0 as recorded: none dropped when the data file is edited."""
    sections = sorted({Version(r["torch"]) for r in ROWS})
    assert sections[0] == Version("1.0.0")
    assert len(sections) == 46
    per_section = Counter(r["torch"] for r in ROWS)
    assert min(per_section.values()) >= 5, per_section  # OSX + at least CPU and one GPU variant per installer
