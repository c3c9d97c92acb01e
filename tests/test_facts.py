"""The facts record and envgen's YAML facts format."""

from __future__ import annotations

import json

import pytest

from envgen.doctor.facts import CPU, KEYS, Facts, Gpu, Package, load_facts_text, merge, to_json
from envgen.errors import BadInput

FULL = """
platform: win-64
os: windows
python: 3.10
python_bits: 64
torch: 2.1.0
torch_build: py3.10_cuda12.1_cudnn8_0
install_method: conda
channel: pytorch
torch_cuda: "12.1"
cudatoolkit: "12.1"
driver_version: 531.14
gpus:
  - {name: NVIDIA GeForce RTX 3090, compute_capability: "8.6", memory_mib: 24576}
  - GeForce GTX 1080
packages:
  numpy: 1.26.4
  mkl: {version: 2024.1.0, installer: conda, channel: defaults, build: h06a4308_0}
env: {PATH: "C:\\\\Windows", CONDA_PREFIX: "C:\\\\conda\\\\envs\\\\t"}
cwd_files: [torch.py]
error: "ImportError: DLL load failed"
driver_cuda: 12.1
cudnn: 8.9.2
torch_archs: [sm_50, sm_86]
cuda_available: false
torch_error: boom
torch_location: C:\\x\\torch\\__init__.py
python_prefix: C:\\conda\\envs\\t
shadowing: []
dlls: {vcruntime140.dll: false, msvcp140.dll: true}
libraries: {"C:\\\\cuda\\\\bin": [cudart64_110.dll]}
corrupt: ["torch: 3 files missing"]
unknown: {cudnn: because}
"""


def test_every_documented_key_reads():
    facts = load_facts_text(FULL, "f.yaml")
    assert facts.python == "3.10"  # read as text: not the float 3.1
    assert facts.driver_version == "531.14" and facts.driver_cuda == "12.1"
    assert facts.python_bits == 64 and facts.cuda_available is False
    assert facts.gpus == (Gpu("NVIDIA GeForce RTX 3090", "8.6", 24576), Gpu("GeForce GTX 1080"))
    assert facts.packages["numpy"] == Package("numpy", "1.26.4")
    assert facts.packages["mkl"] == Package("mkl", "2024.1.0", "conda", "defaults", "h06a4308_0")
    assert facts.dlls == {"vcruntime140.dll": False, "msvcp140.dll": True}
    assert facts.libraries == {"C:\\cuda\\bin": ("cudart64_110.dll",)}
    assert facts.shadowing == () and facts.cwd_files == ("torch.py",)
    assert facts.torch_version is not None and str(facts.torch_version) == "2.1.0"


def test_missing_keys_are_unknown_not_guessed():
    facts = load_facts_text("torch: 1.8.1\n", "f.yaml")
    assert facts.torch == "1.8.1"
    for key in KEYS:
        if key not in ("torch", "unknown"):
            assert getattr(facts, key) is None, key
    assert facts.is_cpu_build is None


def test_empty_and_null_values_are_unknown():
    facts = load_facts_text("torch:\ndriver_version: null\ngpus: ~\n", "f.yaml")
    assert facts.torch is None and facts.driver_version is None and facts.gpus is None


def test_empty_gpu_list_means_no_gpu():
    assert load_facts_text("gpus: []\n", "f.yaml").gpus == ()


@pytest.mark.parametrize("text, named", [
    ("torch: 1.8.1\ncuda: 10.2\n", "unknown key 'cuda'"),
    ("platform: amiga-68k\n", "unknown platform 'amiga-68k'"),
    ("os: beos\n", "'beos' names no operating system envgen knows"),
    ("python_bits: 48\n", "python_bits: must be 32 or 64"),
    ("install_method: brew\n", "install_method: must be conda or pip"),
    ("gpus: [{name: x, cc: 8.6}]\n", "unknown key 'cc'"),
    ("gpus: [{compute_capability: 8.6}]\n", "missing key 'name'"),
    ("gpus: {name: x}\n", "gpus: expected a list"),
    ("packages: [numpy]\n", "packages: expected a mapping"),
    ("packages: {mkl: {version: 1, from: x}}\n", "unknown key 'from'"),
    ("packages: {mkl: {version: 1, installer: brew}}\n", "installer: must be conda or pip"),
    ("cuda_available: maybe\n", "cuda_available: must be true or false"),
    ("env: [a]\n", "env: expected a mapping"),
    ("- torch\n", "must be a mapping"),
    ("torch: [1, 2\n", "not valid YAML"),
], ids=["unknown-key", "platform", "os", "bits", "install-method", "gpu-key", "gpu-name", "gpus-list",
        "packages-map", "package-key", "package-installer", "bool", "env-map", "not-mapping", "not-yaml"])
def test_malformed_facts_name_the_key(text, named):
    with pytest.raises(BadInput) as err:
        load_facts_text(text, "bad.yaml")
    assert named in err.value.message
    assert err.value.message.startswith("bad.yaml")
    assert err.value.hint


def test_json_output_reads_back_as_facts():
    facts = load_facts_text(FULL, "f.yaml")
    data = to_json(facts)
    again = load_facts_text(json.dumps(data), "f.json")
    assert again == facts


def test_merge_fills_unknowns_and_combines_packages():
    a = Facts(torch="2.1.0", packages={"numpy": Package("numpy", "1.26.4")}, unknown={"driver_version": "no smi"})
    b = Facts(torch="9.9", driver_version="535.1", packages={"mkl": Package("mkl", "2023.1")})
    merged = merge(a, b)
    assert merged.torch == "2.1.0"  # the first report wins where both know
    assert merged.driver_version == "535.1"
    assert set(merged.packages) == {"numpy", "mkl"}
    assert merged.unknown == {}  # the second report knew the driver


def test_cpu_build_marker():
    assert Facts(torch_cuda=CPU).is_cpu_build is True
    assert Facts(torch_cuda="11.8").is_cpu_build is False
