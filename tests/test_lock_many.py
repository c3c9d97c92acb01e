"""Many cells at once: `solve_all` solves a spec's platforms together and `solve_many` several specs; the files are
byte-identical to solving each cell alone, one after the other, and a failure names the first failing cell."""

from __future__ import annotations

import dataclasses

import pytest

from envgen.errors import BadInput
from envgen.lock import engine
from envgen.lock.engine import Locked
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec, virtual_for
from tests.support.lockenv import mirror_pairs, server

PT, MAIN = "https://conda.anaconda.org/pytorch", "https://repo.anaconda.com/pkgs/main"


def _spec(platforms: tuple[str, ...], cuda: str | None = "10.2", torch: str = "1.8.1") -> LockSpec:
    specs = (f"pytorch=={torch}", "numpy<2", "python=3.9") + ((f"cudatoolkit={cuda}",) if cuda else ("cpuonly",))
    return LockSpec(tuple(PlatformSpec(p, CondaPart(specs, (PT, MAIN), "strict", virtual_for(p, cuda, {})))
                          for p in platforms), f"envgen lock --test {cuda}")


@pytest.fixture
def fetcher(tmp_path):
    return Fetcher(load_mirrors(mirror_pairs(server().url)), root=tmp_path / "cache")


def _one_by_one(spec: LockSpec, fetcher: Fetcher) -> dict[str, str]:
    """The reference: each platform solved alone, in order."""
    conda = {}
    for p in spec.platforms:
        conda[p.platform] = engine.solve_all(dataclasses.replace(spec, platforms=(p,)), fetcher).conda[p.platform]
    return engine.render_all(Locked(spec, conda))


SPECS = {
    "cuda-two-platforms": _spec(("linux-64", "win-64")),
    "cuda-reversed": _spec(("win-64", "linux-64")),
    "cpu-two-platforms": _spec(("linux-64", "win-64"), cuda=None),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_platforms_at_once_write_what_one_by_one_writes(fetcher, name):
    spec = SPECS[name]
    assert engine.render_all(engine.solve_all(spec, fetcher)) == _one_by_one(spec, fetcher)


def test_several_specs_at_once_write_what_each_alone_writes(fetcher):
    specs = [SPECS[n] for n in sorted(SPECS)]
    together = [engine.render_all(locked) for locked in engine.solve_many(specs, fetcher)]
    assert together == [_one_by_one(spec, fetcher) for spec in specs]


def test_own_fetcher_and_gateway_agree_on_several_specs(fetcher, tmp_path):
    specs = [SPECS[n] for n in sorted(SPECS)]
    own = Fetcher(fetcher.mirrors, root=tmp_path / "own", gateway=False)
    assert [engine.render_all(x) for x in engine.solve_many(specs, own)] == \
        [engine.render_all(x) for x in engine.solve_many(specs, fetcher)]


def test_the_first_failing_cell_in_order_is_reported(fetcher):
    broken = [_spec(("linux-64",)), _spec(("win-64", "linux-64"), torch="0.0.1")]
    for _ in range(3):  # whichever solve fails first in time
        with pytest.raises(BadInput) as err:
            engine.solve_many(broken, fetcher)
        assert err.value.message.startswith("no win-64 environment satisfies the request"), err.value.message
        assert "pytorch==0.0.1" in err.value.message
