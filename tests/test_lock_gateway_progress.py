"""What `envgen lock` says on stderr while rattler's gateway fetches repodata: a line per channel (its canonical URL)
when the fetching starts and one when its records are in, in the channels' order whichever fetch ends first; the
cache named when `--offline` reads it; `--json` untouched; the counts are the records the solves read, each once;
and the query that counts them, run beside the solves, makes the gateway fetch nothing more than the solve alone."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from envgen.lock import engine, gateway
from envgen.lock.conda import CondaSolve, virtual_packages
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec, virtual_for
from tests.support.cli import run
from tests.support.lockenv import mirror_pairs, sharded_world
from tests.support.server import Served, serve

PT, MAIN = "https://conda.anaconda.org/pytorch", "https://repo.anaconda.com/pkgs/main"
TWO = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--platform", "win-64", "--installer", "conda"]
DONE = re.compile(r"^repodata: (\S+) (linux-64 [\d,]+ records?, )?(win-64 [\d,]+ records?, )?noarch [\d,]+ records? "
                  r"in reach of the request \(\d+\.\d s\)$")


def _lines(err: str, prefix: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(prefix)]


def _done(err: str) -> list[str]:
    """The channels of the `repodata: ...` lines, in order (each line checked against its format)."""
    lines = _lines(err, "repodata: ")
    assert all(DONE.match(line) for line in lines), lines
    return [line.split()[1] for line in lines]


def test_each_channel_says_when_its_fetch_starts_and_when_its_records_are_in(capsys, served, tmp_path):
    res = run(capsys, "lock", *TWO, "-o", str(tmp_path / "out"))
    assert res.code == 0, res.err
    assert _lines(res.err, "fetching repodata: ") == [f"fetching repodata: {PT} (linux-64, win-64, noarch)",
                                                      f"fetching repodata: {MAIN} (linux-64, win-64, noarch)"]
    assert _done(res.err) == [PT, MAIN]
    assert re.search(rf"^repodata: {re.escape(PT)} linux-64 [1-9]\d* records, win-64 [1-9]", res.err, re.M), res.err
    lines = res.err.splitlines()
    assert lines.index(f"fetching repodata: {MAIN} (linux-64, win-64, noarch)") < \
        next(i for i, line in enumerate(lines) if line.startswith("repodata: "))  # every start before any end
    assert "127.0.0.1" not in res.err  # the mirror that served it is not named


def test_the_lines_keep_the_channels_order_whichever_fetch_ends_first(served, tmp_path):
    """pytorch's linux-64 repodata comes slowly: main's records are in first, and pytorch's line still comes first."""
    served.faults["/conda/pytorch/linux-64/repodata.json"] = "slow"
    mirrors = load_mirrors(mirror_pairs(served.url))
    sources = gateway.gateway_sources(tmp_path, mirrors.apply, mirrors.unapply)
    jobs = [(CondaSolve("linux-64", ("pytorch-mutex",), (PT,), "strict", virtual_for("linux-64", None, {})), ()),
            (CondaSolve("linux-64", ("python=3.9",), (MAIN,), "strict", virtual_for("linux-64", None, {})), ())]
    lines: list[str] = []
    results = gateway.solve_gateway_each(jobs, sources, lines.append)
    assert "/conda/pytorch/linux-64/repodata.json" in served.requests
    assert [not isinstance(r, Exception) for r in results] == [True, True], results
    assert _done("\n".join(lines)) == [PT, MAIN]
    seconds = [float(re.search(r"\((\d+\.\d) s\)$", line).group(1)) for line in _lines("\n".join(lines), "repodata:")]
    assert seconds[0] >= seconds[1]  # pytorch's records came last, and its line says so


