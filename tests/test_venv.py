"""`envgen install --venv` and `envgen verify` on a venv: real locks from the served world, real venvs made by uv,
real interpreters importing what was installed.

The tiny wheels that fit any Python are py3-none-any (typing_extensions) or py3-none-manylinux (the nvidia CUDA
runtime), so a lock of an environment file with `python=3.10` and those two pip packages goes into a Python 3.10
venv; the pip-only torch lock (`--installer pip`, cp39 wheels) needs a Python 3.9. Tests needing an interpreter
that this machine lacks are skipped, naming it; the refusals need none.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from envgen.models import host_platform
from tests.support.cli import run
from tests.support.wheels import Wheel, wheel_bytes

pytestmark = pytest.mark.skipif(host_platform() != "linux-64", reason="the served wheels are for linux-64")

ENV_YML = ("channels: [defaults]\ndependencies:\n  - python=3.10\n  - pip:\n    - typing_extensions==4.11.0\n"
           "    - nvidia-cuda-runtime-cu12==12.4.127\n")
TE_WHEEL = "/pypi/files/typing_extensions-4.11.0-py3-none-any.whl"
RT_WHEEL = "/pypi/files/nvidia_cuda_runtime_cu12-12.4.127-py3-none-manylinux2014_x86_64.whl"
IMPORT = "import typing_extensions, nvidia_cuda_runtime_cu12 as rt; print(rt.__version__)"


def _interpreter(version: str) -> str | None:
    """A Python X.Y on this machine: the one running the tests, one on PATH, or one under pyenv."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    for exe in filter(None, candidates):
        done = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                              text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == version:
            return exe
    return None


PY310, PY39 = _interpreter("3.10"), _interpreter("3.9")
needs310 = pytest.mark.skipif(PY310 is None, reason="no Python 3.10 interpreter on this machine")
needs39 = pytest.mark.skipif(PY39 is None, reason="no Python 3.9 interpreter on this machine")


@pytest.fixture
def locks(capsys, served, tmp_path):
    """A lock folder for Python 3.10: conda part python (and its libgcc-ng), pip part the two wheels."""
    env = tmp_path / "environment.yml"
    env.write_text(ENV_YML)
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    return tmp_path / "locks"


def _install(capsys, lock, venv, *extra, python=PY310):
    return run(capsys, "install", str(lock), "--venv", str(venv), *(["--python", python] if python else []), *extra)


def _verify(capsys, lock, venv, *extra):
    return run(capsys, "verify", str(lock), "--venv", str(venv), *extra)


def _run_in(venv, code):
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False)


def _site(venv):
    (site,) = venv.glob("lib/python*/site-packages")
    return site


@needs310
@pytest.mark.parametrize("lock", ["locks", "locks/conda-lock.yml", "locks/pylock.linux-64.toml",
                                  "locks/requirements-linux-64.txt"],
                         ids=["folder", "conda-lock.yml", "pylock", "requirements"])
def test_venv_from_each_lock_form_imports_and_verifies(capsys, locks, tmp_path, lock):
    venv = tmp_path / "venv"
    res = _install(capsys, tmp_path / lock, venv)
    assert res.code == 0, res.err
    assert res.out.strip() == f"installed 2 pip packages into {venv} (venv, Python 3.10)"
    done = _run_in(venv, IMPORT + "; import sys; print('%d.%d' % sys.version_info[:2])")
    assert done.stdout.split() == ["12.4.127", "3.10"], done.stderr
    ok = _verify(capsys, tmp_path / lock, venv)
    assert ok.code == 0 and "matches" in ok.out and "(venv, 2 pip packages)" in ok.out, ok.err


@needs39
def test_pip_only_torch_lock_into_a_venv(capsys, served, tmp_path):
    """The lock `envgen lock --installer pip` writes (no conda part at all), into a Python 3.9 venv found by uv."""
    res = run(capsys, "lock", "--torch", "1.8.1", "--cuda", "10.2", "--installer", "pip", "--platform", "linux-64",
              "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    assert not (tmp_path / "locks" / "conda-lock.yml").exists()
    venv = tmp_path / "venv"
    res = _install(capsys, tmp_path / "locks" / "requirements-linux-64.txt", venv, "--json", python=PY39)
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"prefix": str(venv), "conda": 0, "pip": 5, "venv": True, "python": "3.9"}
    done = _run_in(venv, "import torch, numpy, typing_extensions; print(torch.__version__, numpy.__version__)")
    assert done.stdout.split() == ["1.8.1+cu102", "1.26.4"], done.stderr
    ok = _verify(capsys, tmp_path / "locks", venv, "--json")
    assert ok.code == 0 and json.loads(ok.out)["drift"] == []


