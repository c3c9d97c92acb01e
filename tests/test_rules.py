"""Rules: explicit facts for every cause code, on each platform where it applies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.version import Version

from envgen.compile.commands import install_command
from envgen.compile.resolve import resolve_one
from envgen.compile.stack import Request
from envgen.doctor.detect import runs_on
from envgen.doctor.diagnose import diagnose
from envgen.doctor.facts import CPU, Facts, Gpu, Package
from envgen.errors import Refusal
from envgen.matrix.doctor import doctor_data
from envgen.models import Accel, PyVer

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ["driver_too_old", "no_gpu_but_cuda_build", "cpu_build_installed", "missing_vc_runtime", "missing_mkl", "unsupported_gpu_arch", "python_32bit", "win32_no_package", "python_unsupported", "shadowing_torch_py", "mkl_2024_1_ijit", "numpy2_abi", "mixed_pip_conda", "wrong_python_env", "channel_conflict_vc14", "cuda_feature_conflict", "mkl_channel_mismatch", "ld_library_path_conflict", "corrupt_package"]

LINUX = {"platform": "linux-64", "os": "linux", "python": "3.10.12", "python_bits": 64}
WIN = {"platform": "win-64", "os": "windows", "python": "3.10.11", "python_bits": 64}
MAC = {"platform": "osx-arm64", "os": "macos", "python": "3.11.9", "python_bits": 64}


def pkgs(*rows: tuple) -> dict[str, Package]:
    return {r[0]: Package(*r) for r in rows}


def compiled(matrix, *, torch, accel, platform, installer, python=None) -> str:
    """What `envgen command` prints for this request (python: the facts' Python, else the newest)."""
    request = Request(torch=Version(torch), accel=Accel.parse(accel), platform=platform, installer=installer,
                      python=PyVer.parse(python) if python else None)
    try:
        return install_command(resolve_one(matrix, request)).command
    except Refusal:
        return install_command(resolve_one(matrix, Request(torch=Version(torch), accel=Accel.parse(accel),
                                                            platform=platform, installer=installer))).command


def one(matrix, facts: Facts, cause: str):
    found = [f for f in diagnose(matrix, facts) if f.cause == cause]
    assert found, f"{cause} not found; got {[f.cause for f in diagnose(matrix, facts)]}"
    return found[0]


def cuda_tags(command: str) -> list[Version]:
    tags = re.findall(r"(?:whl/|\+|pytorch-cuda=|cudatoolkit=|cuda-version=)(?:cu)?(\d+\.?\d*)", command)
    return [Version(t) if "." in t else Version(f"{t[:-1]}.{t[-1]}") for t in tags]


# --- driver / GPU ----------------------------------------------------------------------------------
@pytest.mark.parametrize("base, installer", [(LINUX, "pip"), (WIN, "pip"), (LINUX, "conda"), (WIN, "conda")],
                         ids=["linux-pip", "win-pip", "linux-conda", "win-conda"])
def test_driver_too_old(matrix, base, installer):
    facts = Facts(**base, torch="2.5.1", torch_cuda="12.4", driver_version="470.82.01" if base is LINUX else "472.12",
                  gpus=(Gpu("Tesla T4"),), install_method=installer, channel="pytorch" if installer == "conda" else None)
    f = one(matrix, facts, "driver_too_old")
    assert f.severity == "error"
    assert f.evidence["driver_version"] == facts.driver_version and f.evidence["torch_cuda"] == "12.4"
    needed = matrix.driver_floor(Version("12.4"), base["os"])
    assert Version(f.evidence["needed_driver"]) == needed
    # ranked, minimal first: the same torch on a CUDA build the driver runs, the driver update, another torch
    assert f.fix[0].startswith(installer) and "2.5.1" in f.fix[0]
    assert f.fix[1] == f"# or update the NVIDIA driver to >= {needed}: torch 2.5.1 as installed then runs fully"
    driver = Version(facts.driver_version)
    compat = matrix.minor_compat[11]
    for cmd in (c for c in f.fix if not c.startswith("#")):  # every CUDA a fix names runs on this driver (11.x: minor)
        for cuda in cuda_tags(cmd):
            assert cuda.major == 11 and (compat.driver_windows if base is WIN else compat.driver_linux) <= driver


def test_driver_below_floor_but_within_minor_compat_is_a_warning(matrix):
    compat = matrix.minor_compat[12].driver_linux
    facts = Facts(**LINUX, torch="2.5.1+cu121", torch_cuda="12.1", driver_version=str(compat),
                  gpus=(Gpu("NVIDIA A10G"),), install_method="pip")
    assert matrix.driver_floor(Version("12.1"), "linux") > compat
    assert one(matrix, facts, "driver_too_old").severity == "warning"


def test_driver_error_message_alone_is_possible_and_says_what_decides(matrix):
    f = one(matrix, Facts(error="RuntimeError: The NVIDIA driver on your system is too old (found version 10010)."),
            "driver_too_old")
    assert f.severity == "possible" and "nvidia-smi" in f.message and "too old" in f.evidence["error"]


@pytest.mark.parametrize("base, installer, cpu_marker", [(LINUX, "pip", "whl/cpu"), (WIN, "conda", "cpuonly")],
                         ids=["linux-pip", "win-conda"])
def test_no_gpu_but_cuda_build(matrix, base, installer, cpu_marker):
    facts = Facts(**base, torch="2.5.1", torch_cuda="12.1", gpus=(), install_method=installer,
                  unknown={"driver_version": "no NVIDIA driver (NVML: the NVML shared library was not found)"})
    f = one(matrix, facts, "no_gpu_but_cuda_build")
    assert f.severity == "warning" and "no NVIDIA driver" in f.message
    assert f.fix == (compiled(matrix, torch="2.5.1", accel="cpu", platform=base["platform"], installer=installer,
                              python=base["python"]),)
    assert cpu_marker in f.fix[0]


def test_no_gpu_message_raises_to_error_when_seen(matrix):
    facts = Facts(**LINUX, torch="2.5.1", torch_cuda="12.1", gpus=(), install_method="pip",
                  error="RuntimeError: Found no NVIDIA driver on your system.")
    f = one(matrix, facts, "no_gpu_but_cuda_build")
    assert f.severity == "error" and f.confirmed and diagnose(matrix, facts)[0] is not None
    assert diagnose(matrix, facts)[0].cause == "no_gpu_but_cuda_build"


@pytest.mark.parametrize("base, installer", [(WIN, "pip"), (LINUX, "conda")], ids=["win-pip", "linux-conda"])
def test_cpu_build_installed(matrix, base, installer):
    facts = Facts(**base, torch="2.5.1+cpu" if installer == "pip" else "2.5.1", torch_cuda=CPU,
                  gpus=(Gpu("NVIDIA GeForce RTX 3090"),), driver_version="560.94", install_method=installer,
                  channel="pytorch" if installer == "conda" else None)
    f = one(matrix, facts, "cpu_build_installed")
    assert f.severity == "error" and f.evidence["gpus"] == ["NVIDIA GeForce RTX 3090"]
    assert f.fix and all(c.startswith(installer) for c in f.fix)
    assert cuda_tags(f.fix[0]), f.fix  # the fix installs a CUDA build
    if base is WIN:
        assert "CPU build on Windows" in f.message


def test_cpu_build_on_macos_is_not_a_finding(matrix):
    facts = Facts(**MAC, torch="2.3.1", torch_cuda=CPU, gpus=(Gpu("Apple M2"),), install_method="pip")
    assert "cpu_build_installed" not in [f.cause for f in diagnose(matrix, facts)]


@pytest.mark.parametrize("base, installer", [(LINUX, "pip"), (WIN, "conda")], ids=["linux-pip", "win-conda"])
def test_unsupported_gpu_arch_from_matrix_archs(matrix, base, installer):
    facts = Facts(**base, torch="2.5.1", torch_cuda="12.4", gpus=(Gpu("Tesla K80"),), driver_version="560.94",
                  install_method=installer)
    f = one(matrix, facts, "unsupported_gpu_arch")
    assert f.evidence["compute_capability"] == ["3.7"] and "sm_37" in f.message
    rel = matrix.release(Version("2.5.1"))
    assert "sm_37" not in rel.accel["cu124"].archs
    m = re.search(r"Install torch (\S+) \(CUDA (\S+)\)", f.message)
    carried = matrix.release(Version(m.group(1))).accel[Accel.parse(m.group(2)).tag].archs
    assert runs_on(Version("3.7"), carried)  # the fix names a build that carries sm_37
    assert f.fix and f.fix[0].startswith(installer)


def test_unsupported_gpu_arch_from_probed_arch_list(matrix):
    facts = Facts(**LINUX, torch="2.0.1+cu117", torch_cuda="11.7", torch_archs=("sm_37", "sm_50", "sm_60", "sm_70",
                  "sm_75", "sm_80", "sm_86"), gpus=(Gpu("NVIDIA GeForce RTX 4090", "8.9"), Gpu("NVIDIA H100 PCIe")),
                  driver_version="550.54.14", install_method="pip",
                  error="CUDA error: no kernel image is available for execution on the device")
    f = one(matrix, facts, "unsupported_gpu_arch")
    assert f.confirmed and f.evidence["gpus"] == ["NVIDIA H100 PCIe"]  # 8.9 runs sm_86 kernels; 9.0 runs none
    assert diagnose(matrix, facts)[0].cause == "unsupported_gpu_arch"


def test_ptx_in_arch_list_covers_newer_gpus(matrix):
    facts = Facts(**LINUX, torch="2.1.0+cu121", torch_cuda="12.1", torch_archs=("sm_80", "sm_90", "compute_90"),
                  gpus=(Gpu("NVIDIA GeForce RTX 5090"),), driver_version="570.124.06", install_method="pip")
    assert "unsupported_gpu_arch" not in [f.cause for f in diagnose(matrix, facts)]


def test_arch_error_without_gpu_facts_is_possible(matrix):
    f = one(matrix, Facts(error="CUDA error: no kernel image is available for execution on the device"),
            "unsupported_gpu_arch")
    assert f.severity == "possible" and "compute_cap" in f.message


# --- interpreter ------------------------------------------------------------------------------------
def test_python_32bit_on_windows(matrix):
    f = one(matrix, Facts(**{**WIN, "python_bits": 32}), "python_32bit")
    assert f.fix == ("winget install --exact --id Python.Python.3.10 --architecture x64",)


def test_python_32bit_on_linux_has_no_winget(matrix):
    f = one(matrix, Facts(**{**LINUX, "python_bits": 32}), "python_32bit")
    assert f.severity == "error" and f.fix == ()


def test_win32_no_package(matrix):
    facts = Facts(platform="win-32", os="windows", python_bits=32,
                  error="PackagesNotFoundError: The following packages are not available from current channels:\n"
                        "  - pytorch")
    found = diagnose(matrix, facts)
    assert found[0].cause == "win32_no_package" and found[0].confirmed
    assert found[0].fix == ("winget install --exact --id Anaconda.Miniconda3",)
    assert "python_32bit" not in [f.cause for f in found]  # the win-32 finding says it all


@pytest.mark.parametrize("base, command", [(LINUX, 'mv "torch.py" "my_torch.py"'),
                                           (WIN, 'move "torch.py" "my_torch.py"')], ids=["linux", "windows"])
def test_shadowing_torch_py_in_cwd(matrix, base, command):
    f = one(matrix, Facts(**base, cwd_files=("torch.py",), error="AttributeError: module 'torch' has no attribute "
                                                                   "'tensor'"), "shadowing_torch_py")
    assert f.confirmed and f.fix == (command,)


def test_shadowing_from_probe_path(matrix):
    f = one(matrix, Facts(**LINUX, shadowing=("/home/u/proj/torch.py",), cwd_files=("torch.py",)),
            "shadowing_torch_py")
    assert f.evidence["shadowing"] == ["/home/u/proj/torch.py"]
    assert f.fix == ('mv "/home/u/proj/torch.py" "/home/u/proj/my_torch.py"',)


@pytest.mark.parametrize("facts", [
    Facts(error="ModuleNotFoundError: No module named 'torch'",
          packages=pkgs(("pytorch", "2.2.2", "conda", "pytorch"))),
    Facts(**LINUX, torch_error="ModuleNotFoundError: No module named 'torch'", python_prefix="/usr",
          env={"CONDA_PREFIX": "/home/u/miniconda3/envs/dl"}, packages={}),
], ids=["installed-but-missing", "prefix-not-active-env"])
def test_wrong_python_env(matrix, facts):
    f = one(matrix, facts, "wrong_python_env")
    assert f.severity == "error" and f.fix
    assert 'python -c "import sys; print(sys.executable)"' in f.fix
    assert any(c.startswith(("which", "where")) for c in f.fix) or facts.os is None


def test_wrong_python_env_possible_from_message_alone(matrix):
    f = one(matrix, Facts(error="No module named 'torch'"), "wrong_python_env")
    assert f.severity == "possible" and "sys.executable" in f.message


def test_corrupt_package(matrix):
    facts = Facts(**LINUX, torch="2.3.0", torch_cuda="12.1", install_method="pip", gpus=(Gpu("Tesla T4"),),
                  driver_version="550.54.14", corrupt=("torch: 2 of its 9000 files are missing (e.g. torch/lib/x.so)",))
    f = one(matrix, facts, "corrupt_package")
    assert f.fix[0] == "pip cache purge"
    assert f.fix[1] == compiled(matrix, torch="2.3.0", accel="cu121", platform="linux-64", installer="pip",
                                python="3.10") + " --force-reinstall"


def test_corrupt_download_message(matrix):
    f = one(matrix, Facts(**WIN, install_method="conda", error="CondaVerificationError: ... appears to be corrupted"),
            "corrupt_package")
    assert f.severity == "error" and f.fix == ("conda clean --packages --tarballs --yes",)


# --- vocabulary, ordering, health -------------------------------------------------------------------
def test_vocabulary_is_data_and_documented(matrix):
    data = doctor_data(matrix)
    assert list(data.causes) == VOCABULARY
    doc = (ROOT / "docs" / "doctor.md").read_text()
    for cause in VOCABULARY:
        assert f"`{cause}`" in doc, cause
        assert data.causes[cause].sources and data.causes[cause].patterns


def test_healthy_machine_has_no_findings(matrix):
    facts = Facts(**LINUX, torch="2.5.1+cu124", torch_cuda="12.4", gpus=(Gpu("NVIDIA GeForce RTX 3090"),),
                  driver_version="560.35.03", install_method="pip", cwd_files=(), shadowing=(),
                  packages=pkgs(("torch", "2.5.1+cu124", "pip"), ("numpy", "2.1.0", "pip")),
                  env={"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu"}, libraries={}, corrupt=())
    assert diagnose(matrix, facts) == []


def test_most_likely_cause_first(matrix):
    facts = Facts(**LINUX, torch="2.5.1", torch_cuda="12.1", gpus=(), install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "2.5.1", "conda", "pytorch"), ("mkl", "2024.1.0", "conda", "defaults")),
                  error="ImportError: /opt/conda/lib/libtorch_cpu.so: undefined symbol: iJIT_NotifyEvent")
    causes = [f.cause for f in diagnose(matrix, facts)]
    assert causes[0] == "mkl_2024_1_ijit"
    assert "no_gpu_but_cuda_build" in causes[1:]


