"""`envgen install`: a working linux-64 prefix from our lock, hashes checked first, faults leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envgen.lock.engine import stamp
from tests.support.cli import run
from tests.support.lockenv import mirror_pairs, server

BASE = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda"]
TORCH = "/conda/pytorch/linux-64/pytorch-1.8.1-py3.9_cuda10.2_cudnn7.6.5_0.tar.bz2"


@pytest.fixture
def locked(capsys, monkeypatch, tmp_path):
    srv = server()
    srv.faults.clear()
    monkeypatch.setenv("ENVGEN_MIRRORS", " ".join(mirror_pairs(srv.url)))
    monkeypatch.setenv("ENVGEN_MIRROR_FILE", "/nonexistent/mirrors.toml")
    res = run(capsys, "lock", *BASE, "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    yield tmp_path / "locks"
    srv.faults.clear()


def _python(prefix, code):
    env = dict(os.environ, ENVGEN_TEST_HOST_PYTHON=sys.executable)
    return subprocess.run([str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("lock", ["locks", "locks/conda-lock.yml", "locks/conda-linux-64.lock"],
                         ids=["folder", "conda-lock.yml", "explicit"])
def test_install_creates_a_working_prefix(capsys, locked, tmp_path, lock):
    prefix = tmp_path / "env"
    res = run(capsys, "install", str(tmp_path / lock), "--prefix", str(prefix), "--platform", "linux-64")
    assert res.code == 0, res.err
    assert (prefix / "conda-meta" / "pytorch-1.8.1-py3.9_cuda10.2_cudnn7.6.5_0.json").is_file()
    done = _python(prefix, "import torch, numpy, typing_extensions; print(torch.__version__, torch.variant, numpy.__version__)")
    assert done.stdout.split() == ["1.8.1", "cu102", "1.26.4"], done.stderr
    assert str(prefix) in (prefix / "bin" / "python").read_text()  # the prefix placeholder was replaced


def test_install_with_pip_part(capsys, locked, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
                   "  - pip:\n    - -f https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")
    assert run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "l2")).code == 0
    prefix = tmp_path / "env"
    res = run(capsys, "install", str(tmp_path / "l2"), "--prefix", str(prefix), "--platform", "linux-64")
    assert res.code == 0, res.err
    assert "1 pip" in res.out
    done = _python(prefix, "import torch, torchaudio; print(torch.variant, torchaudio.__version__)")
    assert done.stdout.split() == ["cpu", "0.8.1"], done.stderr


def test_hash_mismatch_is_refused_naming_the_package(capsys, locked, tmp_path):
    server().faults[TORCH] = "swap:/conda/pytorch/linux-64/pytorch-1.8.1-py3.9_cpu_0.tar.bz2"
    prefix = tmp_path / "env"
    res = run(capsys, "install", str(locked), "--prefix", str(prefix), "--platform", "linux-64")
    assert res.code == 3
    assert "hash mismatch for pytorch-1.8.1-py3.9_cuda10.2_cudnn7.6.5_0.tar.bz2" in res.err and "hint:" in res.err
    assert not prefix.exists()


def test_server_going_away_mid_download_leaves_nothing(capsys, locked, tmp_path):
    server().faults[TORCH] = "drop"
    prefix = tmp_path / "env"
    res = run(capsys, "install", str(locked), "--prefix", str(prefix), "--platform", "linux-64")
    assert res.code == 3 and "broke off" in res.err and "pytorch-1.8.1" in res.err
    assert not prefix.exists()
    cache = os.environ["ENVGEN_CACHE_DIR"]
    leftovers = [p for p in (os.path.join(r, f) for r, _, fs in os.walk(cache) for f in fs) if "pytorch-1.8.1-py3.9_cuda" in p]
    assert leftovers == []


def test_existing_prefix_is_refused(capsys, locked, tmp_path):
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "something").write_text("x")
    res = run(capsys, "install", str(locked), "--prefix", str(prefix), "--platform", "linux-64")
    assert res.code == 2 and "already exists" in res.err and "--force" in res.err
    assert sorted(p.name for p in prefix.iterdir()) == ["something"]


@pytest.mark.parametrize("text,words", [("version: 1\npackage: [\n", "not valid YAML"),
                                        ("version: 1\nmetadata: {platforms: [win-64]}\npackage: []\n", "no linux-64")],
                         ids=["broken", "other-platform"])
def test_malformed_lock_is_bad_input(capsys, tmp_path, text, words):
    if words != "not valid YAML":  # a well-formed lock states its records (envgen.lock.integrity), as envgen writes it
        text = stamp({"conda-lock.yml": text})["conda-lock.yml"]
    (tmp_path / "conda-lock.yml").write_text(text)
    res = run(capsys, "install", str(tmp_path / "conda-lock.yml"), "--prefix", str(tmp_path / "env"),
              "--platform", "linux-64")
    assert res.code == 2 and words in res.err and "hint:" in res.err
    assert not (tmp_path / "env").exists()


def test_prefix_or_name_is_required(capsys, tmp_path):
    res = run(capsys, "install", str(tmp_path))
    assert res.code == 2 and "--prefix" in res.err
