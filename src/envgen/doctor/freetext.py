"""Facts as people write them: an OS ('Ubuntu 20.04.6 LTS (x86_64)'), a driver ('R535', '525 series'), an
installer ('pip3'), a path, and what a build's name says of its CUDA (`+cu121`, `py3.9_cuda11.3_cudnn8.2.0_0`).
Pure text functions, shared by the facts reader (which refuses only what means nothing), the report readers and
the derivation stage (which records how each was read)."""

from __future__ import annotations

import re

OSES = ("linux", "windows", "macos")
CPU = "none"  # torch_cuda of a CPU build
# pip's CUDA runtime wheels beside a PyPI torch, newest first: their version is the CUDA torch loads
CUDA_RUNTIME_WHEELS = ("nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu11",
                       "nvidia-cuda-runtime")

_OS_WORDS = {
    "windows": ("windows", "win10", "win11", "win 10", "win 11", "microsoft", "win32", "win64", "win-64"),
    "macos": ("macos", "mac os", "os x", "osx", "darwin", "macbook", "apple m1", "apple m2", "apple m3", "sonoma",
              "ventura", "monterey", "big sur", "catalina", "mojave", "sequoia"),
    "linux": ("linux", "ubuntu", "debian", "centos", "fedora", "red hat", "rhel", "arch", "manjaro", "mint",
              "opensuse", "suse", "rocky", "alma", "pop!_os", "pop os", "amazon linux", "gentoo", "kubuntu",
              "wsl", "nixos", "slurm", "colab"),
}


def os_family(text: str | None) -> str | None:
    """'Ubuntu 20.04.6 LTS (x86_64)' -> linux, 'Microsoft Windows 11 Pro' -> windows, 'macOS 14.2 (arm64)' ->
    macos; None when the text names no OS family (WSL is Linux: torch runs in its Linux)."""
    if not text:
        return None
    low = text.strip().lower()
    if low in OSES:
        return low
    if "wsl" in low:
        return "linux"
    for family in ("macos", "windows", "linux"):
        for word in _OS_WORDS[family]:
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low):
                return family
    return None


_DRIVER = re.compile(r"(?<![\d.])(\d{3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?(?![\d.])")


def driver_version(text: str | None) -> tuple[str | None, str]:
    """A driver version from what people write: '535.104.05', 'Driver Version: 470.82.01', 'R535', '525 series',
    '550.xx'. Returns (version, how it was read); a branch alone ('R535') is read as its first release (535.0),
    which can only understate the driver, so rules that compare it with a floor stay on the safe side."""
    if not text:
        return None, ""
    raw = text.strip()
    m = _DRIVER.search(raw)  # 'R535': the letter is no digit, so the branch number stands alone
    if m is None:
        return None, ""
    parts = [p for p in m.groups() if p is not None]
    if len(parts) == 1:
        return f"{parts[0]}.0", f"'{raw}' names the {parts[0]} driver branch; taken as its first release"
    value = ".".join(parts)
    return value, ("" if value == raw else f"read from '{raw}'")


def install_method(text: str | None) -> str | None:
    """'pip3', 'pip (cu118 index)', 'Conda' -> pip / conda; None for anything else (source builds, docker)."""
    if not text:
        return None
    low = text.lower()
    has_conda = bool(re.search(r"conda|mamba|miniforge|anaconda", low))
    has_pip = bool(re.search(r"\bpip|\buv\b|wheel|pypi", low))
    if has_conda != has_pip:
        return "conda" if has_conda else "pip"
    return None


def minor(version: str) -> str | None:
    """'11.3.1' -> '11.3'; None when the text starts with no major.minor."""
    m = re.match(r"^\s*(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def tagnum(digits: str) -> str | None:
    """'121' -> '12.1', '92' -> '9.2' (the CUDA of a `cu121` tag or a `cuda92` feature package)."""
    return f"{digits[:-1]}.{digits[-1]}" if len(digits) in (2, 3) else None


def local_cuda(local: str) -> str | None:
    """The CUDA of a wheel's local version tag: 'cu121' -> 12.1, 'cpu' -> CPU; ROCm and other tags say nothing."""
    if local == "cpu" or local.startswith("cpu."):
        return CPU
    m = re.fullmatch(r"cu(\d{2,3})", local)
    return tagnum(m.group(1)) if m else None


_CONDA_BUILD = re.compile(r"^py\d|py\d{2,3}h|_\d+$|^cuda\d|^cpu_")


def is_conda_build(build: str) -> bool:
    """Whether a build name is a conda build string (py3.10_cpu_0, cuda118py310h..., cpu_generic_py310h..._0)."""
    return bool(_CONDA_BUILD.search(build))


def build_cuda(build: str) -> str | None:
    """The CUDA of a conda build string: py3.9_cuda11.3_cudnn8.2.0_0 -> 11.3; cuda118py310h... -> 11.8;
    cuda120_py310... -> 12.0; py3.10_cpu_0, cpu_py310h... -> CPU; None when it does not say."""
    if m := re.search(r"cuda(\d+)\.(\d+)", build):
        return f"{m.group(1)}.{m.group(2)}"
    if m := re.search(r"cuda(\d{2,3})(?:py|_|h)", build):
        return tagnum(m.group(1))
    if re.search(r"(^|_)cpu(_|$)", build):
        return CPU
    return None


def os_of_path(path: str) -> str | None:
    """The OS a path belongs to: a drive letter or backslashes, /Users/ or /Library/, /home/ or /root/; None for
    paths every OS could have (/opt/conda): unknown, not a guess."""
    if re.match(r"^[A-Za-z]:[\\/]", path) or "\\" in path:
        return "windows"
    if path.startswith("/Users/") or "/Library/" in path:
        return "macos"
    if path.startswith(("/home/", "/root/")):
        return "linux"
    return None