# --- packages, channels, libraries ----------------------------------------------------------------
def test_missing_vc_runtime_from_probed_dlls(matrix):
    facts = Facts(**WIN, torch="2.5.1", dlls={"vcruntime140.dll": False, "msvcp140.dll": True,
                                              "libiomp5md.dll": True},
                  torch_error="ImportError: DLL load failed while importing _C: The specified module could not be found.")
    found = diagnose(matrix, facts)
    assert [f.cause for f in found] == ["missing_vc_runtime"]  # the DLL facts rule MKL out
    assert found[0].evidence["dlls"] == {"vcruntime140.dll": False}
    assert found[0].fix == ("winget install --exact --id Microsoft.VCRedist.2015+.x64",)


def test_dll_load_failed_alone_is_possible_for_both_causes(matrix):
    found = diagnose(matrix, Facts(error="ImportError: DLL load failed while importing _C"))
    assert {(f.cause, f.severity) for f in found} == {("missing_vc_runtime", "possible"), ("missing_mkl", "possible")}


def test_vc_runtime_named_in_message_decides(matrix):
    f = one(matrix, Facts(error="OSError: [WinError 126] ... Error loading \"vcruntime140_1.dll\""),
            "missing_vc_runtime")
    assert f.severity == "error" and f.fix[0].startswith("winget install")


