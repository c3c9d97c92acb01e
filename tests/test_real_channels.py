"""The engine on real metadata: repodata rebuilt from public conda-lock files (shared/data/real-channels).

The real channel URLs are mapped onto the local folder with the mirror mapping, exactly as a user maps them
onto a mirror; the records keep their real URLs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.errors import BadInput
from envgen.lock import conda as solver
from envgen.lock import condalock
from envgen.lock import engine as lockfile
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PlatformSpec, virtual_for

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-channels"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real-channels")
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real-channels is not present")

PT, NV, CF, MAIN = ("https://conda.anaconda.org/pytorch", "https://conda.anaconda.org/nvidia",
                    "https://conda.anaconda.org/conda-forge", "https://repo.anaconda.com/pkgs/main")


def _fetcher(tmp_path) -> Fetcher:
    return Fetcher(load_mirrors([f"https://conda.anaconda.org={REAL.as_uri()}",
                                 f"https://repo.anaconda.com/pkgs/main={REAL.as_uri()}/pkgs-main"]),
                   offline=True, root=tmp_path)


def _lock(tmp_path, platform, specs, channels, cuda, priority="strict"):
    part = CondaPart(tuple(specs), tuple(channels), priority, virtual_for(platform, cuda, {}))
    spec = LockSpec((PlatformSpec(platform, part),), "envgen lock --real")
    return lockfile.solve_all(spec, _fetcher(tmp_path))


CASES = [
    pytest.param("linux-64", ["pytorch==2.5.1", "pytorch-cuda=11.8", "python=3.12"], [PT, NV, CF], "11.8",
                 "py3.12_cuda11.8_cudnn9.1.0_0", id="2.5.1-pytorch-cuda-11.8-linux"),
    pytest.param("linux-64", ["pytorch==2.1.1", "pytorch-cuda=12.1", "python=3.9"], [PT, NV, CF], "12.1",
                 "py3.9_cuda12.1_cudnn8.9.2_0", id="2.1.1-pytorch-cuda-12.1-linux"),
    pytest.param("linux-64", ["pytorch==1.11.0", "cudatoolkit=11.3", "python=3.9"], [PT, CF, MAIN], "11.3",
                 "py3.9_cuda11.3_cudnn8.2.0_0", id="1.11-cudatoolkit-11.3-linux"),
    pytest.param("win-64", ["pytorch==2.5.1", "pytorch-cuda=11.8", "python=3.12"], [PT, NV, CF], "11.8",
                 "py3.12_cuda11.8_cudnn9_0", id="2.5.1-cu118-win"),
    pytest.param("osx-arm64", ["pytorch==2.5.1", "python=3.12"], [PT, CF], None, "py3.12_0", id="2.5.1-osx-arm64"),
]


@pytest.mark.parametrize("platform,specs,channels,cuda,build", CASES)
def test_real_request_picks_the_expected_pytorch_build(tmp_path, platform, specs, channels, cuda, build):
    locked = _lock(tmp_path, platform, specs, channels, cuda)
    packages = locked.conda[platform]
    torch = next(p for p in packages if p.name == "pytorch")
    assert torch.build == build and torch.url.startswith(PT + "/")
    solver.validate(packages)  # PackageRecord.validate: every dependency met inside the solution
    files = lockfile.render_all(locked)
    (tmp_path / "conda-lock.yml").write_text(files["conda-lock.yml"])
    back = condalock.parse(tmp_path / "conda-lock.yml").conda[platform]
    assert {p.url for p in back} == {p.url for p in packages}
    assert "file://" not in files["conda-lock.yml"]


def test_strict_priority_with_conda_forge_before_nvidia_fails_and_explains(tmp_path):
    specs = ["pytorch==2.5.1", "pytorch-cuda=11.8", "python=3.12"]
    with pytest.raises(BadInput) as err:
        _lock(tmp_path, "linux-64", specs, [PT, CF, NV], "11.8")
    assert "channels, in priority order (strict)" in err.value.hint and "--channel-priority" in err.value.hint
    locked = _lock(tmp_path, "linux-64", specs, [PT, CF, NV], "11.8", "disabled")
    assert next(p for p in locked.conda["linux-64"] if p.name == "pytorch").build == "py3.12_cuda11.8_cudnn9.1.0_0"


def test_a_research_file_with_nodefaults_locks_without_defaults_on_real_metadata(capsys, tmp_path, monkeypatch):
    """`channels: [conda-forge, nvidia, pytorch, nodefaults]` with `--cuda 11.8`: the file's own torch (pytorch=2.5)
    gets its CUDA 11.8 build, the channels stay as written, and on win-64 the matrix's MKL/OpenMP requirements come
    from conda-forge instead of defaults; nothing is fetched from defaults."""
    from tests.support.cli import run

    env = tmp_path / "environment.yml"
    env.write_text("channels: [conda-forge, nvidia, pytorch, nodefaults]\ndependencies:\n  - python=3.12\n"
                   "  - pytorch::pytorch=2.5\n  - pytorch::pytorch-cuda=12.1\n  - numpy\n")
    monkeypatch.setenv("ENVGEN_MIRRORS", f"https://conda.anaconda.org={REAL.as_uri()};"
                                         f"https://repo.anaconda.com/pkgs/main=http://127.0.0.1:9/unused")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "--platform", "win-64", "--cuda", "11.8",
              "--channel-priority", "disabled", "--offline", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    assert "pytorch::pytorch=2.5 -> torch 2.5.1" in res.err and "pytorch-cuda=12.1 give way" in res.err
    assert "win-64: intel-openmp from conda-forge instead of defaults" in res.err
    win = (tmp_path / "locks" / "conda-win-64.lock").read_text()
    assert "pytorch-2.5.1-py3.12_cuda11.8_cudnn9_0" in win and f"{CF}/win-64/intel-openmp-" in win
    linux = (tmp_path / "locks" / "conda-linux-64.lock").read_text()
    assert "pytorch-2.5.1-py3.12_cuda11.8_cudnn9.1.0_0" in linux
    assert "anaconda.com" not in win + linux
    channels = condalock.parse(tmp_path / "locks" / "conda-lock.yml").channels
    assert list(channels) == [CF, NV, PT]  # as the file wrote them, nothing added
