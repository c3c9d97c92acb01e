"""`envgen lock --from` reads requirements files, pyproject.toml (extras and groups by `--group`) and pixi.toml as
well as environment.yml, with the same torch handling, and records them like any input."""

from __future__ import annotations

from envgen.lock.inputs import load_env, spec_for
from envgen.lock.request import LockRequest
from tests.conftest import ROOT
from tests.support.cli import run

INPUTS = ROOT / "tests" / "data" / "inputs"
PYPROJECT = ('[project]\nname = "paper"\nversion = "0.1"\ndependencies = ["torch==2.5.1", "einops"]\n'
             '[project.optional-dependencies]\nmetrics = ["torchmetrics==1.2.0"]\n')


def _pins(path):
    return sorted(line.split(" ")[0] for line in path.read_text().splitlines() if "==" in line and not line.startswith("#"))


def test_a_requirements_file_with_a_cuda_build(capsys, served, tmp_path):
    """The file's packages from its index (PyPI), torch and its companion from the variant's index."""
    req = tmp_path / "requirements.txt"
    req.write_text("einops>=0.7\ntorchmetrics==1.2.0\n")
    res = run(capsys, "lock", "--from", str(req), "--platform", "linux-64", "--torch", "2.5.1", "--cuda", "12.1",
              "--with", "torchvision", "--python", "3.9", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    pins = _pins(tmp_path / "locks" / "requirements-linux-64.txt")
    assert "torch==2.5.1+cu121" in pins and "torchvision==0.20.1+cu121" in pins and "torchmetrics==1.2.0" in pins
    pylock = (tmp_path / "locks" / "pylock.linux-64.toml").read_text()
    assert "download.pytorch.org/whl/cu121/files/torch-2.5.1%2Bcu121" in pylock
    assert "https://pypi.org/files/torchmetrics-1.2.0" in pylock
    assert not (tmp_path / "locks" / "conda-lock.yml").exists()  # a pip-only input makes a pip lock


def test_a_pyproject_with_a_group_is_recorded_and_checked(capsys, served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    res = run(capsys, "lock", "--from", "pyproject.toml", "--group", "metrics", "--platform", "linux-64",
              "--python", "3.9", "-o", "locks")
    assert res.code == 0, res.err
    assert _pins(tmp_path / "locks" / "requirements-linux-64.txt")[-3:] == [
        "torch==2.5.1", "torchmetrics==1.2.0", "typing-extensions==4.11.0"]
    assert run(capsys, "lock", "--check", "-o", "locks").code == 0
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.replace('"einops"]', '"einops", "packaging>=24"]'))
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code == 1 and "pyproject.toml: pip section adds packaging>=24" in res.err


def test_an_unknown_group_is_bad_input(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    res = run(capsys, "lock", "--from", str(tmp_path / "pyproject.toml"), "--group", "nope", "--platform", "linux-64",
              "--python", "3.9", "-o", str(tmp_path / "locks"))
    assert res.code == 2 and "nope" in res.err and "metrics" in res.err


def test_a_pip_only_file_without_a_python_is_asked_for_one(capsys, tmp_path):
    (tmp_path / "requirements.txt").write_text("einops\n")
    res = run(capsys, "lock", "--from", str(tmp_path / "requirements.txt"), "--platform", "linux-64",
              "-o", str(tmp_path / "locks"))
    assert res.code == 2 and "--python" in res.err


def test_a_pixi_manifest_keeps_its_channels_and_both_parts(matrix):
    env = load_env(INPUTS / "pixi-conda-forge-envs" / "pixi.toml")
    spec = spec_for(matrix, LockRequest(platforms=("linux-64",), from_="pixi.toml"), env)
    conda = spec.platforms[0].conda
    assert conda is not None and conda.channels == ("https://prefix.dev/conda-forge",)
    assert conda.specs == ("cuda-version 12.6.*", "pytorch-gpu")  # the default environment: the gpu feature
    assert next(v.version for v in conda.virtual if v.name == "__cuda") == "12.6"  # from the file's cuda-version