def test_vc_runtime_is_not_a_linux_finding(matrix):
    assert diagnose(matrix, Facts(**LINUX, dlls={"vcruntime140.dll": False})) == []


@pytest.mark.parametrize("facts, first_fix", [
    (Facts(**WIN, torch="2.2.0", install_method="pip", dlls={"libiomp5md.dll": False, "vcruntime140.dll": True,
                                                               "msvcp140.dll": True}), "pip install"),
    (Facts(**LINUX, torch="2.2.2", install_method="conda", channel="pytorch",
           packages=pkgs(("pytorch", "2.2.2", "conda", "pytorch"), ("numpy", "1.26.4", "conda", "defaults"),
                         ("python", "3.11.9", "conda", "defaults"))),  # a whole listing: it has python
     'conda install --force-reinstall "mkl<2024.1" intel-openmp -c defaults'),
    (Facts(**LINUX, install_method="conda",
           error="OSError: libmkl_intel_lp64.so.1: cannot open shared object file: No such file or directory"),
     "conda install --force-reinstall"),
], ids=["win-dll", "linux-conda-no-mkl", "linux-message"])
def test_missing_mkl(matrix, facts, first_fix):
    f = one(matrix, facts, "missing_mkl")
    assert f.severity == "error" and f.fix[0].startswith(first_fix)


