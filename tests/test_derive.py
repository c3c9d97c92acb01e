"""The derivation stage: what a report implies, with provenance and strength, read from the matrix and the
error-message extractors of matrices/doctor.yaml; and the ranking by evidence strength that rests on it."""

from __future__ import annotations

import pytest

from envgen.doctor.derive import derive
from envgen.doctor.diagnose import diagnosis
from envgen.doctor.facts import Facts, Gpu, Package, load_facts_text
from envgen.doctor.freetext import driver_version, install_method, os_family
from envgen.errors import BadInput
from envgen.matrix.doctor import doctor_data


@pytest.mark.parametrize("text, family", [
    ("Ubuntu 20.04.6 LTS (x86_64)", "linux"), ("Microsoft Windows 11 Pro", "windows"), ("Windows 10", "windows"),
    ("macOS 14.2.1 (arm64)", "macos"), ("Mac OSX 10.13.6", "macos"), ("CentOS Linux release 7.9.2009", "linux"),
    ("WSL2 Ubuntu 22.04", "linux"), ("Arch Linux", "linux"), ("linux", "linux"), ("Debian GNU/Linux 12", "linux"),
    ("BeOS R5", None), ("", None), ("search", None),
])
def test_os_family(text, family):
    assert os_family(text) == family


@pytest.mark.parametrize("text, version", [
    ("535.104.05", "535.104.05"), ("Driver Version: 470.82.01", "470.82.01"), ("R535", "535.0"),
    ("525 series", "525.0"), ("NVIDIA driver 550.54", "550.54"), ("latest", None), ("12.4", None),
])
def test_driver_version_as_people_write_it(text, version):
    assert driver_version(text)[0] == version


@pytest.mark.parametrize("text, method", [("pip3", "pip"), ("Conda (pytorch channel)", "conda"), ("uv pip", "pip"),
                                          ("mamba", "conda"), ("from source", None)])
def test_install_method(text, method):
    assert install_method(text) == method


def one(matrix, facts: Facts, seen: str = ""):
    d = derive(matrix, doctor_data(matrix), facts, seen)
    return d, {x.fact: x for x in d.derived}


