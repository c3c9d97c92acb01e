"""The machine as it is: NVIDIA driver and GPUs (NVML, then nvidia-smi), platform, the interpreter, the
installed torch (imported in a subprocess, so a crashing import cannot take envgen down), conda and pip
metadata, shadowing files, library paths and Windows DLLs.

Probes never raise: a fact that cannot be read is left unknown and `Facts.unknown` says why.
"""

from __future__ import annotations

import fnmatch
import os
import platform as _platform
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from envgen.doctor.facts import CPU, Facts, Package, merge, normalize
from envgen.doctor.probe_gpu import probe_gpus, probe_nvidia_smi, probe_nvml  # noqa: F401 (public API)
from envgen.errors import BadInput
from envgen.fileio import parse_json, read_text
from envgen.models import host_platform, os_of

MARK = "@@envgen@@"
TORCH_FAMILY = ("torch", "pytorch", "torchvision", "torchaudio")
DEFAULT_ENV_VARS = ("LD_LIBRARY_PATH", "PATH", "CONDA_PREFIX", "VIRTUAL_ENV", "CONDA_OVERRIDE_CUDA", "ENVGEN_CUDA",
                    "ENVGEN_DRIVER", "ENVGEN_GPU")

_INTERPRETER = f"""
import json, struct, sys, platform, importlib.util
spec = None
try:
    spec = importlib.util.find_spec("torch")
except BaseException as exc:
    spec = None
origin = None
if spec is not None:
    origin = spec.origin if spec.origin not in (None, "namespace") else list(spec.submodule_search_locations or [""])[0]
print({MARK!r} + json.dumps({{"version": platform.python_version(), "bits": struct.calcsize("P") * 8,
    "prefix": sys.prefix, "executable": sys.executable, "path": sys.path, "torch_origin": origin}}))
"""

_TORCH = f"""
import json, sys
try:
    import torch
except ModuleNotFoundError as exc:
    print({MARK!r} + json.dumps({{"missing": str(exc)}}))
    raise SystemExit(0)
out = {{"file": getattr(torch, "__file__", None), "version": str(getattr(torch, "__version__", "")) or None}}
ver = getattr(torch, "version", None)
out["cuda"] = getattr(ver, "cuda", None) if ver is not None else None
out["has_version_module"] = ver is not None
def attempt(key, fn):
    try:
        out[key] = fn()
    except BaseException as exc:
        out[key + "_error"] = type(exc).__name__ + ": " + str(exc)
attempt("cudnn", lambda: torch.backends.cudnn.version())
attempt("archs", lambda: list(torch.cuda.get_arch_list()))
attempt("cuda_available", lambda: bool(torch.cuda.is_available()))
print({MARK!r} + json.dumps(out, default=str))
"""


def probe(*, include_torch: bool = True, python: str | None = None, cwd: str | None = None,
          environ: dict[str, str] | None = None, matrix_dir: str | None = None, timeout: float = 120.0) -> Facts:
    """Everything envgen can learn about this machine. `include_torch=False` skips the subprocesses that
    examine the interpreter and torch (what `detect` and `--cuda auto` need is the driver and GPUs)."""
    environ = dict(os.environ if environ is None else environ)
    env_vars, dll_rows, lib_globs = _doctor_settings(matrix_dir)
    platform = host_platform()
    facts = Facts(platform=platform, os=os_of(platform), python=_platform.python_version(),
                  python_bits=8 * _pointer_size(), env={k: environ[k] for k in env_vars if k in environ})
    parts = [facts, probe_gpus(environ)]
    if include_torch:  # first: the examined interpreter's Python (and bits) win over envgen's own
        parts.insert(0, probe_environment(python or sys.executable, cwd or os.getcwd(), environ, timeout=timeout))
    out = merge(*parts)
    if include_torch:
        out = replace(out, libraries=library_dirs(out.os or "linux", environ, lib_globs))
        if out.os == "windows":
            out = replace(out, dlls=find_dlls(dll_rows, _dll_places(out, environ)))
        else:
            out = replace(out, unknown={**out.unknown, "dlls": "only checked on Windows"})
    return out