def test_mkl_2024_1_ijit_is_a_linux_break(matrix):
    """The iJIT_NotifyEvent break is Linux's (libtorch_cpu.so); a Windows env with mkl 2024.1 is not flagged for it."""
    facts = Facts(**WIN, torch="2.2.2", torch_cuda="12.1", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "2.2.2", "conda", "pytorch"), ("mkl", "2024.1.0", "conda", "defaults")))
    assert "mkl_2024_1_ijit" not in [f.cause for f in diagnose(matrix, facts)]


@pytest.mark.parametrize("base", [LINUX], ids=["linux"])
def test_mkl_2024_1_ijit(matrix, base):
    facts = Facts(**base, torch="2.2.2", torch_cuda="12.1", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "2.2.2", "conda", "pytorch"), ("mkl", "2024.1.0", "conda", "defaults")))
    f = one(matrix, facts, "mkl_2024_1_ijit")
    assert f.evidence["packages"] == {"mkl": "2024.1.0"}
    assert f.fix == ('conda install "mkl<2024.1"',)
    # the same pin is what the compiler puts in the install command for this build
    assert '"mkl<2024.1"' in compiled(matrix, torch="2.2.2", accel="cu121", platform=base["platform"],
                                      installer="conda")


@pytest.mark.parametrize("channel, mkl", [("conda-forge", "2024.1.0"), ("pytorch", "2023.1.0")],
                         ids=["conda-forge-build", "old-mkl"])
