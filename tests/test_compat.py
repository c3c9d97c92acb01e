"""The driver and GPU compatibility model (`envgen.matrix.compat`) and the choice `detect` makes with it.

Table-driven: (OS, driver, GPU, torch, installer) -> (torch, build, how it runs) and a phrase of the reason. Rows cover
every CUDA major's minor-version-compatibility floor (at it and just below), full floors, GPUs whose architecture
newer builds dropped (Kepler, Maxwell), new GPUs that need new builds (Ada, Hopper, Blackwell), and Windows.
"""

from __future__ import annotations

import pytest
from packaging.version import Version

from envgen.doctor.detect import choose
from envgen.doctor.facts import Facts, Gpu
from envgen.matrix.compat import GpuSpec, Machine, floors, gpu, implied_driver, judge, parse_cc
from envgen.models import Accel

# (id, os, driver, GPU as reported, torch or None, installer, expected (torch, tag or None, runs), reason phrase)
CHOICES = [
    # CUDA 11.x minor-version compatibility: >= 450.80.02 (Linux), >= 452.39 (Windows)
    ("cu11-floor-linux", "linux", "450.80.02", "NVIDIA GeForce RTX 3090", "2.7.1", "pip",
     ("2.7.1", "cu118", "minor"), "meets the CUDA 11.x minor-version-compatibility floor 450.80.02"),
    ("cu11-below-linux", "linux", "450.80.01", "NVIDIA GeForce RTX 3090", "2.7.1", "pip",
     ("2.7.1", None, "none"), "CUDA 11.8 needs a driver >= 520.61.05 (>= 450.80.02 through minor-version"),
    ("cu11-floor-windows", "windows", "452.39", "NVIDIA GeForce RTX 3090", "2.7.1", "pip",
     ("2.7.1", "cu118", "minor"), "floor 452.39"),
    ("cu11-below-windows", "windows", "452.38", "NVIDIA GeForce RTX 3090", "2.7.1", "pip",
     ("2.7.1", None, "none"), "(>= 452.39 through minor-version compatibility) on windows"),
    # the machine: driver 470, RTX 3090, torch 2.7.1
    ("driver-470-rtx3090", "linux", "470.82.01", "RTX 3090", "2.7.1", "pip",
     ("2.7.1", "cu118", "minor"), "driver 470.82.01 meets the CUDA 11.x minor-version-compatibility floor"),
    # CUDA 12.x: >= 525.60.13 runs every 12.x build through minor-version compatibility
    ("cu12-floor", "linux", "525.60.13", "NVIDIA GeForce RTX 4090", "2.7.1", "pip",
     ("2.7.1", "cu128", "minor"), "floor 525.60.13"),
    ("cu12-below", "linux", "525.60.12", "NVIDIA GeForce RTX 4090", "2.7.1", "pip",
     ("2.7.1", "cu118", "full"), "driver 525.60.12 runs it fully"),
    ("cu12.6-full-floor", "linux", "560.35.05", "NVIDIA GeForce RTX 4090", "2.7.1", "pip",
     ("2.7.1", "cu128", "minor"), "CUDA 12.8 needs a driver >= 570.124.06"),
    ("cu12.8-full-floor", "linux", "570.124.06", "NVIDIA GeForce RTX 4090", "2.7.1", "pip",
     ("2.7.1", "cu128", "full"), "driver 570.124.06 runs it fully"),
    # CUDA 13.x: >= 580.65.06 (no Windows floor in NVIDIA's table, so none on Windows)
    ("cu13-floor", "linux", "580.65.06", "NVIDIA H100 80GB HBM3", "2.15.0", "pip",
     ("2.15.0", "cu132", "minor"), "floor 580.65.06"),
    ("cu13-below", "linux", "580.65.05", "NVIDIA H100 80GB HBM3", "2.15.0", "pip",
     ("2.15.0", None, "none"), "CUDA 13.2 needs a driver >= 595.71.05"),
    # before CUDA 11 only the full floor counts
    ("cu10.2-floor", "linux", "440.33", "GeForce GTX 1080", "1.5.1", "pip",
     ("1.5.1", "cu102", "full"), "driver 440.33 runs it fully"),
    ("cu10.2-below", "linux", "440.32", "GeForce GTX 1080", "1.5.1", "pip",
     ("1.5.1", "cu101", "full"), "CUDA 10.1 needs a driver >= 418.39"),
    # Kepler: CUDA 12 cannot compile sm_37; torch 2.7.1 keeps it in cu118 only
    ("kepler-k80-2.7.1", "linux", "535.104.05", "Tesla K80", "2.7.1", "pip",
     ("2.7.1", "cu118", "full"), "driver 535.104.05 runs it fully"),
    ("kepler-k80-conda", "linux", "535.104.05", "Tesla K80", "2.7.1", "conda",
     ("2.7.1", None, "none"), "dropped kernels for Tesla K80 (sm_37)"),
    # Maxwell: CUDA 13 builds dropped sm_50-sm_72
    ("maxwell-970-cuda13", "linux", "595.71.05", "NVIDIA GeForce GTX 970", "2.15.0", "pip",
     ("2.15.0", None, "none"), "dropped kernels for NVIDIA GeForce GTX 970 (sm_52)"),
    ("maxwell-970-newest", "linux", "595.71.05", "NVIDIA GeForce GTX 970", None, "pip",
     ("2.14.1", "cu126", "full"), "chose torch 2.14.1"),
    # Ada runs sm_86 machine code (same major, higher minor): old builds serve it
    ("ada-4090-1.13.1", "linux", "535.104.05", "NVIDIA GeForce RTX 4090", "1.13.1", "pip",
     ("1.13.1", "cu117", "full"), "driver 535.104.05 runs it fully"),
    # Hopper needs sm_90 (or PTX for it): 1.13.1 has neither
    ("hopper-1.13.1", "linux", "535.104.05", "NVIDIA H100 PCIe", "1.13.1", "pip",
     ("1.13.1", None, "none"), "dropped kernels for NVIDIA H100 PCIe (sm_90)"),
    # Blackwell (sm_120) needs a CUDA 12.8 build
    ("blackwell-5090-2.6.0", "linux", "570.124.06", "NVIDIA GeForce RTX 5090", "2.6.0", "pip",
     ("2.6.0", None, "none"), "dropped kernels for NVIDIA GeForce RTX 5090 (sm_120)"),
    ("blackwell-5090-2.7.1", "linux", "570.124.06", "NVIDIA GeForce RTX 5090", "2.7.1", "pip",
     ("2.7.1", "cu128", "full"), "the newest that runs here is 12.8"),
    ("blackwell-laptop-win", "windows", "572.61", "NVIDIA GeForce RTX 5070 Laptop GPU", "2.7.1", "pip",
     ("2.7.1", "cu128", "full"), "driver 572.61 runs it fully"),
    # conda's newest torch for a 470 driver, and why it is older than pip's
    ("conda-470-newest", "linux", "470.82.01", "NVIDIA GeForce RTX 3090", None, "conda",
     ("2.5.1", "cu118", "minor"), "chose torch 2.5.1"),
]


