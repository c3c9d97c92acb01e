"""matrices/build.yaml and its own loader: the shipped file loads; every mistake is reported with its place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.errors import MatrixError
from envgen.matrix.build import load_build
from envgen.matrix.buildbin import arch_of
from envgen.matrix.buildxref import unbuildable

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bm():
    return load_build(ROOT / "matrices")


def test_shipped_build_matrix_answers(bm):
    assert [e.era for e in bm.releases][:3] == ["0.3", "0.4", "1.0"] and bm.releases[-1].era == "main"
    assert bm.host(Version("11.7")).gcc_max == 11
    assert Version("19.39") in bm.host(Version("11.7")).msvc and Version("19.40") not in bm.host(Version("11.7")).msvc
    assert bm.magma_conda["10.2"].package == "magma-cuda102"
    assert bm.vs(2022).cl_for(Version("17.4.2")) == Version("19.34")
    assert bm.era_for(Version("2.0.1")).era == "2.0" and bm.era_for(ref="main").era == "main"
    assert bm.era_for(Version("1.9.0")).era == "1.9" and bm.era_for(Version("0.2.0")) is None


ERAS = [
    # release, era, cuDNN floor, gcc floor, C++ standard, cmake range
    ("0.3.1", "0.3", "6", "4.9", "c++11", ">=3.0,<4"),
    ("1.0.1", "1.0", "6", "4.9", "c++11", ">=3.5,<4"),
    ("1.1.0", "1.1", "7", "4.9", "c++11", ">=3.5,<4"),
    ("1.5.0", "1.5-1.7", "7", "5", "c++14", ">=3.5,<4"),
    ("1.10.0", "1.10-1.11", "7", "5", "c++14", ">=3.10,<4"),
    ("1.12.1", "1.12", "7", "5", "c++14", ">=3.13,<4"),
    ("2.0.0", "2.0", "7", "7", "c++17", ">=3.18,<4"),
    ("2.3.0", "2.3-2.4", "8.5", "9.4", "c++17", ">=3.18,<4"),
    ("2.9.1", "2.9-2.11", "8.5", "9.4", "c++17", ">=3.27"),
    ("2.12.0", "2.12-2.15", "8.5", "10", "c++20", ">=3.27"),
]


@pytest.mark.parametrize("torch,era,cudnn,gcc,cxx,cmake", ERAS, ids=[e[0] for e in ERAS])
def test_eras_split_where_a_fact_changes(bm, torch, era, cudnn, gcc, cxx, cmake):
    found = bm.era_for(Version(torch))
    assert (found.era, str(found.cudnn), str(found.gcc), found.cxx) == (era, cudnn, gcc, cxx)
    assert found.cmake == SpecifierSet(cmake)


def test_every_binary_release_from_0_3_has_an_era_and_host_compilers(bm):
    assert unbuildable(bm) == []
    assert len([v for v in bm.binaries if v >= Version("0.3")]) >= 50  # the binary matrix really was read


DERIVED = [
    # release, platform, CUDA versions read from torch.yaml (the project's own builds, not conda-forge's)
    ("0.3.0", "linux-64", ["7.5", "8.0", "9.0"]),
    ("1.8.0", "linux-64", ["10.1", "10.2", "11.1"]),
    ("1.8.1", "linux-64", ["10.1", "10.2", "11.1"]),
    ("1.11.0", "win-64", ["11.3"]),
    ("2.6.0", "linux-64", ["11.8", "12.4", "12.6"]),
]


@pytest.mark.parametrize("torch,platform,cudas", DERIVED, ids=[f"{d[0]}-{d[1]}" for d in DERIVED])
def test_cuda_versions_come_from_the_binary_matrix(bm, torch, platform, cudas):
    era = bm.era_for(Version(torch))
    assert [str(c) for c in bm.cudas(era, Version(torch), platform)] == cudas


def test_arch_lists_come_from_the_binary_matrix_unless_the_era_overrides(bm):
    v = Version("2.6.0")
    assert bm.arch_list(bm.era_for(v), v, "linux-64", Version("12.6")) == "5.0;6.0;7.0;7.5;8.0;8.6;9.0"
    v = Version("0.4.0")  # the era's own list carries +PTX, which torch.yaml does not record
    assert bm.arch_list(bm.era_for(v), v, "linux-64", Version("9.0")) == "3.5;5.0+PTX;6.0;6.1;7.0"
    assert [arch_of(s) for s in ("sm_86", "sm_120", "sm_90a", "gfx90a")] == ["8.6", "12.0", "9.0a", None]


BROKEN = [
    # id, (old, new) replacement in build.yaml, expected fragment of a problem
    ("unknown-source", ("source: [readme-0.4, peterjc123-scripts, builder-win-conda",
                        "source: [no-such-source, peterjc123-scripts, builder-win-conda"),
     "releases(era 0.4): unknown source 'no-such-source'"),
    ("unknown-key", ("    cudnn: \"7\"\n    gcc: \"5\"", "    cudnn: \"7\"\n    gcc: \"5\"\n    colour: blue"),
     "releases[5](era 1.3-1.4).colour: unknown field 'colour'"),
    ("cuda-without-host-row", ('cuda: {default: ["13.0", "13.2"]}', 'cuda: {default: ["13.0", "13.2", "13.9"]}'),
     "releases(era main).cuda.default: CUDA 13.9 has no host_compilers row"),
    ("release-in-two-eras", ('torch: ">=2.0,<2.1"', 'torch: ">=1.13.1,<2.1"'), "torch 1.13.1 is also in era 1.13"),
    ("listed-release-in-a-range", ('era: "0.4"\n    torch: ">=0.4,<0.5"',
                                   'era: "0.4"\n    torch: ">=0.4,<0.5"\n    versions: ["1.8.1"]'),
     "torch 1.8.1 is also in era 0.4"),
    ("era-without-releases", ('    torch: ">=1.1,<1.2"\n', ''), "an era needs `versions`, a `torch` range or a `ref`"),
    ("refuse-unknown-platform", ("      win-64: \"the 0.3 source tree", "      win-65: \"the 0.3 source tree"),
     "unknown platform 'win-65'"),
    ("magma-name", ("package: magma-cuda117", "package: magma-cuda711"), "expected magma-cuda117 for CUDA 11.7"),
    ("bad-range", ('cmake: ">=3.18,<4"', 'cmake: "3.18+"'), "invalid version range '3.18+'"),
    ("arch-for-unknown-cuda", ('win-64: {"11.7": "3.7+PTX', 'win-64: {"11.6": "3.7+PTX'),
     "arch_list.win-64: CUDA 11.6 is not one of the era's CUDA versions"),
    ("unknown-vs-year", ("visual_studio: {cpu: [2017], cuda: [2017]", "visual_studio: {cpu: [2016], cuda: [2017]"),
     "unknown Visual Studio 2016"),
    ("bad-confidence", ("confidence: H\n    source: [readme-1.8", "confidence: X\n    source: [readme-1.8"),
     "confidence must be H, M or L"),
]


def _broken_dir(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "matrices"
    shutil.copytree(ROOT / "matrices", folder)
    text = (folder / "build.yaml").read_text()
    assert old in text, f"test case out of date: {old!r} not in build.yaml"
    (folder / "build.yaml").write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize("change,expected", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_mistake_is_reported_with_its_place(tmp_path, change, expected):
    with pytest.raises(MatrixError) as info:
        load_build(_broken_dir(tmp_path, *change))
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert all(p.startswith("matrices/build.yaml") for p in info.value.problems)


def test_all_mistakes_are_reported_at_once_with_line_numbers(tmp_path):
    folder = _broken_dir(tmp_path, "package: magma-cuda117", "package: magma-cuda711")
    text = (folder / "build.yaml").read_text().replace('cmake: ">=3.18,<4"', 'cmake: "3.18+"', 1)
    (folder / "build.yaml").write_text(text)
    with pytest.raises(MatrixError) as info:
        load_build(folder)
    problems = info.value.problems
    assert len(problems) == 2, problems
    assert all(p.split(":")[1].isdigit() for p in problems), problems  # matrices/build.yaml:LINE: ...


def test_not_yaml_is_one_clear_problem(tmp_path):
    folder = _broken_dir(tmp_path, "visual_studio:\n", "visual_studio: [\n")
    with pytest.raises(MatrixError) as info:
        load_build(folder)
    assert info.value.problems[0].startswith("matrices/build.yaml: not valid YAML")
