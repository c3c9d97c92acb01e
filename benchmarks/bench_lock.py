"""Benchmark `envgen lock` against raw py-rattler on a synthetic ~50,000-record channel.

Prints, in one run: the channel size; raw py-rattler solve time for 4 platforms (rattler.solve with a Gateway on
the local folder, and solve_with_sparse_repodata on the repodata files); `envgen lock` time for the same request
(in-process engine: fetch over HTTP from 127.0.0.1 + solve + render + atomic writes), cold cache and warm cache;
their ratio (goal: warm <= 1.2x raw); the `envgen lock` CLI warm, into an empty folder and over the previous lock,
beside the engine in-process (without and with the progress lines the CLI shows: their records are counted) and
the engine as a program of its own (interpreter start, imports, the first solve of a fresh process) (goal: CLI <=
1.15x the engine); and peak memory (max RSS): this process, and one more (untimed) run each of the CLI and of the
engine as a program, through a small launcher so that each figure is that process's own.

    python benchmarks/bench_lock.py [--records 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PLATFORMS = ("linux-64", "win-64", "osx-arm64", "osx-64")
LAYERS = 12  # dependency depth


def _record(name: str, version: str, build: str, sub: str, depends: list[str], rng: random.Random) -> dict:
    return {"name": name, "version": version, "build": build, "build_number": 0, "depends": depends,
            "subdir": sub, "md5": f"{rng.getrandbits(128):032x}", "sha256": f"{rng.getrandbits(256):064x}",
            "size": 1000 + rng.randrange(100000), "timestamp": 1_600_000_000_000 + rng.randrange(10**9)}


def build_channel(root: Path, records: int, seed: int = 7) -> int:
    """One channel, 5 subdirs; layer k packages depend on 2-4 packages of lower layers with version ranges."""
    rng = random.Random(seed)
    per_name = 6  # versions of each package per subdir
    names_per_layer = max(1, records // (per_name * (len(PLATFORMS) + 1) * LAYERS))
    layers = [[f"pkg{layer:02d}-{i:04d}" for i in range(names_per_layer)] for layer in range(LAYERS)]
    total = 0
    for sub in PLATFORMS + ("noarch",):
        packages = {}
        for layer, names in enumerate(layers):
            for name in names:
                for v in range(per_name):
                    deps = []
                    if layer:
                        for dep in rng.sample(layers[rng.randrange(layer)], k=min(3, names_per_layer)):
                            lo = rng.randrange(per_name - 2)
                            deps.append(f"{dep} >={lo}.0,<{lo + 3}.0a0")
                    if sub != "noarch":
                        deps.append("python >=3.9,<3.13.0a0")
                    fn = f"{name}-{v}.0-h{v}_0.tar.bz2"
                    packages[fn] = _record(name, f"{v}.0", f"h{v}_0", sub, deps, rng)
        if sub != "noarch":
            for minor in (9, 10, 11, 12):
                packages[f"python-3.{minor}.0-h0_0.tar.bz2"] = _record("python", f"3.{minor}.0", "h0_0", sub, [], rng)
            top = [f"{n} >=2.0" for n in layers[-1][:8]]
            packages["torchlike-2.5.1-h0_0.tar.bz2"] = _record("torchlike", "2.5.1", "h0_0", sub,
                                                                 top + ["python >=3.12,<3.13.0a0"], rng)
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub / "repodata.json").write_text(json.dumps({"info": {"subdir": sub}, "packages": packages,
                                                              "packages.conda": {}, "repodata_version": 1}))
        total += len(packages)
    return total


SPECS = ("torchlike==2.5.1", "python=3.12", "pkg05-0001", "pkg08-0002 >=1")


def raw_gateway(channel_dir: Path, cache: Path) -> float:
    import rattler
    from rattler import Channel, Gateway, MatchSpec

    gateway = Gateway(cache_dir=cache)
    channel = Channel(channel_dir.as_uri())
    start = time.perf_counter()
    for plat in PLATFORMS:
        asyncio.run(rattler.solve(sources=[channel], specs=[MatchSpec(s) for s in SPECS], gateway=gateway,
                                  platforms=[plat, "noarch"], timeout=timedelta(seconds=300)))
    return time.perf_counter() - start


def raw_sparse(channel_dir: Path) -> float:
    import rattler
    from rattler import Channel, MatchSpec, SparseRepoData

    channel = Channel("https://conda.anaconda.org/bench/")
    start = time.perf_counter()
    for plat in PLATFORMS:
        sources = [SparseRepoData(channel, sub, str(channel_dir / sub / "repodata.json")) for sub in (plat, "noarch")]
        asyncio.run(rattler.solve_with_sparse_repodata([MatchSpec(s) for s in SPECS], sources,
                                                       timeout=timedelta(seconds=300)))
    return time.perf_counter() - start


def envgen_lock(base_url: str, cache: Path, out: Path, progress: bool = False) -> float:
    """The engine in this process; `progress`: with the progress lines the CLI shows (their records counted)."""
    from envgen.lock import engine as lockfile
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors
    from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec

    spec = LockSpec(tuple(PlatformSpec(p, CondaPart(SPECS, ("https://conda.anaconda.org/bench",), "strict", ()))
                          for p in PLATFORMS), "bench")
    fetcher = Fetcher(load_mirrors([f"https://conda.anaconda.org={base_url}"]), root=cache)
    start = time.perf_counter()
    lockfile.write_all(lockfile.render_all(lockfile.solve_all(spec, fetcher, timeout_s=300,
                                                              report=(lambda _: None) if progress else None)), out)
    return time.perf_counter() - start


def cli_env(base_url: str, cache: Path, pycache: Path) -> dict[str, str]:
    """The environment of the CLI runs: the server as the channel's mirror, the engine's cache, and bytecode cached as
    an installed envgen has it (this project's shell sets PYTHONDONTWRITEBYTECODE, which would compile every run)."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return dict(env, ENVGEN_CACHE_DIR=str(cache), ENVGEN_MIRRORS=f"https://conda.anaconda.org={base_url}",
                ENVGEN_MIRROR_FILE=os.devnull, PYTHONPYCACHEPREFIX=str(pycache))