# (id, facts, error, fact, value, strength, phrase of the provenance)
DERIVED = [
    ("local-tag", Facts(torch="2.1.0+cu121"), "", "torch_cuda", "12.1", "decisive", "local version tag +cu121"),
    ("local-tag-cpu", Facts(torch="2.3.1+cpu"), "", "torch_cuda", "none", "decisive", "+cpu"),
    ("conda-build", Facts(torch="1.10.0", torch_build="py3.9_cuda11.3_cudnn8.2.0_0"), "", "torch_cuda", "11.3",
     "decisive", "build string"),
    ("conda-build-cudnn", Facts(torch="1.10.0", torch_build="py3.9_cuda11.3_cudnn8.2.0_0"), "", "cudnn", "8.2.0",
     "decisive", "build string"),
    ("conda-forge-build", Facts(torch="2.1.2", torch_build="cuda118py310h1234567_300"), "", "torch_cuda", "11.8",
     "decisive", "build string"),
    ("conda-cpu-build", Facts(torch="2.1.2", torch_build="py3.10_cpu_0"), "", "torch_cuda", "none", "decisive",
     "build string"),
    ("cpuonly", Facts(torch="1.12.1", packages={"cpuonly": Package("cpuonly", "2.0", "conda", "pytorch")}), "",
     "torch_cuda", "none", "decisive", "cpuonly"),
    ("pytorch-cuda", Facts(torch="2.0.1", packages={"pytorch-cuda": Package("pytorch-cuda", "11.8", "conda")}), "",
     "torch_cuda", "11.8", "strong", "pytorch-cuda 11.8"),
    ("feature-package", Facts(torch="0.4.1", packages={"cuda90": Package("cuda90", "1.0", "conda")}), "",
     "torch_cuda", "9.0", "strong", "feature package cuda90"),
    ("pypi-default-linux", Facts(torch="2.1.0", install_method="pip", platform="linux-64"), "", "torch_cuda",
     "12.1", "suggestive", "PyPI's default build of torch 2.1.0 on linux-64"),
    ("pypi-default-windows", Facts(torch="2.1.0", install_method="pip", os="windows"), "", "torch_cuda", "none",
     "suggestive", "PyPI's default build of torch 2.1.0 on win-64"),
    # the newest toolkit PyTorch built with whose floor the driver meets (11.4 was never a torch build)
    ("driver-cuda-from-matrix", Facts(driver_version="470.82.01", os="linux"), "", "driver_cuda", "11.3", "strong",
     "matrix: driver 470.82.01"),
    ("driver-branch", Facts(driver_version="R535"), "", "driver_version", "535.0", "strong", "535 driver branch"),
    ("gpu-cc", Facts(gpus=(Gpu("NVIDIA GeForce RTX 4060 Laptop GPU"),)), "", "compute_capability",
     "NVIDIA GeForce RTX 4060 Laptop GPU: 8.9", "strong", "GPU models"),
    ("archs-from-matrix", Facts(torch="2.1.0+cu121"), "", "torch_archs", "sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, sm_90",
     "strong", "matrix: torch 2.1.0 cu121"),
    ("os-free-text", Facts(os="Ubuntu 22.04.3 LTS"), "", "os", "linux", "decisive", "names linux"),
    ("os-from-traceback", Facts(), 'File "C:\\Users\\me\\anaconda3\\lib\\site-packages\\torch\\__init__.py"', "os",
     "windows", "strong", "the error message"),
    ("driver-too-old-found", Facts(), "The NVIDIA driver on your system is too old (found version 10010).",
     "driver_cuda", "10.1", "decisive", "found version 10010"),
    ("not-compiled", Facts(), "AssertionError: Torch not compiled with CUDA enabled", "torch_cuda", "none",
     "decisive", "Torch not compiled with CUDA enabled"),
    ("gpu-from-warning", Facts(), ("UserWarning:\nNVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible "
                                   "with the current PyTorch installation.\nThe current PyTorch install supports CUDA "
                                   "capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90."),
     "gpus", "NVIDIA GeForce RTX 5090 (compute capability 12.0)", "decisive", "names the GPU"),
    ("archs-from-warning", Facts(), "The current PyTorch install supports CUDA capabilities sm_37 sm_50 sm_60.",
     "torch_archs", "sm_37, sm_50, sm_60", "decisive", "the error message"),
    ("failed-dll", Facts(), ('OSError: [WinError 126] The specified module could not be found. Error loading '
                             '"C:\\Python311\\Lib\\site-packages\\torch\\lib\\fbgemm.dll" or one of its dependencies.'),
     "failed_dll", "fbgemm.dll", "decisive", "Error loading"),
    ("smi-pasted", Facts(), "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |",
     "driver_version", "535.104.05", "decisive", "Driver Version"),
]


@pytest.mark.parametrize("facts, seen, fact, value, strength, phrase", [r[1:] for r in DERIVED],
                         ids=[r[0] for r in DERIVED])
def test_derived(matrix, facts, seen, fact, value, strength, phrase):
    _, by = one(matrix, facts, seen)
    assert fact in by, by
    assert (by[fact].value, by[fact].strength) == (value, strength)
    assert phrase in by[fact].source


def test_stated_facts_are_never_overridden(matrix):
    d, by = one(matrix, Facts(torch="2.1.0+cu121", torch_cuda="11.8", os="linux"),
                "Torch not compiled with CUDA enabled")
    assert d.facts.torch_cuda == "11.8" and "torch_cuda" not in by


def test_a_listing_beats_the_pypi_default(matrix):
    facts = Facts(torch="2.1.0", install_method="pip", platform="linux-64",
                  packages={"nvidia-cuda-runtime-cu11": Package("nvidia-cuda-runtime-cu11", "11.8.89", "pip")})
    _, by = one(matrix, facts)
    assert by["torch_cuda"].value == "11.8" and by["torch_cuda"].strength == "strong"


@pytest.mark.parametrize("text, error", [
    ("os: BeOS\n", "'BeOS' names no operating system"),
    ("driver_version: latest\n", "'latest' is no NVIDIA driver version"),
    ("install_method: from source\n", "must be conda or pip"),
])
def test_lenient_facts_refuse_only_what_means_nothing(text, error):
    with pytest.raises(BadInput, match=error):
        load_facts_text(text, "facts.yaml")


def test_lenient_facts_read_what_people_paste(matrix):
    facts = load_facts_text("os: Ubuntu 22.04.4 LTS (x86_64)\nplatform: Linux-6.5.0-x86_64-with-glibc2.35\n"
                            "driver_version: 550 series\ninstall_method: pip3\ntorch: 2.3.0\n", "facts.yaml")
    d, by = one(matrix, facts)
    assert (d.facts.os, d.facts.platform, d.facts.driver_version, d.facts.install_method) == \
        ("linux", "linux-64", "550.0", "pip")
    assert by["torch_cuda"].source.startswith("matrix: PyPI's default build of torch 2.3.0 on linux-64")


