"""`envgen lock`: solved, hashed lockfiles, their recorded inputs, and `--check`/`--update` from those alone.

typer is imported only by `register`: the light path (`cli._light`) calls `lock` without building the app.
Several `--torch` values lock several folders at once (a CI matrix of torch versions x platforms): every conda cell
is solved together through one gateway (`engine.solve_many`), and each folder is what locking it alone writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envgen.cli import _common as common

if TYPE_CHECKING:
    import typer

    from envgen.compile.envfile import EnvFile
    from envgen.lock.changes import Change, Side
    from envgen.lock.engine import Locked, Previous
    from envgen.lock.recipe import Recipe
    from envgen.lock.request import LockRequest
    from envgen.lock.spec import LockSpec
    from envgen.lock.staleness import Staleness
    from envgen.matrix import Matrix

TORCH_SLOT = "{torch}"  # in -o, the torch version of each folder when several are locked


def register(app: typer.Typer) -> None:
    import typer

    from envgen.cli import _options as options

    def lock_cli(
        packages: list[str] | None = typer.Argument(None, help="extra packages to solve together, e.g. 'numpy<2'"),
        torch: list[str] | None = typer.Option(None, "--torch", help="torch version, e.g. 1.8.1 (default: newest); "
                                               "repeat to lock several at once, each into its own folder (-o with "
                                               "{torch} in it, else DIR/torch-VERSION)"),
        cuda: str | None = options.CUDA_OPTION,
        rocm: str | None = options.ROCM_OPTION,
        cpu: bool = options.CPU_OPTION,
        platform: list[str] | None = options.PLATFORMS_OPTION,
        installer: str | None = options.INSTALLER_OPTION,
        channel: str | None = options.CHANNEL_OPTION,
        python: str | None = options.PYTHON_OPTION,
        with_: str | None = options.WITH_OPTION,
        from_: Path | None = typer.Option(None, "--from", help="environment.yml (its pip: section too), "
                                                              "requirements*.txt, pyproject.toml or pixi.toml"),
        group: list[str] | None = typer.Option(None, "--group", help="with --from: a pyproject extra or "
                                                                     "dependency group, a pixi environment or "
                                                                     "feature; repeatable"),
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
                                                 help="nothing newer than DATE (2021-06-30, an RFC 3339 time, "
                                                      "`release` = the torch release date, `release+90d`), conda "
                                                      "and pip"),
        json_out: bool = options.JSON_OPTION,
        matrix_dir: str | None = options.MATRIX_DIR_OPTION,
    ) -> None:
        """Without flags that say what to lock, the inputs recorded in the lock folder (lock-inputs.yml) are used."""
        code = lock(packages=packages, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, platform=platform,
                    installer=installer, channel=channel, python=python, with_=with_, from_=from_, group=group,
                    out=out, check=check, update=update, mirror=mirror, offline=offline, priority=priority,
                    virtual=virtual, timeout=timeout, exclude_newer=exclude_newer, json_out=json_out,
                    matrix_dir=matrix_dir)
        if code:
            raise typer.Exit(code)

    app.command("lock", help="Solve and write lockfiles (conda-lock.yml, explicit, pixi.lock, pylock, "
                             "requirements with hashes) for every platform asked.")(lock_cli)


def lock(packages: list[str] | None = None, torch: list[str] | None = None, cuda: str | None = None,
         rocm: str | None = None, cpu: bool = False, platform: list[str] | None = None, installer: str | None = None,
         channel: str | None = None, python: str | None = None, with_: str | None = None, from_: Path | None = None,
         group: list[str] | None = None, out: Path = Path("locks"), check: bool = False,
         update: list[str] | None = None, mirror: list[str] | None = None, offline: bool = False,
         priority: str = "strict", virtual: list[str] | None = None, timeout: float = 120.0,
         exclude_newer: str | None = None, json_out: bool = False, matrix_dir: str | None = None) -> int:
    """The exit code: 0, or 1 when `--check` finds a lock out of date."""
    import dataclasses

    from envgen.compile.condarc import load_condarc, mirror_pairs
    from envgen.errors import EnvgenError
    from envgen.lock.mirrors import credentials_as_mirrors, load_mirrors
    from envgen.lock.request import LockRequest
    from envgen.lock.spec import check_priority, parse_virtual

    _check_timeout(timeout)
    check_priority(priority)
    parse_virtual(virtual or [])
    torches = list(dict.fromkeys(torch or ()))  # in order, each once
    request = LockRequest(torches[0] if torches else None, cuda, rocm, cpu, tuple(platform or ()), installer, channel,
                          python, with_, str(from_) if from_ is not None else None, tuple(packages or ()), priority,
                          tuple(virtual or ()), exclude_newer, tuple(group or ()))
    folders = _folders(out, torches, bool(update))
    mirrors = load_mirrors(tuple(mirror or ()))  # bad input fails before the matrix is loaded
    condarc = load_condarc()  # conda's own files: mirrors, default channels, proxies (flags and ENVGEN_* win)
    jobs = [_job(dataclasses.replace(request, torch=t) if t else request, folder, check or bool(update))
            for t, folder in folders]
    matrix = common.load(matrix_dir)
    authenticated: list[tuple[str, str]] = []
    specs = []
    for job, (_, folder) in zip(jobs, folders, strict=True):
        spec, found = credentials_as_mirrors(_spec(matrix, job.request, job.env, folder, condarc.channels))
        specs.append(spec)  # files and hashes see canonical URLs only
        authenticated += found
    if check:
        docs = [_check(matrix, job, spec, folder, json_out) for job, spec, (_, folder)
                in zip(jobs, specs, folders, strict=True)]
        if json_out:
            common.print_json(docs[0] if len(docs) == 1 else
                              {"locks": [dict(d, folder=str(f)) for d, (_, f) in zip(docs, folders, strict=True)]})
        return 0 if all(d["up_to_date"] for d in docs) else 1
    for spec, (_, folder) in zip(specs, folders, strict=True):
        for line in spec.notes:
            common.note(f"note: {line}" if len(jobs) == 1 else f"note: {folder}: {line}")
    previous = _previous(out, specs[0], update)
    from envgen.lock import engine as lockfile
    from envgen.lock.fetch import Fetcher
    from envgen.lock.recipe import record, render

    fetcher = Fetcher(mirrors.adding(tuple(dict.fromkeys(authenticated))).adding(mirror_pairs(condarc)), offline,
                      report=common.note, proxies=tuple(condarc.proxies.items()), verify=condarc.ssl_verify)
    try:
        solved = lockfile.solve_many(specs, fetcher, previous, tuple(update or ()), timeout, report=common.note)
    except EnvgenError as exc:  # of several locks, say which failed (nothing is written)
        which = exc.context.pop("lock", None)
        if len(folders) > 1 and isinstance(which, int):
            exc.message = f"while locking {folders[which][1]} (--torch {folders[which][0]}): {exc.message}"
            exc.args = (exc.message,)
        raise
    shown = []
    for job, spec, locked, (_, folder) in zip(jobs, specs, solved, folders, strict=True):
        env_path = Path(job.request.from_) if job.request.from_ else None
        files = lockfile.render_all(locked, render(record(job.request, env_path, job.env, folder, spec)))
        before = _before(folder, files, locked)
        shown.append((locked, lockfile.write_all(files, folder), before, folder))
    _present(shown, json_out)
    return 0


def _folders(out: Path, torches: list[str], update: bool) -> list[tuple[str | None, Path]]:
    """(torch version, folder) of each lock this run writes: -o itself for one, else one folder per version."""
    from envgen.errors import BadInput

    if len(torches) <= 1:
        one = torches[0] if torches else None
        if one is None and TORCH_SLOT in str(out):
            raise BadInput(f"-o {out}: {TORCH_SLOT} stands for each --torch version, and none was given",
                           hint="add --torch VERSION (repeatable), or name the folder itself")
        return [(one, Path(str(out).replace(TORCH_SLOT, one)) if one else out)]
    if update:
        raise BadInput(f"--update works on one lock folder at a time; {len(torches)} --torch values were given",
                       hint="run `envgen lock -o FOLDER --update PKG` for each folder")
    for version in torches:
        if not version or "/" in version or "\\" in version or version in (".", ".."):
            raise BadInput(f"--torch {version!r} cannot name a folder", hint="give versions such as 2.5.1")
    if TORCH_SLOT in str(out):
        return [(t, Path(str(out).replace(TORCH_SLOT, t))) for t in torches]
    return [(t, out / f"torch-{t}") for t in torches]


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


def _check(matrix: Matrix, job: _Job, spec: LockSpec, out: Path, json_out: bool) -> dict[str, Any]:
    """Whether the lock in `out` matches its inputs and passes its own checks, as the JSON document; unless
    `json_out`, said in words too: what changed, and the commands that bring it up to date."""
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
    doc = {"up_to_date": not problems and stale is None, "problems": problems,
           "changes": list(stale.changes) if stale else [], "commands": fix,
           "inputs": "recorded" if job.replaying else "flags"}
    if json_out:
        pass
    elif stale is None and not problems:
        common.echo(f"the lock in {out} matches its {'recorded ' if job.replaying else ''}inputs")
    else:
        common.note(f"the lock in {out} is out of date:" if stale else f"the lock in {out} fails its check:")
        for line in (stale.changes if stale else ()) + tuple(problems):
            common.note(f"  {line}")
        common.note("to bring it up to date, run:" if len(fix) == 1 else "to bring it up to date, run one of:")
        for line in fix:
            common.note(f"  {line}")
    return doc


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



def _before(out: Path, files: dict[str, str], locked: Locked) -> Side | str:
    """The lock about to be replaced, for the change summary; or why there is none to compare with. When every
    lockfile in `out` is, byte for byte, one of the `files` about to be written and none of those is missing, the
    lock is the one just solved (a re-lock with nothing new: the common case in CI), and it is not read again."""
    from envgen.errors import BadInput
    from envgen.lock.changes import read_side, side_of

    if not (out / "conda-lock.yml").is_file() and not any(out.glob("pylock.*.toml")):
        return "new lock"
    if _same_files(out, files):
        return side_of(locked.conda, locked.pip)
    try:
        return read_side(out, "")
    except BadInput:
        return "the previous lock failed its check; not compared"


def _same_files(out: Path, files: dict[str, str]) -> bool:
    from envgen.lock.read import kind_of

    try:
        present = {p.name for p in out.iterdir() if kind_of(p.name) is not None}
        return present == set(files) and all((out / name).read_bytes() == text.encode("utf-8")
                                             for name, text in files.items())
    except OSError:  # unreadable: read_side says why
        return False


def _changes(locked: Locked, before: Side | str) -> list[Change] | None:
    from envgen.lock.changes import diff, side_of

    if isinstance(before, str):
        return None
    after = side_of(locked.conda, locked.pip)
    return diff(before, after, tuple(after))


def _present(shown: list[tuple[Locked, list[Path], Side | str, Path]], json_out: bool) -> None:
    """What was written: one lock as before; several, each under its folder (JSON: `{"locks": [...]}`)."""
    if json_out:
        docs = [dict(_document(locked, written, before), folder=str(folder)) if len(shown) > 1
                else _document(locked, written, before) for locked, written, before, folder in shown]
        common.print_json(docs[0] if len(docs) == 1 else {"locks": docs})
        return
    for locked, written, before, folder in shown:
        if len(shown) > 1:
            common.echo(f"{folder}:")
        _describe(locked, before, "  " if len(shown) > 1 else "")
        for path in written:
            common.note(f"wrote {path}")


def _document(locked: Locked, written: list[Path], before: Side | str) -> dict[str, Any]:
    changes = _changes(locked, before)
    return {
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
                               for plat, found in locked.provided.items()}}


def _describe(locked: Locked, before: Side | str, indent: str) -> None:
    from envgen.lock.changes import summary

    for plat, pkgs in locked.conda.items():
        torch = next((p for p in pkgs if p.name in ("pytorch", "pytorch-cpu", "pytorch-gpu")), None)
        what = f"{torch.name} {torch.version} {torch.build}" if torch else "no pytorch"
        common.echo(f"{indent}{plat} conda: {len(pkgs)} packages ({what})")
    for plat, wheels in locked.pip.items():
        wheel = next((w for w in wheels if w.name == "torch"), None)
        common.echo(f"{indent}{plat} pip: {len(wheels)} packages ({'torch ' + wheel.version if wheel else 'no torch'})")
    changes = _changes(locked, before)
    if changes is None:
        common.echo(f"{indent}changes: none to show ({before})")
    else:
        common.echo(f"{indent}changes since the previous lock: {summary(changes)}")
        for change in changes:
            common.echo(f"{indent}  {change.describe()}")
