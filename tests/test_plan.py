"""envgen.migrate.plan: the pure diff. Targets are written out here, so each rule is tested without the matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from envgen.matrix.migrate import load_migrate_data
from envgen.migrate import plan as planner
from envgen.migrate.packages import Package, Snapshot
from envgen.migrate.plan import EnvRef, Spec, Target
from envgen.models import Accel

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mdata():
    return load_migrate_data(ROOT / "matrices")


def conda(name, version, channel="defaults", build="0"):
    return Package(name, version, "conda", channel, build)


def pip(name, version):
    return Package(name, version, "pip")


def snap(*pkgs, digest="ab" * 32):
    return Snapshot(tuple(pkgs), digest=digest)


def conda_target(torch="2.0.0", accel="cu118", family="pytorch", channels=("pytorch", "nvidia"), specs=(),
                 platform="linux-64", override=False):
    torch_spec = Spec("pytorch", f"pytorch={torch}", "torch", version=torch)
    all_specs = (torch_spec,) + tuple(specs)
    return Target("conda", platform, Version(torch), Accel.parse(accel), family, all_specs,
                  ("conda", "install", *[s.spec for s in all_specs], *[w for c in channels for w in ("-c", c)]),
                  f"torch {torch} ({accel})", channels=channels, override_channels=override)


def pip_target(torch="2.5.1", accel="cu124", family="pytorch-index", local=False):
    version = f"{torch}+{accel}" if local else torch
    spec = Spec("torch", f"torch=={version}", "torch", version=version)
    return Target("pip", "linux-64", Version(torch), Accel.parse(accel), family, (spec,),
                  ("pip", "install", spec.spec, "--index-url", f"https://download.pytorch.org/whl/{accel}"),
                  f"torch {torch} ({accel}, pip)")


def kinds(result):
    return [s.kind for s in result.steps]


def test_already_on_target_is_an_empty_plan(mdata):
    current = snap(conda("pytorch", "2.0.0", "pytorch", "py3.10_cuda11.8_cudnn8.7.0_0"),
                   conda("pytorch-cuda", "11.8", "pytorch"))
    target = conda_target(specs=(Spec("pytorch-cuda", "pytorch-cuda=11.8", "selector"),))
    result = planner.plan(current, target, mdata)
    assert result.steps == () and not result.pending


def test_pip_cpu_build_to_cuda_uninstalls_first(mdata):
    current = snap(pip("torch", "2.5.1+cpu"), pip("torchvision", "0.20.1+cpu"), pip("numpy", "2.1.3"))
    result = planner.plan(current, pip_target(), mdata)
    assert kinds(result) == ["backup", "remove", "install", "verify"]
    remove = result.steps[1]
    assert remove.argv == ("python", "-m", "pip", "uninstall", "--yes", "torch", "torchvision")
    assert "CPU build" in remove.reason
    assert result.steps[2].argv[:3] == ("python", "-m", "pip")
    assert result.steps[-1].argv[-2:] == ("2.5.1", "12.4")


def test_pip_same_build_is_on_target(mdata):
    current = snap(pip("torch", "2.5.1+cu124"))
    assert not planner.plan(current, pip_target(), mdata).pending


def test_pip_torch_beside_conda_goes_first_with_cuda_wheels(mdata):
    current = snap(conda("pytorch", "1.8.1", "pytorch", "py3.8_cuda10.2_cudnn7.6.5_0"),
                   conda("cudatoolkit", "10.2.89"), pip("torch", "1.8.1+cu102"),
                   pip("nvidia-cublas-cu11", "11.10.3.66"), pip("nvidia-ml-py", "11.495.46"))
    target = conda_target("1.8.1", "cu102", channels=("pytorch",),
                          specs=(Spec("cudatoolkit", "cudatoolkit=10.2", "selector"),))
    result = planner.plan(current, target, mdata)
    assert kinds(result) == ["backup", "backup", "remove", "install", "verify"]
    remove = result.steps[2]
    assert remove.packages == ("torch", "nvidia-cublas-cu11")  # not nvidia-ml-py, an NVML binding
    assert "would shadow the conda packages" in remove.reason


ORDER_CASES = [
    # id, current packages, target, expected (kind, packages) in order after the backups
    ("peterjc123-to-official",
     [conda("pytorch", "0.3.1", "peterjc123", "py36_cuda90_cudnn7he774522_2"), conda("cuda90", "1.0", "peterjc123"),
      conda("vc", "14", "peterjc123"), conda("vs2017_runtime", "15.4.27004.2010", "peterjc123")],
     {"torch": "0.4.0", "accel": "cu90", "channels": ("pytorch",), "platform": "win-64",
          "specs": (Spec("cuda90", "cuda90", "selector"),)},
     [("remove", ("pytorch",)), ("remove", ("cuda90",)), ("reset", ("defaults::vc=14",)), ("install", None)]),
    ("cudatoolkit-to-pytorch-cuda",
     [conda("pytorch", "1.12.1", "pytorch", "py3.9_cuda11.3_cudnn8.3.2_0"), conda("cudatoolkit", "11.3.1"),
      conda("pytorch-mutex", "1.0", "pytorch", "cuda"), conda("torchvision", "0.13.1", "pytorch", "py39_cu113")],
     {"torch": "2.0.0", "accel": "cu118", "specs": (Spec("pytorch-cuda", "pytorch-cuda=11.8", "selector"),)},
     [("remove", ("pytorch", "torchvision")), ("remove", ("cudatoolkit",)), ("install", None)]),
    ("cpuonly-to-cuda",
     [conda("cpuonly", "1.0", "pytorch"), conda("pytorch", "1.8.1", "pytorch", "py3.8_cpu_0")],
     {"torch": "1.8.1", "accel": "cu102", "channels": ("pytorch",),
          "specs": (Spec("cudatoolkit", "cudatoolkit=10.2", "selector"),)},
     [("remove", ("pytorch",)), ("remove", ("cpuonly",)), ("install", None)]),
    ("pytorch-channel-to-conda-forge",
     [conda("pytorch", "2.5.1", "pytorch", "py3.11_cuda12.4_cudnn9.1.0_0"), conda("pytorch-cuda", "12.4", "pytorch"),
      conda("pytorch-mutex", "1.0", "pytorch", "cuda"), conda("cudatoolkit", "11.8.0")],
     {"torch": "2.5.1", "accel": "cu124", "family": "conda-forge", "channels": ("conda-forge",), "override": True,
          "specs": (Spec("cuda-version", "cuda-version=12.4", "selector"),)},
     [("remove", ("pytorch",)), ("remove", ("pytorch-cuda", "pytorch-mutex", "cudatoolkit")), ("install", None)]),
]


@pytest.mark.parametrize("current,target,expected", [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES])
def test_steps_in_order(mdata, current, target, expected):
    result = planner.plan(snap(*current), conda_target(**target), mdata)
    body = [s for s in result.steps if s.kind not in ("backup", "verify")]
    got = [(s.kind, s.packages if want is not None else None) for s, (_, want) in zip(body, expected, strict=False)]
    assert got == expected and len(body) == len(expected)
    assert result.steps[0].kind == "backup" and result.steps[-1].kind == "verify"


def test_cudatoolkit_stays_when_the_target_uses_it(mdata):
    current = snap(conda("pytorch", "1.8.1", "pytorch", "py3.8_cuda10.2_cudnn7.6.5_0"), conda("cudatoolkit", "10.2.89"))
    target = conda_target("1.12.1", "cu102", channels=("pytorch",),
                          specs=(Spec("cudatoolkit", "cudatoolkit=10.2", "selector"),))
    result = planner.plan(current, target, mdata)
    assert not any("cudatoolkit" in s.packages for s in result.steps if s.kind == "remove")
    assert kinds(result) == ["backup", "backup", "install", "verify"]  # same channel and build: upgraded in place


def test_vc_reset_only_from_040_on_windows(mdata):
    current = snap(conda("pytorch", "0.3.1", "peterjc123", "py36_cuda90_cudnn7he774522_2"),
                   conda("vc", "14", "peterjc123"))
    old = conda_target("0.3.1", "cu90", family="peterjc123", channels=("peterjc123",), platform="win-64")
    assert "reset" not in kinds(planner.plan(current, old, mdata))
    linux = conda_target("0.4.0", "cu90", channels=("pytorch",), platform="linux-64")
    assert "reset" not in kinds(planner.plan(current, linux, mdata))
    new = conda_target("0.4.0", "cu90", channels=("pytorch",), platform="win-64")
    reset = next(s for s in planner.plan(current, new, mdata).steps if s.kind == "reset")
    assert reset.argv[-3:] == ("--override-channels", "-c", "defaults")
    assert "vc 14 (peterjc123)" in reset.reason


def test_mkl_from_another_channel_and_too_new_is_reset(mdata):
    pin = Spec("mkl", "mkl<2024.1", "pin", constraint="<2024.1", why="undefined symbol iJIT_NotifyEvent")
    current = snap(conda("pytorch", "2.0.0", "pytorch", "py3.10_cuda11.8_cudnn8.7.0_0"),
                   conda("mkl", "2024.1.0", "conda-forge"))
    result = planner.plan(current, conda_target(specs=(pin,)), mdata)
    reset = [s for s in result.steps if s.kind == "reset"]
    assert len(reset) == 1 and reset[0].packages == ("defaults::mkl<2024.1",)
    assert "iJIT_NotifyEvent" in reset[0].reason and "conda-forge" in reset[0].reason


def test_numpy2_with_old_torch_is_reset(mdata):
    pin = Spec("numpy", "numpy<2", "pin", constraint="<2", why="built against NumPy 1.x")
    current = snap(conda("pytorch", "2.0.0", "pytorch", "py3.10_cuda11.8_cudnn8.7.0_0"), conda("numpy", "2.0.1"))
    result = planner.plan(current, conda_target(specs=(pin,)), mdata)
    assert result.pending
    reset = next(s for s in result.steps if s.kind == "reset")
    assert reset.argv[:4] == ("conda", "install", "--yes", "numpy<2") and "numpy 2.0.1" in reset.reason
    ok = snap(conda("pytorch", "2.0.0", "pytorch", "py3.10_cuda11.8_cudnn8.7.0_0"), conda("numpy", "1.26.4"))
    assert not planner.plan(ok, conda_target(specs=(pin,)), mdata).pending


def test_env_selection_reaches_every_conda_command(mdata):
    current = snap(conda("cpuonly", "1.0", "pytorch"), conda("pytorch", "1.8.1", "pytorch", "py3.8_cpu_0"))
    target = conda_target("1.8.1", "cu102", channels=("pytorch",))
    result = planner.plan(current, target, mdata, EnvRef(prefix="/opt/envs/my env"))
    for step in result.steps:
        if step.argv[0] == "conda":
            assert step.argv[step.argv.index("--prefix"):][:2] == ("--prefix", "/opt/envs/my env")
    backup = result.steps[0]
    assert backup.stdout == "envgen-backup-abababab-conda-explicit.txt"
    assert backup.restore[:3] == ("conda", "create", "--yes") and backup.restore[-1] == backup.stdout


def test_verify_step_per_variant():
    cpu = planner.verify_step(pip_target(accel="cpu"))
    assert cpu.argv[-2:] == ("2.5.1", "None")
    cuda = planner.verify_step(pip_target(accel="cu124"))
    assert cuda.argv[-2:] == ("2.5.1", "12.4") and cuda.argv[:2] == ("python", "-c")
    assert not set(cuda.argv[2]) & set("\"%!^")  # carried unchanged by cmd (bash and PowerShell: a here-document)
    assert cuda.argv[2] == "; ".join(planner.VERIFY_LINES)


def test_plan_is_pure_and_stable(mdata):
    current = snap(pip("torch", "2.5.1+cpu"))
    assert planner.plan(current, pip_target(), mdata) == planner.plan(current, pip_target(), mdata)


@pytest.mark.parametrize("target_family,channels,removed", [
    ("conda-forge", ("conda-forge",), True),   # leaving the pytorch/nvidia channels: nvidia's CUDA packages go
    ("pytorch", ("pytorch", "nvidia"), False),  # staying on pytorch-cuda: the nvidia channel is still used
], ids=["to-conda-forge", "stay-pytorch-cuda"])
def test_nvidia_channel_leftovers(mdata, target_family, channels, removed):
    s = snap(conda("pytorch", "2.5.1", "pytorch", "py3.12_cuda12.4_cudnn9.1.0_0"),
             conda("pytorch-cuda", "12.4", "pytorch"), conda("cuda-cudart", "12.4.127", "nvidia"),
             conda("libcublas", "12.4.5.8", "nvidia"), conda("numpy", "1.26.4", "defaults"))
    t = conda_target("2.6.0" if target_family == "conda-forge" else "2.5.1", "cu126" if removed else "cu124",
                     family=target_family, channels=channels)
    result = planner.plan(s, t, mdata)
    gone = {n for step in result.steps if step.kind == "remove" for n in step.packages}
    assert ({"cuda-cudart", "libcublas"} <= gone) is removed
    assert "numpy" not in gone