def _pointer_size() -> int:
    import struct

    return struct.calcsize("P")


def _doctor_settings(matrix_dir: str | None) -> tuple[tuple[str, ...], list[tuple[str, tuple[str, ...]]],
                                                      dict[str, tuple[str, ...]]]:
    try:
        from envgen.matrix import find_matrix_dir
        from envgen.matrix.doctor import load_doctor_data

        data = load_doctor_data(find_matrix_dir(matrix_dir))
        return data.env_vars, [(d.name, d.where) for d in data.dlls], data.libraries
    except Exception:  # noqa: BLE001 - the probe never fails; without the data file it records the essentials
        return DEFAULT_ENV_VARS, [], {}


# --- NVIDIA driver and GPUs ----------------------------------------------------------------------------
def probe_environment(python: str, cwd: str, environ: dict[str, str], *, timeout: float = 120.0) -> Facts:
    """The interpreter `python` as it would run in `cwd`: version, bitness, packages, torch, shadowing."""
    info, why = _run_json([python, "-c", _INTERPRETER], cwd, environ, timeout)
    if not isinstance(info, dict) or not isinstance(info.get("prefix"), str):
        reason = f"cannot run {python}: {why or 'it did not answer like a Python interpreter'}"
        return Facts(unknown=dict.fromkeys(("python", "python_bits", "python_prefix", "torch", "packages",
                                            "shadowing"), reason))
    prefix = str(info["prefix"])
    paths = [p or cwd for p in info.get("path", [])]
    packages, corrupt = read_packages(prefix, paths)
    facts = Facts(python=str(info["version"]), python_bits=int(info["bits"]), python_prefix=prefix,
                  packages=packages, corrupt=corrupt, cwd_files=cwd_files(cwd),
                  shadowing=find_shadowing(paths, info.get("torch_origin"), prefix))
    return merge(probe_torch(python, cwd, environ, timeout=timeout, packages=packages), facts)


def probe_torch(python: str, cwd: str, environ: dict[str, str], *, timeout: float = 120.0,
                packages: dict[str, Package] | None = None) -> Facts:
    """Import torch in a subprocess of `python` and read what it says about itself."""
    info, why = _run_json([python, "-c", _TORCH], cwd, environ, timeout)
    if info is None or not isinstance(info, dict):
        return Facts(torch_error=why, unknown={"torch": f"importing torch failed: {why}"})
    if "missing" in info:
        return Facts(unknown={"torch": f"torch is not importable by {python} ({info['missing']})"},
                     torch_error=f"ModuleNotFoundError: {info['missing']}")
    values: dict[str, Any] = {"torch": info.get("version"), "torch_location": info.get("file")}
    if info.get("has_version_module"):
        values["torch_cuda"] = _minor(info.get("cuda")) if info.get("cuda") else CPU
    if (local := str(info.get("version") or "")).count("+") == 1:
        values["torch_build"] = local.split("+", 1)[1]
    if isinstance(info.get("cudnn"), int):
        n = info["cudnn"]
        values["cudnn"] = f"{n // 1000}.{n % 1000 // 100}.{n % 100}" if n < 10000 else \
            f"{n // 10000}.{n % 10000 // 100}.{n % 100}"
    if isinstance(info.get("archs"), list):
        values["torch_archs"] = tuple(str(a) for a in info["archs"])
    if isinstance(info.get("cuda_available"), bool):
        values["cuda_available"] = info["cuda_available"]
    values.update(_install_facts(packages or {}))
    return Facts(**{k: v for k, v in values.items() if v is not None})


def _install_facts(packages: dict[str, Package]) -> dict[str, Any]:
    for name in ("pytorch", "torch"):
        pkg = packages.get(name)
        if pkg is not None and pkg.installer == "conda":
            return {"install_method": "conda", "channel": pkg.channel}
    return {"install_method": "pip"} if "torch" in packages else {}


