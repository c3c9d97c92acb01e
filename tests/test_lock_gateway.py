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


def _layered_channel(root: Path) -> Path:
    """The benchmark's conda-forge-shaped torch stack (12 layers of native libraries in 6 versions each under
    pytorch; `benchmarks/bench_fetch.py`), its records only, as plain repodata.json files. On it py-rattler 0.28's
    two solve calls choose different (equally valid) environments for torch 2.1.2 on linux-64: `rattler.solve`
    over a Gateway and `solve_with_sparse_repodata` over the same files."""
    import json
    import random

    from benchmarks.bench_fetch import SUBDIRS, _stack

    rng = random.Random(16)
    for sub in SUBDIRS:
        folder = root / "bench" / sub
        folder.mkdir(parents=True)
        data = {"info": {"subdir": sub}, "packages": {}, "packages.conda": dict(sorted(_stack(sub, rng).items())),
                "repodata_version": 1}
        (folder / "repodata.json").write_text(json.dumps(data, separators=(",", ":")))
    return root


def test_the_same_repodata_gives_the_same_lock_whichever_way_it_was_fetched(tmp_path):
    """Where the gateway cannot fetch (.condarc proxy or TLS settings, credentials in a download URL), envgen's own
    fetcher downloads whole repodata.json files; they are solved by the same rattler call as the gateway's, so
    one member of a group behind a proxy re-locks what the others locked."""
    served = serve(_layered_channel(tmp_path / "srv"))
    try:
        spec = LockSpec(tuple(PlatformSpec(p, CondaPart(("pytorch==2.1.2", "python 3.11.*", "numpy"),
                                                        ("https://conda.anaconda.org/bench",), "strict", ()))
                              for p in ("linux-64", "win-64")), "envgen lock --test")
        mirrors = load_mirrors([f"https://conda.anaconda.org={served.url}"])
        through_gateway = engine.solve_all(spec, Fetcher(mirrors, root=tmp_path / "a"))
        whole_files = engine.solve_all(spec, Fetcher(mirrors, root=tmp_path / "b", gateway=False))
    finally:
        served.stop()
    assert "/linux-64/repodata.json" in " ".join(served.requests)  # the own fetcher's whole file
    assert engine.render_all(through_gateway) == engine.render_all(whole_files)
    assert len(through_gateway.conda["linux-64"]) > 300


def test_a_cached_repodata_file_damaged_since_it_was_fetched_is_named_by_its_channel(sharded, tmp_path):
    """The own fetcher checks a file when it downloads it; one changed in the cache since is refused when it is
    solved from: exit 3, the channel's own URL (never the folder the solve read it from), run online to refetch."""
    assert engine.solve_all(_spec(("linux-64",)), _fetcher(sharded, tmp_path, gateway=False)).conda["linux-64"]
    cached = [p for p in (tmp_path / "repodata").rglob("*.json") if '"linux-64"' in p.read_text()[:200]]
    assert cached, sorted(p.name for p in (tmp_path / "repodata").rglob("*"))
    for path in cached:
        path.write_text('{"info": {"subdir": "linux-64"}, "packages": {"x.tar.bz2": 42}}')
    with pytest.raises(OutsideFailure) as err:
        engine.solve_all(_spec(("linux-64",)), _fetcher(sharded, tmp_path, gateway=False, offline=True))
    assert err.value.message.startswith(f"cannot read the repodata of {PT}/linux-64: "), err.value.message
    assert "channel-0" not in err.value.message and str(tmp_path) not in err.value.message
    assert "run again online" in err.value.hint and err.value.exit_code == 3


@pytest.mark.parametrize("folder", ["my cache ü#%20", "relative"])
def test_files_solved_from_any_cache_folder_keep_their_channels_urls(sharded, tmp_path, monkeypatch, folder):
    """The folder of links is a `file://` URI of the cache folder: spaces, non-ASCII, `#` and `%` in its path (a
    Windows user name), or a relative ENVGEN_CACHE_DIR, must not leave a local URL in the lock."""
    monkeypatch.chdir(tmp_path)
    root = Path(folder) if folder == "relative" else tmp_path / folder
    locked = engine.solve_all(_spec(("linux-64",)), _fetcher(sharded, root, gateway=False))
    assert {p.channel for p in locked.conda["linux-64"]} == {PT, MAIN}
    assert all(p.url.startswith((PT + "/", MAIN + "/")) for p in locked.conda["linux-64"])
