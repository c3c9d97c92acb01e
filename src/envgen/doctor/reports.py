"""Pasted reports -> Facts: `python -m torch.utils.collect_env` (several eras), `conda list`, `pip list`,
`pip freeze`, `nvidia-smi` (table or --query-gpu csv) and envgen's YAML facts files. The kind is told by content.
"""

from __future__ import annotations

import re
from typing import Any

from envgen.doctor.facts import CPU, Facts, Gpu, Package, load_facts_text, normalize
from envgen.doctor.freetext import CUDA_RUNTIME_WHEELS, build_cuda, local_cuda, minor, os_family, os_of_path
from envgen.errors import BadInput
from envgen.fileio import read_text

KINDS = ("collect_env", "nvidia-smi", "conda list", "pip list", "pip freeze", "environment.yml", "facts")
TORCH_NAMES = ("torch", "pytorch", "pytorch-cpu", "pytorch-gpu")


_CONDA_ROW = re.compile(r"^[A-Za-z0-9_.\-]+\s+\d[\w.+!-]*\s+[\w.+-]+(\s+\[[\w,\s]+\])?(\s+[\w./:-]+)?\s*$")
# the shell prompt line people paste above a listing: `$ conda list | grep torch`, `(env) PS C:\> conda list`
_PROMPT = re.compile(r"^(\([^)\n]{0,80}\)\s*)?([$%>\u276f#]|PS\s|\S{0,200}[>$]\s)"
                     r".{0,200}?\b(conda|mamba|pip\d?)\s+(list|freeze)")


def detect_kind(text: str) -> str | None:
    if re.search(r"^PyTorch version:", text, re.M):
        return "collect_env"
    if re.search(r"NVIDIA-SMI|Driver Version:", text) or re.search(r"^name,.*(driver_version|compute_cap)", text,
                                                                      re.M):
        return "nvidia-smi"
    if re.search(r"^# packages in environment at|^#\s*Name\s+Version\s+Build", text, re.M):
        return "conda list"
    if re.search(r"^Package\s+Version\s*(Location|Installer|Editable project location)?\s*\n-+\s+-+", text, re.M):
        return "pip list"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and all(re.match(r"^([A-Za-z0-9_.\-\[\],]+\s*(==|===| @ )|-e\s|--)", ln) for ln in lines):
        return "pip freeze"
    # rows of `conda list` pasted without its header: name, version, build string, [channel]
    rows = [ln for ln in lines if not _PROMPT.match(ln)]
    if rows and all(_CONDA_ROW.match(ln) for ln in rows):
        return "conda list"
    if re.search(r"^dependencies:", text, re.M):
        return "environment.yml"
    if re.search(r"^[a-z_]+:", text, re.M) or text.lstrip().startswith("{"):  # the facts format, YAML or JSON
        return "facts"
    return None


def parse_report(text: str, where: str) -> Facts:
    kind = detect_kind(text)
    if kind is None:
        raise BadInput(f"{where}: cannot tell what kind of report this is",
                       hint="paste the output of " + ", ".join(KINDS[:-1]) + " or a facts file (docs/doctor.md)")
    return PARSERS[kind](text, where)


def read_report(path: str) -> Facts:
    return parse_report(read_text(path, hint="check the path given to --from"), path)  # size-capped, strict UTF-8


# --- collect_env -----------------------------------------------------------------------------------
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9 /()_.-]*?):[ \t]*(.*)$")
_NOT_KNOWN = ("could not collect", "n/a", "no cuda", "")


