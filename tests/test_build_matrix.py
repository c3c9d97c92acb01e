"""matrices/build.yaml and its own loader: the shipped file loads; every mistake is reported with its place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from envgen.errors import MatrixError
from envgen.matrix.build import load_build

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bm():
    return load_build(ROOT / "matrices")


def test_shipped_build_matrix_answers(bm):
    assert [e.era for e in bm.releases] == ["0.4", "1.8", "2.0", "main"]
    assert bm.host(Version("11.7")).gcc_max == 11
    assert Version("19.39") in bm.host(Version("11.7")).msvc and Version("19.40") not in bm.host(Version("11.7")).msvc
    assert bm.magma_conda["10.2"].package == "magma-cuda102"
    assert bm.vs(2022).cl_for(Version("17.4.2")) == Version("19.34")
    assert bm.era_for(Version("2.0.1")).era == "2.0" and bm.era_for(ref="main").era == "main"
    assert bm.era_for(Version("1.9.0")) is None


def test_every_era_cuda_has_host_compiler_and_arch_list(bm):
    for era in bm.releases:
        for plat, cudas in era.cuda.items():
            for cuda in cudas:
                assert bm.host(cuda) is not None, (era.era, cuda)
                assert era.arch_list_for(plat if plat != "default" else "linux-64", cuda), (era.era, plat, cuda)


BROKEN = [
    # id, (old, new) replacement in build.yaml, expected fragment of a problem
    ("unknown-source", ("source: [readme-0.4, peterjc123-scripts, builder-win-conda",
                        "source: [no-such-source, peterjc123-scripts, builder-win-conda"),
     "releases(era 0.4): unknown source 'no-such-source'"),
    ("unknown-key", ("    cudnn: \"7\"\n    gcc: \"5\"", "    cudnn: \"7\"\n    gcc: \"5\"\n    colour: blue"),
     "releases[1](era 1.8).colour: unknown field 'colour'"),
    ("cuda-without-host-row", ('cuda: {default: ["11.7", "11.8"]}', 'cuda: {default: ["11.7", "11.8", "11.9"]}'),
     "releases(era 2.0).cuda.default: CUDA 11.9 has no host_compilers row"),
    ("version-in-two-eras", ('versions: ["2.0.0", "2.0.1"]', 'versions: ["2.0.0", "2.0.1", "1.8.1"]'),
     "1.8.1 is also in era 1.8"),
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
