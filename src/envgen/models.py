"""Small value types shared by every stage: platforms, installers, accelerators, Python versions."""

from __future__ import annotations

import platform as _platform
import re
import sys
from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput

PLATFORMS: tuple[str, ...] = (
    "linux-64", "linux-aarch64", "linux-ppc64le", "win-64", "win-32", "osx-64", "osx-arm64",
)
OS_OF = {"linux": "linux", "win": "windows", "osx": "macos"}
# PEP 508 environment markers that select one conda subdir (requirements files, pylock `environments`)
MARKERS = {
    "linux-64": 'sys_platform == "linux" and platform_machine == "x86_64"',
    "linux-aarch64": 'sys_platform == "linux" and platform_machine == "aarch64"',
    "win-64": 'sys_platform == "win32" and platform_machine == "AMD64"',
    "osx-64": 'sys_platform == "darwin" and platform_machine == "x86_64"',
    "osx-arm64": 'sys_platform == "darwin" and platform_machine == "arm64"',
}
AccelKind = Literal["cpu", "cuda", "rocm", "xpu", "mps"]


def os_of(platform: str) -> str:
    """'linux', 'windows' or 'macos' for a conda subdir."""
    return OS_OF[platform.split("-", 1)[0]]


def check_platform(value: str) -> str:
    if value not in PLATFORMS:
        raise BadInput(f"unknown platform {value!r}", hint="use a conda subdir: " + ", ".join(PLATFORMS))
    return value


def host_platform() -> str:
    """The conda subdir of the machine envgen runs on."""
    machine = _platform.machine().lower()
    bits64 = sys.maxsize > 2**32
    if sys.platform.startswith("win"):
        return "win-64" if bits64 else "win-32"
    if sys.platform == "darwin":
        return "osx-arm64" if machine in ("arm64", "aarch64") else "osx-64"
    if machine in ("aarch64", "arm64"):
        return "linux-aarch64"
    if machine == "ppc64le":
        return "linux-ppc64le"
    return "linux-64"


_CU = re.compile(r"^(?:cu|cuda)[-_ ]?(\d+)(?:\.(\d+))?$", re.I)
_DOTTED = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)*$")
_ROCM = re.compile(r"^rocm[-_ ]?(\d+(?:\.\d+){1,2})$", re.I)


@dataclass(frozen=True, slots=True, order=True)
class Accel:
    """An accelerator variant: cpu, cuda X.Y (tag cuXY), rocm X.Y[.Z], xpu or mps."""

    kind: AccelKind
    version: Version | None = None

    @classmethod
    def parse(cls, text: str) -> Accel:
        raw = str(text).strip()
        low = raw.lower()
        if low in ("cpu", "cpuonly", "none"):
            return cls("cpu")
        if low in ("xpu", "mps"):
            return cls(low)  # type: ignore[arg-type]
        if m := _ROCM.match(low):
            return cls("rocm", Version(m.group(1)))
        if m := _DOTTED.match(low):
            return cls("cuda", Version(f"{m.group(1)}.{m.group(2)}"))
        if m := _CU.match(low):
            digits, minor = m.group(1), m.group(2)
            if minor is not None:
                return cls("cuda", Version(f"{digits}.{minor}"))
            if len(digits) >= 2:
                return cls("cuda", Version(f"{digits[:-1]}.{digits[-1]}"))
        raise BadInput(f"unknown variant {raw!r}",
                       hint="use cpu, a CUDA version (10.2 or cu102), rocmX.Y, xpu or mps")

    @property
    def tag(self) -> str:
        """The tag used in wheel local versions and index paths: cpu, cu102, rocm5.7, xpu."""
        if self.kind == "cuda":
            assert self.version is not None
            return f"cu{self.version.major}{self.version.minor}"
        if self.kind == "rocm":
            return f"rocm{self.version}"
        return self.kind

    @property
    def cuda(self) -> Version | None:
        """The CUDA version of a CUDA variant; None for every other kind."""
        return self.version if self.kind == "cuda" else None

    @property
    def dotted(self) -> str:
        """'10.2' for CUDA, '5.7' for ROCm, the kind otherwise."""
        return str(self.version) if self.version is not None else self.kind

    def __str__(self) -> str:
        return self.tag

    def describe(self) -> str:
        if self.kind == "cuda":
            return f"CUDA {self.version}"
        if self.kind == "rocm":
            return f"ROCm {self.version}"
        return self.kind.upper() if self.kind != "cpu" else "CPU"


@dataclass(frozen=True, slots=True)
class PyVer:
    """A CPython minor version, optionally free-threaded ('3.13t')."""

    version: Version
    freethreaded: bool = False

    @classmethod
    def parse(cls, text: str | float) -> PyVer:
        raw = str(text).strip()
        free = raw.endswith("t")
        core = raw[:-1] if free else raw
        try:
            ver = Version(core)
        except InvalidVersion:
            raise BadInput(f"invalid Python version {raw!r}", hint="write it as 3.11 or 3.13t") from None
        if len(ver.release) < 2:
            raise BadInput(f"invalid Python version {raw!r}", hint="write it as major.minor, e.g. 3.11")
        return cls(Version(f"{ver.release[0]}.{ver.release[1]}"), free)

    def __str__(self) -> str:
        return f"{self.version}{'t' if self.freethreaded else ''}"

    @property
    def sort_key(self) -> tuple[Version, bool]:
        return (self.version, self.freethreaded)

    @property
    def cp_tag(self) -> str:
        """cp311, cp313t (the ABI suffix of the interpreter tag is the caller's business)."""
        return f"cp{self.version.major}{self.version.minor}{'t' if self.freethreaded else ''}"


def arch_cc(arch: str) -> tuple[str, Version] | None:
    """('sm', 8.6) for sm_86, ('sm', 12.0) for sm_120, ('compute', 9.0) for compute_90 (PTX); None otherwise."""
    kind, _, digits = arch.strip().lower().partition("_")
    digits = digits.rstrip("af")  # sm_90a, sm_100f: arch-specific feature sets of the same capability
    if kind not in ("sm", "compute") or not digits.isdigit() or len(digits) < 2:
        return None
    return kind, Version(f"{int(digits[:-1])}.{digits[-1]}")


class DriverVersion(Version):
    """An NVIDIA driver version: ordered as a version, printed as NVIDIA writes it (520.61.05, 520.06).

    `packaging` normalises '520.61.05' to '520.61.5'; people copy these numbers, so the text is kept.
    """

    def __init__(self, text: str) -> None:
        super().__init__(str(text).strip())
        self._text = str(text).strip()

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<DriverVersion('{self._text}')>"

    def __reduce__(self) -> tuple[type[DriverVersion], tuple[str]]:
        return (DriverVersion, (self._text,))


def parse_version(text: str, what: str = "version") -> Version:
    try:
        return Version(str(text))
    except InvalidVersion:
        raise BadInput(f"invalid {what} {text!r}", hint="write it as 1.8.1") from None

