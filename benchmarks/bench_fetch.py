"""Benchmark envgen's repodata fetching against rattler's Gateway on a conda-forge-shaped channel.

The channel (one, `bench`, with linux-64, noarch, osx-64, osx-arm64 and win-64) is written directly as the files
rattler's indexer writes: `repodata.json` (compact JSON), `repodata.json.zst`, and CEP-16 shards
(`repodata_shards.msgpack.zst`, an index of package name -> sha256 of the shard file, and
`shards/<sha256>.msgpack.zst`, each `{packages, packages.conda, removed}` with md5/sha256 as bytes). The layout was
checked against `rattler.index.index_fs(path, write_zst=True, write_shards=True)` on real package files
(`--check-layout` does it again); writing 400,000 real package files would take far longer than the benchmark.

It is served on 127.0.0.1 by a server that limits bandwidth (`--mbit`, default 50 Mbit/s, shared by all
connections), answers `If-None-Match` with 304, and counts the body bytes of every response.

For a 4-platform torch-stack request it prints, side by side, measured in this run: bytes, wall time cold, wall
time warm and peak RSS of
  - raw `rattler.solve` with a `Gateway` of the channel URL (4 solves, one per platform, one Gateway);
  - envgen's lock engine (`engine.solve_all`: conda repodata through rattler's gateway, envgen's mirrors);
  - the same with the progress lines the `envgen lock` CLI shows (`report`: the records in reach are queried beside
    the solves and counted);
  - the same engine with envgen's own fetcher of whole `repodata.json` files (`Fetcher(gateway=False)`).
Each run is its own process (fresh memory; peak RSS is its VmHWM), cold with an empty cache, warm with the cache the
cold run left.

    python benchmarks/bench_fetch.py                 # ~60,000 records, a few minutes on 2 cores
    python benchmarks/bench_fetch.py --records 400000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PLATFORMS = ("linux-64", "osx-64", "osx-arm64", "win-64")
SUBDIRS = (*PLATFORMS, "noarch")
SHARE = {"linux-64": 0.35, "noarch": 0.25, "osx-64": 0.14, "osx-arm64": 0.13, "win-64": 0.13}
CANONICAL = "https://conda.anaconda.org/bench"
TORCH_VERSIONS = ("2.1.2", "2.2.2", "2.3.1", "2.4.1", "2.5.1")
# the torch stack: name -> dependencies (noarch when the name starts with "noarch:")
STACK = {
    "python": ["libzlib >=1.2", "openssl >=3", "libffi >=3.4"],
    "libzlib": [], "openssl": ["ca-certificates"], "ca-certificates": [], "libffi": [],
    "numpy": ["python", "libblas >=3.2", "libcblas >=3.2"], "libblas": ["mkl >=2.0"], "libcblas": ["libblas"],
    "mkl": ["intel-openmp"], "intel-openmp": [], "sleef": [], "libuv": [], "libprotobuf": ["libzlib"],
    "noarch:typing_extensions": ["python >=3.8"], "noarch:sympy": ["python >=3.8", "mpmath >=0.19"],
    "noarch:mpmath": ["python >=3.6"], "noarch:networkx": ["python >=3.9"],
    "noarch:jinja2": ["python >=3.7", "markupsafe >=2.0"], "markupsafe": ["python"],
    "noarch:filelock": ["python >=3.7"], "noarch:fsspec": ["python >=3.8"], "pyyaml": ["python", "yaml"],
    "yaml": [], "noarch:setuptools": ["python >=3.8"],
}
PYTORCH_DEPS = ["python", "numpy >=1.2", "libblas", "mkl >=2.0", "sleef", "libuv", "libprotobuf",
                "typing_extensions >=3.1", "sympy", "networkx", "jinja2", "filelock", "fsspec", "pyyaml", "setuptools"]
SPECS = ("pytorch=={torch}", "python 3.11.*", "numpy")
LAYERS, NAMES_PER_LAYER = 12, 40
# raw rattler.solve + Gateway; envgen's lock engine (conda repodata through the gateway); the same engine with
# envgen's own fetcher of whole repodata.json files (`Fetcher(gateway=False)`, what runs with .condarc proxies)
SIDES = ("gateway", "envgen", "envgen-progress", "envgen-fetcher")


# -- the channel ------------------------------------------------------------------------------------------------

def _record(name: str, version: str, build: str, number: int, sub: str, depends: list[str],
            rng: random.Random) -> dict[str, Any]:
    rec: dict[str, Any] = {"build": build, "build_number": number, "depends": depends,
                           "license": "BSD-3-Clause", "md5": f"{rng.getrandbits(128):032x}", "name": name,
                           "sha256": f"{rng.getrandbits(256):064x}", "size": 10_000 + rng.randrange(10**7),
                           "subdir": sub, "timestamp": 1_600_000_000_000 + rng.randrange(10**11),
                           "version": version}
    if sub == "noarch":
        rec["noarch"] = "python" if depends and depends[0].startswith("python") else "generic"
    return rec


def _stack(sub: str, rng: random.Random) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, deps in STACK.items():
        noarch, name = key.startswith("noarch:"), key.removeprefix("noarch:")
        if noarch != (sub == "noarch"):
            continue
        versions = [f"3.{m}.{p}" for m in (9, 10, 11, 12) for p in range(4)] if name == "python" else \
            [f"{a}.{b}.0" for a in range(1, 4) for b in range(6)]
        for v in versions:
            pys = [None] if noarch or name == "python" or not any(d.startswith("python") for d in deps) \
                else ["3.9", "3.10", "3.11", "3.12"]
            for py in pys:
                depends = [d if d != "python" or py is None else f"python >={py},<3.{int(py[2:]) + 1}.0a0"
                           for d in deps]
                tag = f"py{py.replace('.', '')}" if py else ""
                build = f"{tag}h{rng.getrandbits(28):07x}_0"
                out[f"{name}-{v}-{build}.conda"] = _record(name, v, build, 0, sub, depends, rng)
    if sub != "noarch":
        out.update(_layers(sub, rng))
        for torch in TORCH_VERSIONS:
            for py in ("3.9", "3.10", "3.11", "3.12"):
                nxt = f"3.{int(py[2:]) + 1}"
                for variant in ("cpu", "cuda"):
                    build = f"{variant}_py{py.replace('.', '')}h{rng.getrandbits(28):07x}_0"
                    deps = [f"python >={py},<{nxt}.0a0" if d == "python" else d for d in PYTORCH_DEPS]
                    deps += [f"lib{LAYERS - 1:02d}-{k:03d} >={rng.randrange(3)}.0" for k in range(8)]
                    if variant == "cuda":
                        deps.append("__cuda")
                    out[f"pytorch-{torch}-{build}.conda"] = _record("pytorch", torch, build, 0, sub, deps, rng)
    return out


def _layers(sub: str, rng: random.Random) -> dict[str, dict[str, Any]]:
    """The native libraries under pytorch: LAYERS layers of NAMES_PER_LAYER packages in 6 versions, each depending
    on 3 of the layer below with version ranges, so that a solve has real work (conda-forge's torch stacks take
    rattler ~0.1-0.5 s; the stack alone would take milliseconds)."""
    out: dict[str, dict[str, Any]] = {}
    for layer in range(LAYERS):
        for k in range(NAMES_PER_LAYER):
            for v in range(6):
                deps = []
                if layer:
                    for dep in rng.sample(range(NAMES_PER_LAYER), 3):
                        lo = rng.randrange(3)
                        deps.append(f"lib{layer - 1:02d}-{dep:03d} >={lo}.0,<{lo + 5}.0a0")
                build = f"h{rng.getrandbits(28):07x}_0"
                name = f"lib{layer:02d}-{k:03d}"
                out[f"{name}-{v}.0-{build}.conda"] = _record(name, f"{v}.0", build, 0, sub, deps, rng)
    return out


def _filler(sub: str, count: int, rng: random.Random, start: int) -> dict[str, dict[str, Any]]:
    """Unrelated packages, shaped like conda-forge's: many names, several versions and builds of each."""
    out: dict[str, dict[str, Any]] = {}
    i = start
    while len(out) < count:
        name = f"pkg-{i:06d}"
        i += 1
        for v in range(rng.randrange(2, 12)):
            for b in range(rng.randrange(1, 4)):
                deps = [f"pkg-{rng.randrange(max(1, i)):06d} >={rng.randrange(3)}.0" for _ in range(rng.randrange(4))]
                build = f"h{rng.getrandbits(28):07x}_{b}"
                out[f"{name}-{v}.{b}.0-{build}.conda"] = _record(name, f"{v}.{b}.0", build, b, sub, deps, rng)
    return out


