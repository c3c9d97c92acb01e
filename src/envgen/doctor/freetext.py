"""Facts as people write them: an OS ('Ubuntu 20.04.6 LTS (x86_64)'), a driver ('R535', '525 series'), an
installer ('pip3'). Pure text functions, shared by the facts reader (which refuses only what means nothing) and the
derivation stage (which records how each was read)."""

from __future__ import annotations

import re

OSES = ("linux", "windows", "macos")

_OS_WORDS = {
    "windows": ("windows", "win10", "win11", "win 10", "win 11", "microsoft", "win32", "win64", "win-64", "wsl?"),
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
            if word.endswith("?"):
                continue
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
    m = _DRIVER.search(raw.replace("R", " ", 1) if re.match(r"^[Rr]\d{3}\b", raw) else raw)
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