def parse_collect_env(text: str, where: str = "collect_env") -> Facts:
    fields, gpu_lines, pkg_lines = _collect_fields(text)

    def get(key: str) -> str | None:
        return _known(fields.get(key))

    os_line = get("OS")
    os_name = _os_from(os_line or "", get("Python platform") or "")
    bits = _bits_from(fields.get("Python version", ""))
    packages = _collect_packages(pkg_lines)
    torch = get("PyTorch version")
    torch_cuda = _cuda_of(get("CUDA used to build PyTorch"))
    conda_torch = _first(packages, TORCH_NAMES, installer="conda")
    values: dict[str, Any] = {
        "os": os_name,
        "platform": _platform_from(os_name, os_line or "", get("Python platform") or "", bits, packages),
        "python": _python_from(fields.get("Python version", "")), "python_bits": bits,
        "torch": torch, "torch_cuda": torch_cuda, "driver_version": get("Nvidia driver version"),
        "cudnn": _cudnn_from(fields.get("cuDNN version", "")), "packages": packages or None,
        "cuda_available": _yes_no(get("Is CUDA available")),
    }
    if torch and "+" in torch:
        values["torch_build"] = torch.split("+", 1)[1]
    if conda_torch is not None:
        values.update(install_method="conda", channel=conda_torch.channel, torch_build=conda_torch.build)
    elif _first(packages, TORCH_NAMES) is not None:
        values["install_method"] = "pip"
    gpus = _collect_gpus(fields.get("GPU models and configuration", ""), gpu_lines)
    if gpus is not None:
        values["gpus"] = gpus
    if torch is None and fields.get("PyTorch version", "").strip().upper() == "N/A":
        values["torch_error"] = "collect_env could not import torch (PyTorch version: N/A)"
    if (tk := _first(packages, ("cudatoolkit", "pytorch-cuda"))) is not None:
        values["cudatoolkit"] = minor(tk.version)
    return Facts(**{k: v for k, v in values.items() if v is not None})


