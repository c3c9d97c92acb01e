"""Wall time of envgen commands (start-up included) beside `python -c pass`, measured in the same run.

Prints figures; asserts nothing. Run with `nox -s bench` or `python benchmarks/bench_cli.py`.

Each command runs as a user runs an installed envgen: with its modules' bytecode cached (pip writes it on install;
`PYTHONDONTWRITEBYTECODE`, which this project's shell sets, would otherwise make every run compile envgen's
sources). The bytecode goes to a temporary `PYTHONPYCACHEPREFIX`, never into the tree. The commands and the
reference take turns, round after round, so load from elsewhere on the machine hits them alike; the figure is
the median. Goal (issue 16): under 150 ms for each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("BENCH_RUNS", "21"))
GOAL_MS = 150


def _env(prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": prefix, **extra}


def walls(cases: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    """The median wall time of each case, the cases taking turns in every round."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # warm the file cache, the bytecode and envgen's matrix cache
        subprocess.run(argv, capture_output=True, env=env, check=False)
    for _ in range(RUNS):
        for name, argv in cases.items():
            t0 = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, env=env, check=False)
            samples[name].append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-500:]}")
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    py = sys.executable
    envgen = [py, "-m", "envgen"]
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "envgen --version": [*envgen, "--version"],
        "envgen --help": [*envgen, "--help"],
        "envgen command --torch 2.5.1 --cuda 12.4": [*envgen, "command", "--torch", "2.5.1", "--cuda", "12.4",
                                                     "--platform", "linux-64"],
        "envgen command --torch 1.8.1 --cuda 10.2": [*envgen, "command", "--torch", "1.8.1", "--cuda", "10.2",
                                                     "--platform", "linux-64"],
        "envgen matrix --torch 2.5.1": [*envgen, "matrix", "--torch", "2.5.1"],
        "envgen env --torch 2.5.1 --cuda 12.4 --dry-run": [*envgen, "env", "--torch", "2.5.1", "--cuda", "12.4",
                                                           "--platform", "linux-64", "--dry-run"],
        "envgen command --help (typer)": [*envgen, "command", "--help"],
    }
    with tempfile.TemporaryDirectory(prefix="envgen-bench-pyc-") as prefix:
        env = _env(prefix)
        got = walls(cases, env)
        ref = got.pop("python -c pass")
        print(f"reference  python -c pass: {ref * 1000:7.1f} ms (median of {RUNS}, bytecode cached)")
        for name, t in got.items():
            verdict = "ok" if t * 1000 < GOAL_MS else "OVER"
            print(f"{name:48s} {t * 1000:7.1f} ms  = {t / ref:5.1f} x python -c pass  (goal < {GOAL_MS} ms: {verdict})")
        t0 = time.perf_counter()
        subprocess.run(cases["envgen matrix --torch 2.5.1"], capture_output=True, env=_env(prefix, ENVGEN_NO_CACHE="1"),
                       check=False)
        cold = time.perf_counter() - t0
        print(f"{'envgen matrix --torch 2.5.1, matrix cache off':48s} {cold * 1000:7.1f} ms  = {cold / ref:5.1f} x")
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
    print(f"{name:48s} {warm * 1000:7.1f} ms  (parsing the YAML: {cold * 1000:.0f} ms, {cold / warm:.0f} x)")


if __name__ == "__main__":
    main()
