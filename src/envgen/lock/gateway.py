"""Conda repodata through rattler's `Gateway`: every cell of a run solved at once on one event loop.

The gateway reads `.zst` repodata and CEP-16 shards, revalidates its HTTP cache and fetches each subdir once per run;
envgen's mirrors reach it as per-channel URL rewriting (`Sources.route`) and every URL it returns is mapped back to
the canonical one (`Sources.canonical`) before it reaches a record. The solving itself (specs, virtual packages,
priority, conversions to envgen's records) is `envgen.lock.conda`'s; with it, the only modules that import py-rattler.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from envgen.errors import EnvgenError, OutsideFailure
from envgen.lock.conda import (
    CondaSolve,
    channel_priority,
    cut_off,
    locked_to_record,
    match_specs,
    record_to_locked,
    run_coro,
    solver_failure,
    virtual_packages,
)
from envgen.lock.mirrors import Mirrors
from envgen.lock.records import LockedConda
from envgen.redact import redact

if TYPE_CHECKING:  # rattler itself is imported inside the functions, so importing envgen stays quick
    from rattler import RepoDataRecord


@dataclass(frozen=True, slots=True)
class Sources:
    """Where one run's solves read repodata: a rattler `Gateway` (`.zst`, CEP-16 shards, HTTP cache revalidation,
    each subdir fetched once per run) over the download URL of each canonical channel (`route`: the mirrors);
    `canonical` maps every URL the solver returns back to the channel's canonical URL for the lockfiles."""

    gateway: Any
    route: Callable[[str], str]
    canonical: Callable[[str], str]
    offline: bool = False
    local: bool = False  # files envgen's own fetcher put on disk (`local_sources`)
    # the run's records converted so far, by rattler's JSON of each (`_canonical_records`)
    converted: dict[str, LockedConda] = field(default_factory=dict, compare=False, repr=False)


def gateway_sources(cache_dir: Path, route: Callable[[str], str], canonical: Callable[[str], str],
                    offline: bool = False) -> Sources:
    """Sources for one run. `offline`: only what the cache holds (local `file://` channels are read as ever)."""
    from rattler import Gateway, SourceConfig
    from rattler.networking import AuthenticationMiddleware, Client

    config = SourceConfig(cache_action="force-cache-only" if offline else "cache-or-fetch")
    client = Client([AuthenticationMiddleware()])  # netrc and rattler's credential store, as requests reads netrc
    return Sources(Gateway(cache_dir=cache_dir, default_config=config, client=client), route, canonical, offline)


def local_sources(repodata: dict[tuple[str, str], Path], folder: Path) -> Sources:
    """Sources over whole repodata.json files already on disk, keyed by (canonical channel URL, subdir): what
    envgen's own fetcher downloads where the gateway cannot fetch (.condarc proxy or TLS settings, credentials in a
    download URL). Each channel becomes a `file://` channel in `folder` (links to the files; a subdir without a
    file is empty), read by a Gateway: both ways of fetching are solved by the same rattler call, so the same
    repodata gives the same lock (`rattler.solve_with_sparse_repodata` can choose another of equally good
    solutions). `folder` must outlive the solves."""
    import os
    import shutil

    from rattler import Gateway

    folder = folder.resolve()  # a file:// URI needs an absolute path
    channels = list(dict.fromkeys(url.rstrip("/") for url, _ in repodata))
    served = {url: (folder / f"channel-{k}").as_uri() for k, url in enumerate(channels)}
    for (url, sub), path in repodata.items():
        target = folder / f"channel-{channels.index(url.rstrip('/'))}" / sub / "repodata.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(os.path.abspath(path), target)  # a relative cache folder must not break the link
        except OSError:  # Windows without the symlink privilege
            try:
                os.link(path, target)
            except OSError:  # another volume
                shutil.copyfile(path, target)
    links = Mirrors().adding(tuple(served.items()))  # each channel "mirrored" onto its folder of links
    return Sources(Gateway(cache_dir=folder / "gateway"), links.apply, links.unapply, local=True)


