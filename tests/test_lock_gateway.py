"""Conda repodata through rattler's gateway: `.zst` and CEP-16 shards from a channel indexed with them, the same
lockfiles as envgen's own fetcher of whole repodata.json files, `--offline` from the gateway's cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.errors import OutsideFailure
from envgen.lock import engine
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec, virtual_for
from tests.support.lockenv import mirror_pairs, sharded_world
from tests.support.server import Served, serve

PT, MAIN = "https://conda.anaconda.org/pytorch", "https://repo.anaconda.com/pkgs/main"


def _spec(platforms: tuple[str, ...] = ("linux-64", "win-64")) -> LockSpec:
    return LockSpec(tuple(PlatformSpec(p, CondaPart(("pytorch==1.8.1", "cudatoolkit=10.2", "numpy<2", "python=3.9"),
                                                    (PT, MAIN), "strict", virtual_for(p, "10.2", {})))
                          for p in platforms), "envgen lock --test")


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """The test channels re-indexed by rattler's indexer with repodata.json.zst and shards, served on 127.0.0.1."""
    root = sharded_world(tmp_path_factory.mktemp("sharded"))
    assert list((root / "conda" / "pytorch" / "linux-64" / "shards").iterdir())
    served = serve(root)
    yield served
    served.stop()


def _fetcher(srv: Served, root: Path, **kw: object) -> Fetcher:
    return Fetcher(load_mirrors(mirror_pairs(srv.url)), root=root, **kw)  # type: ignore[arg-type]


def test_the_gateway_fetches_shards_and_locks_what_the_own_fetcher_locks(sharded, tmp_path):
    sharded.requests.clear()
    through_gateway = engine.render_all(engine.solve_all(_spec(), _fetcher(sharded, tmp_path / "a")))
    asked = list(sharded.requests)
    sharded.requests.clear()
    whole = engine.render_all(engine.solve_all(_spec(), _fetcher(sharded, tmp_path / "b", gateway=False)))
    assert through_gateway == whole
    assert any(r.endswith("/linux-64/repodata_shards.msgpack.zst") for r in asked), asked
    assert any("/shards/" in r for r in asked), asked
    assert not any(r.endswith("/repodata.json") for r in asked), asked  # no whole file where shards exist
    assert any(r.endswith("/repodata.json") for r in sharded.requests)
    assert "127.0.0.1" not in "".join(through_gateway.values())


def test_offline_reads_the_gateway_cache_and_nothing_else(sharded, tmp_path):
    online = engine.render_all(engine.solve_all(_spec(), _fetcher(sharded, tmp_path / "c")))
    sharded.requests.clear()
    offline = engine.render_all(engine.solve_all(_spec(), _fetcher(sharded, tmp_path / "c", offline=True)))
    assert offline == online and sharded.requests == []
    with pytest.raises(OutsideFailure) as err:
        engine.solve_all(_spec(("linux-64",)), _fetcher(sharded, tmp_path / "empty", offline=True))
    assert "--offline" in err.value.message and "/conda/pytorch/linux-64/repodata.json" in err.value.message
    assert sharded.requests == []


def test_a_solver_error_names_the_channel_as_the_request_did_not_the_mirror(sharded, tmp_path):
    """rattler quotes a spec's channel as the URL that served it (`numpy [channel="http://127.0.0.1:.../"]`): the
    message says the channel the request named."""
    from envgen.errors import BadInput

    spec = LockSpec((PlatformSpec("linux-64", CondaPart((f"{PT}::numpy",), (PT, MAIN), "strict",
                                                        virtual_for("linux-64", None, {}))),), "envgen lock --test")
    with pytest.raises(BadInput) as err:
        engine.solve_all(spec, _fetcher(sharded, tmp_path))
    assert f'numpy [channel="{PT}/"]' in err.value.message, err.value.message
    assert "127.0.0.1" not in err.value.message and "127.0.0.1" not in str(err.value.context)