def cli_command(out: Path, env_file: Path) -> list[str]:
    cmd = [sys.executable, "-m", "envgen", "lock", "--from", str(env_file), "-o", str(out)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    return cmd


# a small launcher whose only child is the command: its children's max RSS is the command's own (a child's
# ru_maxrss, read by a large parent like this benchmark, is at least the parent's size when it forked)
_LAUNCHER = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss_mb(cmd: list[str], env: dict[str, str]) -> float:
    """Peak RSS of one more run of `cmd` (untimed), in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], env=env, capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1]) / (1024 * 1024 if sys.platform == "darwin" else 1024)


def cli_lock(env: dict[str, str], out: Path, env_file: Path) -> float:
    cmd = cli_command(out, env_file)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"envgen lock failed: {done.stderr}")
    return time.perf_counter() - start


def cli_check(env: dict[str, str], out: Path) -> float:
    """`envgen lock --check -o OUT`: what a pre-commit hook runs on every commit (no solve: the files are read)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "envgen", "lock", "--check", "-o", str(out)], capture_output=True, env=env,
                   check=True)
    return time.perf_counter() - start


def engine_command(base_url: str, cache: Path, out: Path) -> list[str]:
    return [sys.executable, __file__, "--engine-once", base_url, str(cache), str(out)]