def solve_gateway_each(jobs: Sequence[tuple[CondaSolve, tuple[LockedConda, ...]]], sources: Sources,
                       report: Callable[[str], None] | None = None) -> list[tuple[LockedConda, ...] | EnvgenError]:
    """Every (job, locked) at once on one event loop: rattler solves on its own threads without the GIL, and the
    gateway fetches each subdir once for all of them. In the jobs' order: the packages sorted by name, URLs
    canonical whatever mirror served them, or the job's failure (an `EnvgenError`, not raised), so what a caller
    reports does not depend on which solve finished first. `report` gets the lines of `_Progress`."""
    progress = _Progress.begin(jobs, sources, report)

    async def _ahead(group: list[int]) -> None:
        """The records of a group of jobs (the same specs, channels and platform), queried once as their solves
        query them, beside the solves: the gateway fetches each subdir or shard once for both, and the query only counts
        what came in and when. A failure is the solves' to report."""
        try:
            found = await _query(jobs[group[0]][0], sources)
        except Exception:  # noqa: BLE001 - each job's own solve meets the failure again and says what it is
            progress.arrived(group, None)
            return
        progress.arrived(group, found)

    async def _one(job: CondaSolve, locked: tuple[LockedConda, ...]) -> tuple[LockedConda, ...]:
        # converted as soon as it is solved, while the other solves go on on rattler's threads
        return _canonical_records(await _gateway_coro(job, sources, locked), sources.canonical, sources.converted)

    async def _all() -> list[tuple[LockedConda, ...] | BaseException]:
        solves = asyncio.gather(*(_one(job, locked) for job, locked in jobs), return_exceptions=True)  # started
        if report is not None:
            await asyncio.gather(*(_ahead(group) for group in progress.groups))
        return await solves

    out: list[tuple[LockedConda, ...] | EnvgenError] = []
    for (job, _), result in zip(jobs, run_coro(_all()), strict=True):
        try:
            out.append(_gateway_result(job, sources, result))
        except EnvgenError as exc:
            out.append(exc)
    return out


@dataclass
class _Progress:
    """What a run fetches, through `report`, one line per channel (its canonical URL) in the order the jobs name
    the channels, whichever fetch ends first: `fetching repodata: URL (linux-64, noarch)` (offline: `reading
    repodata from the cache: ...`) before anything is fetched, and `repodata: URL linux-64 N records, noarch M
    records in reach of the request (T s)` once every group of jobs that reads the channel has its records: those
    the solves read (every record of the names the request reaches through dependencies; where the channel has
    CEP-16 shards, only their shards are downloaded), T the time since the fetching began. The jobs that read the
    same specs from the same channels for the same platform form one group, queried once (`groups`: the jobs'
    indices; not one query for several specs: rattler's query returns only the records of a name that match a spec
    naming it, so the union of two jobs' specs can reach fewer records than the two jobs' solves read); a subdir that
    several groups read (noarch) is counted by file name. A channel whose query fails gets no second line (the
    error says why)."""

    report: Callable[[str], None] | None
    cells: list[dict[str, str]]  # per job: the served (routed) URL of each of its channels -> the canonical URL
    groups: list[list[int]]
    waiting: dict[str, int]  # canonical URL -> groups whose records are not in yet, in the order of the lines
    subdirs: dict[str, list[str]]
    shared: set[tuple[str, str]]  # (channel, subdir) read by several groups: told apart by file name
    seen: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # shared (channel, subdir) -> file names
    counted: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, subdir) of one group -> records
    done: dict[str, float] = field(default_factory=dict)  # channel -> seconds until its records were in
    failed: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.perf_counter)
    told: int = 0

    @classmethod
    def begin(cls, jobs: Sequence[tuple[CondaSolve, tuple[LockedConda, ...]]], sources: Sources,
              report: Callable[[str], None] | None) -> _Progress:
        cells = [{sources.route(c.rstrip("/")).rstrip("/"): c.rstrip("/") for c in job.channels} for job, _ in jobs]
        alike: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[int]] = {}
        for k, ((job, _), cell) in enumerate(zip(jobs, cells, strict=True)):
            alike.setdefault((job.platform, tuple(cell), job.specs), []).append(k)
        groups = list(alike.values())
        waiting: dict[str, int] = {}
        subdirs: dict[str, list[str]] = {}
        for (job, _), cell in zip(jobs, cells, strict=True):
            for channel in cell.values():
                waiting.setdefault(channel, 0)
                subs = subdirs.setdefault(channel, ["noarch"])
                if job.platform not in subs:
                    subs.insert(-1, job.platform)
        readers: dict[tuple[str, str], int] = {}
        for group in groups:
            for channel in cells[group[0]].values():
                waiting[channel] += 1
                for sub in (jobs[group[0]][0].platform, "noarch"):
                    readers[(channel, sub)] = readers.get((channel, sub), 0) + 1
        shared = {pair for pair, n in readers.items() if n > 1}
        if report is not None:
            doing = "reading repodata from the cache" if sources.offline else "fetching repodata"
            for channel, subs in subdirs.items():
                report(f"{doing}: {redact(channel)} ({', '.join(subs)})")
        return cls(report, cells, groups, waiting, subdirs, shared)

    def arrived(self, group: list[int], found: list[list[RepoDataRecord]] | None) -> None:
        """A group's records are in (None: its query failed); tell every channel whose turn has come."""
        if self.report is None:
            return
        cell = self.cells[group[0]]
        for records in found or ():  # one list per channel (and per CEP-42 related channel, not counted)
            channel = cell.get(str(records[0].channel or "").rstrip("/")) if records else None
            if channel is None:
                continue
            for sub, n in Counter(r.subdir for r in records).items():  # one subdir a list, as py-rattler 0.28 gives
                if (channel, sub) in self.shared:
                    self.seen.setdefault((channel, sub), set()).update(r.file_name for r in records
                                                                       if r.subdir == sub)
                else:
                    self.counted[(channel, sub)] = self.counted.get((channel, sub), 0) + n
        for channel in cell.values():
            self.waiting[channel] -= 1
            if found is None:
                self.failed.add(channel)
            if not self.waiting[channel]:
                self.done[channel] = time.perf_counter() - self.started
        order = list(self.waiting)
        while self.told < len(order) and not self.waiting[order[self.told]]:
            channel = order[self.told]
            self.told += 1
            if channel not in self.failed:
                counts = ", ".join(_records(sub, self._count(channel, sub)) for sub in self.subdirs[channel])
                self.report(f"repodata: {redact(channel)} {counts} in reach of the request "
                            f"({self.done[channel]:.1f} s)")

    def _count(self, channel: str, subdir: str) -> int:
        return len(self.seen.get((channel, subdir), ())) if (channel, subdir) in self.shared else \
            self.counted.get((channel, subdir), 0)