def test_several_specs_name_each_channel_once_with_every_subdir(served, tmp_path):
    def spec(platforms: tuple[str, ...], cuda: str | None) -> LockSpec:
        specs = ("pytorch==1.8.1", "numpy<2", "python=3.9") + ((f"cudatoolkit={cuda}",) if cuda else ("cpuonly",))
        return LockSpec(tuple(PlatformSpec(p, CondaPart(specs, (PT, MAIN), "strict", virtual_for(p, cuda, {})))
                              for p in platforms), "envgen lock --test")

    lines: list[str] = []
    fetcher = Fetcher(load_mirrors(mirror_pairs(served.url)), root=tmp_path)
    engine.solve_many([spec(("linux-64",), "10.2"), spec(("win-64", "linux-64"), None)], fetcher, report=lines.append)
    assert _lines("\n".join(lines), "fetching repodata: ") == [f"fetching repodata: {PT} (linux-64, win-64, noarch)",
                                                               f"fetching repodata: {MAIN} (linux-64, win-64, noarch)"]
    assert _done("\n".join(lines)) == [PT, MAIN]


def test_json_output_is_unaffected(capsys, served, tmp_path):
    res = run(capsys, "lock", *TWO, "-o", str(tmp_path / "out"), "--json")
    assert res.code == 0, res.err
    json.loads(res.out)  # stdout is the document alone
    assert "repodata" not in res.out
    assert _done(res.err) == [PT, MAIN]


def test_offline_with_a_warm_cache_says_it_reads_the_cache(capsys, served, tmp_path):
    assert run(capsys, "lock", *TWO, "-o", str(tmp_path / "a")).code == 0
    served.requests.clear()
    res = run(capsys, "lock", *TWO, "-o", str(tmp_path / "b"), "--offline")
    assert res.code == 0, res.err
    assert served.requests == []
    assert _lines(res.err, "reading repodata from the cache: ") == [
        f"reading repodata from the cache: {PT} (linux-64, win-64, noarch)",
        f"reading repodata from the cache: {MAIN} (linux-64, win-64, noarch)"]
    assert not _lines(res.err, "fetching repodata")
    assert _done(res.err) == [PT, MAIN]


def test_a_failed_fetch_has_its_start_line_and_the_error_but_no_records_line(capsys, served, tmp_path):
    served.faults["/conda/pytorch/linux-64/repodata.json"] = "corrupt"
    res = run(capsys, "lock", *TWO, "-o", str(tmp_path / "out"))
    assert res.code == 3, res.err
    assert len(_lines(res.err, "fetching repodata: ")) == 2
    assert _done(res.err) == []
    assert "error: cannot fetch " in res.err and "/conda/pytorch/linux-64/repodata.json" in res.err


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Served:
    served = serve(sharded_world(tmp_path_factory.mktemp("sharded")))
    yield served
    served.stop()


def test_the_counting_query_fetches_nothing_the_solve_alone_would_not(sharded, tmp_path):
    """With CEP-16 shards the gateway downloads only the shards of the names it is asked for: the engine (the solve
    and the query that counts its records, side by side) asks the server for exactly what rattler.solve alone asks
    for, each file once."""
    import asyncio

    import rattler
    from rattler import Channel, Gateway, MatchSpec, Subdir

    specs = ("pytorch==1.8.1", "cudatoolkit=10.2", "numpy<2", "python=3.9")
    sharded.requests.clear()
    lock = LockSpec((PlatformSpec("linux-64", CondaPart(specs, (PT, MAIN), "strict",
                                                        virtual_for("linux-64", "10.2", {}))),), "envgen lock --test")
    engine.solve_all(lock, Fetcher(load_mirrors(mirror_pairs(sharded.url)), root=tmp_path / "engine"),
                     report=lambda _: None)
    through_engine = sorted(sharded.requests)
    sharded.requests.clear()
    channels = [Channel(f"{sharded.url}/conda/pytorch/"), Channel(f"{sharded.url}/conda/pkgs-main/")]
    asyncio.run(rattler.solve(sources=channels, specs=[MatchSpec(s) for s in specs],
                              gateway=Gateway(cache_dir=tmp_path / "raw"), platforms=[Subdir("linux-64"), Subdir("noarch")],
                              virtual_packages=virtual_packages(virtual_for("linux-64", "10.2", {})),
                              timeout=timedelta(seconds=60)))
    assert any("/shards/" in r for r in through_engine), through_engine
    assert through_engine == sorted(sharded.requests)