# --- ranking by evidence --------------------------------------------------------------------------------------
def test_decisive_error_ranks_first_even_without_facts(matrix):
    found, _ = diagnosis(matrix, Facts(error="CUDA error: no kernel image is available for execution on the device\n"
                                             "DLL load failed while importing _C"))
    assert found[0].cause == "unsupported_gpu_arch"
    assert found[0].strength == "decisive" and found[0].severity == "possible"
    assert {f.strength for f in found[1:]} == {"suggestive"}


def test_env_var_pointing_at_the_named_library_is_decisive(matrix):
    facts = Facts(os="linux", torch="2.1.0+cu121", env={"LD_LIBRARY_PATH": "/usr/local/cuda-11.2/lib64"},
                  libraries={"/usr/local/cuda-11.2/lib64": ("libcudnn_cnn_infer.so.8", "libcudart.so.11.0")},
                  packages={"numpy": Package("numpy", "2.0.1", "pip")},
                  error="OSError: libcudnn_cnn_infer.so.8: undefined symbol: _ZN5cudnn3cnn5infer22queryClusterPointsEv")
    found, _ = diagnosis(matrix, facts)
    first = found[0]
    assert (first.cause, first.severity, first.strength) == ("ld_library_path_conflict", "error", "decisive")
    assert first.evidence["error_library"] == "libcudnn_cnn_infer.so.8"


def test_wrong_channel_listing_is_decisive(matrix):
    facts = Facts(os="linux", platform="linux-64", torch="2.2.2", install_method="conda", channel="pytorch",
                  torch_cuda="12.1", packages={"mkl": Package("mkl", "2023.1.0", "conda", "conda-forge")},
                  error="Intel MKL FATAL ERROR: Cannot load libmkl_avx2.so.2 or libmkl_def.so.2.")
    found, _ = diagnosis(matrix, facts)
    assert (found[0].cause, found[0].strength) == ("mkl_channel_mismatch", "decisive")


def test_cudatoolkit_beside_the_build_sets_the_driver_floor(matrix):
    facts = Facts(os="linux", platform="linux-64", torch="1.8.1", install_method="conda", channel="pytorch",
                  torch_build="py3.8_cuda10.2_cudnn7.6.5_0", cudatoolkit="11.1", driver_version="450.80.02")
    found, _ = diagnosis(matrix, facts)
    hit = next(f for f in found if f.cause == "driver_too_old")
    assert "cudatoolkit 11.1 beside torch 1.8.1" in hit.message and hit.evidence["cudatoolkit"] == "11.1"


def test_driver_cuda_from_the_error_decides_driver_too_old(matrix):
    facts = Facts(torch="1.5.0", install_method="pip", os="linux",
                  error="RuntimeError: The NVIDIA driver on your system is too old (found version 10010).")
    found, d = diagnosis(matrix, facts)
    assert d.about("torch_cuda") is not None and d.about("torch_cuda").value == "10.2"  # PyPI's 1.5.0 on Linux
    first = found[0]
    assert (first.cause, first.severity) == ("driver_too_old", "error")
    assert "a driver that runs CUDA up to 10.1" in first.message
    assert first.derived_from["torch_cuda"].startswith("matrix: PyPI's default build")


def test_python_too_new_for_the_release(matrix):
    facts = Facts(os="windows", python="3.12", error=(
        "ERROR: Could not find a version that satisfies the requirement torch==1.13.1 (from versions: 2.2.0, 2.2.1)\n"
        "ERROR: No matching distribution found for torch==1.13.1"))
    found, _ = diagnosis(matrix, facts)
    assert found[0].cause == "python_unsupported"
    assert "Use Python 3.10 for torch 1.13.1" in found[0].message
    assert found[0].fix[0] == "conda create -n torch1.13.1 python=3.10"


def test_an_error_nothing_explains_says_what_to_collect(matrix):
    found, _ = diagnosis(matrix, Facts(error="Segmentation fault (core dumped)"))
    assert [f.cause for f in found] == ["unexplained"]
    assert found[0].collect == ("python -m torch.utils.collect_env", "nvidia-smi", "conda list")