def engine_process(env: dict[str, str], base_url: str, cache: Path, out: Path) -> float:
    """The engine as a program of its own: interpreter start, imports, then what `envgen_lock` does, with the
    progress lines (counted, not shown) as the CLI has them."""
    cmd = engine_command(base_url, cache, out)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--engine-once", nargs=3, metavar=("URL", "CACHE", "OUT"))
    args = parser.parse_args()
    if args.engine_once:
        base, cache, out = args.engine_once
        envgen_lock(base, Path(cache), Path(out), progress=True)
        return
    from tests.support.server import serve

    with tempfile.TemporaryDirectory(prefix="envgen-bench-") as tmp:
        work = Path(tmp)
        total = build_channel(work / "srv" / "bench", args.records)
        size = sum(p.stat().st_size for p in (work / "srv" / "bench").glob("*/repodata.json"))
        print(f"channel: {total} records, {size / 1e6:.1f} MB of repodata.json, dependency depth {LAYERS}")
        srv = serve(work / "srv")
        raw_gateway(work / "srv" / "bench", work / "gw0")  # warm the page cache
        gw = min(raw_gateway(work / "srv" / "bench", work / f"gw{i}") for i in (1, 2, 3))
        cold = envgen_lock(srv.url, work / "cache", work / "out")
        # raw and warm runs alternate, so load from elsewhere on the machine hits both alike
        pairs = [(raw_sparse(work / "srv" / "bench"), envgen_lock(srv.url, work / "cache", work / "out"))
                 for _ in range(5)]
        sparse, warm = min(p[0] for p in pairs), min(p[1] for p in pairs)
        env_file = work / "environment.yml"
        env_file.write_text("channels: [bench]\ndependencies:\n" + "".join(f"  - {s}\n" for s in SPECS))
        env = cli_env(srv.url, work / "cache", work / "pycache")  # the engine's cache: warm
        cli_lock(env, work / "cli-previous", env_file)  # bytecode compiled once, as pip does on install
        rounds = [(envgen_lock(srv.url, work / "cache", work / "out"), cli_lock(env, work / f"cli-{i}", env_file),
                   cli_lock(env, work / "cli-previous", env_file),
                   engine_process(env, srv.url, work / "cache", work / "engine-out"),
                   cli_check(env, work / "cli-previous"),
                   envgen_lock(srv.url, work / "cache", work / "out", progress=True)) for i in range(5)]
        cli_rss = peak_rss_mb(cli_command(work / "cli-rss", env_file), env)
        engine_rss = peak_rss_mb(engine_command(srv.url, work / "cache", work / "engine-rss"), env)
        srv.stop()
        raw = min(gw, sparse)
        engine, empty, over, process, check, counted = (statistics.median(r[k] for r in rounds) for k in range(6))
        print(f"raw py-rattler solve, 4 platforms (Gateway, fresh): {gw:.3f} s")
        print(f"raw py-rattler solve, 4 platforms (sparse repodata): {sparse:.3f} s")
        print(f"envgen lock engine, cold cache (HTTP fetch + solve + write): {cold:.3f} s  ratio {cold / raw:.2f}")
        print(f"envgen lock engine, warm cache: {warm:.3f} s  ratio {warm / raw:.2f} (goal <= 1.2)")
        print(f"medians of 5 rounds, warm cache: engine in this process {engine:.3f} s, with the CLI's progress "
              f"lines (their records counted) {counted:.3f} s; the engine with those lines as a program "
              f"(interpreter, imports, engine) {process:.3f} s")
        for what, took in (("into an empty folder", empty), ("over the previous lock (the same lock again)", over)):
            print(f"envgen lock CLI {what} {took:.3f} s: {took / engine:.2f}x the engine in-process (goal <= 1.15), "
                  f"{took / counted:.2f}x it with progress lines, {took / process:.2f}x the engine as a program")
        print(f"envgen lock --check over that lock (a pre-commit hook; reads every file, solves nothing) {check:.3f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (max RSS): this process {peak:.0f} MB (it built the channel); `envgen lock` CLI into an "
              f"empty folder {cli_rss:.0f} MB, the engine as a program {engine_rss:.0f} MB "
              f"({cli_rss / engine_rss:.2f}x)")


if __name__ == "__main__":
    main()
