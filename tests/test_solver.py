"""The py-rattler adapter against real package files and repodata built by the tests (no network)."""

from __future__ import annotations

import pytest

from envgen.errors import BadInput
from envgen.lock import conda as solver
from envgen.lock import engine
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.records import VirtualPkg
from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec
from tests.support.lockenv import file_pairs

PT, NV, CF, MAIN = ("https://conda.anaconda.org/pytorch", "https://conda.anaconda.org/nvidia",
                    "https://conda.anaconda.org/conda-forge", "https://repo.anaconda.com/pkgs/main")
LINUX = (VirtualPkg("__glibc", "2.17"), VirtualPkg("__unix", "0"), VirtualPkg("__linux", "5.10"))


def _solve(platform, specs, channels, virtual=LINUX, priority="strict"):
    """One platform through the lock engine, on whole repodata files from envgen's own fetcher (its path where
    the gateway cannot fetch), solved by the same rattler call as the gateway's."""
    part = CondaPart(tuple(specs), tuple(channels), priority, tuple(virtual))
    spec = LockSpec((PlatformSpec(platform, part),), "test")
    return engine.solve_all(spec, Fetcher(load_mirrors(file_pairs()), gateway=False), timeout_s=30).conda[platform]


def _by_name(sol):
    return {p.name: p for p in sol}


CASES = [
    pytest.param("linux-64", ["pytorch==1.8.1", "cudatoolkit=10.2", "python=3.9"], [PT, MAIN], LINUX + (VirtualPkg("__cuda", "10.2"),),
                 {"pytorch": "py3.9_cuda10.2_cudnn7.6.5_0", "pytorch-mutex": "cuda", "cudatoolkit": "hfd86e86_1", "blas": "mkl"},
                 id="1.8.1-cu102-linux"),
    pytest.param("linux-64", ["pytorch==1.8.1", "cpuonly", "python=3.9"], [PT, MAIN], LINUX,
                 {"pytorch": "py3.9_cpu_0", "pytorch-mutex": "cpu"}, id="1.8.1-cpuonly-mutex"),
    pytest.param("win-64", ["pytorch==1.8.1", "cudatoolkit=10.2"], [PT, MAIN],
                 (VirtualPkg("__win", "0"), VirtualPkg("__cuda", "10.2")),
                 {"pytorch": "py3.9_cuda10.2_cudnn7_0", "vc": "h21ff451_1"}, id="1.8.1-cu102-win"),
    pytest.param("linux-64", ["pytorch==2.5.1", "pytorch-cuda=12.1", "mkl<2024.1"], [PT, NV, MAIN],
                 LINUX + (VirtualPkg("__cuda", "12.1"),),
                 {"pytorch": "py3.9_cuda12.1_cudnn9.1.0_0", "cuda-cudart": "0", "mkl": "h06a4308_640"},
                 id="2.5.1-pytorch-cuda-nvidia"),
    pytest.param("osx-arm64", ["pytorch==2.5.1"], [PT, MAIN], (VirtualPkg("__osx", "11.0"), VirtualPkg("__unix", "0")),
                 {"pytorch": "py3.9_0", "llvm-openmp": "hc6e5704_0"}, id="2.5.1-osx-arm64"),
    pytest.param("linux-64", ["pytorch=2.5.1=cuda*", "cuda-version=12.4"], [CF], LINUX + (VirtualPkg("__cuda", "12.4"),),
                 {"pytorch": "cuda124_py39h8b0a0f5_300", "cuda-cudart": "he02047a_2", "python_abi": "5_cp39"},
                 id="2.5.1-conda-forge-cuda-version"),
]


@pytest.mark.parametrize("platform,specs,channels,virtual,expected", CASES)
def test_solve_picks_the_era_builds(platform, specs, channels, virtual, expected):
    sol = _solve(platform, specs, channels, virtual)
    got = _by_name(sol)
    for name, build in expected.items():
        assert got[name].build == build, (name, got[name])
    solver.validate(sol)  # every dependency inside the solution is met
    assert [p.name for p in sol] == sorted(p.name for p in sol)
    assert all(p.url.startswith(p.channel + "/") and p.sha256 and p.md5 for p in sol)


def test_without_cuda_virtual_package_cudatoolkit_is_no_candidate():
    with pytest.raises(BadInput) as err:
        _solve("linux-64", ["pytorch==1.8.1", "cudatoolkit=10.2"], [PT, MAIN])
    assert "__cuda" in err.value.message


def test_without_cuda_and_no_selector_the_cpu_build_is_chosen():
    got = _by_name(_solve("linux-64", ["pytorch==1.8.1"], [PT, MAIN]))
    assert got["pytorch"].build == "py3.9_cpu_0"


def test_strict_priority_hides_later_channels_and_disabled_does_not():
    specs, virtual = ["pytorch==2.5.1", "pytorch-cuda=12.1"], LINUX + (VirtualPkg("__cuda", "12.4"),)
    order = [PT, CF, NV, MAIN]  # conda-forge's cuda-cudart 12.4 hides nvidia's 12.1 under strict priority
    with pytest.raises(BadInput):
        _solve("linux-64", specs, order, virtual, "strict")
    got = _by_name(_solve("linux-64", specs, order, virtual, "disabled"))
    assert got["cuda-cudart"].channel == NV and got["cuda-cudart"].version == "12.1.105"


@pytest.mark.parametrize("spec", ["pytorch >>1", "numpy[[", "==="], ids=["double-op", "bracket", "only-ops"])
def test_invalid_spec_is_bad_input(spec):
    with pytest.raises(BadInput) as err:
        _solve("linux-64", [spec], [PT, MAIN])
    assert "spec" in err.value.message


def test_topological_order_puts_dependencies_first():
    sol = _solve("linux-64", ["pytorch==1.8.1", "cudatoolkit=10.2"], [PT, MAIN], LINUX + (VirtualPkg("__cuda", "10.2"),))
    order = [p.name for p in solver.topological(sol)]
    for p in sol:
        for dep in p.depends:
            name = dep.split()[0]
            if name in order:
                assert order.index(name) < order.index(p.name), (name, p.name)


def test_pixi_lock_round_trips_through_rattler(tmp_path):
    sol = _solve("linux-64", ["pytorch==1.8.1", "cudatoolkit=10.2"], [PT, MAIN], LINUX + (VirtualPkg("__cuda", "10.2"),))
    text = solver.write_pixi(tmp_path / "pixi.lock", {"linux-64": sol}, {}, (PT, MAIN))
    (tmp_path / "pixi.lock").write_text("# header line\n" + text)
    back = solver.read_pixi(tmp_path / "pixi.lock")["linux-64"]
    assert [(p.name, p.version, p.build, p.sha256, p.md5, p.url) for p in back] == \
        [(p.name, p.version, p.build, p.sha256, p.md5, p.url) for p in sol]
