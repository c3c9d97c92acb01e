"""The conda engine: py-rattler's solver, installer and pixi.lock (with `gateway.py`, the only modules that import it).

The helpers of a solve (specs, virtual packages, priority, the conversions between rattler's records and envgen's;
`envgen.lock.gateway` solves with them, over rattler's gateway or over files on disk), install verified package
files into a prefix, validate a solution, and write/read pixi.lock. Inputs and outputs are envgen's own frozen
records (`CondaSolve`, `LockedConda`), so the rest of envgen never sees a rattler type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from envgen.errors import BadInput, EnvgenError, OutsideFailure
from envgen.lock.records import PRIORITIES, LockedConda, VirtualPkg

if TYPE_CHECKING:  # rattler itself is imported inside the functions, so importing envgen stays quick
    from rattler import ChannelPriority, GenericVirtualPackage, MatchSpec, RepoDataRecord
    from rattler.package.no_arch_type import NoArchLiteral

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CondaSolve:
    """One solve: a target platform, specs, channels (canonical URLs, priority order) and the machine."""

    platform: str
    specs: tuple[str, ...]
    channels: tuple[str, ...]
    priority: str = "strict"
    virtual: tuple[VirtualPkg, ...] = ()
    timeout_s: float = 120.0
    exclude_newer: str | None = None  # `YYYY-MM-DDTHH:MM:SSZ`; records without a timestamp are kept


def run_coro(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a rattler coroutine to its end, also from a caller that is already inside an event loop."""
    try:
        return asyncio.run(coro)
    except RuntimeError as exc:  # a caller already inside an event loop
        if "running event loop" not in str(exc):
            raise
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro).result()


def channel_priority(name: str) -> ChannelPriority:
    """rattler's value for `strict`, `flexible` or `disabled`."""
    from rattler import ChannelPriority

    if name not in PRIORITIES:
        raise BadInput(f"unknown channel priority {name!r}", hint="use strict, flexible or disabled")
    return {"strict": ChannelPriority.Strict, "flexible": ChannelPriority.Flexible,
            "disabled": ChannelPriority.Disabled}[name]


def cut_off(value: str | None) -> datetime | None:
    """`--exclude-newer`'s `YYYY-MM-DDTHH:MM:SSZ` as the datetime rattler takes."""
    if value is None:
        return None
    from envgen.lock.cutoff import as_datetime

    return as_datetime(value)


def virtual_packages(pkgs: tuple[VirtualPkg, ...]) -> list[GenericVirtualPackage]:
    """The virtual packages of the target machine, built by hand (any platform, not only this one)."""
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    return [GenericVirtualPackage(PackageName(v.name), Version(v.version), BuildString(v.build)) for v in pkgs]


def match_specs(texts: tuple[str, ...]) -> list[MatchSpec]:
    """`MatchSpec` objects (string specs given to `rattler.solve` are parsed strictly); BadInput for a bad one."""
    from rattler import MatchSpec

    out: list[MatchSpec] = []
    for text in texts:
        try:
            out.append(MatchSpec(text))
        except Exception as exc:  # noqa: BLE001 - rattler's InvalidMatchSpecError and friends
            raise BadInput(f"invalid conda spec {text!r}: {exc}",
                           hint="write specs as name, name=1.2, 'name >=1.2,<2' or name=1.2=build*") from None
    return out


def record_to_locked(r: RepoDataRecord, url: str | None = None, channel: str | None = None) -> LockedConda:
    """envgen's record of a solved package; `url` and `channel` replace the record's own (the canonical ones)."""
    noarch = r.noarch
    kind = None if noarch is None or noarch.none else ("python" if noarch.python else "generic")
    stamp = int(r.timestamp.timestamp() * 1000) if r.timestamp is not None else None
    return LockedConda(
        name=r.name.normalized, version=str(r.version), build=str(r.build), build_number=int(r.build_number),
        subdir=str(r.subdir), url=str(r.url) if url is None else url,
        channel=str(r.channel or "").rstrip("/") if channel is None else channel,
        md5=r.md5.hex() if r.md5 else "", sha256=r.sha256.hex() if r.sha256 else "",
        depends=tuple(r.depends), constrains=tuple(r.constrains), noarch=kind,
        size=int(r.size) if r.size else None, timestamp=stamp)


def locked_to_record(p: LockedConda) -> RepoDataRecord:
    """rattler's record of an envgen record (for locked packages, validation, install and pixi.lock)."""
    from rattler import BuildString, NoArchType, PackageRecord, RepoDataRecord

    rec = PackageRecord(
        name=p.name, version=p.version, build=BuildString(p.build), build_number=p.build_number,
        subdir=p.subdir, depends=list(p.depends), constrains=list(p.constrains),
        md5=bytes.fromhex(p.md5) if p.md5 else None, sha256=bytes.fromhex(p.sha256) if p.sha256 else None,
        size=p.size, noarch=NoArchType(cast("NoArchLiteral", p.noarch)) if p.noarch else None)
    return RepoDataRecord(rec, p.file_name, p.url, p.channel + "/")


def solver_failure(job: CondaSolve, exc: Exception) -> EnvgenError:
    """rattler's SolverError as envgen's: out of time (exit 3) or no environment satisfies the request (exit 2)."""
    text = str(exc)
    if "timed out" in text.lower() or "timeout" in text.lower():
        return OutsideFailure(f"the {job.platform} solve ran out of time ({job.timeout_s:.0f} s)",
                              hint="narrow the request (pin python, torch) or raise --timeout")
    return BadInput(f"no {job.platform} environment satisfies the request: {text.strip()}",
                    context={"platform": job.platform, "solver": text})