@pytest.mark.parametrize("os_name, driver, name, torch, installer, expect, phrase",
                         [row[1:] for row in CHOICES], ids=[row[0] for row in CHOICES])
def test_choice(matrix, os_name, driver, name, torch, installer, expect, phrase):
    platform = "win-64" if os_name == "windows" else "linux-64"
    facts = Facts(platform=platform, os=os_name, gpus=(Gpu(name),), driver_version=driver)
    choice = choose(matrix, facts, torch=Version(torch) if torch else None, installer=installer)
    got = (str(choice.torch), choice.accel.tag if choice.runs != "none" else None, choice.runs)
    assert got == expect, choice.reasons
    assert phrase in " ".join(choice.reasons), choice.reasons
    if choice.runs == "minor":
        assert "without PTX JIT" in choice.warnings[0]
    if choice.runs == "none":
        assert choice.alternatives  # the ways out, never a silent CPU build


def test_nothing_runs_names_the_driver_and_another_torch(matrix):
    facts = Facts(platform="linux-64", os="linux", gpus=(Gpu("RTX 3090"),), driver_version="450.80.01")
    choice = choose(matrix, facts, torch=Version("2.7.1"), installer="pip")
    assert choice.alternatives[0].startswith("update the NVIDIA driver to >= 450.80.02: it runs torch 2.7.1 cu118")
    assert any(a.startswith("torch ") and "--torch " in a for a in choice.alternatives)


def test_forward_compatibility_only_for_data_centre_gpus_on_linux(matrix):
    old = {"os": "linux", "driver": Version("470.82.01")}
    a100 = judge(matrix, Machine(**old, gpus=(gpu(matrix, "A100-SXM4-40GB"),)), Accel.parse("cu124"), ("sm_80",))
    assert a100.runs == "forward" and a100.forward_package == "cuda-compat-12-4" and not a100.ok
    geforce = judge(matrix, Machine(**old, gpus=(gpu(matrix, "RTX 3090"),)), Accel.parse("cu124"), ("sm_86",))
    assert geforce.runs == "no" and geforce.forward_package is None
    windows = judge(matrix, Machine("windows", Version("472.12"), None, (gpu(matrix, "Tesla T4"),)),
                    Accel.parse("cu124"), ("sm_75",))
    assert windows.runs == "no"