# --- through the CLI ------------------------------------------------------------------------------------------
def _doctor(capsys, *argv: str) -> tuple[int, str, str]:
    from envgen.cli import main

    with pytest.raises(SystemExit) as done:
        main(["doctor", *argv])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_explain_shows_implied_facts_and_evidence_strength(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    facts = tmp_path / "facts.yaml"
    facts.write_text("os: Ubuntu 20.04.6 LTS (x86_64)\ntorch: 2.1.0+cu121\ndriver_version: R470\n"
                     "gpus: [NVIDIA GeForce RTX 3090]\n")
    code, out, _ = _doctor(capsys, "--from", str(facts), "--error", "CUDA driver version is insufficient for CUDA "
                           "runtime version", "--explain")
    assert code == 1
    assert "implied facts:\n  os = linux  [decisive] from 'Ubuntu 20.04.6 LTS (x86_64)' names linux" in out
    assert "  torch_cuda = 12.1  [decisive] from the local version tag +cu121" in out
    assert "1. [error] driver_too_old:" in out and "   evidence (decisive): " in out
    assert "   driver_version implied by 'R470' names the 470 driver branch" in out
    code, out, _ = _doctor(capsys, "--from", str(facts), "--json")
    data = __import__("json").loads(out)
    assert {"fact": "torch_cuda", "value": "12.1", "source": "the local version tag +cu121",
            "strength": "decisive"} in data["derived"]
    assert data["findings"][0]["derived_from"]["torch_cuda"] == "the local version tag +cu121"


def test_pasted_grep_of_conda_list_and_environment_yml_are_read(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    listing = tmp_path / "list.txt"
    listing.write_text("$ conda list | grep torch\npytorch                   1.4.0               py3.7_cpu_0  "
                       "[cpuonly]  pytorch\ntorchvision               0.5.0                  py37_cpu  [cpuonly]  pytorch\n")
    _, out, _ = _doctor(capsys, "--from", str(listing), "--error", "torch.cuda.is_available() is False", "--json")
    data = __import__("json").loads(out)
    assert data["facts"]["torch"] == "1.4.0" and data["facts"]["packages"]["pytorch"]["channel"] == "pytorch"
    assert data["findings"][0]["cause"] == "cpu_build_installed" and "missing_mkl" not in \
        [f["cause"] for f in data["findings"]]  # a grep is no whole listing: an absent mkl proves nothing
    env = tmp_path / "environment.yml"
    env.write_text("name: t\nchannels: [pytorch, nvidia, conda-forge]\ndependencies:\n  - python=3.10\n"
                   "  - pytorch::pytorch=2.0.1\n  - pytorch-cuda=11.8\n  - mkl=2024.1.0\n")
    _, out, _ = _doctor(capsys, "--from", str(env), "--error", "undefined symbol: iJIT_NotifyEvent", "--json")
    data = __import__("json").loads(out)
    assert data["facts"]["install_method"] == "conda" and data["facts"]["channel"] == "pytorch"
    assert data["findings"][0]["cause"] == "mkl_2024_1_ijit"


def test_torch_not_installed_is_not_an_unexplained_error(matrix):
    found, _ = diagnosis(matrix, Facts(os="linux", packages={}, torch_error="ModuleNotFoundError: No module named 'torch'"))
    assert found == []
    found, _ = diagnosis(matrix, Facts(os="linux", torch_error="Segmentation fault while importing torch"))
    assert [f.cause for f in found] == ["unexplained"]


def test_a_json_facts_document_is_read_as_facts(capsys, tmp_path, monkeypatch):
    """docs/doctor.md: the facts format is YAML or JSON."""
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "facts.json"
    path.write_text('{"os": "Windows 10", "torch": "2.1.0+cu121", "driver_version": "470.82.01"}')
    code, out, _ = _doctor(capsys, "--from", str(path), "--json")
    data = __import__("json").loads(out)
    assert code == 1 and data["facts"]["torch"] == "2.1.0+cu121"
    assert data["findings"][0]["cause"] == "driver_too_old"


@pytest.mark.parametrize("gpu, says", [
    (Gpu("NVIDIA GeForce GT 740M"), "the newest torch with kernels for it is 0.3.0"),
    (Gpu("GeForce GTX 580", "2.0"), "Build torch from source for it with CUDA before 9.0, which still compiles sm_20"),
])
def test_a_gpu_only_old_or_no_builds_serve_is_named(matrix, gpu, says):
    found, _ = diagnosis(matrix, Facts(os="linux", gpus=(gpu,)))
    assert [(f.cause, f.severity) for f in found] == [("unsupported_gpu_arch", "warning")]
    assert says in found[0].message
