"""Several `--torch` values in one `envgen lock`: a folder per version, solved together, each byte-identical to
locking it alone, each checkable on its own (issue 16: a CI matrix of torch versions x platforms)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run

ENV = "name: t\nchannels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch\n  - cpuonly\n"
VERSIONS = ("1.8.1", "2.5.1")


@pytest.fixture
def env_file(served, tmp_path):
    path = tmp_path / "environment.yml"
    path.write_text(ENV)
    return path


def _args(env_file, *torches: str) -> list[str]:
    return ["lock", "--from", str(env_file), *[w for t in torches for w in ("--torch", t)], "--cpu",
            "--platform", "linux-64"]  # the test world has both CPU builds for linux-64


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_each_folder_is_what_locking_it_alone_writes(capsys, env_file, tmp_path):
    res = run(capsys, *_args(env_file, *VERSIONS), "-o", str(tmp_path / "locks" / "{torch}"))
    assert res.code == 0, res.err
    together = {v: _files(tmp_path / "locks" / v) for v in VERSIONS}
    assert all(len(files) == 4 for files in together.values())  # conda-lock, explicit, pixi, inputs
    assert "pytorch 1.8.1 py3.9_cpu_0" in res.out and "pytorch 2.5.1" in res.out
    assert res.out.index(str(tmp_path / "locks" / "1.8.1")) < res.out.index(str(tmp_path / "locks" / "2.5.1"))
    for v in VERSIONS:
        folder = tmp_path / "locks" / v
        for p in folder.iterdir():
            p.unlink()
        assert run(capsys, *_args(env_file, v), "-o", str(folder)).code == 0
        assert _files(folder) == together[v], v


def test_each_folder_checks_alone_and_together(capsys, env_file, tmp_path):
    out = str(tmp_path / "locks" / "{torch}")
    assert run(capsys, *_args(env_file, *VERSIONS), "-o", out).code == 0
    for v in VERSIONS:  # its recorded inputs are its own request
        res = run(capsys, "lock", "--check", "-o", str(tmp_path / "locks" / v))
        assert res.code == 0 and "matches its recorded inputs" in res.out, res.err
    res = run(capsys, *_args(env_file, *VERSIONS), "-o", out, "--check", "--json")
    assert res.code == 0, res.err
    docs = json.loads(res.out)["locks"]
    assert [d["folder"] for d in docs] == [str(tmp_path / "locks" / v) for v in VERSIONS]
    assert all(d["up_to_date"] for d in docs)
    env_file.write_text(ENV + "  - scipy\n")
    res = run(capsys, *_args(env_file, *VERSIONS), "-o", out, "--check")
    assert res.code == 1
    assert res.err.count("is out of date") == 2 and "dependencies add scipy" in res.err


def test_without_a_slot_each_version_gets_a_subfolder(capsys, env_file, tmp_path):
    res = run(capsys, *_args(env_file, "2.5.1", "1.8.1", "2.5.1"), "-o", str(tmp_path / "locks"), "--json")
    assert res.code == 0, res.err
    docs = json.loads(res.out)["locks"]
    assert [d["folder"] for d in docs] == [str(tmp_path / "locks" / f"torch-{v}") for v in ("2.5.1", "1.8.1")]
    assert {p.name for p in (tmp_path / "locks").iterdir()} == {"torch-2.5.1", "torch-1.8.1"}
    assert all(d["conda"]["linux-64"] for d in docs)


@pytest.mark.parametrize("args,words", [
    (["--torch", "1.8.1", "--torch", "2.5.1", "--update", "numpy"], "--update works on one lock folder at a time"),
    (["--torch", "1.8.1", "--torch", "../x"], "cannot name a folder"),
    (["--cpu", "-o", "locks/{torch}"], "{torch} stands for each --torch version"),
])
def test_what_several_cannot_mean_is_refused(capsys, served, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    res = run(capsys, "lock", *args)
    assert res.code == 2 and words in res.err, res.err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_failing_version_writes_no_folder_and_is_named(capsys, env_file, tmp_path):
    """The test world has no CPU torch 2.5.1 for win-64: that cell fails in the solver, after 1.8.1's solved."""
    res = run(capsys, *_args(env_file, "1.8.1", "2.5.1"), "--platform", "win-64", "-o",
              str(tmp_path / "locks" / "{torch}"))
    assert res.code == 2 and "no win-64 environment" in res.err
    assert f"error: while locking {tmp_path / 'locks' / '2.5.1'} (--torch 2.5.1): no win-64" in res.err, res.err
    assert not (tmp_path / "locks").exists()


def test_relocking_conda_and_pip_shows_no_change(capsys, served, tmp_path):
    """The previous lock's pip packages (in its pylock files) count in the summary, not only conda-lock.yml's."""
    args = ["lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "-o", str(tmp_path / "locks")]
    first = run(capsys, *args)
    assert first.code == 0 and "pip:" in first.out, first.err
    again = run(capsys, *args)
    assert again.code == 0 and "changes since the previous lock: no changes" in again.out, again.out
