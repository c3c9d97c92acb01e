"""The pip part of a lock in a virtual environment: `envgen install --venv` and what `envgen verify` reads of a venv.

Reading (`read_lock`): a lock folder, conda-lock.yml, pylock.<platform>.toml or requirements-<platform>.txt (which
holds no file URLs: they come from the pylock written beside it, which must hold the same packages). A venv cannot
hold conda packages, so the conda part may hold no Python package but python itself and pip, setuptools, wheel.
Installing (`install_venv`): every wheel is downloaded and its sha256 checked before it is written
(`install.fetch_all`), then uv makes the venv hold exactly the locked set from those local files (`uv pip sync
--require-hashes --no-index --offline`: no resolution, nothing else installed, the rest removed). An existing
folder that is not a venv is never touched; an existing venv only with `force`; a venv created here is removed
again if the install fails.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envgen.compat import tomllib
from envgen.errors import BadInput, OutsideFailure, Refusal
from envgen.lock import pylock
from envgen.lock.fetch import Fetcher
from envgen.lock.read import LockedEnv, check_folder, checked_text, kind_of, load_lock
from envgen.lock.records import LockedWheel
from envgen.models import host_platform

SEEDS = frozenset({"pip", "setuptools", "wheel"})  # what venv tools add; never a reason to refuse or drift
CONDA_HINT = "use --prefix for a conda environment, or lock the pip side alone with --installer pip"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")  # a distribution name (PEP 508)
_REQUIRES = re.compile(r"^\s*==\s*(\d+\.\d+)(?:\.\*)?\s*$")  # what envgen writes: ==3.10.*


@dataclass(frozen=True, slots=True)
class VenvLock:
    env: LockedEnv
    python: str | None  # X.Y the lock was made for; None where the lock does not say


@dataclass(frozen=True, slots=True)
class VenvInstalled:
    prefix: Path
    pip: int
    python: str  # X.Y of the venv


# -- reading ------------------------------------------------------------------------------------------------------
def read_lock(path: Path, platform: str) -> VenvLock:
    """The pip part of a lock and the Python it was made for, checked as `load_lock` checks it."""
    path = Path(path)
    if path.is_file() and kind_of(path.name) == "requirements":
        return _requirements(path, platform)
    env = load_lock(path, platform)
    if kind_of(env.source.name) == "explicit":
        raise BadInput(f"{env.source} is an explicit conda lock: it holds no pip part for a venv",
                       hint="give the lock folder, its pylock.<platform>.toml or requirements-<platform>.txt; "
                            "for a conda environment use --prefix")
    check_conda_part(env)
    from envgen.lock.install import conda_python  # install imports py-rattler: not for `verify`

    python = conda_python(env)
    if python is None and env.source.suffix == ".toml":
        python = pylock_python(checked_text(env.source))
    return VenvLock(env, python)


def pylock_python(text: str) -> str | None:
    """X.Y of a pylock's `requires-python` as envgen writes it (==3.10.*); None for any other form."""
    value = tomllib.loads(text).get("requires-python")
    match = _REQUIRES.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _requirements(path: Path, platform: str) -> VenvLock:
    stem = path.name[len("requirements-"):-len(".txt")]
    if stem != platform:
        raise BadInput(f"{path} is a {stem} lock, not {platform}", hint=f"pass --platform {stem}")
    wanted = pylock.read_requirements_text(checked_text(path), str(path), platform)
    beside = path.parent / f"pylock.{platform}.toml"
    if not beside.is_file():
        raise BadInput(f"{path} holds no file URLs, and the pylock.{platform}.toml written beside it is not there",
                       hint="keep the lock folder together (give it, or its pylock), or re-create it with "
                            "`envgen lock`")
    problems = check_folder(path.parent)
    if problems:
        raise BadInput(f"the lock in {path.parent} fails its check:\n  " + "\n  ".join(problems),
                       hint="re-create the lock with `envgen lock`")
    located = read_lock(beside, platform)
    if _packages(wanted) != _packages(located.env.pip):
        raise BadInput(f"{path} and {beside.name} beside it hold different packages",
                       hint="re-create the lock with `envgen lock`")
    return dataclasses.replace(located, env=dataclasses.replace(located.env, source=path))


def _packages(wheels: Sequence[LockedWheel]) -> list[tuple[str, str, str]]:
    return sorted((w.name.lower().replace("_", "-").replace(".", "-"), w.version, w.sha256) for w in wheels)


def python_packages(env: LockedEnv) -> list[str]:
    """The conda packages a venv cannot hold: Python packages (noarch: python, or depending on python) other than
    python itself and the seeds."""
    return [p.name for p in env.conda if p.name != "python" and p.name not in SEEDS
            and (p.noarch == "python" or any(d.split()[0] == "python" for d in p.depends if d.strip()))]


def check_conda_part(env: LockedEnv) -> None:
    found = python_packages(env)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise Refusal(f"{env.source} has Python packages in its conda part ({shown}); a venv holds only its pip "
                      "part", hint=CONDA_HINT)


# -- a venv on disk -----------------------------------------------------------------------------------------------
def is_venv(prefix: Path) -> bool:
    return (Path(prefix) / "pyvenv.cfg").is_file()