def _collect_fields(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    fields: dict[str, str] = {}
    gpu_lines: list[str] = []
    pkg_lines: list[str] = []
    last = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("[") and "]" in line[:8]:
            pkg_lines.append(line)
            continue
        if re.match(r"^GPU \d+:", line):
            gpu_lines.append(line)
            continue
        m = _FIELD.match(line)
        if m and not line.startswith(" "):
            last = m.group(1).strip()
            fields.setdefault(last, m.group(2).strip())
        elif last == "cuDNN version" and line.strip():
            fields[last] += "\n" + line.strip()
    return fields, gpu_lines, pkg_lines


def _collect_gpus(inline: str, lines: list[str]) -> tuple[Gpu, ...] | None:
    items = ([inline] if inline.startswith("GPU ") else []) + lines
    names = [re.sub(r"^GPU \d+:\s*", "", item).split(" (UUID")[0].strip() for item in items]
    if names:
        return tuple(Gpu(n) for n in names)
    return None  # "Could not collect" says nothing about whether a GPU exists


def _collect_packages(lines: list[str]) -> dict[str, Package]:
    out: dict[str, Package] = {}
    for line in lines:
        tag, _, rest = line.partition("]")
        tag = tag.strip("[ ")
        rest = rest.strip()
        if tag == "conda":
            parts = rest.split()
            if len(parts) >= 2:
                channel = parts[3] if len(parts) > 3 else None
                pkg = Package(normalize(parts[0]), parts[1], "pip" if channel == "pypi" else "conda", channel,
                              parts[2] if len(parts) > 2 else None)
                out.setdefault(pkg.name, pkg)
        elif tag.startswith("pip"):
            m = re.match(r"^(\S+?)(?:==|\s+\()([^\s)]+)\)?", rest)
            if m:
                out.setdefault(normalize(m.group(1)), Package(normalize(m.group(1)), m.group(2), "pip"))
    return out


def _known(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _NOT_KNOWN:
        return None
    return value.strip()


def _cuda_of(value: str | None) -> str | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return CPU
    return minor(value)


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() in ("yes", "true")


def _os_from(os_line: str, py_platform: str) -> str | None:
    return os_family(os_line) or os_family(py_platform)


def _bits_from(py_line: str) -> int | None:
    m = re.search(r"\((32|64)-bit runtime\)", py_line)
    return int(m.group(1)) if m else None


def _python_from(py_line: str) -> str | None:
    m = re.match(r"^\s*(\d+\.\d+(?:\.\d+)?)", py_line)
    return m.group(1) if m else None


def _platform_from(os_name: str | None, os_line: str, py_platform: str, bits: int | None,
                   packages: dict[str, Package]) -> str | None:
    text = f"{os_line} {py_platform}".lower()
    if os_name == "windows":
        if bits == 32:
            return "win-32"
        return "win-64" if bits == 64 or "amd64" in text or "x86_64" in text else None
    if os_name == "macos":
        if "arm64" in text:
            return "osx-arm64"
        return "osx-64" if "x86_64" in text else None
    if os_name == "linux":
        for arch, subdir in (("aarch64", "linux-aarch64"), ("ppc64le", "linux-ppc64le"), ("x86_64", "linux-64")):
            if arch in text:
                return subdir
    return None


def _cudnn_from(value: str) -> str | None:
    m = re.search(r"(\d+\.\d+\.\d+)", value)
    if m:
        return m.group(1)
    m = re.match(r"^\s*(\d{4,5})\s*$", value)  # 1.x prints the integer form: 7605 -> 7.6.5
    if m:
        n = int(m.group(1))
        return f"{n // 1000}.{n % 1000 // 100}.{n % 100}"
    return None


def _first(packages: dict[str, Package], names: tuple[str, ...], installer: str | None = None) -> Package | None:
    for name in names:
        pkg = packages.get(name)
        if pkg is not None and (installer is None or pkg.installer == installer):
            return pkg
    return None


# --- conda list ------------------------------------------------------------------------------------
def parse_conda_list(text: str, where: str = "conda list") -> Facts:
    packages: dict[str, Package] = {}
    prefix = None
    for line in text.splitlines():
        if m := re.match(r"^# packages in environment at (.+?):?\s*$", line):
            prefix = m.group(1)
            continue
        if not line.strip() or line.startswith("#") or _PROMPT.match(line.strip()):
            continue
        parts = re.sub(r"\[[^\]]*\]", " ", line).split()  # `[cpuonly]`: old conda's features column
        if len(parts) < 3:
            continue
        channel = parts[3] if len(parts) > 3 else "defaults"
        pkg = Package(normalize(parts[0]), parts[1], "pip" if channel == "pypi" else "conda", channel, parts[2])
        packages.setdefault(pkg.name, pkg)
    if not packages:
        raise BadInput(f"{where}: no packages found in this conda list", hint="paste the whole `conda list` output")
    return _facts_from_packages(packages, prefix=prefix)


def _facts_from_packages(packages: dict[str, Package], *, prefix: str | None = None) -> Facts:
    values: dict[str, Any] = {"packages": packages}
    if prefix:
        values["python_prefix"] = prefix
        values["os"] = os_of_path(prefix)
    if (py := packages.get("python")) is not None:
        values["python"] = py.version
    torch = _first(packages, TORCH_NAMES, installer="conda") or _first(packages, TORCH_NAMES)
    if torch is not None:
        values.update(torch=torch.version, install_method=torch.installer, channel=torch.channel)
        if torch.installer == "conda":
            values["torch_build"] = torch.build
            values["torch_cuda"] = build_cuda(torch.build or "")
        else:
            values["torch_cuda"] = _pip_cuda(torch.version, packages)
            if "+" in torch.version:
                values["torch_build"] = torch.version.split("+", 1)[1]
    if (tk := _first(packages, ("cudatoolkit", "pytorch-cuda"))) is not None:
        values["cudatoolkit"] = minor(tk.version)
    return Facts(**{k: v for k, v in values.items() if v is not None})


def _pip_cuda(version: str, packages: dict[str, Package]) -> str | None:
    """A pip torch's CUDA: its local tag, else the CUDA runtime wheel beside it. What else a listing implies (CUDA
    feature packages, selectors, PyPI's default build) is the derivation stage's (envgen.doctor.derive)."""
    cuda = local_cuda(version.split("+", 1)[1]) if "+" in version else None
    runtime = next((packages[n] for n in CUDA_RUNTIME_WHEELS if n in packages), None)
    return cuda or (minor(runtime.version) if runtime is not None else None)


# --- pip list / pip freeze ---------------------------------------------------------------------------
def parse_pip_list(text: str, where: str = "pip list") -> Facts:
    packages: dict[str, Package] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] == "Package" or set(parts[0]) == {"-"}:
            continue
        packages[normalize(parts[0])] = Package(normalize(parts[0]), parts[1], "pip")
    return _facts_from_packages(packages)


def parse_pip_freeze(text: str, where: str = "pip freeze") -> Facts:
    packages: dict[str, Package] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*===?\s*(\S+)", line):
            packages[normalize(m.group(1))] = Package(normalize(m.group(1)), m.group(2), "pip")
        elif m := re.match(r"^([A-Za-z0-9_.\-]+) @ (\S+)", line):
            packages[normalize(m.group(1))] = Package(normalize(m.group(1)), "", "pip", m.group(2))
    if not packages:
        raise BadInput(f"{where}: no packages found in this pip freeze", hint="paste the whole `pip freeze` output")
    return _facts_from_packages(packages)


# --- nvidia-smi --------------------------------------------------------------------------------------
def parse_nvidia_smi(text: str, where: str = "nvidia-smi") -> Facts:
    if re.search(r"^name,", text, re.M):
        return _parse_smi_csv(text)
    if "couldn't communicate with the NVIDIA driver" in text or "has failed" in text:
        return Facts(unknown={"driver_version": "nvidia-smi could not talk to the NVIDIA driver",
                              "gpus": "nvidia-smi could not talk to the NVIDIA driver"},
                     error=text.strip().splitlines()[0])
    values: dict[str, Any] = {}
    if m := re.search(r"Driver Version:\s*([\d.]+)", text):
        values["driver_version"] = m.group(1)
    if m := re.search(r"CUDA Version:\s*([\d.]+)", text):
        values["driver_cuda"] = m.group(1)
    gpus = []
    for m in re.finditer(r"^\|\s+(\d+)\s+(.+?)\s{2,}(On|Off|WDDM|TCC)\s+\|", text, re.M):
        gpus.append((m.group(2).strip(), m.group(3)))
    mems = re.findall(r"\|\s*\d+MiB\s*/\s*([0-9]{1,9})MiB\s*\|", text)
    values["gpus"] = tuple(Gpu(name, None, int(mems[i]) if i < len(mems) else None)
                           for i, (name, _) in enumerate(gpus))
    if any(mode in ("WDDM", "TCC") for _, mode in gpus):
        values["os"] = "windows"
    if "driver_version" not in values:
        raise BadInput(f"{where}: no 'Driver Version' found in this nvidia-smi output",
                       hint="paste the whole output of `nvidia-smi`")
    return Facts(**values)


def _parse_smi_csv(text: str) -> Facts:
    rows = [[c.strip() for c in line.split(",")] for line in text.strip().splitlines()]
    header = [re.sub(r"\s*\[.*\]$", "", h) for h in rows[0]]
    gpus, driver = [], None
    for row in rows[1:]:
        item = dict(zip(header, row, strict=False))
        mem = re.match(r"([0-9]{1,9})(?![0-9])", item.get("memory.total", "") or "")
        gpus.append(Gpu(item.get("name", "?"), item.get("compute_cap") or None, int(mem.group(1)) if mem else None))
        driver = driver or item.get("driver_version")
    return Facts(gpus=tuple(gpus), driver_version=driver)


def parse_facts(text: str, where: str = "facts") -> Facts:
    return load_facts_text(text, where)


def parse_environment_yml(text: str, where: str = "environment.yml") -> Facts:
    """What an environment.yml asks for, as facts: the versions it pins exactly (`pytorch=2.0.1`,
    `pytorch::pytorch==2.0.1`, pip `torch==2.0.1+cu118`) as packages with their installer and channel (a
    `channel::` prefix, else the first channel listed), and the torch entry's install method and channel. Only what
    the file pins is a fact: a range installs something envgen cannot know."""
    from envgen.compile.envfile import parse_environment_yml as read

    env = read(text, where)
    channels = [c for c in env["channels"] if c != "nodefaults"]
    packages: dict[str, Package] = {}
    for spec in env["conda"]:
        m = re.match(r"^(?:([\w./:-]+)::)?([A-Za-z0-9_.\-]+)\s*={1,2}\s*([\w.+!]+)(?:[=\s]+(\S+))?$", spec)
        if m:
            channel = m.group(1) or (channels[0] if channels else None)
            pkg = Package(normalize(m.group(2)), m.group(3), "conda", channel, m.group(4))
            packages.setdefault(pkg.name, pkg)
    for line in env["pip"]:
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==\s*([\w.+!]+)\s*$", line)
        if m:
            packages.setdefault(normalize(m.group(1)), Package(normalize(m.group(1)), m.group(2), "pip", "pypi"))
    if not packages:
        return Facts()
    return _facts_from_packages(packages)


PARSERS = {
    "collect_env": parse_collect_env, "nvidia-smi": parse_nvidia_smi, "conda list": parse_conda_list,
    "pip list": parse_pip_list, "pip freeze": parse_pip_freeze, "environment.yml": parse_environment_yml,
    "facts": parse_facts,
}
