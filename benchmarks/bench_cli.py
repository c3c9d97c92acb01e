"""Wall time of envgen commands (start-up included) beside `python -c pass`, measured in the same run.

Prints figures; asserts nothing. Run with `nox -s bench` or `python benchmarks/bench_cli.py`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = int(os.environ.get("BENCH_RUNS", "15"))


def wall(argv: list[str]) -> float:
    samples = []
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(argv, capture_output=True, env=env, check=False)  # warm the file cache and envgen's matrix cache
    for _ in range(RUNS):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env, check=False)
        samples.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-500:]}")
    return statistics.median(samples)


def main() -> None:
    py = sys.executable
    ref = wall([py, "-c", "pass"])
    cases = {
        "envgen command --torch 1.8.1 --cuda 10.2": [py, "-m", "envgen", "command", "--torch", "1.8.1", "--cuda",
                                                     "10.2", "--platform", "linux-64"],
        "envgen matrix --torch 2.13.0": [py, "-m", "envgen", "matrix", "--torch", "2.13.0"],
        "envgen --help": [py, "-m", "envgen", "--help"],
    }
    print(f"reference  python -c pass: {ref * 1000:7.1f} ms (median of {RUNS})")
    for name, argv in cases.items():
        t = wall(argv)
        print(f"{name:45s} {t * 1000:7.1f} ms  = {t / ref:5.1f} x python -c pass  (goal < 300 ms)")
    env = {**os.environ, "ENVGEN_NO_CACHE": "1"}
    t0 = time.perf_counter()
    subprocess.run(cases["envgen matrix --torch 2.13.0"], capture_output=True, env=env, check=False)
    cold = time.perf_counter() - t0
    print(f"{'envgen matrix --torch 2.13.0, matrix cache off':45s} {cold * 1000:7.1f} ms  = {cold / ref:5.1f} x")
    matrix_load()


def matrix_load() -> None:
    """In-process `load_matrix()`: from the warm JSON cache (checked on the way in) beside a fresh parse."""
    from envgen.matrix import load_matrix

    load_matrix()  # write the cache if it is missing
    samples = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        load_matrix()
        samples.append(time.perf_counter() - t0)
    warm = statistics.median(samples)
    t0 = time.perf_counter()
    load_matrix(use_cache=False)
    cold = time.perf_counter() - t0
    name = "load_matrix() in-process, warm cache"
    print(f"{name:45s} {warm * 1000:7.1f} ms  (parsing the YAML: {cold * 1000:.0f} ms, {cold / warm:.0f} x)")


if __name__ == "__main__":
    main()
