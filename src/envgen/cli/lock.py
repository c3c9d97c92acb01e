"""`envgen lock`: solved, hashed lockfiles, their recorded inputs, and `--check`/`--update` from those alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from envgen.cli import _common as common
from envgen.cli import _options as options

if TYPE_CHECKING:
    from envgen.compile.envfile import EnvFile
    from envgen.lock.changes import Change, Side
    from envgen.lock.engine import Locked, Previous
    from envgen.lock.recipe import Recipe
    from envgen.lock.request import LockRequest
    from envgen.lock.spec import LockSpec
    from envgen.lock.staleness import Staleness
    from envgen.matrix import Matrix


def register(app: typer.Typer) -> None:
    app.command("lock", help="Solve and write lockfiles (conda-lock.yml, explicit, pixi.lock, pylock, "
                             "requirements with hashes) for every platform asked.")(lock)


def lock(
    packages: list[str] | None = typer.Argument(None, help="extra packages to solve together, e.g. 'numpy<2'"),
    torch: str | None = options.TORCH_OPTION,
    cuda: str | None = options.CUDA_OPTION,
    rocm: str | None = options.ROCM_OPTION,
    cpu: bool = options.CPU_OPTION,
    platform: list[str] | None = options.PLATFORMS_OPTION,
    installer: str | None = options.INSTALLER_OPTION,
    channel: str | None = options.CHANNEL_OPTION,
    python: str | None = options.PYTHON_OPTION,
    with_: str | None = options.WITH_OPTION,
    from_: Path | None = typer.Option(None, "--from", help="environment.yml (its pip: section too), requirements*.txt, "
                                                          "pyproject.toml or pixi.toml"),
    group: list[str] | None = typer.Option(None, "--group", help="with --from: a pyproject extra or dependency group, "
                                                                 "a pixi environment or feature; repeatable"),
    out: Path = typer.Option(Path("locks"), "-o", "--output", help="folder for the lockfiles"),
    check: bool = typer.Option(False, "--check", help="exit 1 if the lock in -o no longer matches its inputs "
                                                      "(the recorded ones when no other flag is given)"),
    update: list[str] | None = typer.Option(None, "--update", help="re-solve PKG, keeping the rest locked"),
    mirror: list[str] | None = options.MIRROR_OPTION,
    offline: bool = options.OFFLINE_OPTION,
    priority: str = typer.Option("strict", "--channel-priority", help="strict, flexible or disabled"),
    virtual: list[str] | None = typer.Option(None, "--virtual", metavar="NAME=VER[=BUILD]",
                                                help="override a virtual package (__glibc=2.28, __cuda=none)"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds each solve may take"),
    exclude_newer: str | None = typer.Option(None, "--exclude-newer", metavar="DATE",
                                             help="nothing newer than DATE (2021-06-30, an RFC 3339 time, `release` "
                                                  "= the torch release date, `release+90d`), conda and pip"),
    json_out: bool = options.JSON_OPTION,
    matrix_dir: str | None = options.MATRIX_DIR_OPTION,
) -> None:
    """Without flags that say what to lock, the inputs recorded in the lock folder (lock-inputs.yml) are used."""
    from envgen.compile.condarc import load_condarc, mirror_pairs
    from envgen.lock.mirrors import credentials_as_mirrors, load_mirrors
    from envgen.lock.request import LockRequest
    from envgen.lock.spec import check_priority, parse_virtual

    _check_timeout(timeout)
    check_priority(priority)
    parse_virtual(virtual or [])
    request = LockRequest(torch, cuda, rocm, cpu, tuple(platform or ()), installer, channel, python, with_,
                          str(from_) if from_ is not None else None, tuple(packages or ()), priority,
                          tuple(virtual or ()), exclude_newer, tuple(group or ()))
    mirrors = load_mirrors(tuple(mirror or ()))  # bad input fails before the matrix is loaded
    condarc = load_condarc()  # conda's own files: mirrors, default channels, proxies (flags and ENVGEN_* win)
    job = _job(request, out, check or bool(update))
    matrix = common.load(matrix_dir)
    spec = _spec(matrix, job.request, job.env, out, condarc.channels)
    spec, authenticated = credentials_as_mirrors(spec)  # files and hashes see canonical URLs only
    if check:
        return _check(matrix, job, spec, out, json_out)
    for line in spec.notes:
        common.note(f"note: {line}")
    previous = _previous(out, spec, update)
    from envgen.lock import engine as lockfile
    from envgen.lock.fetch import Fetcher
    from envgen.lock.recipe import record, render

    fetcher = Fetcher(mirrors.adding(authenticated).adding(mirror_pairs(condarc)), offline, report=common.note,
                      proxies=tuple(condarc.proxies.items()), verify=condarc.ssl_verify)
    locked = lockfile.solve_all(spec, fetcher, previous, tuple(update or ()), timeout, report=common.note)
    env_path = Path(job.request.from_) if job.request.from_ else None
    recipe = record(job.request, env_path, job.env, out, spec)
    files = lockfile.render_all(locked, render(recipe))
    before = _before(out)
    written = lockfile.write_all(files, out)
    _present(locked, written, json_out, before)


@dataclass(frozen=True)
class _Job:
    """What this run locks: the request (`from_` as a path from here), the environment file read from it, and the
    inputs recorded in the lock folder (None where it has none, or when flags were given and it fails its check)."""

    request: LockRequest
    env: EnvFile | None
    recorded: Recipe | None
    replaying: bool  # the request is the recorded one


def _job(request: LockRequest, out: Path, needs_lock: bool) -> _Job:
    import dataclasses
    import os

    from envgen.errors import BadInput
    from envgen.lock.inputs import load_env
    from envgen.lock.recipe import read, source_path

    recorded: Recipe | None = None
    if request.empty or needs_lock:
        try:
            recorded = read(out) if out.is_dir() else None
        except BadInput:
            if request.empty:
                raise
    replaying = request.empty and recorded is not None
    if request.empty and recorded is None and needs_lock:
        raise BadInput(f"{out} holds no recorded inputs (lock-inputs.yml), so the flags it was made with are "
                       "unknown", hint="give the flags the lock was made with, or re-create it with `envgen lock "
                                       "FLAGS -o DIR` (this envgen records them)")
    if replaying:
        assert recorded is not None
        here = (os.path.normpath(source_path(out, recorded.sources[0])) if recorded.request.from_ and
                recorded.sources else None)
        request = dataclasses.replace(recorded.request, from_=here)
        common.note(f"using the inputs recorded in {out / 'lock-inputs.yml'}")
    env = load_env(Path(request.from_), request.group) if request.from_ else None
    return _Job(request, env, recorded, replaying)


def _spec(matrix: Matrix, request: LockRequest, env: EnvFile | None, out: Path,
          channels: tuple[str, ...] = ()) -> LockSpec:
    from envgen.lock.inputs import spec_for

    return spec_for(matrix, request, env, common.auto_detect(), command=request.command(str(out)),
                    default_channels=channels)


def _previous(out: Path, spec: LockSpec, update: list[str] | None) -> Previous | None:
    from envgen.errors import BadInput
    from envgen.lock import engine as lockfile
    from envgen.lock.staleness import name_of

    if not update:
        return None
    previous = lockfile.read_previous(out)
    if previous is None:
        raise BadInput(f"--update needs an existing lock in {out}",
                       hint="run `envgen lock` without --update first")
    known = ({c.name.lower() for pkgs in previous.conda.values() for c in pkgs}
             | {w.name.lower() for wheels in previous.pip.values() for w in wheels}
             | {name_of(s) for p in spec.platforms if p.conda for s in p.conda.specs}
             | {name_of(r, pip=True) for p in spec.platforms if p.pip for r in p.pip.requirements})
    unknown = [u for u in update if u.lower() not in known]
    if unknown:
        raise BadInput(f"--update {', '.join(unknown)}: neither in the lock in {out} nor asked for by its inputs",
                       hint="name a locked package, or add it as an extra package instead")
    return previous


def _check_timeout(seconds: float) -> None:
    import math

    from envgen.errors import BadInput

    if not math.isfinite(seconds) or seconds <= 0:
        raise BadInput(f"--timeout {seconds}: a solve needs a positive number of seconds",
                       hint="e.g. --timeout 300")


def _check(matrix: Matrix, job: _Job, spec: LockSpec, out: Path, json_out: bool) -> None:
    """Exit 0 when the lock in `out` matches its inputs and passes its own checks; else say what changed, in words,
    with the commands that bring it up to date, and exit 1."""
    from envgen.lock import engine as lockfile
    from envgen.lock.staleness import commands

    problems = lockfile.check(spec, out)
    stale: Staleness | None = None
    if job.recorded is not None and not _same_spec(job.recorded.platforms, spec):
        stale = _staleness(matrix, job, spec, out)
        problems = [p for p in problems if "made from other inputs" not in p]
    elif job.recorded is None and out.is_dir() and not problems:
        problems.append("lock-inputs.yml: missing: the lock does not record what it was made from (made by an "
                        "older envgen); re-lock once with the flags it was made with")
    fix = commands(job.request, str(out), job.replaying, stale.packages if stale else ()) if (stale or problems) \
        else []
    if json_out:
        common.print_json({"up_to_date": not problems and stale is None, "problems": problems,
                           "changes": list(stale.changes) if stale else [], "commands": fix,
                           "inputs": "recorded" if job.replaying else "flags"})
    elif stale is None and not problems:
        typer.echo(f"the lock in {out} matches its {'recorded ' if job.replaying else ''}inputs")
    else:
        common.note(f"the lock in {out} is out of date:" if stale else f"the lock in {out} fails its check:")
        for line in (stale.changes if stale else ()) + tuple(problems):
            common.note(f"  {line}")
        common.note("to bring it up to date, run:" if len(fix) == 1 else "to bring it up to date, run one of:")
        for line in fix:
            common.note(f"  {line}")
    if problems or stale is not None:
        raise typer.Exit(1)


def _same_spec(recorded: dict[str, Any], spec: LockSpec) -> bool:
    import json

    from envgen.lock.spec import plain

    now = {p.platform: plain(p) for p in spec.platforms}
    return json.dumps(recorded, sort_keys=True, default=str) == json.dumps(now, sort_keys=True, default=str)


def _staleness(matrix: Matrix, job: _Job, spec: LockSpec, out: Path) -> Staleness:
    """What changed since the lock was made: the request, the environment file, and (by replaying the recorded
    request and file with today's matrix) the matrix."""
    import dataclasses

    from envgen.errors import BadInput
    from envgen.lock.mirrors import credentials_as_mirrors
    from envgen.lock.recipe import relative_to
    from envgen.lock.staleness import explain

    recorded = job.recorded
    assert recorded is not None
    now = dataclasses.replace(job.request, from_=relative_to(Path(job.request.from_), out)
                              if job.request.from_ else None)
    label = job.request.from_ or (recorded.sources[0].path if recorded.sources else "")
    try:
        replayed = credentials_as_mirrors(_spec(matrix, recorded.request, recorded.env_content(), out))[0]
    except BadInput as exc:
        replayed = None
        common.note(f"the recorded request no longer resolves with this matrix: {exc.message}")
    return explain(recorded, now, label, job.env, replayed)



def _before(out: Path) -> Side | str:
    """The lock about to be replaced, for the change summary; or why there is none to compare with."""
    from envgen.errors import BadInput
    from envgen.lock.changes import read_side

    if not (out / "conda-lock.yml").is_file() and not any(out.glob("pylock.*.toml")):
        return "new lock"
    try:
        return read_side(out, "")
    except BadInput:
        return "the previous lock failed its check; not compared"


def _changes(locked: Locked, before: Side | str) -> list[Change] | None:
    from envgen.lock.changes import diff, side_of

    if isinstance(before, str):
        return None
    after = side_of(locked.conda, locked.pip)
    return diff(before, after, tuple(after))


def _present(locked: Locked, written: list[Path], json_out: bool, before: Side | str) -> None:
    from envgen.lock.changes import summary

    changes = _changes(locked, before)
    if json_out:
        common.print_json({
            "files": [str(p) for p in written],
            "changes": [c.to_json() for c in changes] if changes is not None else None,
            "compared": before if isinstance(before, str) else "the previous lock",
            "conda": {plat: [{"name": p.name, "version": p.version, "build": p.build, "url": p.url}
                             for p in pkgs] for plat, pkgs in locked.conda.items()},
            "pip": {plat: [{"name": w.name, "version": w.version, "url": w.url} for w in wheels]
                    for plat, wheels in locked.pip.items()},
            "satisfied_by_conda": {plat: {name: {"version": f.version, "conda": f.conda.name,
                                                 "conda_version": f.conda.version, "build": f.conda.build}
                                          for name, f in sorted(found.items())}
                                   for plat, found in locked.provided.items()}})
        return
    for plat, pkgs in locked.conda.items():
        torch = next((p for p in pkgs if p.name in ("pytorch", "pytorch-cpu", "pytorch-gpu")), None)
        what = f"{torch.name} {torch.version} {torch.build}" if torch else "no pytorch"
        typer.echo(f"{plat} conda: {len(pkgs)} packages ({what})")
    for plat, wheels in locked.pip.items():
        wheel = next((w for w in wheels if w.name == "torch"), None)
        typer.echo(f"{plat} pip: {len(wheels)} packages ({'torch ' + wheel.version if wheel else 'no torch'})")
    if changes is None:
        typer.echo(f"changes: none to show ({before})")
    else:
        typer.echo(f"changes since the previous lock: {summary(changes)}")
        for change in changes:
            typer.echo(f"  {change.describe()}")
    for path in written:
        common.note(f"wrote {path}")
