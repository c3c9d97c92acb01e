"""`envgen lock` as a user runs it: matrix flags, --from environment.yml, --check, --update, faults."""

from __future__ import annotations

import pytest

from tests.support.cli import run
from tests.support.lockenv import mirror_pairs

BASE = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64"]


def _lock(capsys, out, *extra):
    return run(capsys, "lock", *BASE, "-o", str(out), *extra)


def test_lock_two_platforms_conda_and_pip(capsys, served, tmp_path):
    res = run(capsys, "lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--platform", "win-64",
              "-o", str(tmp_path))
    assert res.code == 0, res.err
    assert "linux-64 conda: " in res.out and "py3.9_cuda10.2_cudnn7.6.5_0" in res.out
    assert "win-64 pip: " in res.out and "torch 1.8.1+cu102" in res.out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["conda-linux-64.lock", "conda-lock.yml", "conda-win-64.lock", "lock-inputs.yml", "pixi.lock", "pylock.linux-64.toml",
                     "pylock.win-64.toml", "requirements-linux-64.txt", "requirements-win-64.txt"]
    text = (tmp_path / "conda-lock.yml").read_text()
    assert "regenerate: envgen lock --torch 1.8.1 --cuda 10.2" in text
    assert "numpy-2" not in text  # the matrix's numpy<2 pin for torch<2.3 reached the solve


def test_lock_twice_is_byte_identical_and_check_passes(capsys, served, tmp_path):
    assert _lock(capsys, tmp_path / "a").code == 0
    assert _lock(capsys, tmp_path / "b").code == 0
    for path in (tmp_path / "a").iterdir():
        other = (tmp_path / "b" / path.name).read_text()
        assert path.read_text().replace(str(tmp_path / "a"), "X") == other.replace(str(tmp_path / "b"), "X"), path.name
    before = len(served.requests)
    ok = _lock(capsys, tmp_path / "a", "--check")
    assert ok.code == 0 and len(served.requests) == before  # --check does not solve or fetch
    stale = run(capsys, "lock", *BASE, "--python", "3.8", "-o", str(tmp_path / "a"), "--check")
    assert stale.code == 1 and "out of date" in stale.err