def test_minor_compatibility_needs_machine_code_not_ptx(matrix):
    machine = Machine("linux", Version("525.60.13"), None, (gpu(matrix, "NVIDIA H100 PCIe"),))
    ptx_only = judge(matrix, machine, Accel.parse("cu121"), ("sm_80", "compute_80"))
    assert ptx_only.runs == "no" and "PTX JIT" in ptx_only.reasons[0]
    full = judge(matrix, Machine("linux", Version("535.104.05"), None, machine.gpus), Accel.parse("cu121"),
                 ("sm_80", "compute_80"))
    assert full.runs == "full" and any("JIT-compiled" in r for r in full.reasons)


def test_driver_cuda_alone_implies_a_driver(matrix):
    """nvidia-smi's 'CUDA Version' (or ENVGEN_CUDA) without the driver: the driver is at least the floor of the
    newest toolkit up to it, which decides minor-version compatibility."""
    assert implied_driver(matrix, Version("11.4"), "linux") == Version("465.19.01")
    rtx = (gpu(matrix, "RTX 3090"),)
    assert judge(matrix, Machine("linux", None, Version("11.4"), rtx), Accel.parse("cu118"), ()).runs == "minor"
    # a driver that runs CUDA 11.0 may be 450.51.06, below the 11.x minor floor 450.80.02
    assert judge(matrix, Machine("linux", None, Version("11.0"), rtx), Accel.parse("cu118"), ()).runs == "no"
    assert judge(matrix, Machine("linux", None, Version("12.4"), rtx), Accel.parse("cu118"), ()).runs == "full"


def test_unknown_driver_is_unknown_not_cpu(matrix):
    verdict = judge(matrix, Machine("linux", None, None, (gpu(matrix, "RTX 3090"),)), Accel.parse("cu121"), ())
    assert verdict.runs == "unknown" and "ENVGEN_DRIVER" in verdict.reasons[0]


def test_floors_per_os(matrix):
    assert floors(matrix, Version("12.4"), "linux") == (Version("550.54.15"), Version("525.60.13"))
    assert floors(matrix, Version("12.4"), "windows") == (Version("551.78"), Version("527.41"))
    assert floors(matrix, Version("13.0"), "windows") == (None, None)  # NVIDIA's table gives none


GPU_NAMES = [
    ("NVIDIA GeForce RTX 4060 Laptop GPU", "8.9", False),
    ("RTX 3090", "8.6", False),
    ("Tesla K80", "3.7", True),
    ("A100-SXM4-40GB", "8.0", True),
    ("H100 80GB HBM3", "9.0", True),
    ("NVIDIA H100 PCIe", "9.0", True),
    ("NVIDIA GeForce RTX 3080 Ti Laptop GPU", "8.6", False),
    ("NVIDIA GeForce GTX 1650 with Max-Q Design", "7.5", False),
    ("NVIDIA GeForce RTX 4070 ...", "8.9", False),  # nvidia-smi truncates long names
    ("Quadro RTX 6000", "7.5", False),
    ("NVIDIA RTX 6000 Ada Generation", "8.9", False),
    ("NVIDIA RTX A2000 12GB", "8.6", False),
    ("Tesla V100-SXM2-16GB", "7.0", True),
    ("NVIDIA A10G", "8.6", True),
    ("NVIDIA T4", "7.5", True),  # the Tesla brand word dropped
    ("V100-SXM2-32GB", "7.0", True),
    ("Quadro P4000", "6.1", False),  # not the data-centre P4
    ("NVIDIA A2", "8.6", True),
    ("NVIDIA L4", "8.9", True),
    ("NVIDIA B200", "10.0", True),
    ("NVIDIA GeForce RTX 5090", "12.0", False),
    ("GeForce GTX TITAN X", "5.2", False),
    ("NVIDIA GeForce ...", None, False),
    ("Matrox G200", None, False),
]


@pytest.mark.parametrize("name, cc, datacenter", GPU_NAMES, ids=[n for n, _, _ in GPU_NAMES])
def test_gpu_names(matrix, name, cc, datacenter):
    spec = gpu(matrix, name)
    assert spec == GpuSpec(name, Version(cc) if cc else None, datacenter)


@pytest.mark.parametrize("text, cc", [("8.6", "8.6"), ("sm_86", "8.6"), ("sm_120", "12.0"), ("12.0", "12.0"),
                                      ("470.82", None), ("RTX 3090", None), ("86", None)])
def test_parse_cc(text, cc):
    assert parse_cc(text) == (Version(cc) if cc else None)
