"""The pip side: `uv pip compile` for one target platform and Python, hashed, never downloading a Python.

uv writes a PEP 751 lock for the target (`--format pylock.toml`), which gives every chosen file with its URL
and sha256; envgen renders its own requirements/pylock files from that (see `envgen.lock.pylock`). Index URLs go to uv
through the mirrors and come back canonical.
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from packaging.utils import canonicalize_name

from envgen.compat import tomllib
from envgen.errors import BadInput, EnvgenError, OutsideFailure
from envgen.lock.mirrors import Mirrors
from envgen.lock.records import LockedWheel
from envgen.redact import redact as mask

# conda subdir -> uv's --python-platform (a naming translation, not a compatibility fact)
UV_PLATFORM = {"linux-64": "x86_64-manylinux_{glibc}", "linux-aarch64": "aarch64-manylinux_{glibc}",
               "win-64": "x86_64-pc-windows-msvc", "osx-64": "x86_64-apple-darwin",
               "osx-arm64": "aarch64-apple-darwin"}
_NETWORK = ("Failed to fetch", "Request failed", "error sending request", "Could not connect", "tcp connect",
            "dns error", "Connection refused", "connection closed", "Network connectivity is disabled")


@dataclass(frozen=True, slots=True)
class PipJob:
    platform: str
    python: str
    requirements: tuple[str, ...]
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    glibc: str = "2.17"
    keep: tuple[str, ...] = ()  # name==version pins to hold (for --update)
    provided: tuple[tuple[str, str], ...] = ()  # (pip name, version) the conda side installs: taken as installed
    exclude_newer: str | None = None  # `YYYY-MM-DDTHH:MM:SSZ`: files uploaded later are not considered


def uv_platform(platform: str, glibc: str) -> str:
    if platform not in UV_PLATFORM:
        raise BadInput(f"uv cannot resolve wheels for {platform}", hint="pip locks cover: " + ", ".join(UV_PLATFORM))
    return UV_PLATFORM[platform].format(glibc=glibc.replace(".", "_"))


@functools.cache
def _uv_bin() -> str:
    """The uv binary. Asked once, before any thread: `uv.find_uv_bin` reads `sysconfig`, whose first read is not
    thread-safe on Python 3.11 (a second thread saw an empty table and uv's name came out as `"uv" + None`)."""
    import uv

    return str(uv.find_uv_bin())


def _command(job: PipJob, mirrors: Mirrors, folder: Path, cache: Path, offline: bool) -> list[str]:
    import sys

    # --python: the running interpreter serves uv for sdist builds; without it uv searches every Python on the
    # machine (a second or more with pyenv shims). The target is --python-version/--python-platform.
    cmd = [_uv_bin(), "pip", "compile", str(folder / "requirements.in"), "--generate-hashes",
           "--no-python-downloads", "--python", sys.executable, "--python-version", job.python,
           "--python-platform", uv_platform(job.platform, job.glibc), "--format", "pylock.toml",
           "--no-header", "--quiet", "--no-config", "--cache-dir", str(cache), "-o", str(folder / "pylock.toml")]
    if job.index_url:
        cmd += ["--index-url", mirrors.apply(job.index_url)]
    for url in job.extra_index_urls:
        cmd += ["--extra-index-url", mirrors.apply(url)]
    for url in job.find_links:
        cmd += ["--find-links", mirrors.apply(url)]
    if job.keep:
        (folder / "keep.txt").write_text("".join(k + "\n" for k in job.keep))
        cmd += ["--constraint", str(folder / "keep.txt")]
    if job.provided:
        (folder / "provided.txt").write_text("".join(f"{name} @ {stub.as_uri()}\n" for name, stub in
                                                     _stubs(job.provided, folder / "stubs")))
        cmd += ["--override", str(folder / "provided.txt")]
    if job.exclude_newer:
        cmd += ["--exclude-newer", job.exclude_newer]
    if offline:
        cmd.append("--offline")
    return cmd


def compile_pip(job: PipJob, mirrors: Mirrors, cache: Path, offline: bool = False,
                timeout_s: float = 300.0, network: dict[str, str] | None = None) -> tuple[LockedWheel, ...]:
    """The files uv chose for `job`, sorted by name, with canonical URLs."""
    with tempfile.TemporaryDirectory(prefix="envgen-uv-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.in").write_text("".join(r + "\n" for r in job.requirements))
        cmd = _command(job, mirrors, folder, cache, offline)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False,
                                  env=_env() | (network or {}), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise OutsideFailure(f"uv did not finish resolving the {job.platform} pip packages in {timeout_s:.0f} s",
                                 hint="check the index is reachable, or narrow the requirements") from None
        except OSError as exc:
            raise OutsideFailure(f"cannot run uv: {exc}", hint="reinstall envgen (uv is a dependency)") from None
        if done.returncode != 0:
            raise _failure(job, done.stderr, mirrors, offline)
        data = tomllib.loads((folder / "pylock.toml").read_text(encoding="utf-8"))
    provided = {str(canonicalize_name(name)) for name, _ in job.provided}
    return tuple(sorted(_wheels(data, job.platform, mirrors, provided), key=lambda w: w.name))


def compile_each(jobs: Sequence[PipJob], mirrors: Mirrors, cache: Path, offline: bool = False,
                 network: dict[str, str] | None = None,
                 workers: int = 1) -> list[tuple[LockedWheel, ...] | EnvgenError]:
    """`compile_pip` for every job, in the jobs' order: its files, or its failure (an `EnvgenError`, not raised).
    `workers` uv processes at a time (threads that wait on them: uv runs outside the GIL), each job in its own
    temporary folder; with one worker, one job after another, stopping after the first failure. The jobs share the
    cache folder: uv documents that as safe ("It's safe to run multiple uv commands concurrently ... uv's cache is
    designed to be thread-safe and append-only, and thus robust to multiple concurrent readers and writers",
    https://docs.astral.sh/uv/concepts/cache/#cache-safety, since astral-sh/uv#2818)."""

    def _one(job: PipJob) -> tuple[LockedWheel, ...] | EnvgenError:
        try:
            return compile_pip(job, mirrors, cache, offline, network=network)
        except EnvgenError as exc:
            return exc

    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        _uv_bin()  # in this thread, first

        with ThreadPoolExecutor(min(workers, len(jobs)), thread_name_prefix="envgen-uv") as pool:
            return list(pool.map(_one, jobs))
    out: list[tuple[LockedWheel, ...] | EnvgenError] = []
    for job in jobs:
        out.append(_one(job))
        if isinstance(out[-1], EnvgenError):
            break
    return out


def _stubs(provided: tuple[tuple[str, str], ...], folder: Path) -> list[tuple[str, Path]]:
    """A wheel per package the conda side installs: its name and version and no dependencies. Given to uv as an
    override, it stands for the conda package: every requirement of it is met by it, whatever PyPI's metadata of
    the same name pins, and nothing it would need from PyPI (CUDA wheels, triton) is pulled in. The stubs are
    dropped from the result."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, version in provided:
        module = re.sub(r"[-_.]+", "_", name)
        dist = f"{module}-{version}.dist-info"
        members = {f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                   f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: envgen\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                   f"{dist}/RECORD": ""}
        path = folder / f"{module}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            for member, text in members.items():
                zf.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), text)
        out.append((name, path))
    return out


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env["NO_COLOR"] = "1"
    return env


def _wheels(data: dict[str, Any], platform: str, mirrors: Mirrors, provided: set[str]) -> list[LockedWheel]:
    """The locked files; the stand-ins of what the conda side provides (`provided`) are left out."""
    out = []
    for pkg in data.get("packages", []):
        if canonicalize_name(str(pkg.get("name", ""))) in provided:
            continue
        files = list(pkg.get("wheels", [])) or ([pkg["sdist"]] if "sdist" in pkg else [])
        if not files:
            raise OutsideFailure(f"uv locked {pkg.get('name')} without a file", hint="report this with the request")
        chosen = min(files, key=lambda f: f["url"])
        out.append(LockedWheel(pkg["name"], str(pkg["version"]), mirrors.unapply(chosen["url"]),
                               chosen["hashes"]["sha256"], platform))
    return out


def _failure(job: PipJob, stderr: str, mirrors: Mirrors, offline: bool) -> Exception:
    text = mask("\n".join(line for line in stderr.strip().splitlines() if line.strip()))  # uv echoes URLs
    where = job.index_url or "the default index"
    if any(marker.lower() in text.lower() for marker in _NETWORK):
        hint = ("run once without --offline to fill the cache" if offline else
                "check your connection and proxy settings (HTTPS_PROXY), use a mirror (--mirror FROM=TO), "
                "or run with --offline to use what is cached")
        return OutsideFailure(f"uv could not read the pip index {mask(where)} for {job.platform}:\n{text}",
                              hint=hint)
    return BadInput(f"no {job.platform} pip environment (Python {job.python}) satisfies the request:\n{text}",
                    hint="loosen the pins above, or choose another --python or variant",
                    context={"platform": job.platform})


def wheel_filename(url: str) -> str:
    return unquote(url.rsplit("/", 1)[-1])
