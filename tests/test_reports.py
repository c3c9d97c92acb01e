"""Parsers of pasted reports: collect_env of several eras, conda list, pip list/freeze, nvidia-smi."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.doctor.facts import CPU, Gpu
from envgen.doctor.reports import detect_kind, parse_report, read_report
from envgen.errors import BadInput

REPORTS = Path(__file__).parent / "golden" / "doctor" / "reports"


def read(name: str):
    return read_report(str(REPORTS / name))


@pytest.mark.parametrize("name, kind", [
    ("collect_env_1.0_linux_conda.txt", "collect_env"),
    ("collect_env_1.8_linux_pip.txt", "collect_env"),
    ("collect_env_2.x_windows_conda.txt", "collect_env"),
    ("collect_env_2.x_linux_cpu_nogpu.txt", "collect_env"),
    ("collect_env_2.x_macos_arm.txt", "collect_env"),
    ("nvidia_smi_470_k80.txt", "nvidia-smi"),
    ("nvidia_smi_535_rtx3090.txt", "nvidia-smi"),
    ("nvidia_smi_551_windows.txt", "nvidia-smi"),
    ("nvidia_smi_query.csv", "nvidia-smi"),
    ("nvidia_smi_failed.txt", "nvidia-smi"),
    ("conda_list_linux_ijit.txt", "conda list"),
    ("conda_list_windows_mixed.txt", "conda list"),
    ("conda_list_forge_cpu.txt", "conda list"),
    ("pip_list.txt", "pip list"),
    ("pip_freeze.txt", "pip freeze"),
])
def test_kind_is_told_by_content(name, kind):
    assert detect_kind((REPORTS / name).read_text()) == kind


def test_collect_env_1_0_era():
    f = read("collect_env_1.0_linux_conda.txt")
    assert (f.torch, f.torch_cuda, f.python, f.os, f.driver_version) == ("1.0.1.post2", "9.0", "3.6", "linux", "390.77")
    assert f.gpus == (Gpu("GeForce GTX 1080 Ti"), Gpu("GeForce GTX 1080 Ti"))
    assert f.cudnn == "7.1.4" and f.cuda_available is True
    assert f.install_method == "conda" and f.channel == "pytorch"
    assert f.torch_build == "py3.6_cuda9.0.176_cudnn7.4.2_2"
    assert f.packages["numpy"].version == "1.15.4" and f.packages["numpy"].installer == "pip"
    assert f.packages["cuda90"].installer == "conda"
    assert f.platform is None  # the 1.0 report names neither the architecture nor the bitness
    assert f.python_bits is None


def test_collect_env_1_8_pip_era():
    f = read("collect_env_1.8_linux_pip.txt")
    assert (f.torch, f.torch_build, f.torch_cuda) == ("1.8.1+cu102", "cu102", "10.2")
    assert (f.platform, f.python, f.python_bits) == ("linux-64", "3.8", 64)
    assert f.gpus == (Gpu("GeForce RTX 3090"),)
    assert f.install_method == "pip" and f.cudnn is None and f.cuda_available is False
    assert f.packages["torch"].version == "1.8.1+cu102"


def test_collect_env_2_windows_conda():
    f = read("collect_env_2.x_windows_conda.txt")
    assert (f.os, f.platform, f.python, f.python_bits) == ("windows", "win-64", "3.11.7", 64)
    assert (f.torch, f.torch_cuda, f.driver_version) == ("2.2.0", "12.1", "551.61")
    assert f.gpus == (Gpu("NVIDIA GeForce RTX 4070 Laptop GPU"),)
    assert (f.install_method, f.channel, f.torch_build) == ("conda", "pytorch", "py3.11_cuda12.1_cudnn8_0")
    assert f.cudatoolkit == "12.1"
    assert f.packages["mkl"].version == "2023.1.0" and f.packages["mkl"].installer == "conda"


def test_collect_env_2_cpu_build_without_gpu_leaves_gpus_unknown():
    f = read("collect_env_2.x_linux_cpu_nogpu.txt")
    assert f.torch_cuda == CPU and f.torch_build == "cpu"
    assert f.gpus is None and f.driver_version is None  # "No CUDA": the report did not look
    assert f.packages["numpy"].version == "2.1.1"
    assert f.platform == "linux-64"


def test_collect_env_macos():
    f = read("collect_env_2.x_macos_arm.txt")
    assert (f.os, f.platform, f.torch_cuda) == ("macos", "osx-arm64", CPU)


def test_nvidia_smi_old_table():
    f = read("nvidia_smi_470_k80.txt")
    assert (f.driver_version, f.driver_cuda) == ("470.82.01", "11.4")
    assert f.gpus == (Gpu("Tesla K80", None, 11441), Gpu("Tesla K80", None, 11441))
    assert f.os is None


def test_nvidia_smi_new_table():
    f = read("nvidia_smi_535_rtx3090.txt")
    assert (f.driver_version, f.driver_cuda) == ("535.104.05", "12.2")
    assert f.gpus == (Gpu("NVIDIA GeForce RTX 3090", None, 24576),)


def test_nvidia_smi_windows_truncated_name():
    f = read("nvidia_smi_551_windows.txt")
    assert f.os == "windows" and f.driver_version == "551.61"
    assert f.gpus[0].name == "NVIDIA GeForce RTX 4070 ..."


def test_nvidia_smi_query_csv():
    f = read("nvidia_smi_query.csv")
    assert f.driver_version == "550.54.15"
    assert f.gpus == (Gpu("NVIDIA A100-SXM4-80GB", "8.0", 81920),) * 2


def test_nvidia_smi_failure_is_unknown_not_no_gpu():
    f = read("nvidia_smi_failed.txt")
    assert f.gpus is None and "NVIDIA driver" in f.unknown["gpus"]


def test_conda_list_linux():
    f = read("conda_list_linux_ijit.txt")
    assert (f.torch, f.install_method, f.channel, f.torch_cuda) == ("2.2.2", "conda", "pytorch", "12.1")
    assert f.packages["mkl"].channel == "defaults" and f.packages["mkl"].version == "2024.1.0"
    assert (f.os, f.python, f.python_prefix) == ("linux", "3.10.14", "/home/ana/miniconda3/envs/t")
    assert f.cudatoolkit == "12.1"


def test_conda_list_windows_mixed():
    f = read("conda_list_windows_mixed.txt")
    assert f.os == "windows" and f.platform is None
    assert (f.torch, f.torch_cuda, f.channel) == ("1.12.1", "11.3", "pytorch")
    assert f.packages["torch"].installer == "pip" and f.packages["pytorch"].installer == "conda"
    assert f.packages["vc"].channel == "conda-forge"


def test_conda_forge_cpu_build_string():
    f = read("conda_list_forge_cpu.txt")
    assert (f.torch_cuda, f.channel, f.os) == (CPU, "conda-forge", None)


def test_pip_list_reads_cuda_from_nvidia_runtime():
    f = read("pip_list.txt")
    assert (f.torch, f.install_method, f.torch_cuda) == ("2.3.0", "pip", "12.1")
    assert f.packages["numpy"].version == "2.0.1"


def test_pip_freeze():
    f = read("pip_freeze.txt")
    assert (f.torch, f.torch_build, f.torch_cuda) == ("1.13.1+cu117", "cu117", "11.7")
    assert f.packages["pillow"].version == ""
    assert "proj" not in f.packages


def test_plain_pypi_torch_leaves_cuda_unknown():
    f = parse_report("torch==2.3.0\nnumpy==1.26.4\n", "x")
    assert f.torch == "2.3.0" and f.torch_cuda is None


@pytest.mark.parametrize("text", ["hello world\n", "", "   \n"])
def test_unknown_report_is_bad_input(text):
    with pytest.raises(BadInput) as err:
        parse_report(text, "paste.txt")
    assert "cannot tell" in err.value.message and "collect_env" in err.value.hint


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="cannot read"):
        read_report(str(tmp_path / "nope.txt"))


def test_facts_file_with_unknown_key_through_report(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("torch: 1.8.1\ngpu: [x]\n")
    with pytest.raises(BadInput, match="unknown key 'gpu'"):
        read_report(str(path))
