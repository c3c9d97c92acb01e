"""`--from environment.yml` with flags: the variant of the file's own torch, the file's channels as written, and
`defaults` requirements moved to another channel when the file excludes defaults (no solving: the LockSpec)."""

from __future__ import annotations

import pytest

from envgen.compile.envfile import EnvFile
from envgen.errors import BadInput
from envgen.lock.inputs import spec_for
from envgen.lock.request import LockRequest

CF, NV, PT = ("https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/nvidia",
              "https://conda.anaconda.org/pytorch")
MAIN = "https://repo.anaconda.com/pkgs/main"


def _env(channels, conda, pip=()):
    return EnvFile(name=None, channels=list(channels), conda=list(conda), pip=list(pip), platforms=[], index_url=None,
                   extra_index_urls=[], find_links=[])


def _spec(matrix, env, **flags):
    flags.setdefault("platforms", ("linux-64",))
    return spec_for(matrix, LockRequest(from_="environment.yml", **flags), env)


FILE = _env(["conda-forge", "nvidia", "pytorch", "nodefaults"],
            ["python=3.10", "pytorch::pytorch=2.1", "pytorch::pytorch-cuda=12.1", "pytorch::torchvision", "numpy<2"],
            ["einops"])


def test_cuda_selects_the_build_of_the_files_torch(matrix):
    spec = _spec(matrix, FILE, cuda="11.8")
    conda = spec.platforms[0].conda
    assert f"{PT}::pytorch==2.1.2" in conda.specs and f"{PT}::pytorch-cuda=11.8" in conda.specs
    assert not any("pytorch-cuda=12.1" in s for s in conda.specs)  # the file's selector gave way
    assert f"{PT}::torchvision" in conda.specs  # the file's companion stays as written
    assert "python=3.10" in conda.specs and "numpy<2" in conda.specs
    assert sum("pytorch=" in s or "pytorch==" in s for s in conda.specs) == 1  # one torch, not two
    assert any("pytorch::pytorch=2.1 -> torch 2.1.2" in n for n in spec.notes)


def test_the_files_channels_stay_as_written(matrix):
    conda = _spec(matrix, FILE, cuda="11.8", platforms=("win-64",)).platforms[0].conda
    assert conda.channels == (CF, NV, PT)  # order kept, nodefaults honoured, nothing added


def test_defaults_requirements_move_to_conda_forge_when_the_file_excludes_defaults(matrix):
    spec = _spec(matrix, FILE, cuda="11.8", platforms=("win-64",))
    specs = spec.platforms[0].conda.specs
    assert f"{CF}::intel-openmp" in specs and f"{CF}::mkl" in specs
    assert not any(s.startswith(MAIN) for s in specs)
    assert "win-64: intel-openmp from conda-forge instead of defaults (the file excludes defaults)" in spec.notes


def test_without_nodefaults_a_channel_the_stack_needs_is_added_last_and_said(matrix):
    env = _env(["pytorch", "nvidia"], ["python=3.10", "pytorch=2.1"])
    spec = _spec(matrix, env, cuda="11.8", platforms=("win-64",))
    assert spec.platforms[0].conda.channels == (PT, NV, MAIN)
    assert any("channels added after the file's own" in n and MAIN in n for n in spec.notes)


def test_torch_flag_replaces_the_files_torch_and_says_so(matrix):
    spec = _spec(matrix, FILE, torch="2.0.1", cuda="11.8")
    assert f"{PT}::pytorch==2.0.1" in spec.platforms[0].conda.specs
    assert "--torch 2.0.1 replaces the file's pytorch::pytorch=2.1" in spec.notes


def test_a_build_the_files_torch_does_not_have_is_refused_with_the_nearest(matrix):
    with pytest.raises(BadInput) as err:
        _spec(matrix, FILE, cuda="12.4")
    assert "asks for pytorch::pytorch=2.1" in err.value.message and "CUDA 12.4" in err.value.message
    assert err.value.hint and "CUDA 12.1" in err.value.hint


def test_cpu_of_a_conda_forge_file(matrix):
    env = _env(["conda-forge", "nodefaults"], ["python=3.11", "pytorch>=2.4,<2.6"])
    conda = _spec(matrix, env, cpu=True).platforms[0].conda
    assert conda.channels == (CF,)
    assert f"{CF}::pytorch=2.5.1=cpu*" in conda.specs, conda.specs


def test_a_file_without_torch_gets_the_stack(matrix):
    env = _env(["conda-forge"], ["python=3.11", "numpy"])
    conda = _spec(matrix, env, torch="2.5.1", cpu=True, channel="conda-forge").platforms[0].conda
    assert any("pytorch=2.5.1" in s for s in conda.specs) and "numpy" in conda.specs, conda.specs


def test_a_defaults_only_package_without_alternative_is_refused(matrix, monkeypatch):
    from envgen.lock import inputs

    monkeypatch.setattr(inputs, "defaults_alternatives", dict)
    with pytest.raises(BadInput) as err:
        _spec(matrix, FILE, cuda="11.8", platforms=("win-64",))
    assert "from the defaults channel" in err.value.message and "nodefaults" in err.value.message


def _cuda(spec):
    return next((v.version for v in spec.platforms[0].conda.virtual if v.name == "__cuda"), None)


@pytest.mark.parametrize(("conda", "plat", "virtual", "cuda", "noted"), [
    (["pytorch::pytorch-cuda=12.1"], "linux-64", (), "12.1", False),
    (["cuda-version==11.8", "pytorch"], "win-64", (), "11.8", False),
    (["cudatoolkit 11.3.*"], "linux-64", (), "11.3", False),
    (["pytorch"], "linux-64", (), "12.0", True),
    (["pytorch"], "linux-64", ("__cuda=none",), None, False),
    (["pytorch"], "linux-64", ("__cuda=12.6",), "12.6", False),
    (["pytorch"], "osx-arm64", (), None, False),
], ids=["pytorch-cuda", "cuda-version", "cudatoolkit", "default", "none", "override", "macos"])
def test_cuda_virtual_package_of_an_environment_file(matrix, conda, plat, virtual, cuda, noted):
    spec = _spec(matrix, _env(["conda-forge"], ["python=3.11", *conda]), platforms=(plat,), virtual=virtual)
    assert _cuda(spec) == cuda
    assert any("__cuda=12.0 assumed" in n for n in spec.notes) == noted


def test_a_conda_conflict_says_where_each_spec_came_from(capsys, served, tmp_path):
    from tests.support.cli import run

    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch, nodefaults]\ndependencies:\n  - python=3.9\n  - numpy>=2\n")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "--torch", "1.8.1", "--cpu",
              "-o", str(tmp_path / "locks"), "mkl>2099")
    assert res.code == 2
    assert "the matrix says: numpy<2" in res.err
    assert "asked by the matrix (for the flags): pytorch==1.8.1" in res.err
    assert "asked by the environment file: python=3.9, numpy>=2" in res.err
    assert "asked by the command line: mkl>2099" in res.err