@needs310
def test_the_interpreter_is_found_for_the_locks_python(capsys, locks, tmp_path, monkeypatch):
    """Without --python, uv looks for a Python 3.10 (here: the only one on PATH); with none, exit 3 and a hint."""
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no uv-managed Pythons
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    none = _install(capsys, locks, tmp_path / "venv", python=None)
    assert none.code == 3 and "no Python 3.10 interpreter" in none.err and "hint: pass --python" in none.err
    assert not (tmp_path / "venv").exists()
    (tmp_path / "bin" / "python3.10").symlink_to(PY310)
    res = _install(capsys, locks, tmp_path / "venv", python=None)
    assert res.code == 0 and "(venv, Python 3.10)" in res.out, res.err


@needs310
def test_a_tampered_wheel_is_refused_and_no_venv_remains(capsys, locks, served, tmp_path):
    served.faults[TE_WHEEL] = "swap:" + RT_WHEEL
    venv = tmp_path / "venv"
    res = _install(capsys, locks, venv)
    assert res.code == 3, res.err
    assert "hash mismatch for typing_extensions-4.11.0-py3-none-any.whl" in res.err and "hint:" in res.err
    assert not venv.exists()


def _add_extra(venv, tmp_path):
    wheel = Wheel("extra_pkg", "1.0", "py3-none-any")
    path = tmp_path / wheel.filename
    path.write_bytes(wheel_bytes(wheel))
    import uv

    subprocess.run([uv.find_uv_bin(), "pip", "install", "--quiet", "--no-config", "--offline", "--python",
                    str(venv / "bin" / "python"), str(path)], check=True, capture_output=True)
    assert (_site(venv) / "extra_pkg-1.0.dist-info").is_dir()


@needs310
def test_an_existing_venv_is_updated_only_with_force(capsys, locks, tmp_path):
    venv = tmp_path / "venv"
    assert _install(capsys, locks, venv).code == 0
    _add_extra(venv, tmp_path)
    refused = _install(capsys, locks, venv)
    assert refused.code == 2 and "already exists" in refused.err and "--force" in refused.err
    assert (_site(venv) / "extra_pkg-1.0.dist-info").is_dir()
    res = _install(capsys, locks, venv, "--force", python=None)
    assert res.code == 0, res.err
    names = sorted(p.name for p in _site(venv).glob("*.dist-info"))
    assert names == ["nvidia_cuda_runtime_cu12-12.4.127.dist-info", "typing_extensions-4.11.0.dist-info"]
    assert _verify(capsys, locks, venv).code == 0