def _minor(text: str | None) -> str | None:
    parts = str(text or "").split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def _run_json(argv: list[str], cwd: str, environ: dict[str, str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    try:
        done = subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout,
                              check=False, errors="replace")
    except subprocess.TimeoutExpired:
        return None, f"no answer within {timeout:.0f} s"
    except OSError as exc:
        return None, exc.strerror or str(exc)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            try:
                found = parse_json(line[len(MARK):], argv[0], hint="")
            except BadInput:
                break
            return (found, "") if isinstance(found, dict) else (None, "it printed an unexpected answer")
    return None, _describe_failure(done.returncode, done.stderr)


def _describe_failure(code: int, stderr: str) -> str:
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-3:]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        head = f"the interpreter crashed ({name})"
    elif code == 0:
        head = "it ran but did not answer like a Python interpreter"
    else:
        head = f"the interpreter exited with code {code}"
    return head + (": " + " | ".join(t.strip() for t in tail) if tail else "")


# --- packages, shadowing, corruption -------------------------------------------------------------------
def read_packages(prefix: str, paths: list[str]) -> tuple[dict[str, Package], tuple[str, ...]]:
    """conda-meta/*.json of the prefix, then pip metadata found on the interpreter's path."""
    packages: dict[str, Package] = {}
    corrupt: list[str] = []
    for name, pkg, problem in _conda_meta(Path(prefix)):
        if pkg is not None:
            packages[pkg.name] = pkg
        if problem:
            corrupt.append(f"{name}: {problem}")
    for pkg, problem in _pip_metadata(paths):
        if pkg.installer == "pip" or pkg.name not in packages:
            packages[pkg.name] = pkg  # pip's files are what Python imports, even over a conda record
        if problem:
            corrupt.append(f"{pkg.name}: {problem}")
    return packages, tuple(corrupt)


def _conda_meta(prefix: Path) -> Iterator[tuple[str, Package | None, str | None]]:
    folder = prefix / "conda-meta"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        try:
            rec = parse_json(read_text(path, hint=""), str(path), hint="")
            name = normalize(rec["name"])
        except (BadInput, KeyError, TypeError, AttributeError):
            yield path.stem, None, "its conda-meta record is unreadable"
            continue
        pkg = Package(name, str(rec.get("version", "")), "conda", _channel_name(str(rec.get("channel", ""))),
                      str(rec.get("build", "")) or None)
        files = rec.get("files")
        problem = _missing_files(prefix, [str(f) for f in files] if isinstance(files, list) else []) \
            if name in TORCH_FAMILY else None
        yield name, pkg, problem


def _channel_name(url: str) -> str | None:
    if not url:
        return None
    parts = [p for p in url.rstrip("/").split("/") if p]
    if parts and (("-" in parts[-1] and parts[-1].split("-")[0] in ("linux", "win", "osx", "noarch"))
                  or parts[-1] == "noarch"):
        parts = parts[:-1]
    if len(parts) >= 2 and parts[-2] == "pkgs":
        return "defaults"
    return parts[-1] if parts else None


def _pip_metadata(paths: list[str]) -> Iterator[tuple[Package, str | None]]:
    from importlib import metadata

    seen: set[str] = set()
    for dist in metadata.distributions(path=[p for p in paths if os.path.isdir(p)]):
        try:
            name = normalize(dist.metadata["Name"] or "")
        except Exception:  # noqa: BLE001, S112 - a broken dist-info can raise anything; skip that distribution
            continue
        if not name or name in seen:
            continue
        seen.add(name)
        installer = (dist.read_text("INSTALLER") or "pip").strip()
        problem = None
        if name in TORCH_FAMILY and installer != "conda":
            base = Path(str(dist.locate_file("")))
            problem = _missing_files(base, [str(f) for f in dist.files or ()])
        pkg = Package(name, str(dist.version or ""), "conda" if installer == "conda" else "pip",
                      None if installer == "conda" else "pypi")
        yield pkg, problem


