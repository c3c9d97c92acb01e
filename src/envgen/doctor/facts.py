"""The facts a diagnosis rests on, and envgen's documented YAML facts format (docs/doctor.md).

A fact that is `None` is unknown; `Facts.unknown` may say why (the probe fills it). Missing keys in a
facts file are unknown facts, never guesses; unknown keys are an error naming the key.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from envgen.doctor.freetext import CPU as CPU
from envgen.doctor.freetext import OSES as OSES
from envgen.doctor.freetext import driver_version, install_method, os_family
from envgen.errors import BadInput
from envgen.models import PLATFORMS


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    compute_capability: str | None = None  # "8.6"
    memory_mib: int | None = None


@dataclass(frozen=True, slots=True)
class Package:
    """One installed distribution: its version and, when known, who installed it and from where."""

    name: str
    version: str
    installer: str | None = None  # conda | pip
    channel: str | None = None  # conda channel (pypi for pip-installed rows of `conda list`)
    build: str | None = None  # conda build string


@dataclass(frozen=True, slots=True)
class Facts:
    platform: str | None = None
    os: str | None = None
    python: str | None = None
    python_bits: int | None = None
    torch: str | None = None
    torch_build: str | None = None
    install_method: str | None = None
    channel: str | None = None
    torch_cuda: str | None = None  # "11.8", or "none" for a CPU build
    cudatoolkit: str | None = None
    driver_version: str | None = None
    gpus: tuple[Gpu, ...] | None = None  # () = no NVIDIA GPU
    packages: dict[str, Package] | None = None
    env: dict[str, str] | None = None
    cwd_files: tuple[str, ...] | None = None
    error: str | None = None
    # documented additions (the probe and pasted reports fill these)
    driver_cuda: str | None = None  # the newest CUDA the driver supports (nvidia-smi "CUDA Version")
    cudnn: str | None = None
    torch_archs: tuple[str, ...] | None = None  # torch.cuda.get_arch_list()
    cuda_available: bool | None = None
    torch_error: str | None = None  # what importing torch printed when it failed
    torch_location: str | None = None  # torch.__file__
    python_prefix: str | None = None  # sys.prefix of the interpreter examined
    shadowing: tuple[str, ...] | None = None  # torch.py / torch/ found ahead of the installed package
    dlls: dict[str, bool] | None = None  # Windows: DLL name -> found
    libraries: dict[str, tuple[str, ...]] | None = None  # library-path folder -> CUDA/MKL libraries in it
    corrupt: tuple[str, ...] | None = None  # "name: what is wrong"
    unknown: dict[str, str] = field(default_factory=dict)  # fact -> why it is unknown

    @property
    def torch_version(self) -> Version | None:
        """The public torch version (local tag dropped), or None when unknown or unparsable."""
        if not self.torch:
            return None
        try:
            return Version(Version(self.torch).public)
        except InvalidVersion:
            return None

    @property
    def is_cpu_build(self) -> bool | None:
        if self.torch_cuda is None:
            return None
        return self.torch_cuda == CPU

    def package(self, *names: str) -> Package | None:
        for name in names:
            if self.packages and (pkg := self.packages.get(normalize(name))):
                return pkg
        return None

    def env_value(self, name: str) -> str | None:
        return None if self.env is None else self.env.get(name)


KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Facts))


def normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def merge(*many: Facts) -> Facts:
    """Combine facts from several reports: a later report fills what earlier ones left unknown."""
    out: dict[str, Any] = {}
    unknown: dict[str, str] = {}
    for facts in many:
        for key in KEYS:
            value = getattr(facts, key)
            if key == "unknown":
                unknown.update(value)
            elif key in ("packages", "env", "dlls", "libraries") and value is not None:
                out[key] = {**value, **(out.get(key) or {})}
            elif out.get(key) is None and value is not None:
                out[key] = value
    out["unknown"] = {k: v for k, v in unknown.items() if out.get(k) is None}
    return Facts(**out)


def to_json(facts: Facts) -> dict[str, Any]:
    """The facts as plain JSON values, in the documented key order; unknown facts are left out."""
    data: dict[str, Any] = {}
    for key in KEYS:
        value = getattr(facts, key)
        if value is None or key == "unknown":
            continue
        if key == "gpus":
            value = [{k: v for k, v in dataclasses.asdict(g).items() if v is not None} for g in value]
        elif key == "packages":
            value = {n: _package_json(p) for n, p in sorted(value.items())}
        elif isinstance(value, tuple):
            value = list(value)
        elif key == "env":
            value = {k: "***" if _SECRET_VAR.search(k) else v for k, v in sorted(value.items())}
        elif isinstance(value, dict):
            value = {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(value.items())}
        data[key] = value
    if facts.unknown:
        data["unknown"] = dict(sorted(facts.unknown.items()))
    return data


# environment variables whose whole value is a secret (URLs in the others are masked where JSON is printed)
_SECRET_VAR = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|CREDENTIAL", re.IGNORECASE)


def _package_json(pkg: Package) -> str | dict[str, str]:
    extra = {k: getattr(pkg, k) for k in ("installer", "channel", "build") if getattr(pkg, k)}
    return {"version": pkg.version, **extra} if extra else pkg.version


# --- the YAML facts format -----------------------------------------------------------------------
def from_mapping(doc: Any, where: str) -> Facts:
    """Facts from a parsed facts document; raises BadInput naming the key at fault."""
    if not isinstance(doc, dict):
        raise BadInput(f"{where}: a facts file must be a mapping of keys, got {type(doc).__name__}",
                       hint="see docs/doctor.md for the facts format")
    values: dict[str, Any] = {}
    for key, raw in doc.items():
        key = str(key)
        if key not in KEYS:
            raise BadInput(f"{where}: unknown key '{key}'",
                           hint="known keys: " + ", ".join(KEYS) + " (docs/doctor.md)")
        if raw is None or raw in _EMPTY:
            continue  # an empty value is an unknown fact
        values[key] = _convert(key, raw, where)
    return Facts(**values)


_EMPTY = ("", "null", "Null", "NULL", "~")
_TEXT = {"python", "torch", "torch_build", "channel", "cudatoolkit", "error", "driver_cuda",
         "cudnn", "torch_error", "torch_location", "python_prefix", "torch_cuda"}
_LISTS = {"cwd_files", "torch_archs", "shadowing", "corrupt"}


def _convert(key: str, raw: Any, where: str) -> Any:
    here = f"{where}: {key}"
    if key in _TEXT:
        return _text(raw, here)
    if key in _LISTS:
        return tuple(_text(item, f"{here}[{i}]") for i, item in enumerate(_seq(raw, here)))
    converter = _CONVERTERS.get(key)
    assert converter is not None, key
    return converter(raw, here)


def _platform(raw: Any, here: str) -> str:
    """A conda subdir, or what Python's platform module prints ('Linux-5.15.0-x86_64-with-glibc2.35',
    'Windows-10-10.0.19045-SP0', 'macOS-14.2-arm64-arm-64bit'), read as the subdir it means."""
    value = _text(raw, here).strip()
    if value in PLATFORMS:
        return value
    low = value.lower()
    family = os_family(value)
    arm = "arm64" in low or "aarch64" in low
    guess = {"linux": "linux-aarch64" if arm else "linux-ppc64le" if "ppc64le" in low else "linux-64",
             "windows": "win-32" if re.search(r"\b(win32|x86|32bit)\b", low) and "64" not in low else "win-64",
             "macos": "osx-arm64" if arm else "osx-64"}.get(family or "")
    if guess is None:
        raise BadInput(f"{here}: unknown platform {value!r}", hint="use a conda subdir: " + ", ".join(PLATFORMS))
    return guess


def _os(raw: Any, here: str) -> str:
    """The OS as people write it ('Ubuntu 20.04.6 LTS (x86_64)', 'Windows 11', 'macOS 14.2'): kept as written for
    the derivation stage (which records how it was read); refused only when it names no OS at all."""
    value = _text(raw, here).strip()
    if os_family(value) is None:
        raise BadInput(f"{here}: {value!r} names no operating system envgen knows",
                       hint="write linux, windows or macos (a distribution or version is fine: 'Ubuntu 22.04')")
    return value.lower() if value.lower() in OSES else value


def _driver(raw: Any, here: str) -> str:
    """A driver version as people write it ('535.104.05', 'R535', '525 series'); refused when it has no driver
    number at all. Normalised by the derivation stage."""
    value = _text(raw, here).strip()
    if driver_version(value)[0] is None:
        raise BadInput(f"{here}: {value!r} is no NVIDIA driver version",
                       hint="as nvidia-smi prints it (e.g. 535.104.05), or the branch (R535)")
    return value


def _bits(raw: Any, here: str) -> int:
    if raw in (32, 64, "32", "64"):
        return int(raw)
    raise BadInput(f"{here}: must be 32 or 64, got {raw!r}", hint="python_bits is the pointer size of Python")


def _method(raw: Any, here: str) -> str:
    """conda or pip, or how people say it ('pip3', 'Conda (pytorch channel)', 'uv pip'): kept for the derivation
    stage, which reads it; refused when it says neither."""
    value = _text(raw, here).strip()
    if value.lower() in ("conda", "pip"):
        return value.lower()
    if install_method(value) is None:
        raise BadInput(f"{here}: must be conda or pip, got {value!r}", hint="install_method: conda | pip")
    return value


def _bool(raw: Any, here: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false", "yes", "no"):
        return raw.lower() in ("true", "yes")
    raise BadInput(f"{here}: must be true or false, got {raw!r}", hint="write true or false")


def _gpus(raw: Any, here: str) -> tuple[Gpu, ...]:
    out = []
    for i, item in enumerate(_seq(raw, here)):
        at = f"{here}[{i}]"
        if isinstance(item, str):
            out.append(Gpu(item))
            continue
        if not isinstance(item, dict):
            raise BadInput(f"{at}: expected a mapping with name and compute_capability", hint="docs/doctor.md")
        for k in item:
            if k not in ("name", "compute_capability", "memory_mib"):
                raise BadInput(f"{at}: unknown key '{k}'", hint="a GPU has name, compute_capability, memory_mib")
        if "name" not in item:
            raise BadInput(f"{at}: missing key 'name'", hint="a GPU has name, compute_capability, memory_mib")
        cc = item.get("compute_capability")
        mem = item.get("memory_mib")
        if mem not in (None, *_EMPTY) and not re.fullmatch(r"[0-9]{1,9}", str(mem)):
            raise BadInput(f"{at}.memory_mib: expected a whole number, got {mem!r}", hint="memory in MiB")
        out.append(Gpu(_text(item["name"], f"{at}.name"),
                       None if cc in (None, *_EMPTY) else _text(cc, f"{at}.compute_capability"),
                       None if mem in (None, *_EMPTY) else int(mem)))
    return tuple(out)


def _packages(raw: Any, here: str) -> dict[str, Package]:
    if not isinstance(raw, dict):
        raise BadInput(f"{here}: expected a mapping of name -> version", hint="packages: {numpy: 1.26.4}")
    out = {}
    for name, value in raw.items():
        at = f"{here}.{name}"
        if isinstance(value, dict):
            for k in value:
                if k not in ("version", "installer", "channel", "build"):
                    raise BadInput(f"{at}: unknown key '{k}'", hint="a package has version, installer, channel, build")
            inst = value.get("installer")
            if inst is not None and inst not in ("conda", "pip"):
                raise BadInput(f"{at}.installer: must be conda or pip, got {inst!r}", hint="installer: conda | pip")
            pkg = Package(normalize(str(name)), _text(value.get("version", ""), f"{at}.version"), inst,
                          *(None if value.get(k) in (None, *_EMPTY) else _text(value[k], f"{at}.{k}")
                            for k in ("channel", "build")))
        else:
            pkg = Package(normalize(str(name)), _text(value, at))
        out[pkg.name] = pkg
    return out


def _str_map(raw: Any, here: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise BadInput(f"{here}: expected a mapping", hint="e.g. env: {LD_LIBRARY_PATH: /usr/local/cuda/lib64}")
    return {str(k): _text(v, f"{here}.{k}") for k, v in raw.items()}


def _bool_map(raw: Any, here: str) -> dict[str, bool]:
    if not isinstance(raw, dict):
        raise BadInput(f"{here}: expected a mapping of name -> true/false", hint="dlls: {vcruntime140.dll: false}")
    return {str(k): _bool(v, f"{here}.{k}") for k, v in raw.items()}


def _lib_map(raw: Any, here: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise BadInput(f"{here}: expected a mapping of folder -> libraries", hint="docs/doctor.md")
    return {str(k): tuple(_text(x, f"{here}.{k}") for x in _seq(v, f"{here}.{k}")) for k, v in raw.items()}


def _seq(raw: Any, here: str) -> list[Any]:
    if isinstance(raw, (list, tuple)):
        return list(raw)
    raise BadInput(f"{here}: expected a list", hint="write a YAML list")


def _text(raw: Any, here: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise BadInput(f"{here}: expected text, got {type(raw).__name__}", hint="quote the value")
    return str(raw)


_CONVERTERS = {
    "platform": _platform, "os": _os, "driver_version": _driver, "python_bits": _bits, "install_method": _method,
    "gpus": _gpus,
    "packages": _packages, "env": _str_map, "dlls": _bool_map, "libraries": _lib_map,
    "cuda_available": _bool, "unknown": _str_map,
}


def load_facts_text(text: str, where: str) -> Facts:
    """Parse a YAML (or JSON) facts document. Scalars are read as text, so `python: 3.10` stays 3.10."""
    from envgen.fileio import parse_yaml

    return from_mapping(parse_yaml(text, where, hint="see docs/doctor.md", typ="base"), where)
