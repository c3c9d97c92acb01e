"""The NVIDIA driver and GPUs: NVML through nvidia-ml-py's `pynvml`, then `nvidia-smi`. Never raises."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from typing import Any

from envgen.doctor.facts import Facts, Gpu, merge


def probe_gpus(environ: dict[str, str] | None = None) -> Facts:
    """Driver version, the CUDA version it supports, and each GPU, from NVML or else nvidia-smi."""
    nvml = probe_nvml()
    if nvml.gpus is not None:
        return nvml
    smi = probe_nvidia_smi(environ)
    if smi.gpus is not None:
        return smi
    reason = f"{nvml.unknown.get('gpus', 'NVML failed')}; {smi.unknown.get('gpus', 'nvidia-smi failed')}"
    if "no NVIDIA driver" in reason and "not found" in smi.unknown.get("gpus", ""):
        return Facts(gpus=(), unknown={"driver_version": reason, "driver_cuda": reason})
    return Facts(unknown={"gpus": reason, "driver_version": reason, "driver_cuda": reason})


def probe_nvml() -> Facts:
    try:
        import pynvml
    except ImportError:
        return _nvml_unknown("nvidia-ml-py (pynvml) is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_LibraryNotFound:
        return _nvml_unknown("no NVIDIA driver (NVML: the NVML shared library was not found)")
    except pynvml.NVMLError as exc:
        return _nvml_unknown(f"NVIDIA driver not usable (NVML: {exc})")
    except Exception as exc:  # noqa: BLE001 - NVML loaded but misbehaved; it raises anything, the probe reports it
        return _nvml_unknown(f"NVML failed: {type(exc).__name__}: {exc}")
    try:
        return _nvml_read(pynvml)
    except Exception as exc:  # noqa: BLE001 - NVML raises anything; the probe reports it
        return _nvml_unknown(f"NVML failed while reading: {exc}")
    finally:
        with contextlib.suppress(Exception):  # a failed shutdown changes nothing the probe found
            pynvml.nvmlShutdown()


def _nvml_unknown(reason: str) -> Facts:
    return Facts(unknown={"gpus": reason, "driver_version": reason, "driver_cuda": reason})


def _nvml_read(pynvml: Any) -> Facts:
    driver = _text(pynvml.nvmlSystemGetDriverVersion())
    try:
        code = int(pynvml.nvmlSystemGetCudaDriverVersion())
        cuda: str | None = f"{code // 1000}.{code % 1000 // 10}"
    except Exception:  # noqa: BLE001 - NVML raises anything; the supported CUDA is then unknown
        cuda = None
    gpus = []
    for index in range(int(pynvml.nvmlDeviceGetCount())):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = _text(pynvml.nvmlDeviceGetName(handle))
        cc = mem = None
        with contextlib.suppress(Exception):  # NVML raises anything; the capability is then unknown
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            cc = f"{major}.{minor}"
        with contextlib.suppress(Exception):  # NVML raises anything; the memory is then unknown
            mem = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total) // 2**20
        gpus.append(Gpu(name, cc, mem))
    return Facts(driver_version=driver, driver_cuda=cuda, gpus=tuple(gpus))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def probe_nvidia_smi(environ: dict[str, str] | None = None, exe: str = "nvidia-smi") -> Facts:
    from envgen.doctor.reports import parse_nvidia_smi

    path = shutil.which(exe, path=(environ or os.environ).get("PATH"))
    if path is None:
        return _nvml_unknown(f"{exe} not found on PATH")
    query = "--query-gpu=name,compute_cap,memory.total,driver_version"
    csv = _run([path, query, "--format=csv"]) or _run([path, query.replace("compute_cap,", ""), "--format=csv"])
    table = _run([path])
    try:
        facts = merge(*(parse_nvidia_smi(t) for t in (csv, table) if t))
    except Exception as exc:  # noqa: BLE001 - any parse failure of odd nvidia-smi output becomes an unknown fact
        return _nvml_unknown(f"{exe} output not understood: {exc}")
    if facts.gpus is None:
        return _nvml_unknown(f"{exe} failed")
    return facts


def _run(argv: list[str], timeout: float = 20.0) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


# --- the interpreter and torch ---------------------------------------------------------------------
