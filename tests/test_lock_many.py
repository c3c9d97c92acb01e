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


def test_a_package_several_cells_share_is_converted_once(fetcher, monkeypatch):
    """The cells of a matrix share most packages (noarch ones across platforms, the whole stack but torch across
    torch versions): each distinct record is turned into envgen's record once per run, and every cell still gets
    its own complete list (the files are checked against one-by-one above)."""
    from envgen.lock import gateway

    calls = []
    real = gateway.record_to_locked

    def counted(r, url=None, channel=None):  # type: ignore[no-untyped-def]
        calls.append(url)
        return real(r, url, channel)

    monkeypatch.setattr(gateway, "record_to_locked", counted)
    specs = [SPECS[n] for n in sorted(SPECS)]
    locked = engine.solve_many(specs, fetcher)
    cells = [packages for x in locked for packages in x.conda.values()]
    distinct = {p for packages in cells for p in packages}
    assert len(calls) == len(distinct) < sum(len(packages) for packages in cells)
    assert sorted(calls) == sorted(p.url for p in distinct)


def test_records_alike_but_for_their_metadata_are_not_taken_for_each_other():
    """A run can meet one file with two sets of metadata (a previous lock's record, written before a repodata
    patch changed its dependencies, beside the channel's record): each keeps its own."""
    from envgen.lock import gateway
    from envgen.lock.conda import locked_to_record
    from envgen.lock.records import LockedConda

    base = LockedConda(name="torchvision", version="0.9.1", build="py39_cu102", build_number=0, subdir="linux-64",
                       url=f"{PT}/linux-64/torchvision-0.9.1-py39_cu102.tar.bz2", channel=PT, md5="0" * 32,
                       sha256="1" * 64, depends=("pytorch 1.8.1", "numpy >=1.11"), size=10)
    patched = dataclasses.replace(base, depends=("pytorch 1.8.1", "numpy >=1.11,<2"))
    converted: dict[str, LockedConda] = {}
    first = gateway._canonical_records([locked_to_record(base)], str, converted)
    second = gateway._canonical_records([locked_to_record(patched)], str, converted)
    again = gateway._canonical_records([locked_to_record(base)], str, converted)
    assert (first, second, again) == ((base,), (patched,), (base,))
    assert len(converted) == 2