def build_channel(root: Path, records: int, seed: int = 16) -> dict[str, int]:
    """Write the channel under root/bench; the record count of each subdir."""
    import msgpack
    import zstandard

    rng = random.Random(seed)
    counts = {}
    for n, sub in enumerate(SUBDIRS):
        folder = root / "bench" / sub
        (folder / "shards").mkdir(parents=True, exist_ok=True)
        pkgs = _stack(sub, rng)
        pkgs.update(_filler(sub, max(0, int(records * SHARE[sub]) - len(pkgs)), rng, n * 10**5))
        data = {"info": {"subdir": sub}, "packages": {}, "packages.conda": dict(sorted(pkgs.items())),
                "repodata_version": 1}
        body = json.dumps(data, separators=(",", ":")).encode()
        (folder / "repodata.json").write_bytes(body)
        (folder / "repodata.json.zst").write_bytes(zstandard.ZstdCompressor(level=19 if len(body) < 5e6 else 9,
                                                                            threads=-1).compress(body))
        by_name: dict[str, dict[str, Any]] = {}
        for fn, rec in pkgs.items():
            shard_rec = dict(rec, md5=bytes.fromhex(rec["md5"]), sha256=bytes.fromhex(rec["sha256"]))
            by_name.setdefault(rec["name"], {})[fn] = shard_rec
        index: dict[str, bytes] = {}
        cctx = zstandard.ZstdCompressor(level=19)
        for name, recs in sorted(by_name.items()):
            shard = cctx.compress(msgpack.packb({"packages": {}, "packages.conda": recs, "removed": []}))
            digest = hashlib.sha256(shard).digest()
            (folder / "shards" / f"{digest.hex()}.msgpack.zst").write_bytes(shard)
            index[name] = digest
        info = {"subdir": sub, "base_url": "", "shards_base_url": "./shards/", "created_at": "2026-01-01T00:00:00Z"}
        (folder / "repodata_shards.msgpack.zst").write_bytes(cctx.compress(msgpack.packb({"info": info,
                                                                                          "shards": index})))
        counts[sub] = len(pkgs)
    return counts