def _missing_files(base: Path, files: list[str]) -> str | None:
    relevant = [f for f in files if not f.endswith((".pyc", "RECORD", "INSTALLER", "REQUESTED"))
                and "__pycache__" not in f and not f.startswith("..")]
    missing = [f for f in relevant if not (base / f).exists()]
    if not missing:
        return None
    return f"{len(missing)} of its {len(relevant)} files are missing (e.g. {missing[0]})"


def cwd_files(cwd: str) -> tuple[str, ...]:
    """Entries of the working directory that an `import torch` would pick up."""
    out = []
    for name in ("torch.py", "torch"):
        path = Path(cwd) / name
        if path.is_file() or path.is_dir():
            out.append(name + ("/" if path.is_dir() else ""))
    return tuple(out)


def find_shadowing(paths: list[str], torch_origin: str | None, prefix: str) -> tuple[str, ...]:
    """torch.py files or torch/ folders on sys.path ahead of the installed package."""
    out = []
    for entry in paths:
        folder = Path(entry)
        if _is_site_dir(folder, prefix):
            break
        for cand in (folder / "torch.py", folder / "torch"):
            if cand.is_file() or (cand.is_dir() and not (cand / "version.py").is_file()) or \
                    (cand.is_dir() and (cand.parent / "setup.py").is_file()):
                out.append(str(cand))
    if torch_origin and not out and not _is_site_dir(Path(torch_origin).parent.parent, prefix) \
            and Path(torch_origin).name == "torch.py":
        out.append(torch_origin)
    return tuple(out)


def _is_site_dir(folder: Path, prefix: str = "") -> bool:
    return folder.name in ("site-packages", "dist-packages")


# --- library paths and DLLs ----------------------------------------------------------------------------
def library_dirs(os_name: str, environ: dict[str, str],
                 globs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """CUDA/MKL libraries found in the folders of LD_LIBRARY_PATH (Linux) or PATH (Windows)."""
    var = {"linux": "LD_LIBRARY_PATH", "windows": "PATH"}.get(os_name)
    if var is None:
        return {}
    patterns = [g for group in globs.values() for g in group]
    out: dict[str, tuple[str, ...]] = {}
    for entry in environ.get(var, "").split(";" if os_name == "windows" else ":"):
        if not entry or not os.path.isdir(entry):
            continue
        try:
            names = sorted(n for n in os.listdir(entry) if any(fnmatch.fnmatch(n.lower(), g.lower())
                                                              for g in patterns))
        except OSError:
            continue
        if names:
            out[entry] = tuple(names)
    return out


def find_dlls(dlls: list[tuple[str, tuple[str, ...]]], places: dict[str, list[str]]) -> dict[str, bool]:
    """For each (dll, where) row: is the DLL present in any folder of those places? (Names compare
    case-insensitively, as Windows does.)"""
    listing: dict[str, set[str]] = {}

    def names_in(folder: str) -> set[str]:
        if folder not in listing:
            try:
                listing[folder] = {n.lower() for n in os.listdir(folder)}
            except OSError:
                listing[folder] = set()
        return listing[folder]

    return {name: any(name.lower() in names_in(f) for place in where for f in places.get(place, ()))
            for name, where in dlls}


def _dll_places(facts: Facts, environ: dict[str, str]) -> dict[str, list[str]]:
    root = environ.get("SystemRoot", r"C:\Windows")
    prefix = facts.python_prefix or sys.prefix
    places = {"system": [os.path.join(root, "System32")],
              "path": [p for p in environ.get("PATH", "").split(os.pathsep) if p],
              "prefix": [prefix, os.path.join(prefix, "Library", "bin"), os.path.join(prefix, "DLLs")],
              "torch": []}
    if facts.torch_location:
        places["torch"].append(os.path.join(os.path.dirname(facts.torch_location), "lib"))
    return places
