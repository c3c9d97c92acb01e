"""The shipped matrix: it loads, its tables agree with each other, and its era boundaries hold."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from envgen.errors import MatrixError
from envgen.matrix import load_matrix
from envgen.models import PyVer

ROOT = Path(__file__).resolve().parent.parent
MATRICES = ROOT / "matrices"
OFFICIAL_PLATFORMS = ("linux-64", "linux-aarch64", "win-64", "osx-64", "osx-arm64")


def V(text: str) -> Version:
    return Version(text)


def builds(m, torch, platform=None, route=None, family=None, accel=None, official=None):
    out = []
    for b in m.builds(torch=V(torch), platform=platform):
        r = m.routes[b.route]
        if route and b.route != route:
            continue
        if family and r.family != family:
            continue
        if accel and b.accel.tag != accel:
            continue
        if official is not None and b.official != official:
            continue
        out.append(b)
    return out


# --- loading and cross-table consistency -----------------------------------------------------
def test_shipped_matrix_loads_without_problems(matrix):
    assert len(matrix.releases) >= 57
    assert matrix.sources and matrix.toolkits and matrix.archs and matrix.constraints


def test_releases_cover_every_minor_from_0_3_to_2_15(matrix):
    minors = {rel.minor for rel in matrix.releases}
    wanted = {(0, 3), (0, 4)} | {(1, n) for n in range(14)} | {(2, n) for n in range(16)}
    assert wanted - minors == set()
    assert [r.torch for r in matrix.releases] == sorted(r.torch for r in matrix.releases)


def test_every_cuda_named_has_a_driver_floor(matrix):
    missing = set()
    for rel in matrix.releases:
        tags = [b.accel for b in rel.builds] + [f.accel for f in rel.accel.values()]
        for accel in tags:
            if accel.kind == "cuda":
                tk = matrix.toolkit(accel.version)
                if tk is None or tk.driver_linux is None:
                    missing.add(accel.dotted)
    assert missing == set()
    for major in (11, 12, 13):
        floor = matrix.minor_compat[major].driver_linux
        # 11.0 GA shipped an older driver than the 11.x compatibility floor; from X.1 on the floor is lower
        same_major = [tk for tk in matrix.toolkits.values() if tk.cuda.major == major and tk.cuda.minor >= 1]
        assert same_major and all(floor <= tk.driver_linux for tk in same_major), major


def test_driver_floors_rise_with_the_toolkit(matrix):
    ordered = sorted(matrix.toolkits.values(), key=lambda tk: tk.cuda)
    for low, high in itertools.pairwise(ordered):
        assert low.driver_linux <= high.driver_linux, (low.cuda, high.cuda)


def test_every_build_python_lies_inside_the_release(matrix):
    for rel in matrix.releases:
        for b in rel.builds:
            for plat in b.platforms:
                outside = set(map(str, b.python.get(plat, ()))) - set(map(str, rel.python.get(plat, ())))
                assert not outside, (str(rel.torch), b.route, b.accel.tag, plat, outside)
                assert b.python.get(plat), (str(rel.torch), b.route, plat)


def test_every_gpu_build_has_accel_facts_and_known_architectures(matrix):
    for rel in matrix.releases:
        for b in rel.builds:
            if b.accel.kind in ("cuda", "rocm"):
                assert b.accel.tag in rel.accel, (str(rel.torch), b.accel.tag)
        for facts in rel.accel.values():
            assert set(facts.archs) <= set(matrix.archs), (str(rel.torch), facts.accel.tag)


def test_companions_are_versions_and_increase(matrix):
    last: dict[str, Version] = {}
    for rel in matrix.releases:
        assert "torchvision" in rel.companions, str(rel.torch)
        for role, text in rel.companions.items():
            ver = V(text)
            if role == "torchvision":
                assert ver >= last.get(role, ver), (str(rel.torch), role, text)
            last[role] = ver
        for b in rel.builds:
            for text in b.versions.values():
                V(text)


def test_every_source_id_resolves(matrix):
    cited = set()
    for ch in matrix.channels.values():
        cited |= set(ch.sources)
    for route in matrix.routes.values():
        cited |= set(route.sources)
    for tk in matrix.toolkits.values():
        cited |= set(tk.sources)
    for arch in matrix.archs.values():
        cited |= set(arch.sources)
    for c in matrix.constraints:
        cited |= set(c.sources)
    for rel in matrix.releases:
        cited |= set(rel.sources)
        for facts in rel.accel.values():
            cited |= set(facts.sources)
        for b in rel.builds:
            assert b.sources, (str(rel.torch), b.route)
            cited |= set(b.sources)
    assert cited - set(matrix.sources) == set()
    assert all(s.url.startswith("https://") for s in matrix.sources.values())


def test_no_refusal_matches_a_listed_build(matrix):
    for rel in matrix.releases:
        for b in rel.builds:
            for plat in b.platforms:
                for py in b.python.get(plat, ()):
                    hit = matrix.applicable(b, plat, py, "refuse")
                    assert not hit, (str(rel.torch), b.route, plat, str(py), [c.id for c in hit])


def test_new_architectures_are_known(matrix):
    for sm in ("sm_20", "sm_30", "sm_100", "sm_101", "sm_103", "sm_110", "sm_120", "sm_121"):
        assert sm in matrix.archs
    assert [a.sm for a in matrix.archs.values() if a.cc == V("12.0") and a.sm.startswith("sm_")] == ["sm_120"]
    assert matrix.archs["gfx90a"].cc == V("9.0.10")


# --- era boundaries through the Matrix API ----------------------------------------------------
BOUNDARIES = [
    # id, torch, platform, filters, expected to exist
    ("0.3.1-windows-peterjc123", "0.3.1", "win-64", {"family": "peterjc123"}, True),
    ("0.3.1-windows-not-official", "0.3.1", "win-64", {"family": "pytorch"}, False),
    ("0.3.1-windows-no-wheels", "0.3.1", "win-64", {"family": "pytorch-index"}, False),
    ("0.4.0-first-official-windows-conda", "0.4.0", "win-64", {"family": "pytorch"}, True),
    ("0.4.0-no-peterjc123", "0.4.0", "win-64", {"family": "peterjc123"}, False),
    ("0.3.0-cuda-7.5-wheels", "0.3.0", "linux-64", {"route": "pip-wheel-url", "accel": "cu75"}, True),
    ("1.0.0-feature-cuda100", "1.0.0", "linux-64", {"route": "conda-pytorch-feature", "accel": "cu100"}, True),
    ("1.0.1-cudatoolkit-era", "1.0.1", "linux-64", {"route": "conda-pytorch-cudatoolkit", "accel": "cu100"}, True),
    ("1.8.1-conda-cu111", "1.8.1", "linux-64", {"route": "conda-pytorch-cudatoolkit", "accel": "cu111"}, True),
    ("1.8.1-conda-no-cu113", "1.8.1", "linux-64", {"accel": "cu113"}, False),
    ("1.8.2-lts-channel", "1.8.2", "linux-64", {"route": "conda-pytorch-lts", "accel": "cu111"}, True),
    ("1.8.2-lts-no-macos", "1.8.2", "osx-64", {}, False),
    ("1.10.0-per-variant-cu113", "1.10.0", "linux-64", {"route": "pip-find-links", "accel": "cu113"}, True),
    ("1.11.0-no-windows-cu102", "1.11.0", "win-64", {"accel": "cu102"}, False),
    ("1.12.1-no-pytorch-cuda", "1.12.1", "linux-64", {"route": "conda-pytorch-cuda"}, False),
    ("1.13.0-first-pytorch-cuda", "1.13.0", "linux-64", {"route": "conda-pytorch-cuda", "accel": "cu117"}, True),
    ("2.5.1-last-pytorch-channel", "2.5.1", "linux-64", {"family": "pytorch"}, True),
    ("2.6.0-no-pytorch-channel", "2.6.0", "linux-64", {"family": "pytorch"}, False),
    ("2.6.0-conda-forge-windows", "2.6.0", "win-64", {"route": "conda-forge", "accel": "cu126"}, True),
    ("2.2.2-last-official-osx-64", "2.2.2", "osx-64", {"official": True}, True),
    ("2.3.0-no-official-osx-64", "2.3.0", "osx-64", {"official": True}, False),
    ("2.7.0-first-cu128", "2.7.0", "linux-64", {"route": "pip-index-url", "accel": "cu128"}, True),
    ("2.8.0-no-cu118", "2.8.0", "linux-64", {"accel": "cu118"}, False),
    ("2.15.0-no-cu126", "2.15.0", "linux-64", {"accel": "cu126"}, False),
    ("2.15.0-cu132-index", "2.15.0", "linux-64", {"route": "pip-index-url", "accel": "cu132"}, True),
    ("1.7.0-first-windows-pypi", "1.7.0", "win-64", {"route": "pypi"}, True),
    ("1.6.0-no-windows-pypi", "1.6.0", "win-64", {"route": "pypi"}, False),
    ("1.9.0-first-apple-silicon-pypi", "1.9.0", "osx-arm64", {"route": "pypi"}, True),
    ("1.8.1-no-apple-silicon", "1.8.1", "osx-arm64", {}, False),
]


@pytest.mark.parametrize("torch,platform,filters,exists", [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES])
def test_era_boundary(matrix, torch, platform, filters, exists):
    assert bool(builds(matrix, torch, platform, **filters)) is exists


PYPI_DEFAULT = [("1.0.0", "cu90"), ("1.2.0", "cu100"), ("1.4.0", "cu101"), ("1.8.1", "cu102"), ("1.12.1", "cu102"),
                ("1.13.1", "cu117"), ("2.0.1", "cu117"), ("2.4.1", "cu121"), ("2.5.1", "cu124"), ("2.6.0", "cu124"),
                ("2.7.1", "cu126"), ("2.10.0", "cu128"), ("2.11.0", "cu130"), ("2.14.1", "cu130"), ("2.15.0", "cu132")]


@pytest.mark.parametrize("torch,tag", PYPI_DEFAULT, ids=[f"{t}-{c}" for t, c in PYPI_DEFAULT])
def test_pypi_linux_default_cuda(matrix, torch, tag):
    found = [b.accel.tag for b in builds(matrix, torch, "linux-64", route="pypi")]
    assert found == [tag]
    assert all(b.accel.tag == "cpu" for b in builds(matrix, torch, "win-64", route="pypi"))


PYTHONS = [  # torch, platform, python, present
    ("0.4.1", "win-64", "2.7", False), ("1.4.0", "linux-64", "2.7", True), ("1.5.0", "linux-64", "2.7", False),
    ("1.10.2", "linux-64", "3.6", True), ("1.11.0", "linux-64", "3.6", False), ("1.13.1", "linux-64", "3.11", True),
    ("1.13.1", "win-64", "3.11", False), ("2.4.1", "linux-64", "3.8", True), ("2.5.0", "linux-64", "3.8", False),
    ("2.5.1", "linux-64", "3.13", True), ("2.5.1", "win-64", "3.13", False), ("2.8.0", "linux-64", "3.9", True),
    ("2.9.0", "linux-64", "3.9", False), ("2.9.0", "win-64", "3.14t", True), ("2.12.0", "linux-64", "3.13t", True),
    ("2.12.1", "linux-64", "3.13t", False), ("2.14.1", "linux-64", "3.10", True), ("2.15.0", "linux-64", "3.10", False),
    ("2.15.0", "osx-arm64", "3.15", True), ("2.15.0", "win-64", "3.15t", True),
]


@pytest.mark.parametrize("torch,platform,python,present", PYTHONS, ids=[f"{t}-{p}-py{y}" for t, p, y, _ in PYTHONS])
def test_python_support(matrix, torch, platform, python, present):
    rel = matrix.release(V(torch))
    assert (PyVer.parse(python) in rel.python[platform]) is present


def test_2_0_0_conda_names_other_companions_than_pip(matrix):
    rel = matrix.release(V("2.0.0"))
    assert rel.companions["torchvision"] == "0.15.1"
    conda = builds(matrix, "2.0.0", "linux-64", route="conda-pytorch-cuda")
    assert conda and all(b.versions == {"torchvision": "0.15.0", "torchaudio": "2.0.0"} for b in conda)


def test_1_8_1_records_the_page_error(matrix):
    (b,) = builds(matrix, "1.8.1", "linux-64", route="conda-pytorch-cudatoolkit", accel="cu111")
    assert "conda-forge" in b.extra_channels
    assert any("11.3" in n for n in b.notes)


def test_torchaudio_local_version_starts_with_0_10(matrix):
    old = builds(matrix, "1.9.0", "linux-64", route="pip-find-links", accel="cu111")[0]
    new = builds(matrix, "1.12.1", "linux-64", route="pip-extra-index", accel="cu116")[0]
    assert matrix.route_for(old).local_version == ("torch", "torchvision")
    assert "torchaudio" in matrix.route_for(new).local_version


def test_cudnn_and_archs_per_era(matrix):
    cu102 = matrix.release(V("1.8.1")).accel["cu102"]
    assert cu102.cudnn == {"linux": "7.6.5", "windows": "7.6.5.32"}
    cu128 = matrix.release(V("2.7.0")).accel["cu128"]
    assert "sm_120" in cu128.archs and "sm_50" not in cu128.archs
    assert "sm_37" in matrix.release(V("2.7.1")).accel["cu118"].archs
    assert matrix.release(V("2.15.0")).accel["cu132"].cudnn == {"default": "9.26.0.51"}
    rocm = matrix.release(V("2.5.1")).accel["rocm6.2"]
    assert "gfx942" in rocm.archs


CONSTRAINTS = [  # id, torch, platform, route, accel, python, applies
    ("mkl-ijit", "2.5.1", "linux-64", "conda-pytorch-cuda", "cu124", None, True),
    ("mkl-ijit", "2.6.0", "linux-64", "conda-forge", "cu126", None, False),
    ("numpy2", "2.2.2", "linux-64", "pypi", "cu121", "3.12", True),
    ("numpy2", "1.8.1", "linux-64", "pypi", "cu102", "3.8", False),  # no NumPy 2 for Python 3.8: the pin is noise
    ("numpy2", "2.3.0", "linux-64", "pypi", "cu121", None, False),
    ("win-runtime-peterjc123", "0.3.1", "win-64", "conda-peterjc123", "cu80", None, True),
    ("win-vc14-reset", "0.4.1", "win-64", "conda-pytorch-feature", "cu90", None, True),
    ("win-runtime-vs2015", "1.8.1", "win-64", "conda-pytorch-cudatoolkit", "cu102", None, True),
    ("llvm-openmp-linux", "2.1.0", "linux-64", "conda-pytorch-cuda", "cu121", None, True),
]


@pytest.mark.parametrize("cid,torch,platform,route,tag,python,applies", CONSTRAINTS,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CONSTRAINTS])
def test_constraint_applies(matrix, cid, torch, platform, route, tag, python, applies):
    (c,) = [c for c in matrix.constraints if c.id == cid]
    candidates = builds(matrix, torch, platform, route=route, accel=tag)
    assert candidates, "the build the case needs is missing"
    assert matrix.constraint_applies(c, candidates[0], platform, PyVer.parse(python) if python else None) is applies


def test_refusals_cover_win32_python2_and_late_channel(matrix):
    import dataclasses

    refuse = {c.id: c for c in matrix.constraints if c.kind == "refuse"}
    win = builds(matrix, "1.8.1", "win-64", route="pip-find-links")[0]
    assert matrix.constraint_applies(refuse["no-win32"], win, "win-32", None)
    assert matrix.constraint_applies(refuse["no-python2-windows"], win, "win-64", PyVer.parse("2.7"))
    assert not matrix.constraint_applies(refuse["no-python2-windows"], win, "win-64", PyVer.parse("3.8"))
    conda = builds(matrix, "2.5.1", "linux-64", route="conda-pytorch-cuda")[0]
    late = dataclasses.replace(conda, torch=V("2.6.0"))
    assert matrix.constraint_applies(refuse["pytorch-channel-end"], late, "linux-64", None)
    mac = dataclasses.replace(builds(matrix, "2.2.2", "osx-64", route="pypi")[0], torch=V("2.3.0"))
    assert matrix.constraint_applies(refuse["osx64-end"], mac, "osx-64", None)


# --- a malformed matrix lists every problem with its place ------------------------------------
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "matrices"
    shutil.copytree(MATRICES, target)
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_malformed_matrix_lists_every_problem(tmp_path):
    d = _copy(tmp_path)
    _replace(d / "torch.yaml", "platforms: [win-64]", "platforms: [win-128]")
    _replace(d / "torch.yaml", "accel: [cu80, cu90, cu91]", "accel: [cu80, cu1x, cu91]")
    _replace(d / "cuda.yaml", 'linux: "440.33"', 'linux: "four-forty"')
    _replace(d / "gpus.yaml", 'cc: "7.5"', 'cc: "seven"')
    _replace(d / "constraints.yaml", "  kind: pin\n", "  kind: forbid\n")
    with pytest.raises(MatrixError) as err:
        load_matrix(d, use_cache=False)
    problems = err.value.problems
    expect = [("torch.yaml", "unknown platform 'win-128'"), ("torch.yaml", "unknown variant 'cu1x'"),
              ("cuda.yaml", "invalid driver version 'four-forty'"), ("gpus.yaml", "invalid version 'seven'"),
              ("constraints.yaml", "kind must be pin, require or refuse")]
    for file, text in expect:
        hits = [p for p in problems if p.startswith(f"matrices/{file}:") and text in p]
        assert hits, (file, text, problems)
        assert any(p.split(":")[1].strip().isdigit() for p in hits), hits  # a line number
    assert any("releases[" in p and "torch 0.3.1" in p for p in problems)


def test_cross_table_problems_are_all_reported(tmp_path):
    d = _copy(tmp_path)
    _replace(d / "torch.yaml", "accel: [cu102, cpu]", "accel: [cu119, cpu]")
    _replace(d / "torch.yaml", "source: [peterjc123-scripts]", "source: [no-such-source]")
    _replace(d / "constraints.yaml", "when: {platforms: [win-32]}", "when: {platforms: [win-64]}")
    with pytest.raises(MatrixError) as err:
        load_matrix(d, use_cache=False)
    text = "\n".join(err.value.problems)
    assert "unknown CUDA version '11.9'" in text
    assert "unknown source 'no-such-source'" in text
    assert "contradicts refusal 'no-win32' on win-64" in text
    assert all(p.startswith("matrices/") for p in err.value.problems)
