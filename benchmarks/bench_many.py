"""Benchmark many locks at once: 20 conda cells (5 torch versions x 4 platforms) one after another vs all at once.

The channel is bench_fetch.py's (conda-forge-shaped, `.zst` and CEP-16 shards; its torch stack sits on 12 layers of
native libraries so each solve has real work), served on 127.0.0.1. Both ways go through `engine.solve_many` with
one gateway whose disk cache is already warm (a fresh gateway per run, so each run reads the cache again):
`at_once=False` solves the cells one after another (what envgen did before), `at_once=True` gathers them on one
event loop (rattler solves on its own threads, without the GIL). Runs alternate; printed: the best of each with
its CPU time, the speed-up (best against best, and the median of the rounds' ratios; goal >= 1.7x on 2 cores) and
whether the rendered files are identical. Beside it, the reference measured in the same rounds: raw py-rattler
(`rattler.solve` over a fresh Gateway on the same warm cache, nothing of envgen) solving the same 20 cells one
after another and all at once, the speed-up rattler itself gets from the cores on this machine.

    python benchmarks/bench_many.py [--records 60000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _specs() -> list:  # type: ignore[type-arg]
    from benchmarks.bench_fetch import CANONICAL, PLATFORMS, SPECS, TORCH_VERSIONS
    from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec

    return [LockSpec(tuple(PlatformSpec(p, CondaPart(tuple(s.format(torch=t) for s in SPECS), (CANONICAL,), "strict",
                                                     ())) for p in PLATFORMS), f"bench {t}")
            for t in TORCH_VERSIONS]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(base: str, cache: Path, at_once: bool) -> tuple[float, float, list[dict[str, str]]]:
    from envgen.lock import engine
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors

    fetcher = Fetcher(load_mirrors([f"https://conda.anaconda.org={base}"]), root=cache)
    specs = _specs()
    cpu, start = _cpu(), time.perf_counter()
    locked = engine.solve_many(specs, fetcher, timeout_s=300, at_once=at_once)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    return wall, cpu, [engine.render_all(x) for x in locked]


def raw(base: str, cache: Path, at_once: bool) -> float:
    """The same 20 cells through rattler alone: one Gateway over envgen's warm gateway cache, the mirror's URL."""
    import asyncio

    import rattler
    from rattler import Channel, Gateway, MatchSpec, Subdir

    from benchmarks.bench_fetch import PLATFORMS, SPECS, TORCH_VERSIONS

    gateway = Gateway(cache_dir=cache / "gateway")
    channel = Channel(f"{base}/bench/")
    cells = [([MatchSpec(s.format(torch=t)) for s in SPECS], [Subdir(p), Subdir("noarch")])
             for t in TORCH_VERSIONS for p in PLATFORMS]

    async def solve(specs: list, platforms: list) -> list:  # type: ignore[type-arg]
        return await rattler.solve(sources=[channel], specs=specs, gateway=gateway, platforms=platforms)

    async def cells_at_once() -> list:  # type: ignore[type-arg]
        return await asyncio.gather(*(solve(*cell) for cell in cells))

    async def one_after_another() -> list:  # type: ignore[type-arg]
        return [await solve(*cell) for cell in cells]

    start = time.perf_counter()
    asyncio.run(cells_at_once() if at_once else one_after_another())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["ENVGEN_MIRROR_FILE"] = os.devnull
    import rattler  # noqa: F401 - imported before any clock starts

    from benchmarks.bench_fetch import Server, build_channel

    with tempfile.TemporaryDirectory(prefix="envgen-bench-many-") as tmp:
        work = Path(tmp)
        counts = build_channel(work / "srv", args.records)
        server = Server(work / "srv", 1000.0)
        first = run(server.url, work / "cache", at_once=True)  # fills the gateway's disk cache
        print(f"channel: {sum(counts.values())} records; 20 cells (5 torch versions x 4 platforms); "
              f"cold fetch + solve at once: {first[0]:.2f} s; {os.cpu_count()} CPUs")
        serial, parallel, raw_serial, raw_parallel = [], [], [], []
        for _ in range(args.rounds):  # taking turns, so load from elsewhere on the machine hits all alike
            serial.append(run(server.url, work / "cache", at_once=False))
            parallel.append(run(server.url, work / "cache", at_once=True))
            raw_serial.append(raw(server.url, work / "cache", at_once=False))
            raw_parallel.append(raw(server.url, work / "cache", at_once=True))
        s, p = min(serial, key=lambda r: r[0]), min(parallel, key=lambda r: r[0])
        print(f"one after another: {s[0]:.3f} s wall, {s[1]:.3f} s CPU (best of {args.rounds})")
        print(f"all at once:       {p[0]:.3f} s wall, {p[1]:.3f} s CPU (best of {args.rounds})")
        paired = sorted(a[0] / b[0] for a, b in zip(serial, parallel, strict=True))
        print(f"speed-up {s[0] / p[0]:.2f}x best against best, {paired[len(paired) // 2]:.2f}x median of the rounds "
              f"(goal >= 1.7x on 2 cores; other load on the cores lowers it); files identical: "
              f"{all(x[2] == serial[0][2] for x in serial + parallel)}")
        rs, rp = min(raw_serial), min(raw_parallel)
        raw_paired = sorted(a / b for a, b in zip(raw_serial, raw_parallel, strict=True))
        print(f"reference, raw py-rattler on the same cells: one after another {rs:.3f} s, all at once {rp:.3f} s "
              f"(best of {args.rounds}): speed-up {rs / rp:.2f}x best against best, "
              f"{raw_paired[len(raw_paired) // 2]:.2f}x median; envgen all at once {p[0] / rp:.2f}x raw all at once, "
              f"one after another {s[0] / rs:.2f}x raw one after another")
        server.httpd.shutdown()


if __name__ == "__main__":
    main()