def test_mkl_ijit_not_raised_when_pin_does_not_apply(matrix, channel, mkl):
    facts = Facts(**LINUX, torch="2.2.2", install_method="conda", channel=channel,
                  packages=pkgs(("pytorch", "2.2.2", "conda", channel), ("mkl", mkl, "conda", channel)))
    assert "mkl_2024_1_ijit" not in [f.cause for f in diagnose(matrix, facts)]


def test_ijit_message_alone_is_an_error(matrix):
    f = one(matrix, Facts(error="undefined symbol: iJIT_NotifyEvent"), "mkl_2024_1_ijit")
    assert f.severity == "error" and f.fix == ('conda install "mkl<2024.1"',)


@pytest.mark.parametrize("base, installer, command", [(LINUX, "pip", 'pip install "numpy<2"'),
                                                      (WIN, "conda", 'conda install "numpy<2"')],
                         ids=["linux-pip", "win-conda"])
def test_numpy2_abi(matrix, base, installer, command):
    facts = Facts(**base, torch="1.13.1", install_method=installer,
                  packages=pkgs(("numpy", "2.0.1", installer), ("torch", "1.13.1", installer)))
    f = one(matrix, facts, "numpy2_abi")
    assert f.fix == (command,) and f.evidence["packages"] == {"numpy": "2.0.1"}


def test_numpy2_fine_with_new_torch(matrix):
    facts = Facts(**LINUX, torch="2.4.1", install_method="pip", packages=pkgs(("numpy", "2.1.1", "pip")))
    assert "numpy2_abi" not in [f.cause for f in diagnose(matrix, facts)]