def _reach(served: Served, tmp_path, jobs: list[CondaSolve]) -> dict[tuple[str, str], int]:
    """(canonical channel, subdir) -> distinct records that rattler's gateway returns for each job queried on its own
    (its platform and noarch, its specs, recursively), all jobs together: what the solves read."""
    import asyncio

    from rattler import Channel, Gateway, MatchSpec, Subdir

    mirrors = load_mirrors(mirror_pairs(served.url))
    gw = Gateway(cache_dir=tmp_path / "reach")
    names: dict[tuple[str, str], set[str]] = {}
    for job in jobs:
        found = asyncio.run(gw.query([Channel(mirrors.apply(c) + "/") for c in job.channels],
                                     [Subdir(job.platform), Subdir("noarch")], [MatchSpec(s) for s in job.specs]))
        for records in found:
            for r in records:
                names.setdefault((mirrors.unapply(str(r.channel).rstrip("/")), r.subdir), set()).add(r.file_name)
    return {key: len(v) for key, v in names.items()}


def _told(lines: list[str]) -> dict[tuple[str, str], int]:
    out = {}
    for line in _lines("\n".join(lines), "repodata: "):
        channel, rest = line.split()[1], line.split(" ", 2)[2]
        for sub, n in re.findall(r"(\S+) ([\d,]+) records?", rest):
            out[(channel, sub)] = int(n.replace(",", ""))
    return out


def test_the_counts_are_the_records_each_solve_reads_counted_once(served, tmp_path):
    """Four jobs: two on linux-64 and one on win-64 read pytorch and main, one on linux-64 reads main alone (noarch, and
    main's and pytorch's linux-64, are read by several jobs and told apart by file name). Each count is the number
    of distinct records the jobs' own queries return. One query for both linux-64 jobs of pytorch and main would
    miss main's cudatoolkit 11.1 and numpy 2.0.1: a spec naming a package (`cudatoolkit=10.2`, `numpy<2`) filters
    the records rattler's query returns for it, even where another job's solve reaches them."""
    def job(platform: str, specs: tuple[str, ...], channels: tuple[str, ...]) -> CondaSolve:
        return CondaSolve(platform, specs, channels, "strict", virtual_for(platform, "10.2", {}))

    jobs = [job("linux-64", ("pytorch==1.8.1", "cudatoolkit=10.2", "python=3.9"), (PT, MAIN)),
            job("win-64", ("pytorch==1.8.1", "cudatoolkit=10.2", "python=3.9"), (PT, MAIN)),
            job("linux-64", ("zlib", "python=3.10"), (MAIN,)),
            job("linux-64", ("pytorch==1.8.1", "cpuonly", "numpy<2", "python=3.9"), (PT, MAIN))]
    mirrors = load_mirrors(mirror_pairs(served.url))
    lines: list[str] = []
    results = gateway.solve_gateway_each([(j, ()) for j in jobs], gateway.gateway_sources(
        tmp_path / "gw", mirrors.apply, mirrors.unapply), lines.append)
    assert not any(isinstance(r, Exception) for r in results), results
    told, expected = _told(lines), _reach(served, tmp_path, jobs)
    assert told == {key: expected.get(key, 0) for key in told}
    assert set(told) == {(PT, "linux-64"), (PT, "win-64"), (PT, "noarch"), (MAIN, "linux-64"), (MAIN, "win-64"),
                         (MAIN, "noarch")}
    assert told[(MAIN, "linux-64")] > 0 and told[(PT, "win-64")] > 0