def check_layout() -> None:
    """Index a few real package files with rattler's indexer and print the files and keys it writes."""
    import msgpack
    import zstandard
    from rattler.index import index_fs

    from tests.support.channels import all_packages, write_package

    with tempfile.TemporaryDirectory() as tmp:
        ch = Path(tmp) / "ch"
        for sub in ("linux-64", "noarch"):
            (ch / sub).mkdir(parents=True)
        for pkg in all_packages()[:6]:
            write_package(pkg, "linux-64", ch / "linux-64")
        asyncio.run(index_fs(ch, write_zst=True, write_shards=True))  # type: ignore[arg-type]
        print(sorted(str(p.relative_to(ch)) for p in ch.rglob("*") if p.is_file() and "bz2" not in p.name))
        raw = (ch / "linux-64" / "repodata_shards.msgpack.zst").read_bytes()
        index = msgpack.unpackb(zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 24))
        print("index keys", sorted(index), "info", sorted(index["info"]))
        shard = next((ch / "linux-64" / "shards").iterdir())
        print("shard name is its sha256:", hashlib.sha256(shard.read_bytes()).hexdigest() == shard.name.split(".")[0])
        body = msgpack.unpackb(zstandard.ZstdDecompressor().decompress(shard.read_bytes(), max_output_size=1 << 24))
        print("shard keys", sorted(body))


# -- the server -------------------------------------------------------------------------------------------------

class Bucket:
    """A token bucket shared by every connection: `rate` bytes per second."""

    def __init__(self, rate: float) -> None:
        self.rate, self.lock, self.next_free = rate, threading.Lock(), time.monotonic()

    def take(self, n: int) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_free)
            self.next_free = start + n / self.rate
            wait = self.next_free - now
        if wait > 0:
            time.sleep(wait)


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # rattler opens ~100 connections at once; a backlog of 5 drops SYNs (1 s waits)


