"""A lock set is written as a unit: signals sent to a real `envgen lock` process while it writes, and two runs
on one folder at once, never leave old and new files mixed or stage litter behind (issue 10, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envgen.lock.read import check_folder
from tests.support.cli import run

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")

OLD = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda"]
NEW = ["--torch", "1.8.1", "--cpu", "--platform", "linux-64", "--installer", "conda"]

# Runs the CLI with the set writer slowed down at one phase, touching MARK when it gets there.
SLOW = r"""
import os, signal, sys, time
from pathlib import Path
import envgen.lock.unit as unit

# Ctrl-C as in a terminal: a test run started in the background (`pytest &` in a script) hands its children SIGINT
# ignored, and Python then installs no handler of its own
signal.signal(signal.SIGINT, signal.default_int_handler)

mark, delay, phase = Path(os.environ["MARK"]), float(os.environ["DELAY"]), os.environ["PHASE"]
sleeps = [int(os.environ.get("SLEEPS", "99"))]
write, replace, staged = unit._write, os.replace, []

def pause():
    # in short steps, so a signal that lands on another thread is still handled within 10 ms
    mark.touch()
    if sleeps[0] > 0:
        sleeps[0] -= 1
        end = time.monotonic() + delay
        while time.monotonic() < end:
            time.sleep(0.01)

def slow_write(path, raw, mode):
    write(path, raw, mode)
    if phase == "stage":
        pause()
    staged.append(path)

def slow_replace(src, dst):
    replace(src, dst)
    if phase == "swap" and staged and str(src).startswith(str(Path(staged[0]).parent)):
        pause()

unit._write = slow_write
unit.os.replace = slow_replace
from envgen.cli import main
main(sys.argv[1:])
"""


@pytest.fixture
def env(served):
    """The environment the `envgen lock` subprocesses run with (the served world's mirrors and cache)."""
    return dict(os.environ)


def _start(env: dict[str, str], args: list[str], out: Path, mark: Path, phase: str, delay: float = 30.0,
           sleeps: int = 99) -> subprocess.Popen[str]:
    """Long pauses by default: a signal test must find the writer still in the phase however slow this test is to
    send it (with 0.5 s pauses a loaded machine let the run finish first, and the signal went nowhere)."""
    values = dict(env, MARK=str(mark), DELAY=str(delay), PHASE=phase, SLEEPS=str(sleeps))
    return subprocess.Popen([sys.executable, "-c", SLOW, "lock", *args, "-o", str(out)], env=values,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(mark: Path, proc: subprocess.Popen[str], limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the writer never reached the phase"
        time.sleep(0.02)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


@pytest.fixture
def old_lock(capsys, env, tmp_path):
    out = tmp_path / "locks"
    res = run(capsys, "lock", *OLD, "-o", str(out))
    assert res.code == 0, res.err
    return out


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_staging_leaves_the_old_lock_whole(env, old_lock, tmp_path, sig, code):
    before = _snapshot(old_lock)
    proc = _start(env, NEW, old_lock, tmp_path / "mark", "stage")
    _wait_for(tmp_path / "mark", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert _snapshot(old_lock) == before
    assert _litter(old_lock) == []


def test_a_signal_during_the_swap_waits_for_it(env, old_lock, tmp_path):
    proc = _start(env, NEW, old_lock, tmp_path / "mark", "swap", delay=5, sleeps=1)
    _wait_for(tmp_path / "mark", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert check_folder(old_lock) == [] and _litter(old_lock) == []
    assert "cpu" in (old_lock / "conda-lock.yml").read_text()  # the new set, whole


def test_a_kill_during_the_swap_is_caught_and_completed(capsys, env, old_lock, tmp_path):
    proc = _start(env, NEW, old_lock, tmp_path / "mark", "swap", delay=30)
    _wait_for(tmp_path / "mark", proc)
    proc.kill()
    proc.communicate(timeout=60)
    res = run(capsys, "lock", *NEW, "-o", str(old_lock), "--check")
    assert res.code == 1 and "interrupted" in res.err, res.err
    res = run(capsys, "install", str(old_lock), "--prefix", str(tmp_path / "env"), "--platform", "linux-64")
    assert res.code == 2 and "fails its check" in res.err
    assert run(capsys, "lock", *NEW, "-o", str(old_lock)).code == 0  # the next run completes the folder
    assert check_folder(old_lock) == [] and _litter(old_lock) == []
    assert run(capsys, "lock", *NEW, "-o", str(old_lock), "--check").code == 0


def test_a_kill_while_staging_is_cleaned_up_by_the_next_run(capsys, env, old_lock, tmp_path):
    before = _snapshot(old_lock)
    proc = _start(env, NEW, old_lock, tmp_path / "mark", "stage", delay=30)
    _wait_for(tmp_path / "mark", proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert {k: v for k, v in _snapshot(old_lock).items() if not k.startswith(".")} == before
    assert run(capsys, "lock", *OLD, "-o", str(old_lock), "--check").code == 1  # the stage is reported
    assert run(capsys, "lock", *OLD, "-o", str(old_lock)).code == 0
    assert _snapshot(old_lock) == before and _litter(old_lock) == []


def test_two_runs_on_one_folder_take_turns(env, old_lock, tmp_path):
    first = _start(env, NEW, old_lock, tmp_path / "m1", "stage", delay=0.3)
    _wait_for(tmp_path / "m1", first)
    second = _start(env, OLD, old_lock, tmp_path / "m2", "stage", delay=0.3)
    _, err1 = first.communicate(timeout=120)
    _, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "waiting for another envgen" in err2
    assert check_folder(old_lock) == [] and _litter(old_lock) == []
    assert "cuda" in (old_lock / "conda-lock.yml").read_text()  # the second run's set, whole