def _records(subdir: str, n: int) -> str:
    return f"{subdir} {n:,} record{'' if n == 1 else 's'}"


def _query(job: CondaSolve, sources: Sources) -> Coroutine[Any, Any, list[list[RepoDataRecord]]]:
    """The records `rattler.solve` queries before it solves (py-rattler's `py_solve`: the same sources, platforms
    and specs, recursively), once for every job of a group (the same specs, channels and platform). rattler converts
    every record it returns to a Python object: on a request that reaches 40,000 records, about 0.1 s of the CLI's
    time, the price of the counts."""
    from rattler import Channel, Subdir

    return cast("Coroutine[Any, Any, list[list[RepoDataRecord]]]", sources.gateway.query(
        [Channel(url + "/") for url in _channels(job, sources)], [Subdir(job.platform), Subdir("noarch")],
        match_specs(tuple(_routed(s, sources.route) for s in job.specs)), recursive=True))


def _gateway_coro(job: CondaSolve, sources: Sources,
                  locked: tuple[LockedConda, ...]) -> Coroutine[Any, Any, list[RepoDataRecord]]:
    import rattler
    from rattler import Channel, Subdir

    return rattler.solve(
        sources=[Channel(url + "/") for url in _channels(job, sources)], gateway=sources.gateway,
        specs=match_specs(tuple(_routed(s, sources.route) for s in job.specs)),
        platforms=[Subdir(job.platform), Subdir("noarch")],
        locked_packages=[locked_to_record(_moved(p, sources.route(p.url), sources.route(p.channel)))
                         for p in locked],
        virtual_packages=virtual_packages(job.virtual), channel_priority=channel_priority(job.priority),
        timeout=timedelta(seconds=job.timeout_s), exclude_newer=cut_off(job.exclude_newer),
        timestamp_policy="allow-missing")


def _channels(job: CondaSolve, sources: Sources) -> list[str]:
    return [sources.route(url.rstrip("/")) for url in job.channels]