class Server:
    def __init__(self, root: Path, mbit: float) -> None:
        self.root, self.bucket = root, Bucket(mbit * 1e6 / 8)
        self.lock = threading.Lock()
        self.sent: dict[str, int] = {}
        self.requests = 0
        self.not_modified = 0
        self.httpd = _Listener(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def reset(self) -> tuple[int, int, int]:
        with self.lock:
            out = (sum(self.sent.values()), self.requests, self.not_modified)
            self.sent, self.requests, self.not_modified = {}, 0, 0
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                file = (server.root / path.lstrip("/")).resolve()
                with server.lock:
                    server.requests += 1
                if server.root.resolve() not in file.parents or not file.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                stat = file.stat()
                etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
                if self.headers.get("If-None-Match") == etag:
                    with server.lock:
                        server.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = file.read_bytes()
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
                self.send_header("Content-Type", "application/json" if path.endswith(".json") else
                                 "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                try:
                    for i in range(0, len(body), 1 << 16):
                        chunk = body[i:i + (1 << 16)]
                        server.bucket.take(len(chunk))
                        self.wfile.write(chunk)
                        with server.lock:
                            server.sent[path] = server.sent.get(path, 0) + len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


# -- the two sides (each run in its own process) ------------------------------------------------------------------

def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike wait4's ru_maxrss, not raised by the parent's size at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_gateway(base: str, cache: Path, torch: str) -> None:
    import rattler
    from rattler import Channel, Gateway, MatchSpec

    gateway = Gateway(cache_dir=cache)
    channel = Channel(f"{base}/bench/")
    specs = [MatchSpec(s.format(torch=torch)) for s in SPECS]

    async def go() -> int:
        n = 0
        for plat in PLATFORMS:
            n += len(await rattler.solve(sources=[channel], specs=specs, gateway=gateway, platforms=[plat, "noarch"],
                                         timeout=__import__("datetime").timedelta(seconds=300)))
        return n

    start = time.perf_counter()
    n = asyncio.run(go())
    print(json.dumps({"wall": time.perf_counter() - start, "records": n, "rss_mb": peak_rss_mb()}))


def run_envgen(base: str, cache: Path, torch: str, gateway: bool = True, progress: bool = False) -> None:
    import rattler  # noqa: F401 - imported before the clock starts, as in run_gateway

    from envgen.lock import engine
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors
    from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec

    specs = tuple(s.format(torch=torch) for s in SPECS)
    spec = LockSpec(tuple(PlatformSpec(p, CondaPart(specs, (CANONICAL,), "strict", ())) for p in PLATFORMS), "bench")
    fetcher = Fetcher(load_mirrors([f"https://conda.anaconda.org={base}"]), root=cache, gateway=gateway)
    start = time.perf_counter()
    locked = engine.solve_all(spec, fetcher, timeout_s=300, report=(lambda _: None) if progress else None)
    solved = time.perf_counter() - start
    engine.render_all(locked)
    print(json.dumps({"wall": solved, "with_render": time.perf_counter() - start,
                      "records": sum(len(v) for v in locked.conda.values()), "rss_mb": peak_rss_mb()}))


def measure(side: str, server: Server, cache: Path, torch: str) -> dict[str, Any]:
    env = dict(os.environ, ENVGEN_MIRROR_FILE=os.devnull)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, __file__, "--side", side, "--base", server.url, "--cache",
                                 str(cache), "--torch", torch], stdout=out, stderr=err, env=env)
        proc.wait()
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{side} failed (exit status {proc.returncode}):\n{err.read().decode()[-3000:]}")
        result: dict[str, Any] = json.loads(out.read().decode().strip().splitlines()[-1])
    result["bytes"], result["requests"], result["not_modified"] = server.reset()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--mbit", type=float, default=50.0)
    parser.add_argument("--torch", default="2.4.1")
    parser.add_argument("--check-layout", action="store_true")
    parser.add_argument("--side", choices=SIDES)
    parser.add_argument("--base")
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if args.side:
        if args.side == "gateway":
            run_gateway(args.base, args.cache, args.torch)
        else:
            run_envgen(args.base, args.cache, args.torch, gateway=args.side != "envgen-fetcher",
                       progress=args.side == "envgen-progress")
        return
    if args.check_layout:
        check_layout()
        return
    with tempfile.TemporaryDirectory(prefix="envgen-bench-fetch-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        counts = build_channel(work / "srv", args.records)
        plain = sum((work / "srv" / "bench" / s / "repodata.json").stat().st_size for s in SUBDIRS)
        zst = sum((work / "srv" / "bench" / s / "repodata.json.zst").stat().st_size for s in SUBDIRS)
        print(f"channel: {sum(counts.values())} records ({', '.join(f'{s} {n}' for s, n in counts.items())}); "
              f"repodata.json {plain / 1e6:.1f} MB, .zst {zst / 1e6:.1f} MB; written in "
              f"{time.perf_counter() - start:.0f} s; served at {args.mbit:g} Mbit/s")
        server = Server(work / "srv", args.mbit)
        rows = {}
        for side in SIDES:
            cold = measure(side, server, work / f"cache-{side}", args.torch)
            warm = measure(side, server, work / f"cache-{side}", args.torch)
            rows[side] = (cold, warm)
            print(f"{side:14} cold {cold['wall']:6.2f} s {cold['bytes'] / 1e6:7.2f} MB in {cold['requests']:3} requests"
                  f"  RSS {cold['rss_mb']:5.0f} MB | warm {warm['wall']:6.2f} s  {warm['bytes'] / 1e6:6.2f} MB "
                  f"({warm['not_modified']} x 304)  RSS {warm['rss_mb']:5.0f} MB  records {cold['records']}")
        gc, gw = rows["gateway"]
        for side in SIDES[1:]:
            ec, ew = rows[side]
            print(f"{side} / gateway: cold {ec['wall'] / gc['wall']:.2f}x (goal <= 1.15), "
                  f"bytes {ec['bytes'] / max(1, gc['bytes']):.2f}x (goal <= 1.1), "
                  f"warm {ew['wall'] / gw['wall']:.2f}x (goal <= 1.2), "
                  f"peak RSS {max(ec['rss_mb'], ew['rss_mb']) / max(gc['rss_mb'], gw['rss_mb']):.2f}x (goal <= 1.3)")
        server.httpd.shutdown()


if __name__ == "__main__":
    main()