def validate(packages: tuple[LockedConda, ...]) -> None:
    """Check that every dependency and constraint inside a solution is met (raises BadInput)."""
    from rattler import PackageRecord

    try:
        PackageRecord.validate([locked_to_record(p) for p in packages])
    except Exception as exc:  # noqa: BLE001 - rattler's validation errors have no common base
        raise BadInput(f"the locked packages do not form a valid environment: {exc}",
                       hint="re-create the lock with `envgen lock`") from None


def topological(packages: tuple[LockedConda, ...]) -> tuple[LockedConda, ...]:
    """Dependencies before dependents, deterministically (the order explicit files need)."""
    from rattler import RepoDataRecord

    by_name = {p.name: p for p in packages}
    ordered = RepoDataRecord.sort_topologically([locked_to_record(p) for p in packages])
    return tuple(by_name[r.name.normalized] for r in ordered)


def archive_record(path: Path) -> LockedConda:
    """Read a package file's own metadata (index.json and hashes)."""
    from rattler import RepoDataRecord

    try:
        return record_to_locked(run_coro(RepoDataRecord.from_package_archive(str(path))))
    except Exception as exc:  # noqa: BLE001 - rattler raises arbitrary types for a damaged archive
        raise OutsideFailure(f"cannot read package {path.name}: {exc}",
                             hint="delete it and download it again") from None


def install(files: tuple[Path, ...], prefix: Path, platform: str, cache_dir: Path) -> None:
    """Link already-verified package files into prefix (creating it).

    py-rattler 0.28's installer can crash the interpreter at exit (a worker thread touches Python during
    finalisation, about 1 run in 12 with a cold cache), so the linking runs in a child process that leaves
    with os._exit once its result is written.
    """
    import json
    import subprocess
    import sys

    job = json.dumps({"files": [str(f) for f in files], "prefix": str(prefix), "platform": platform,
                      "cache": str(cache_dir)})
    done = subprocess.run([sys.executable, "-c", "from envgen.lock.conda import _install_child; _install_child()"],
                          input=job, capture_output=True, text=True, check=False)
    if done.stdout.strip() != "ok":
        detail = (done.stdout.strip() or done.stderr.strip() or f"exit status {done.returncode}")[-2000:]
        raise OutsideFailure(f"installing into {prefix} failed: {detail}",
                             hint="check free disk space and permissions, then run again")


def _install_child() -> None:
    """The child side of `install`: read the job on stdin, link, print 'ok' or the error, leave at once."""
    import json
    import os
    import sys

    import rattler
    from rattler import RepoDataRecord, Subdir

    job = json.loads(sys.stdin.read())

    async def _go() -> None:
        records = list(await asyncio.gather(*(RepoDataRecord.from_package_archive(f) for f in job["files"])))
        await rattler.install(records, target_prefix=job["prefix"], cache_dir=job["cache"],
                              platform=Subdir(job["platform"]), show_progress=False)

    try:
        asyncio.run(_go())
        message = "ok"
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises OutsideFailure
        message = f"{exc.__class__.__name__}: {exc}"
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
    os._exit(0)


def write_pixi(path: Path, env: dict[str, tuple[LockedConda, ...]], pypi: dict[str, tuple[tuple[str, str, str], ...]],
               channels: tuple[str, ...]) -> str:
    """Render pixi.lock text (format of rattler's LockFile) for platform -> packages; pypi: (name, version, url)."""
    import tempfile

    from rattler import LockChannel, LockFile, LockPlatform

    platforms = {p: LockPlatform(p) for p in sorted(set(env) | set(pypi))}
    lock = LockFile(list(platforms.values()))
    lock.set_channels("default", [LockChannel(c.rstrip("/") + "/") for c in channels])
    for plat, pkgs in sorted(env.items()):
        for p in pkgs:
            lock.add_conda_package("default", platforms[plat], locked_to_record(p))
    for plat, wheels in sorted(pypi.items()):
        for name, version, url in wheels:
            lock.add_pypi_package("default", platforms[plat], name, version, url)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        lock.to_path(out)
        return out.read_text(encoding="utf-8")


def read_pixi(path: Path) -> dict[str, tuple[LockedConda, ...]]:
    """platform -> conda packages of pixi.lock's default environment."""
    from rattler import LockFile

    try:
        lock = LockFile.from_path(path)
    except Exception as exc:  # noqa: BLE001 - rattler's parse errors have no common base
        raise BadInput(f"{path} is not a readable pixi.lock: {exc}", hint="re-create it with `envgen lock`") from None
    env = lock.default_environment()
    if env is None:
        return {}
    return {str(getattr(plat, "name", plat)): tuple(sorted((record_to_locked(r) for r in recs), key=lambda p: p.name))
            for plat, recs in env.conda_repodata_records().items()}


def version_matches(spec: str, version: str) -> bool:
    """Whether a conda match spec (`pytorch=2.1`, `pytorch>=2.0,<2.2`, `chan::pytorch`) allows `version`."""
    from rattler import MatchSpec, Version, VersionSpec

    try:
        allowed = MatchSpec(spec).version
        return allowed is None or bool(VersionSpec(str(allowed)).matches(Version(version)))
    except Exception as exc:  # noqa: BLE001 - rattler raises its own parse errors; an unreadable spec is bad input
        raise BadInput(f"invalid conda spec {spec!r}: {exc}", hint="write NAME[=VERSION[=BUILD]], e.g. pytorch=2.1") \
            from None