def test_from_environment_yml_with_pip_section(capsys, served, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("name: paper\nchannels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n"
                   "  - pytorch::pytorch=1.8.1\n  - cudatoolkit=10.2\n  - numpy<2\n  - pip:\n"
                   "    - --find-links https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "--virtual", "__cuda=10.2",
              "-o", str(tmp_path / "out"))
    assert res.code == 0, res.err
    text = (tmp_path / "out" / "conda-lock.yml").read_text()
    assert "manager: pip" in text and "torchaudio-0.8.1-cp39-cp39-linux_x86_64.whl" in text
    assert text.count("manager: pip") == 1  # torch, numpy come from conda, not again from pip
    assert "pytorch-1.8.1-py3.9_cuda10.2_cudnn7.6.5_0.tar.bz2" in text


def test_update_keeps_the_rest_locked(capsys, served, tmp_path):
    assert run(capsys, "lock", *BASE, "--installer", "conda", "-o", str(tmp_path), "numpy<1.26").code == 0
    assert "numpy-1.21.2" in (tmp_path / "conda-lock.yml").read_text()
    res = run(capsys, "lock", *BASE, "--installer", "conda", "-o", str(tmp_path), "--update", "mkl")
    assert res.code == 0, res.err
    assert "numpy-1.21.2" in (tmp_path / "conda-lock.yml").read_text()  # not updated: held by the old lock
    assert run(capsys, "lock", *BASE, "--installer", "conda", "-o", str(tmp_path), "--update", "numpy").code == 0
    assert "numpy-1.26.4" in (tmp_path / "conda-lock.yml").read_text()
    res = run(capsys, "lock", *BASE, "--installer", "conda", "-o", str(tmp_path), "--update", "nosuchpkg")
    assert res.code == 2 and "nosuchpkg: neither in the lock" in res.err


def test_update_without_a_lock_is_bad_input(capsys, served, tmp_path):
    res = _lock(capsys, tmp_path, "--update", "numpy")
    assert res.code == 2 and "error: --update needs an existing lock" in res.err and "hint:" in res.err


def test_unsatisfiable_says_what_conflicts_in_the_matrix_words(capsys, served, tmp_path):
    res = run(capsys, "lock", *BASE, "--installer", "conda", "--virtual", "__cuda=none", "-o", str(tmp_path))
    assert res.code == 2
    assert "cudatoolkit" in res.err and "__cuda" in res.err
    assert "needs an NVIDIA driver >= 440.33" in res.err  # from matrices/cuda.yaml
    assert "hint: channels, in priority order (strict)" in res.err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("args,words", [
    (["--channel-priority", "sometimes"], "unknown channel priority"),
    (["--mirror", "nonsense"], "invalid mirror"),
    (["--virtual", "glibc=2"], "invalid virtual package"),
    (["--platform", "amiga-68k"], "unknown platform"),
    (["--from", "/nonexistent/environment.yml"], "cannot read"),
], ids=["priority", "mirror", "virtual", "platform", "from-missing"])
def test_bad_input_exits_2_with_error_and_hint(capsys, served, tmp_path, args, words):
    res = run(capsys, "lock", "--torch", "1.8.1", "--cuda", "10.2", *args, "-o", str(tmp_path))
    assert res.code == 2 and "error: " in res.err and words in res.err and "hint: " in res.err


def test_network_failure_exits_3_naming_the_url(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ENVGEN_MIRRORS", " ".join(mirror_pairs("http://127.0.0.1:9")))
    res = _lock(capsys, tmp_path / "out")
    assert res.code == 3
    assert "http://127.0.0.1:9/conda/pytorch/" in res.err and "--offline" in res.err
    assert not (tmp_path / "out").exists()


def test_offline_after_a_lock_uses_the_cache(capsys, served, tmp_path):
    assert _lock(capsys, tmp_path / "a", "--installer", "conda").code == 0
    before = len(served.requests)
    res = _lock(capsys, tmp_path / "b", "--installer", "conda", "--offline")
    assert res.code == 0, res.err and len(served.requests) == before
    assert (tmp_path / "a" / "conda-lock.yml").read_text().replace("/a", "/b") == \
        (tmp_path / "b" / "conda-lock.yml").read_text()


def test_help_lists_the_options(capsys):
    res = run(capsys, "lock", "--help")
    assert res.code == 0 and "--mirror" in res.out and "--offline" in res.out and "--update" in res.out


def test_update_that_changes_nothing_leaves_every_file_byte_identical(capsys, served, tmp_path):
    out = tmp_path / "my locks"  # a space: the regenerate line must quote it
    args = [*BASE, "--installer", "conda", "-o", str(out), "numpy<1.26"]
    assert run(capsys, "lock", *args).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert run(capsys, "lock", *args, "--update", "mkl").code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # pixi.lock keeps depends, build numbers, sizes
    assert f"-o '{out}' 'numpy<1.26'\n" in before["conda-lock.yml"].decode()


def test_a_failed_solve_exits_2_not_an_abort_at_shutdown(served, tmp_path):
    """A failed solve exits 2 in a real process, every time.

    A reviewer saw about 1 such process in 6 abort at interpreter shutdown (exit 134, py-rattler objects freed while
    Python finalised) before `envgen.cli._release`; 50 runs here without that fix did not reproduce it, so this
    checks the behaviour users see, not that mechanism. (An in-process gc check of it was timing-dependent.)"""
    from tests.support.cli import run_process

    for i in range(4):
        res = run_process("lock", *BASE, "--installer", "conda", "-o", str(tmp_path / str(i)), "numpy>=2")
        assert res.code == 2, f"run {i}: exit {res.code}\n{res.err[-800:]}"
        assert "numpy<2" in res.err and "Fatal Python error" not in res.err


def test_an_invalid_extra_spec_is_not_blamed_on_channel_priority(capsys, served, tmp_path):
    res = run(capsys, "lock", *BASE, "--installer", "conda", "-o", str(tmp_path), "nump y[")
    assert res.code == 2 and "invalid conda spec 'nump y['" in res.err
    assert "channel-priority" not in res.err and "hint: write specs as" in res.err


def test_solver_failures_quote_the_whole_spec(matrix):
    """The matrix's reason names the spec as written in the manifest (blas=*=mkl, not blas=*)."""
    from packaging.version import Version

    from envgen.compile.resolve import resolve_one
    from envgen.compile.stack import Request
    from envgen.lock.inputs import reasons
    from envgen.models import Accel

    stack = resolve_one(matrix, Request(torch=Version("1.8.1"), accel=Accel.parse("cu102"), platform="linux-64",
                                        installer="conda"))
    found = dict(reasons([stack]))
    assert found["blas"].startswith("blas=*=mkl: ")
    assert found["__cuda"].startswith("CUDA 10.2 needs an NVIDIA driver >= 440.33")
