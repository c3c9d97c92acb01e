"""`envgen install`: create an environment from a lock, checking every file's hash before anything is linked.

Order: download and verify every conda package and wheel (sha256, and md5 for conda, each checked when
present), then link the conda packages with py-rattler, then install the wheels with uv (no resolution, no
index). A prefix that existed before is refused unless `force` (then it is made to match the lock); a prefix
created here is removed again if linking fails.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from envgen.errors import OutsideFailure, Refusal
from envgen.lock import conda as solver
from envgen.lock.fetch import Fetcher, safe_file_name
from envgen.lock.read import LockedEnv


@dataclass(frozen=True, slots=True)
class Installed:
    prefix: Path
    conda: int
    pip: int


def fetch_all(env: LockedEnv, fetcher: Fetcher) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Verified local copies of every package file and wheel, before anything is installed.

    Every URL's file name is checked first, so a hostile one is refused before the first download; each file is
    checked against every hash the lock carries (sha256 and, for conda, md5) before it is written."""
    for p in env.conda:
        safe_file_name(p.url)
    for w in env.pip:
        safe_file_name(w.url)
        if not w.sha256:
            raise Refusal(f"{w.name} has no sha256 in {env.source}: a pip package is never installed unchecked",
                          hint="re-create the lock with `envgen lock`")
    pkgs, wheels = fetcher.root / "pkgs", fetcher.root / "wheels"
    conda_files = tuple(fetcher.file(p.url, p.sha256, pkgs, md5=p.md5) for p in env.conda)
    wheel_files = tuple(fetcher.file(w.url, w.sha256, wheels) for w in env.pip)
    return conda_files, wheel_files


def install(env: LockedEnv, prefix: Path, fetcher: Fetcher, force: bool = False) -> Installed:
    prefix = Path(prefix).absolute()
    existed = prefix.exists() and any(prefix.iterdir())
    if existed and not force:
        raise Refusal(f"{prefix} already exists and is not empty; envgen does not install over it",
                      hint="choose a new --prefix, or pass --force to make it match the lock "
                           "(packages not in the lock are removed)")
    conda_files, wheel_files = fetch_all(env, fetcher)
    try:
        if conda_files:
            solver.install(conda_files, prefix, env.platform, fetcher.root / "rattler")
        if wheel_files:
            _pip_install(env, prefix, wheel_files, fetcher)
    except BaseException:
        if not existed:
            shutil.rmtree(prefix, ignore_errors=True)
        raise
    return Installed(prefix, len(conda_files), len(wheel_files))


def site_packages(prefix: Path, platform: str, python: str) -> Path:
    if platform.startswith("win"):
        return prefix / "Lib" / "site-packages"
    return prefix / "lib" / f"python{python}" / "site-packages"


def conda_python(env: LockedEnv) -> str | None:
    for p in env.conda:
        if p.name == "python":
            return ".".join(p.version.split(".")[:2])
    return None


def _pip_install(env: LockedEnv, prefix: Path, wheels: tuple[Path, ...], fetcher: Fetcher) -> None:
    import uv

    from envgen.lock.pip import uv_platform

    python = conda_python(env)
    if python is None:
        raise Refusal(f"{env.source} has pip packages but no Python to install them into",
                      hint="install a pip-only lock with `uv pip install -r requirements-<platform>.txt "
                           "--require-hashes` into an environment you made")
    target = site_packages(prefix, env.platform, python)
    import sys

    cmd = [uv.find_uv_bin(), "pip", "install", "--no-deps", "--no-index", "--no-python-downloads",
           "--no-config", "--python", sys.executable,
           "--target", str(target), "--python-version", python,
           "--python-platform", uv_platform(env.platform, "2.17"), "--cache-dir", str(fetcher.root / "uv"),
           "--quiet", *[str(w) for w in wheels]]
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise OutsideFailure(f"installing the pip packages into {target} failed:\n{done.stderr.strip()}",
                             hint="the conda part is installed; fix the error above and run again with --force")