def venv_version(prefix: Path) -> str | None:
    """X.Y of a venv's Python from its pyvenv.cfg (`version_info`, else `version`); None when it does not say."""
    fields: dict[str, str] = {}
    try:
        text = (Path(prefix) / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    match = re.match(r"(\d+)\.(\d+)", fields.get("version_info") or fields.get("version") or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


def venv_python(prefix: Path) -> Path:
    if os.name == "nt":
        return Path(prefix) / "Scripts" / "python.exe"
    return Path(prefix) / "bin" / "python"


# -- installing ---------------------------------------------------------------------------------------------------
def install_venv(lock: VenvLock, target: Path, fetcher: Fetcher, force: bool = False,
                 python: str | None = None) -> VenvInstalled:
    from envgen.lock.install import fetch_all

    target = Path(target).absolute()
    existed = _check_target(lock, target, force)
    env = lock.env
    _check_wheels(env)
    interpreter = None if existed else (python or find_interpreter(_want(lock)))
    _, files = fetch_all(dataclasses.replace(env, conda=()), fetcher)
    try:
        if interpreter is not None:
            _run([_uv(), "venv", str(target), "--python", interpreter, "--no-python-downloads", "--no-config",
                  "--quiet"], f"creating the venv {target}")
            _same_python(lock, target, created=True)
        _sync(target, env.pip, files, fetcher)
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return VenvInstalled(target, len(files), venv_version(target) or lock.python or "?")


def _check_target(lock: VenvLock, target: Path, force: bool) -> bool:
    """Whether the target exists as a venv to update; refuses everything else that exists and is not empty."""
    if lock.env.platform != host_platform():
        raise BadInput(f"a venv runs on this machine ({host_platform()}); the {lock.env.platform} part of "
                       f"{lock.env.source} cannot go into one", hint=f"pass --platform {host_platform()}")
    if target.exists() and not target.is_dir():
        raise Refusal(f"{target} exists and is not a folder", hint="choose a new --venv folder")
    if not target.is_dir() or not any(target.iterdir()):
        return False
    if not is_venv(target):
        raise Refusal(f"{target} exists, is not empty and is not a venv (no pyvenv.cfg); envgen does not install "
                      "into it", hint="choose a new --venv folder (or an existing venv, with --force)")
    if not force:
        raise Refusal(f"{target} already exists and is not empty; envgen does not install over it",
                      hint="choose a new --venv folder, or pass --force to make it match the lock "
                           "(packages not in the lock are removed)")
    _same_python(lock, target, created=False)
    return True


def _same_python(lock: VenvLock, target: Path, created: bool) -> None:
    have = venv_version(target)
    if lock.python is None or have == lock.python:
        return
    made = "was made with" if created else "has"
    raise Refusal(f"the venv {target} {made} Python {have or 'of an unknown version'}, but {lock.env.source} was "
                  f"locked for Python {lock.python}",
                  hint=f"pass --python with a Python {lock.python} interpreter" if created else
                  f"choose a new --venv folder (envgen creates it with Python {lock.python})")


def _want(lock: VenvLock) -> str:
    if lock.python is None:
        raise BadInput(f"{lock.env.source} does not say which Python it was locked for",
                       hint="pass --python with the interpreter to create the venv with")
    return lock.python


def _check_wheels(env: LockedEnv) -> None:
    """Every name is a plain distribution name and every file a wheel: nothing from a lock becomes an option of the
    requirements file uv reads, and nothing is built."""
    for w in env.pip:
        if not _NAME.fullmatch(w.name):
            raise BadInput(f"{env.source}: {w.name[:80]!r} is not a distribution name",
                           hint="re-create the lock with `envgen lock`")
        if not w.url.endswith(".whl"):
            raise Refusal(f"{w.name} {w.version} is locked as a source distribution, which would be built; envgen "
                          "installs wheels only into a venv", hint="lock a version that has a wheel for this platform")


def find_interpreter(version: str) -> str:
    """An interpreter of Python X.Y on this machine, as uv finds one (never downloading one)."""
    try:
        done = subprocess.run([_uv(), "python", "find", version, "--no-python-downloads", "--no-config"],
                              capture_output=True, text=True, timeout=120, check=False, env=_env(),
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutsideFailure(f"cannot ask uv for a Python {version}: {exc}",
                             hint=f"pass --python with a Python {version} interpreter") from None
    found = done.stdout.strip().splitlines()
    if done.returncode != 0 or not found:
        why = (done.stderr.strip().splitlines() or ["not found"])[0]
        raise OutsideFailure(f"no Python {version} interpreter was found on this machine ({why})",
                             hint=f"pass --python with the path of a Python {version} interpreter")
    return found[0]


def _sync(target: Path, wheels: Sequence[LockedWheel], files: Sequence[Path], fetcher: Fetcher) -> None:
    with tempfile.TemporaryDirectory(prefix="envgen-venv-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("".join(f"{w.name} @ {f.absolute().as_uri()} --hash=sha256:{w.sha256}\n"
                               for w, f in zip(wheels, files, strict=True)), encoding="utf-8")
        _run([_uv(), "pip", "sync", str(req), "--require-hashes", "--no-index", "--offline", "--no-build",
              "--no-config", "--no-python-downloads", "--allow-empty-requirements", "--python",
              str(venv_python(target)), "--cache-dir", str(fetcher.root / "uv"), "--quiet"],
             f"installing the pip packages into {target}")


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_env(),
                              stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise OutsideFailure(f"{what} failed: cannot run uv: {exc}",
                             hint="reinstall envgen (uv is a dependency)") from None
    if done.returncode != 0:
        raise OutsideFailure(f"{what} failed:\n{done.stderr.strip()}",
                             hint="fix the error above and run again (a venv this run created was removed; one "
                                  "that existed is updated with --force)")


def _uv() -> str:
    import uv

    return str(uv.find_uv_bin())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}  # no user setting changes what is done
    env["NO_COLOR"] = "1"
    return env
