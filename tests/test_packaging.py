"""The matrix is found the same way from a wheel install, an editable install and --matrix-dir."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import MINI, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("envgen-*.whl")
    return whl


def test_wheel_ships_the_matrix(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("torch.yaml", "cuda.yaml", "channels.yaml", "constraints.yaml", "sources.yaml", "gpus.yaml",
              "gpu_models.yaml", "doctor.yaml", "migrate.yaml", "build.yaml", "virtual_packages.yaml", "conda_pypi.yaml", "defaults_alternatives.yaml"):
        assert f"envgen/matrices/{f}" in names


def test_wheel_ships_the_site_assets(wheel):
    """`envgen site` copies its stylesheet and script from the installed package."""
    names = zipfile.ZipFile(wheel).namelist()
    assert {"envgen/site/assets/site.css", "envgen/site/assets/site.js"} <= set(names)


def test_wheel_install_finds_its_own_matrix(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "NO_COLOR": "1"}
    env.pop("ENVGEN_MATRIX_DIR", None)
    code = ("import envgen, envgen.matrix as m; print(envgen.__file__); print(m.find_matrix_dir())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=tmp_path).stdout.splitlines()
    assert out[0].startswith(str(target))
    assert Path(out[1]) == target / "envgen" / "matrices"
    run = subprocess.run([sys.executable, "-m", "envgen", "command", "--torch", "1.8.1", "--cuda", "10.2",
                          "--platform", "linux-64", "--installer", "conda"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    assert "cudatoolkit=10.2" in run.stdout


def test_source_checkout_finds_the_repository_matrix():
    import envgen
    from envgen.matrix import find_matrix_dir

    if not str(Path(envgen.__file__)).startswith(str(ROOT / "src")):
        pytest.skip("envgen is not imported from this checkout (installed as a wheel)")
    assert find_matrix_dir() == ROOT / "matrices"


def test_matrix_dir_flag_wins(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-m", "envgen", "matrix", "--json", "--matrix-dir", str(MINI)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert run.returncode == 0
    import json

    assert [r["torch"] for r in json.loads(run.stdout)] == ["0.3.1", "1.8.1", "2.5.1"]
