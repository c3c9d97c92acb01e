"""The probes, run for real: NVML without a driver, nvidia-smi stand-ins on PATH, fake torch packages
imported in a subprocess (one that works, one that aborts, one that raises), conda-meta and pip metadata."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from envgen.doctor import probe as P
from envgen.doctor.facts import CPU, Gpu

REPORTS = Path(__file__).parent / "golden" / "doctor" / "reports"
HAS_DRIVER = Path("/proc/driver/nvidia").exists() or os.environ.get("ENVGEN_TEST_GPU") == "1"


@pytest.mark.skipif(HAS_DRIVER, reason="this machine has an NVIDIA driver")
def test_nvml_without_driver_reports_no_driver():
    facts = P.probe_nvml()  # the real nvidia-ml-py: nvmlInit raises NVMLError_LibraryNotFound here
    assert facts.gpus is None and facts.driver_version is None
    assert "no NVIDIA driver" in facts.unknown["driver_version"]


@pytest.mark.skipif(HAS_DRIVER, reason="this machine has an NVIDIA driver")
def test_no_driver_and_no_nvidia_smi_means_no_gpu(tmp_path):
    facts = P.probe_gpus({"PATH": str(tmp_path)})
    assert facts.gpus == ()
    assert "no NVIDIA driver" in facts.unknown["driver_version"]
    assert "nvidia-smi not found" in facts.unknown["driver_version"]


def _fake_smi(folder: Path, table: str, csv: str | None) -> None:
    (folder / "table.txt").write_text(table)
    script = "#!/bin/sh\ncase \"$1\" in\n"
    if csv is not None:
        (folder / "q.csv").write_text(csv)
        script += f"  --query-gpu=*) cat '{folder}/q.csv' ;;\n"
    else:
        script += "  --query-gpu=*) echo 'Field \"compute_cap\" is not a valid field to query.' >&2; exit 2 ;;\n"
    script += f"  *) cat '{folder}/table.txt' ;;\nesac\n"
    exe = folder / "nvidia-smi"
    exe.write_text(script)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(HAS_DRIVER or sys.platform == "win32", reason="needs NVML absent and a POSIX shell")
def test_nvidia_smi_fallback_reads_query_and_table(tmp_path):
    _fake_smi(tmp_path, (REPORTS / "nvidia_smi_535_rtx3090.txt").read_text(),
              "name, compute_cap, memory.total [MiB], driver_version\nNVIDIA GeForce RTX 3090, 8.6, 24576 MiB, "
              "535.104.05\n")
    facts = P.probe_gpus({"PATH": str(tmp_path)})
    assert facts.driver_version == "535.104.05" and facts.driver_cuda == "12.2"
    assert facts.gpus == (Gpu("NVIDIA GeForce RTX 3090", "8.6", 24576),)


@pytest.mark.skipif(HAS_DRIVER or sys.platform == "win32", reason="needs NVML absent and a POSIX shell")
def test_old_nvidia_smi_without_compute_cap_falls_back_to_table(tmp_path):
    _fake_smi(tmp_path, (REPORTS / "nvidia_smi_470_k80.txt").read_text(), None)
    facts = P.probe_gpus({"PATH": str(tmp_path)})
    assert facts.driver_version == "470.82.01"
    assert [g.name for g in facts.gpus] == ["Tesla K80", "Tesla K80"]


# --- torch in a subprocess -------------------------------------------------------------------------
def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


FAKE_TORCH = {
    "torch/__init__.py": """
        from torch import version, cuda, backends
        __version__ = version.__version__
        """,
    "torch/version.py": "__version__ = '2.1.0+cu118'\ncuda = '11.8'\n",
    "torch/cuda/__init__.py": """
        def get_arch_list():
            return ['sm_50', 'sm_60', 'sm_70', 'sm_75', 'sm_80', 'sm_86', 'sm_90']
        def is_available():
            return False
        """,
    "torch/backends/__init__.py": "from . import cudnn\n",
    "torch/backends/cudnn/__init__.py": "def version():\n    return 8700\n",
}


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(site)
    return env


def test_fake_torch_is_read_in_a_subprocess(tmp_path):
    site = _package(tmp_path / "lib" / "site-packages", FAKE_TORCH)
    work = tmp_path / "work"
    work.mkdir()
    facts = P.probe_torch(sys.executable, str(work), _env(site))
    assert (facts.torch, facts.torch_build, facts.torch_cuda, facts.cudnn) == ("2.1.0+cu118", "cu118", "11.8", "8.7.0")
    assert facts.torch_archs[-1] == "sm_90" and facts.cuda_available is False
    assert facts.torch_location == str(site / "torch" / "__init__.py")
    assert "torch" not in sys.modules or "site-packages" in str(sys.modules["torch"])  # envgen itself untouched


def test_cpu_torch_reports_none_cuda(tmp_path):
    files = dict(FAKE_TORCH)
    files["torch/version.py"] = "__version__ = '2.4.1+cpu'\ncuda = None\n"
    site = _package(tmp_path / "site-packages", files)
    facts = P.probe_torch(sys.executable, str(tmp_path), _env(site))
    assert facts.torch_cuda == CPU and facts.torch_build == "cpu"


@pytest.mark.parametrize("body, expect", [
    ("import os\nos.abort()\n", "crashed (SIGABRT)"),
    ("raise ImportError('DLL load failed while importing _C: The specified module could not be found.')\n",
     "DLL load failed while importing _C"),
    ("import sys\nsys.exit(3)\n", "exited with code 3"),
], ids=["abort", "raise", "exit"])
@pytest.mark.skipif(sys.platform == "win32", reason="signal names are POSIX")
def test_crashing_torch_import_is_reported_not_raised(tmp_path, body, expect):
    site = _package(tmp_path / "site-packages", {"torch/__init__.py": body})
    facts = P.probe_torch(sys.executable, str(tmp_path), _env(site))
    assert facts.torch is None
    assert expect in facts.torch_error
    assert "importing torch failed" in facts.unknown["torch"]


def test_torch_not_installed(tmp_path):
    facts = P.probe_torch(sys.executable, str(tmp_path), _env(tmp_path / "empty"))
    assert facts.torch is None and "not importable" in facts.unknown["torch"]
    assert "No module named 'torch'" in facts.torch_error


def test_hanging_import_times_out(tmp_path):
    site = _package(tmp_path / "site-packages", {"torch/__init__.py": "import time\ntime.sleep(30)\n"})
    facts = P.probe_torch(sys.executable, str(tmp_path), _env(site), timeout=1)
    assert "no answer within 1 s" in facts.torch_error


def test_missing_interpreter_is_an_unknown_fact(tmp_path):
    facts = P.probe_environment(str(tmp_path / "no-python"), str(tmp_path), dict(os.environ))
    assert facts.python is None and "cannot run" in facts.unknown["torch"]


def test_torch_py_in_working_directory_shadows(tmp_path):
    site = _package(tmp_path / "lib" / "site-packages", FAKE_TORCH)
    work = tmp_path / "proj"
    _package(work, {"torch.py": "print('my experiment')\n"})
    facts = P.probe_environment(sys.executable, str(work), _env(site))
    assert facts.cwd_files == ("torch.py",)
    assert str(work / "torch.py") in facts.shadowing
    assert facts.torch_location == str(work / "torch.py")
    assert facts.python_bits == 64 and facts.python_prefix == sys.prefix


# --- packages ----------------------------------------------------------------------------------------
def test_conda_meta_and_pip_metadata(tmp_path):
    prefix = tmp_path / "env"
    site = prefix / "lib" / "site-packages"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    (site / "torch").mkdir(parents=True)
    (site / "torch" / "__init__.py").write_text("")
    (meta / "pytorch-2.2.2-py3.10_cuda12.1_0.json").write_text(json.dumps({
        "name": "pytorch", "version": "2.2.2", "build": "py3.10_cuda12.1_cudnn8.9.2_0",
        "channel": "https://conda.anaconda.org/pytorch/linux-64",
        "files": ["lib/site-packages/torch/__init__.py", "lib/site-packages/torch/lib/libc10.so"]}))
    (meta / "mkl-2024.1.0-h06a4308_0.json").write_text(json.dumps({
        "name": "mkl", "version": "2024.1.0", "build": "h06a4308_0",
        "channel": "https://repo.anaconda.com/pkgs/main/linux-64"}))
    (meta / "broken.json").write_text("{not json")
    dist = site / "numpy-2.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 2.0.1\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "RECORD").write_text("")
    packages, corrupt = P.read_packages(str(prefix), [str(site)])
    assert packages["pytorch"].channel == "pytorch" and packages["pytorch"].installer == "conda"
    assert packages["mkl"].channel == "defaults" and packages["mkl"].version == "2024.1.0"
    assert packages["numpy"].installer == "pip" and packages["numpy"].version == "2.0.1"
    assert any(c.startswith("pytorch: 1 of its 2 files are missing") for c in corrupt)
    assert any("conda-meta record is unreadable" in c for c in corrupt)


def test_pip_record_with_missing_files_is_corrupt(tmp_path):
    site = tmp_path / "site-packages"
    dist = site / "torch-2.3.0.dist-info"
    dist.mkdir(parents=True)
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text("")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.3.0\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "RECORD").write_text("torch/__init__.py,,\ntorch/_C.cpython-311-x86_64-linux-gnu.so,,\n"
                                 "torch-2.3.0.dist-info/RECORD,,\n")
    packages, corrupt = P.read_packages(str(tmp_path / "no-prefix"), [str(site)])
    assert packages["torch"].version == "2.3.0"
    assert corrupt == ("torch: 1 of its 2 files are missing (e.g. torch/_C.cpython-311-x86_64-linux-gnu.so)",)


# --- library paths and DLLs ------------------------------------------------------------------------
def test_library_dirs_find_cuda_and_mkl_libraries(tmp_path):
    cuda = tmp_path / "cuda-10.1" / "lib64"
    plain = tmp_path / "plain"
    for folder, names in ((cuda, ["libcudart.so.10.1", "libcublas.so.10", "libfoo.so"]), (plain, ["libbar.so"])):
        folder.mkdir(parents=True)
        for n in names:
            (folder / n).write_text("")
    globs = {"cuda": ("libcudart.so*", "libcublas*.so*"), "mkl": ("libmkl_*.so*",)}
    found = P.library_dirs("linux", {"LD_LIBRARY_PATH": f"{cuda}:{plain}:{tmp_path / 'gone'}"}, globs)
    assert found == {str(cuda): ("libcublas.so.10", "libcudart.so.10.1")}


def test_find_dlls_is_case_insensitive_and_per_place(tmp_path):
    system, env = tmp_path / "System32", tmp_path / "env"
    system.mkdir()
    env.mkdir()
    (system / "VCRUNTIME140.dll").write_text("")
    rows = [("vcruntime140.dll", ("system", "path")), ("msvcp140.dll", ("system", "path")),
            ("libiomp5md.dll", ("torch", "prefix"))]
    found = P.find_dlls(rows, {"system": [str(system)], "path": [str(tmp_path / "missing")], "prefix": [str(env)]})
    assert found == {"vcruntime140.dll": True, "msvcp140.dll": False, "libiomp5md.dll": False}


def test_probe_never_raises_and_skips_torch_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    light = P.probe(include_torch=False, environ={"PATH": str(tmp_path), "ENVGEN_CUDA": "12.1", "HOME": "/x"})
    assert light.env == {"PATH": str(tmp_path), "ENVGEN_CUDA": "12.1"}  # only the listed variables are kept
    assert light.packages is None and "torch" not in light.unknown  # no interpreter subprocess ran
    assert light.platform and light.python_bits in (32, 64)
    full = P.probe(environ=dict(os.environ), timeout=60)
    assert full.python_prefix == sys.prefix and full.packages
