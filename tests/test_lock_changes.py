"""What changed between two locks: `envgen diff A B`, and the summary `envgen lock` prints against the lock it
replaces. Real locks solved from the channels served on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from envgen.lock.changes import Entry, diff, summary
from tests.support.cli import run

CUDA = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda"]
CPU = ["--torch", "1.8.1", "--cpu", "--platform", "linux-64", "--installer", "conda"]


def _entry(version: str, build: str = "0", url: str = "u") -> Entry:
    return Entry(version, build, url)


KIND_CASES = [
    ("upgraded", _entry("1.9"), _entry("1.10")),
    ("downgraded", _entry("2021.4.0"), _entry("2021.3.0")),
    ("build changed", _entry("1.8.1", "py3.9_cuda10.2_0"), _entry("1.8.1", "py3.9_cpu_0")),
    ("source changed", _entry("1.0", "0", "https://a/x"), _entry("1.0", "0", "https://b/x")),
    ("upgraded", _entry("1.0a"), _entry("1.0b")),  # not PEP 440 as conda writes it: compared by parts
    ("added", None, _entry("1.0")),
    ("removed", _entry("1.0"), None),
]


@pytest.mark.parametrize("kind,old,new", KIND_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KIND_CASES)])
def test_each_kind_of_change(kind, old, new):
    before = {"linux-64": {("conda", "x"): old}} if old else {"linux-64": {}}
    after = {"linux-64": {("conda", "x"): new}} if new else {"linux-64": {}}
    (change,) = diff(before, after)
    assert change.kind == kind and change.name == "x" and change.platform == "linux-64"


def test_no_change_says_so():
    side = {"win-64": {("pip", "torch"): _entry("2.5.1+cu124", "")}}
    assert diff(side, side) == [] and summary([]) == "no changes"


def test_diff_between_two_locks(capsys, served, tmp_path):
    assert run(capsys, "lock", *CUDA, "-o", str(tmp_path / "a")).code == 0
    assert run(capsys, "lock", *CPU, "-o", str(tmp_path / "b")).code == 0
    res = run(capsys, "diff", str(tmp_path / "a"), str(tmp_path / "b"))
    assert res.code == 1, res.err
    assert "linux-64 conda: pytorch 1.8.1 py3.9_cuda10.2_cudnn7.6.5_0 -> 1.8.1 py3.9_cpu_0 (build changed)" in res.out
    assert "linux-64 conda: cudatoolkit 10.2.89 hfd86e86_1 (removed)" in res.out
    assert res.out.rstrip().splitlines()[-1].startswith(f"{res.out.count('linux-64')} changes (")
    data = json.loads(run(capsys, "diff", str(tmp_path / "a"), str(tmp_path / "b"), "--json").out)
    assert {"platform": "linux-64", "manager": "conda", "name": "cudatoolkit", "change": "removed",
            "old": "10.2.89 hfd86e86_1", "new": None} in data["changes"]
    same = run(capsys, "diff", str(tmp_path / "a"), str(tmp_path / "a" / "conda-lock.yml"))
    assert same.code == 0 and same.out.strip() == "no changes"


def test_lock_summarises_what_it_replaced(capsys, served, tmp_path):
    out = tmp_path / "locks"
    first = run(capsys, "lock", *CUDA, "-o", str(out))
    assert first.code == 0 and "changes: none to show (new lock)" in first.out
    again = run(capsys, "lock", *CUDA, "-o", str(out))
    assert again.code == 0 and "changes since the previous lock: no changes" in again.out
    switched = run(capsys, "lock", *CPU, "-o", str(out), "--json")
    data = json.loads(switched.out)
    assert data["compared"] == "the previous lock"
    assert {"platform": "linux-64", "manager": "conda", "name": "pytorch", "change": "build changed",
            "old": "1.8.1 py3.9_cuda10.2_cudnn7.6.5_0", "new": "1.8.1 py3.9_cpu_0"} in data["changes"]


def test_a_relock_with_nothing_new_is_not_read_back(capsys, served, tmp_path, monkeypatch):
    """Every lockfile byte-identical to what is about to be written: the summary says "no changes" without reading
    the old lock (reading a 4-platform lock of 1,700 packages is a tenth of a second). Any file that differs, one
    missing, or a lockfile more than the run writes: it is read and checked as ever."""
    from envgen.lock import changes

    out = tmp_path / "locks"
    assert run(capsys, "lock", *CUDA, "-o", str(out)).code == 0
    reads: list[object] = []
    real = changes.read_side
    monkeypatch.setattr(changes, "read_side", lambda *a: reads.append(a) or real(*a))
    again = run(capsys, "lock", *CUDA, "-o", str(out))
    assert again.code == 0 and "changes since the previous lock: no changes" in again.out and reads == []
    lock = out / "conda-lock.yml"
    lock.write_text(lock.read_text().replace('version: "1.8.1"', 'version: "1.8.2"', 1))  # tampered: read, refused
    tampered = run(capsys, "lock", *CUDA, "-o", str(out))
    assert tampered.code == 0 and "the previous lock failed its check; not compared" in tampered.out
    assert len(reads) == 1
    (out / "conda-osx-64.lock").write_text((out / "conda-linux-64.lock").read_text())  # a lockfile more
    extra = run(capsys, "lock", *CUDA, "-o", str(out))
    assert extra.code == 0 and len(reads) == 2
    (out / "conda-osx-64.lock").unlink()
    (out / "conda-linux-64.lock").unlink()  # one missing: compared through conda-lock.yml, which is intact
    missing = run(capsys, "lock", *CUDA, "-o", str(out))
    assert missing.code == 0 and len(reads) == 3


def test_diff_refuses_a_lock_that_fails_its_check(capsys, served, tmp_path):
    assert run(capsys, "lock", *CUDA, "-o", str(tmp_path / "a")).code == 0
    lock = tmp_path / "a" / "conda-lock.yml"
    text = lock.read_text()
    assert 'version: "1.8.1"' in text
    lock.write_text(text.replace('version: "1.8.1"', 'version: "1.8.2"', 1))
    res = run(capsys, "diff", str(tmp_path / "a"), str(tmp_path / "a"))
    assert res.code == 2 and "fails its check" in res.err and "hint:" in res.err


def test_diff_between_a_lock_and_the_environment_installed_from_it(capsys, served, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
                   "  - pip:\n    - -f https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")
    lock, prefix = tmp_path / "lock", tmp_path / "env"
    assert run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(lock)).code == 0
    assert run(capsys, "install", str(lock), "--prefix", str(prefix), "--platform", "linux-64").code == 0
    same = run(capsys, "diff", str(lock), str(prefix), "--platform", "linux-64")
    assert same.code == 0 and same.out.strip() == "no changes", same.out + same.err
    next((prefix / "conda-meta").glob("numpy-*.json")).unlink()  # drift: conda no longer lists numpy
    drift = run(capsys, "diff", str(lock), str(prefix), "--platform", "linux-64", "--json")
    assert drift.code == 1
    changes = json.loads(drift.out)["changes"]
    assert [(c["manager"], c["name"], c["change"]) for c in changes] == [("conda", "numpy", "removed")]