@needs310
def test_seeds_of_a_venv_tool_stay_and_are_not_drift(capsys, locks, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([PY310, "-m", "venv", str(venv)], check=True, capture_output=True)  # seeds pip
    res = _install(capsys, locks, venv, "--force", python=None)
    assert res.code == 0, res.err
    assert _run_in(venv, IMPORT).stdout.split() == ["12.4.127"]
    assert _verify(capsys, locks, venv).code == 0


def _edit_version(venv, dist, version):
    meta = next(_site(venv).glob(f"{dist}-*.dist-info")) / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 4.11.0", f"Version: {version}"))


DRIFTS = [
    pytest.param(lambda v, t: shutil.rmtree(next(_site(v).glob("nvidia_cuda_runtime_cu12-*.dist-info"))),
                 "missing   pip nvidia-cuda-runtime-cu12 12.4.127", id="missing"),
    pytest.param(_add_extra, "extra     pip extra-pkg 1.0", id="extra"),
    pytest.param(lambda v, t: _edit_version(v, "typing_extensions", "4.10.0"),
                 "different pip typing-extensions: locked 4.11.0, installed 4.10.0", id="different"),
]


@needs310
@pytest.mark.parametrize("change,line", DRIFTS)
def test_verify_names_each_difference(capsys, locks, tmp_path, change, line):
    venv = tmp_path / "venv"
    assert _install(capsys, locks, venv).code == 0
    change(venv, tmp_path)
    res = _verify(capsys, locks, venv)
    assert res.code == 1 and res.out.splitlines() == [line]
    also = run(capsys, "verify", str(locks / "pylock.linux-64.toml"), "--prefix", str(venv))
    assert also.code == 1 and also.out.splitlines() == [line]


@needs310
def test_verify_json_lists_every_drift(capsys, locks, tmp_path):
    venv = tmp_path / "venv"
    assert _install(capsys, locks, venv).code == 0
    for change, _ in (d.values for d in DRIFTS):
        change(venv, tmp_path)
    res = _verify(capsys, locks / "requirements-linux-64.txt", venv, "--json")
    assert res.code == 1, res.err
    assert json.loads(res.out) == {"prefix": str(venv), "drift": [
        {"kind": "missing", "manager": "pip", "name": "nvidia-cuda-runtime-cu12", "locked": "12.4.127", "installed": ""},
        {"kind": "different", "manager": "pip", "name": "typing-extensions", "locked": "4.11.0", "installed": "4.10.0"},
        {"kind": "extra", "manager": "pip", "name": "extra-pkg", "locked": "", "installed": "1.0"}]}


# -- refusals: none needs another interpreter ---------------------------------------------------------------------
def _uv_venv(path, python=sys.executable):
    import uv

    subprocess.run([uv.find_uv_bin(), "venv", str(path), "--python", python, "--no-config", "--quiet"], check=True,
                   capture_output=True)


@pytest.mark.skipif(sys.version_info[:2] == (3, 10), reason="needs a Python other than the lock's 3.10")
def test_a_venv_of_another_python_is_refused(capsys, locks, tmp_path):
    venv = tmp_path / "venv"
    _uv_venv(venv)
    before = sorted(p.name for p in venv.rglob("*"))
    res = _install(capsys, locks, venv, "--force", python=None)
    assert res.code == 2 and f"has Python {sys.version_info[0]}.{sys.version_info[1]}" in res.err
    assert "locked for Python 3.10" in res.err and "hint:" in res.err
    assert sorted(p.name for p in venv.rglob("*")) == before
    created = _install(capsys, locks, tmp_path / "new", python=sys.executable)  # --python of another version
    assert created.code == 2 and "was made with Python" in created.err and "hint: pass --python" in created.err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_a_folder_that_is_not_a_venv_is_never_touched(capsys, locks, tmp_path, force):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    res = _install(capsys, locks, folder, *force)
    assert res.code == 2 and "is not a venv (no pyvenv.cfg)" in res.err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_conda_lock_holding_pytorch_is_refused_for_a_venv(capsys, served, tmp_path):
    lock = tmp_path / "locks"
    res = run(capsys, "lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda",
              "-o", str(lock))
    assert res.code == 0, res.err
    for target in (lock, lock / "conda-lock.yml"):
        refused = _install(capsys, target, tmp_path / "venv", python=None)
        assert refused.code == 2 and "pytorch" in refused.err and "Python packages in its conda part" in refused.err
        assert "hint: use --prefix for a conda environment, or lock the pip side alone with --installer pip" in refused.err
        assert not (tmp_path / "venv").exists()
    explicit = _install(capsys, lock / "conda-linux-64.lock", tmp_path / "venv", python=None)
    assert explicit.code == 2 and "explicit conda lock" in explicit.err
    _uv_venv(tmp_path / "other")
    assert _verify(capsys, lock, tmp_path / "other").code == 2


def test_verify_refuses_a_folder_that_is_neither(capsys, locks, tmp_path):
    (tmp_path / "plain").mkdir()
    res = _verify(capsys, locks, tmp_path / "plain")
    assert res.code == 2 and "is not a conda environment (no conda-meta folder), nor a venv (no pyvenv.cfg)" in res.err


def test_a_requirements_file_needs_its_pylock_beside_it(capsys, locks, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(locks / "requirements-linux-64.txt", alone)
    res = _install(capsys, alone / "requirements-linux-64.txt", tmp_path / "venv", python=None)
    assert res.code == 2 and "holds no file URLs" in res.err and "hint:" in res.err
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("argv,words", [
    (["--venv", "v", "--prefix", "p"], "exactly one of --prefix, --name and --venv"),
    (["--venv", "v", "--name", "n"], "exactly one of --prefix, --name and --venv"),
    (["--prefix", "p", "--python", "3.10"], "--python chooses the interpreter of a new --venv"),
], ids=["venv+prefix", "venv+name", "python-without-venv"])
def test_target_flags_are_checked(capsys, tmp_path, argv, words):
    res = run(capsys, "install", str(tmp_path), *argv)
    assert res.code == 2 and words in res.err and "hint:" in res.err