@pytest.mark.parametrize("base", [LINUX, WIN], ids=["linux", "windows"])
def test_mixed_pip_conda(matrix, base):
    facts = Facts(**base, torch="1.12.1", torch_cuda="11.3", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "1.12.1", "conda", "pytorch"), ("torch", "2.0.1", "pip", "pypi")))
    f = one(matrix, facts, "mixed_pip_conda")
    assert f.fix[0] == "pip uninstall -y torch torchvision torchaudio"
    assert f.fix[1] == compiled(matrix, torch="1.12.1", accel="cu113", platform=base["platform"],
                                installer="conda", python=base["python"])


def test_channel_conflict_vc14(matrix):
    facts = Facts(**WIN, torch="1.12.1", torch_cuda="11.3", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "1.12.1", "conda", "pytorch"), ("vc", "14.3", "conda", "conda-forge")))
    f = one(matrix, facts, "channel_conflict_vc14")
    assert f.fix[0] == 'conda install --override-channels -c defaults "vc=14"'
    assert f.fix[1].startswith("conda install") and "pytorch==1.12.1" in f.fix[1]
    linux = Facts(**LINUX, install_method="conda", channel="pytorch", packages=facts.packages)
    assert "channel_conflict_vc14" not in [x.cause for x in diagnose(matrix, linux)]


def test_cuda_feature_conflict(matrix):
    facts = Facts(**LINUX, torch="0.3.1", torch_cuda="9.0", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "0.3.1", "conda", "pytorch"), ("cuda80", "1.0", "conda", "pytorch"),
                                ("cuda90", "1.0", "conda", "pytorch")))
    f = one(matrix, facts, "cuda_feature_conflict")
    assert f.fix[0] == "conda remove cuda80"
    assert f.fix[1] == compiled(matrix, torch="0.3.1", accel="cu90", platform="linux-64", installer="conda")


@pytest.mark.parametrize("mkl, first", [(("mkl", "2023.1.0", "conda", "conda-forge"), "conda install"),
                                        (("mkl", "2023.1.0", "pip", "pypi"), "pip uninstall -y mkl")],
                         ids=["conda-forge-mkl", "pip-mkl"])
def test_mkl_channel_mismatch(matrix, mkl, first):
    facts = Facts(**LINUX, torch="2.2.2", install_method="conda", channel="pytorch",
                  packages=pkgs(("pytorch", "2.2.2", "conda", "pytorch"), mkl))
    f = one(matrix, facts, "mkl_channel_mismatch")
    assert f.fix[0].startswith(first) and f.fix[-1].endswith("-c defaults")


def test_ld_library_path_conflict_linux(matrix):
    facts = Facts(**LINUX, torch="2.3.0+cu121", torch_cuda="12.1", install_method="pip",
                  env={"LD_LIBRARY_PATH": "/usr/local/cuda-10.1/lib64:/opt/mylib"})
    f = one(matrix, facts, "ld_library_path_conflict")
    assert f.severity == "warning" and f.fix == ('export LD_LIBRARY_PATH="/opt/mylib"',)


def test_ld_library_path_uses_probed_libraries(matrix):
    facts = Facts(**LINUX, torch="2.3.0", env={"LD_LIBRARY_PATH": "/opt/a:/opt/cuda-extras"},
                  libraries={"/opt/a": ("libcudnn.so.8",)},
                  error="undefined symbol: cudnnGetLibConfig, version libcudnn.so.8")
    f = one(matrix, facts, "ld_library_path_conflict")
    assert f.severity == "error" and f.fix == ('export LD_LIBRARY_PATH="/opt/cuda-extras"',)


@pytest.mark.parametrize("path, expected", [
    (r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v10.1\bin;C:\Windows", True),
    (r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.1\bin;C:\Windows", False),
], ids=["other-cuda", "same-cuda"])
def test_path_conflict_windows(matrix, path, expected):
    facts = Facts(**WIN, torch="2.3.0+cu121", torch_cuda="12.1", install_method="pip", env={"PATH": path})
    causes = [f.cause for f in diagnose(matrix, facts)]
    assert ("ld_library_path_conflict" in causes) is expected
    if expected:
        assert one(matrix, facts, "ld_library_path_conflict").fix == ('set "PATH=C:\\Windows"',)


def test_every_cause_is_exercised_by_this_file():
    text = Path(__file__).read_text()
    for cause in VOCABULARY:
        assert f'"{cause}"' in text, cause
