"""The committed example lock is reproduced byte for byte from real channel metadata, and --check agrees."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.cli import run

EXAMPLE = ROOT / "locks" / "example-2.5.1-cu118"
REAL = ROOT.parent / "shared" / "data" / "real-channels"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real-channels")
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real-channels is not present")
ARGS = ["--from", "environment.yml", "--platform", "linux-64", "--platform", "win-64",
        "--channel-priority", "disabled", "-o", "."]
FILES = ("conda-lock.yml", "conda-linux-64.lock", "conda-win-64.lock", "pixi.lock", "lock-inputs.yml")


@pytest.fixture
def mirrored(monkeypatch):
    pairs = [("https://conda.anaconda.org/conda-forge", "conda-forge"), ("https://conda.anaconda.org/pytorch", "pytorch"),
             ("https://conda.anaconda.org/nvidia", "nvidia"), ("https://repo.anaconda.com/pkgs/main", "pkgs-main")]
    monkeypatch.setenv("ENVGEN_MIRRORS", ";".join(f"{u}={(REAL / d).as_uri()}" for u, d in pairs))


def test_example_lock_is_reproduced(capsys, tmp_path, monkeypatch, mirrored):
    work = tmp_path / "example"
    work.mkdir()
    shutil.copy(EXAMPLE / "environment.yml", work)
    monkeypatch.chdir(work)
    res = run(capsys, "lock", *ARGS)
    assert res.code == 0, res.err
    for name in FILES:
        assert (work / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
    assert "file://" not in (work / "conda-lock.yml").read_text()  # the mirror never reaches the lockfile


def test_example_lock_check_passes(capsys, tmp_path, monkeypatch, mirrored):
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    monkeypatch.chdir(work)
    assert run(capsys, "lock", *ARGS, "--check").code == 0
    assert run(capsys, "lock", "--check", "-o", ".").code == 0  # the recorded inputs alone
    (work / "environment.yml").write_text((work / "environment.yml").read_text().replace("numpy", "numpy<2"))
    assert run(capsys, "lock", *ARGS, "--check").code == 1
    res = run(capsys, "lock", "--check", "-o", ".")
    assert res.code == 1
    assert "environment.yml: dependencies change numpy -> numpy<2" in res.err
    assert "envgen lock --update numpy -o ." in res.err