def _canonical_records(records: list[RepoDataRecord], canonical: Callable[[str], str],
                       converted: dict[str, LockedConda]) -> tuple[LockedConda, ...]:
    """Sorted by name, with the canonical URL of each record's channel (mapped once per channel). A record met
    before in the run is converted once: the cells of a CI matrix (torch versions x platforms) share most of their
    packages, and converting costs about 11 us a record against under 2 us for its JSON, the key of `converted`
    (every field the conversion reads is in it, URL and channel included; two records with the same JSON are the
    same record, whichever cell or lock it came from)."""
    channels: dict[str, str] = {}
    out = []
    for r in records:
        key = r.to_json()
        found = converted.get(key)
        if found is None:
            served = str(r.channel or "").rstrip("/")
            if served not in channels:
                channels[served] = canonical(served).rstrip("/")
            url = str(r.url)
            url = channels[served] + url[len(served):] if served and url.startswith(served + "/") else canonical(url)
            found = converted[key] = record_to_locked(r, url, channels[served])
        out.append(found)
    return tuple(sorted(out, key=lambda p: p.name))


def _gateway_result(job: CondaSolve, sources: Sources,
                    result: tuple[LockedConda, ...] | BaseException) -> tuple[LockedConda, ...]:
    from rattler.exceptions import GatewayError, SolverError

    if isinstance(result, GatewayError):
        routed = _channels(job, sources)
        failed, text = _first_failure(job, sources, routed) or (f"{routed[0]}/{job.platform}", str(result))
        if sources.local:  # a file envgen's fetcher checked when it downloaded it, changed since
            detail = " ".join(_canonical_text(text, job, sources).split())[:400]
            raise OutsideFailure(f"cannot read the repodata of {sources.canonical(failed)}: {detail}",
                                 hint="the file is damaged; run again online to fetch it afresh") from None
        raise _unreachable(job, failed, text, sources.offline) from None
    if isinstance(result, SolverError):
        raise solver_failure(job, SolverError(_canonical_text(str(result), job, sources))) from None
    if isinstance(result, BaseException):
        raise result
    return result


def _canonical_text(text: str, job: CondaSolve, sources: Sources) -> str:
    """The solver's message with every channel as the user named it, not as the mirror that served it (rattler
    quotes a spec's channel as `numpy [channel="http://mirror/..."]`)."""
    pairs = sorted(((sources.route(c.rstrip("/")).rstrip("/"), c.rstrip("/")) for c in job.channels),
                   key=lambda pair: -len(pair[0]))
    for served, canonical in pairs:
        if served != canonical:
            text = text.replace(served, canonical)
    return text


def _routed(spec: str, route: Callable[[str], str]) -> str:
    """A `channel-URL::name` spec asks for the channel where its records come from (the mirror)."""
    channel, sep, rest = spec.rpartition("::")
    return route(channel.rstrip("/")) + sep + rest if sep and "://" in channel else spec


def _moved(p: LockedConda, url: str, channel: str) -> LockedConda:
    import dataclasses

    return dataclasses.replace(p, url=url, channel=channel.rstrip("/"))


def _first_failure(job: CondaSolve, sources: Sources, routed: list[str]) -> tuple[str, str] | None:
    """The first subdir, channels in priority order, whose repodata the gateway cannot get, and its error: the
    gateway fetches them at once and reports whichever failed first in time; the message should not depend on that."""
    from rattler import Channel, Subdir
    from rattler.exceptions import GatewayError

    specs = match_specs(tuple(_routed(s, sources.route) for s in job.specs))
    for url in routed:
        for sub in (job.platform, "noarch"):
            try:
                run_coro(sources.gateway.query([Channel(url + "/")], [Subdir(sub)], specs, recursive=False))
            except GatewayError as exc:
                return f"{url}/{sub}", str(exc)
    return None


def _unreachable(job: CondaSolve, source: str, text: str, offline: bool) -> OutsideFailure:
    """The gateway's failure as exit 3, naming the repodata file it could not get (without credentials)."""
    from envgen.lock.fetch import NETWORK_HINT
    from envgen.redact import redact

    where = redact(f"{source}/repodata.json")
    detail = redact(" ".join(text.split()))[:400]
    if offline and "cache" in text:
        return OutsideFailure(f"{where} is not in the cache and --offline was given ({detail})",
                              hint="run once without --offline (or with a mirror) to fill the cache")
    return OutsideFailure(f"cannot fetch {where}: {detail}", hint=NETWORK_HINT)
