"""An environment file's `pip:` section on top of its conda packages: what conda installs counts as installed for
pip (no second torch, no `nvidia-*`, no PyPI metadata pins checked against conda versions), and a pin the user
wrote that the conda version does not meet is refused naming both sides."""

from __future__ import annotations

import json

import pytest

from envgen.lock.provided import provided, pypi_names
from envgen.lock.records import LockedConda
from tests.support.cli import run

CONDA = ("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n  - pytorch=2.5.1\n"
         "  - torchvision=0.20.0\n  - pip:\n")


def _lock(capsys, tmp_path, pip_lines, *extra):
    env = tmp_path / "environment.yml"
    env.write_text(CONDA + "".join(f"    - {line}\n" for line in pip_lines))
    return run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"), *extra)


def _pip_names(folder):
    return sorted(line.split("==")[0] for line in (folder / "requirements-linux-64.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))


def test_conda_packages_satisfy_the_pip_section(capsys, served, tmp_path):
    res = _lock(capsys, tmp_path, ["einops", "torchmetrics==1.2.0", "timm==0.9.12"], "--json")
    assert res.code == 0, res.err
    locks = tmp_path / "locks"
    # timm needs torch and torchvision, torchmetrics needs torch and numpy: all from conda, none from PyPI
    assert _pip_names(locks) == ["einops", "lightning-utilities", "packaging", "pyyaml", "timm", "torchmetrics"]
    text = (locks / "requirements-linux-64.txt").read_text()
    assert "nvidia" not in text and "torch==" not in text.split("# records:")[1]
    assert "#   torch==2.5.1 (conda pytorch 2.5.1 cuda124_py39h8b0a0f5_300)" in text  # __cuda=12.0 assumed, as conda-lock does
    assert "#   torchvision==0.20.0 (conda torchvision 0.20.0" in text
    data = json.loads(res.out)
    assert data["satisfied_by_conda"]["linux-64"]["torch"]["conda"] == "pytorch"
    assert data["satisfied_by_conda"]["linux-64"]["typing-extensions"]["version"] == "4.12.2"
    assert "torch" not in {w["name"] for w in data["pip"]["linux-64"]}
    assert run(capsys, "lock", "--check", "-o", str(locks)).code == 0


def test_pypi_metadata_of_a_conda_package_is_not_held_against_it(capsys, served, tmp_path):
    """PyPI's torchvision 0.20.0 pins torch==2.5.0; the conda pair (pytorch 2.5.1, torchvision 0.20.0) is valid and
    timm, which needs both, locks on top of it. A pip-only lock of the same pins is unsatisfiable, as it should be."""
    assert _lock(capsys, tmp_path, ["timm==0.9.12"]).code == 0
    alone = tmp_path / "pip-only.yml"
    alone.write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n  - pip:\n"
                     "    - torch==2.5.1\n    - torchvision==0.20.0\n")
    res = run(capsys, "lock", "--from", str(alone), "--platform", "linux-64", "-o", str(tmp_path / "l2"))
    assert res.code == 2 and "torch==2.5.0" in res.err


def test_torch_from_pip_brings_its_cuda_wheels(capsys, served, tmp_path):
    """The contrast: where pip installs torch, PyPI's torch brings its CUDA runtime wheel."""
    env = tmp_path / "environment.yml"
    env.write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n  - pip:\n    - torch==2.5.1\n")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    assert "nvidia-cuda-runtime-cu12" in _pip_names(tmp_path / "locks")


def test_a_pip_pin_the_conda_version_does_not_meet_is_refused(capsys, served, tmp_path):
    res = _lock(capsys, tmp_path, ["torch==2.5.0"])
    assert res.code == 2
    assert "the pip section asks for torch==2.5.0" in res.err
    assert "the conda side installs pytorch 2.5.1" in res.err and "hint:" in res.err
    assert _lock(capsys, tmp_path, ["torch>=2.5,<2.6"]).code == 0  # a range the conda version meets is fine


def _conda(name, version="1.0", depends=("python >=3.9",), noarch=None):
    return LockedConda(name, version, "0", 0, "linux-64", f"https://x/{name}", "https://x", "", "", depends, (), noarch)


@pytest.mark.parametrize(("pkg", "pypi"), [
    (_conda("pytorch", "2.1.2"), "torch"), (_conda("matplotlib-base", "3.8.0"), "matplotlib"),
    (_conda("typing_extensions", "4.12.2", depends=("python >=3.8",), noarch="python"), "typing-extensions"),
    (_conda("pyyaml", "6.0.2"), "pyyaml"), (_conda("msgpack-python", "1.0.8"), "msgpack"),
])
def test_conda_names_map_to_pypi_names(pkg, pypi):
    assert list(provided((pkg,), {})) == [pypi]


@pytest.mark.parametrize("pkg", [_conda("libgcc-ng", depends=()), _conda("python", "3.9.19"),
                                 _conda("weird", "1.0_custom")], ids=["not-python", "python-itself", "no-pep440"])
def test_what_is_not_a_pip_package_is_not_provided(pkg):
    assert provided((pkg,), {}) == {}


def test_every_name_mapping_names_its_source():
    names = pypi_names()
    assert names["pytorch"] == "torch" and len(names) >= 10
