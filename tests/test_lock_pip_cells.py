"""The pip cells of a set of locks resolved at once (`envgen.lock.pipcells`: a uv process per cell, several at a time):
the files, the report lines and the error raised are those of resolving one cell after another."""

from __future__ import annotations

import pytest

from envgen.errors import BadInput
from envgen.lock import engine
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import LockSpec, PipPart, PlatformSpec
from tests.support.cli import run_process
from tests.support.lockenv import mirror_pairs

PYPI, STABLE = "https://pypi.org/simple", "https://download.pytorch.org/whl/torch_stable.html"


def _pip(*requirements: str, python: str = "3.9") -> PipPart:
    return PipPart(requirements, python, PYPI, (), (STABLE,))


def _spec(name: str, cells: dict[str, PipPart]) -> LockSpec:
    return LockSpec(tuple(PlatformSpec(plat, pip=pip) for plat, pip in cells.items()), f"envgen lock --test {name}")


CUDA = _spec("cu102", {"linux-64": _pip("torch==1.8.1+cu102", "torchvision==0.9.1+cu102", "numpy<2"),
                       "win-64": _pip("torch==1.8.1+cu102", "torchvision==0.9.1+cu102", "numpy<2"),
                       "osx-arm64": _pip("torch==2.5.1", "numpy<2")})
CPU = _spec("cpu", {"win-64": _pip("torch==1.8.1+cpu", "numpy<2"), "linux-64": _pip("torch==1.8.1+cpu")})


@pytest.fixture
def fetcher(served, tmp_path):
    return Fetcher(load_mirrors(mirror_pairs(served.url)), root=tmp_path / "cache")


def _solve(specs: list[LockSpec], fetcher: Fetcher, at_once: bool) -> tuple[list[dict[str, str]], list[str]]:
    lines: list[str] = []
    locked = engine.solve_many(specs, fetcher, report=lines.append, at_once=at_once)
    return [engine.render_all(x) for x in locked], lines


def test_a_multi_platform_pip_lock_at_once_writes_what_one_after_another_writes(fetcher):
    together, lines = _solve([CUDA], fetcher, at_once=True)
    assert (together, lines) == _solve([CUDA], fetcher, at_once=False)
    assert lines == ["resolving linux-64 (pip, Python 3.9)", "resolving win-64 (pip, Python 3.9)",
                     "resolving osx-arm64 (pip, Python 3.9)"]
    assert sorted(together[0]) == engine.expected_files(CUDA)
    assert "torch==1.8.1+cu102 " in together[0]["requirements-win-64.txt"]
    assert "macosx_11_0_arm64.whl" in together[0]["pylock.osx-arm64.toml"]


def test_several_specs_at_once_write_what_each_alone_writes(fetcher):
    together, lines = _solve([CUDA, CPU], fetcher, at_once=True)
    assert (together, lines) == _solve([CUDA, CPU], fetcher, at_once=False)
    assert together == [engine.render_all(engine.solve_all(spec, fetcher)) for spec in (CUDA, CPU)]
    assert [line.split()[1] for line in lines] == ["linux-64", "win-64", "osx-arm64", "win-64", "linux-64"]


def test_the_first_failing_cell_in_order_is_reported(fetcher):
    broken = [CPU, _spec("bad", {"linux-64": _pip("torch==1.8.1+cpu"), "win-64": _pip("torch==0.0.1"),
                                 "osx-64": _pip("numpy==0.0.2")})]
    for at_once in (True, True, True, False):  # whichever uv process fails first in time
        with pytest.raises(BadInput) as err:
            engine.solve_many(broken, fetcher, at_once=at_once)
        assert err.value.message.startswith("no win-64 pip environment (Python 3.9) satisfies the request"), \
            err.value.message
        assert "torch==0.0.1" in err.value.message and "pip section: torch==0.0.1" in err.value.message


def test_a_failing_resolve_comes_before_a_later_cell_that_cannot_start(fetcher):
    """The second spec's cell has no Python (no pip Python, no conda side): it is never resolved, and the first
    spec's failing resolve, earlier in order, is the error."""
    broken = [_spec("bad", {"linux-64": _pip("torch==0.0.1")}), _spec("nopython", {"win-64": _pip("numpy<2", python="")})]
    for at_once in (True, False):
        with pytest.raises(BadInput) as err:
            engine.solve_many(broken, fetcher, at_once=at_once)
        assert err.value.message.startswith("no linux-64 pip environment"), err.value.message
    with pytest.raises(BadInput) as err:
        engine.solve_many(broken[1:], fetcher)
    assert "the win-64 pip packages need a Python" in err.value.message


def test_a_pip_lock_of_several_platforms_as_a_program(served, tmp_path):
    """A fresh interpreter, as users run it: the uv processes start from several threads at once (on Python 3.11 the
    first read of `sysconfig`, which finds uv, is not thread-safe: `pip._uv_bin` reads it before the threads)."""
    res = run_process("lock", "--torch", "1.8.1", "--cuda", "10.2", "--installer", "pip", "--platform", "linux-64",
                      "--platform", "win-64", "-o", str(tmp_path / "out"))
    assert res.code == 0, res.err
    assert [line for line in res.err.splitlines() if line.startswith("resolving ")] == [
        "resolving linux-64 (pip, Python 3.9)", "resolving win-64 (pip, Python 3.9)"]
    assert (tmp_path / "out" / "pylock.win-64.toml").is_file() and (tmp_path / "out" / "requirements-linux-64.txt").is_file()
