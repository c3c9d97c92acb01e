"""`envgen lock`, `envgen install`, `envgen verify`: solved, hashed lockfiles and environments made from them."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from envgen.cli import _common as common

if TYPE_CHECKING:
    from envgen.compile.envfile import EnvFile
    from envgen.compile.stack import Stack
    from envgen.lock.changes import Change, Side
    from envgen.lock.engine import Locked
    from envgen.lock.fetch import Fetcher
    from envgen.lock.spec import LockSpec
    from envgen.matrix import Matrix

MIRROR_OPTION = typer.Option(None, "--mirror", metavar="FROM=TO",
                             help="Download FROM (a channel or index URL prefix) from TO; repeatable. "
                                  "Also ENVGEN_MIRRORS and mirrors.toml.")
OFFLINE_OPTION = typer.Option(False, "--offline", help="Use cached repodata and index pages only.")


def register(app: typer.Typer) -> None:
    app.command("lock", help="Solve and write lockfiles (conda-lock.yml, explicit, pixi.lock, pylock, "
                             "requirements with hashes) for every platform asked.")(lock)
    app.command("install", help="Create an environment from a lock, checking every package's hash.")(install)
    app.command("verify", help="Compare an installed environment with a lock; exit 1 on drift.")(verify)
    app.command("diff", help="What changed between two locks, per platform and package; exit 1 when anything did.")(
        diff)


def lock(
    packages: list[str] | None = typer.Argument(None, help="extra packages to solve together, e.g. 'numpy<2'"),
    torch: str | None = common.TORCH_OPTION,
    cuda: str | None = common.CUDA_OPTION,
    rocm: str | None = common.ROCM_OPTION,
    cpu: bool = common.CPU_OPTION,
    platform: list[str] | None = common.PLATFORMS_OPTION,
    installer: str | None = common.INSTALLER_OPTION,
    channel: str | None = common.CHANNEL_OPTION,
    python: str | None = common.PYTHON_OPTION,
    with_: str | None = common.WITH_OPTION,
    from_: Path | None = typer.Option(None, "--from", help="a conda environment.yml (its pip: section too)"),
    out: Path = typer.Option(Path("locks"), "-o", "--output", help="folder for the lockfiles"),
    check: bool = typer.Option(False, "--check", help="exit 1 if the lock in -o no longer matches its inputs"),
    update: list[str] | None = typer.Option(None, "--update", help="re-solve PKG, keeping the rest locked"),
    mirror: list[str] | None = MIRROR_OPTION,
    offline: bool = OFFLINE_OPTION,
    priority: str = typer.Option("strict", "--channel-priority", help="strict, flexible or disabled"),
    virtual: list[str] | None = typer.Option(None, "--virtual", metavar="NAME=VER[=BUILD]",
                                                help="override a virtual package (__glibc=2.28, __cuda=none)"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds each solve may take"),
    json_out: bool = common.JSON_OPTION,
    matrix_dir: str | None = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.errors import BadInput
    from envgen.lock import engine as lockfile
    from envgen.lock.inputs import LockOptions, from_stacks, load_env
    from envgen.lock.mirrors import credentials_as_mirrors, load_mirrors
    from envgen.lock.spec import check_priority, parse_virtual
    from envgen.models import check_platform

    _check_timeout(timeout)
    options = LockOptions(check_priority(priority), tuple(parse_virtual(virtual or []).items()),
                          _regenerate(locals()))
    mirrors = load_mirrors(tuple(mirror or ()))  # bad input fails before the matrix is loaded
    env = load_env(from_) if from_ else None
    plats = [check_platform(p) for p in (platform or (env["platforms"] if env else []) or [])]
    matrix = common.load(matrix_dir)
    stacks = _stacks(matrix, env, torch, cuda, rocm, cpu, python, plats, installer, channel, with_)
    spec = _with_extras(from_stacks(matrix, stacks, options, env, plats or None), packages or [])
    spec, authenticated = credentials_as_mirrors(spec)  # files and hashes see canonical URLs only
    if check:
        return _check(spec, out, json_out)
    previous = lockfile.read_previous(out) if update else None
    if update:
        if previous is None:
            raise BadInput(f"--update needs an existing lock in {out}",
                           hint="run `envgen lock` without --update first")
        known = ({c.name.lower() for pkgs in previous.conda.values() for c in pkgs}
                 | {w.name.lower() for wheels in previous.pip.values() for w in wheels})
        unknown = [u for u in update if u.lower() not in known]
        if unknown:
            raise BadInput(f"--update {', '.join(unknown)}: not in the lock in {out}",
                           hint="name a locked package, or add it as an extra package instead")
    from envgen.lock.fetch import Fetcher

    fetcher = Fetcher(mirrors.adding(authenticated), offline, report=common.note)
    locked = lockfile.solve_all(spec, fetcher, previous, tuple(update or ()), timeout, report=common.note)
    files = lockfile.render_all(locked)
    before = _before(out)
    written = lockfile.write_all(files, out)
    _present(locked, written, json_out, before)


def _stacks(matrix: Matrix, env: EnvFile | None, torch: str | None, cuda: str | None, rocm: str | None, cpu: bool,
            python: str | None, plats: list[str], installer: str | None, channel: str | None,
            with_: str | None) -> list[Stack]:
    from envgen.compile.resolve import resolve
    from envgen.compile.selection import build_requests

    if env is not None and not any([torch, cuda, rocm, cpu, channel, with_]):
        return []
    inst = installer or ("conda" if env is not None else None)
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, python=python,
                              platforms=plats or None, installer=inst, channel=channel, with_=with_,
                              detect=common.auto_detect())
    return [s for r in requests for s in resolve(matrix, r)]


def _with_extras(spec: LockSpec, extras: list[str]) -> LockSpec:
    import dataclasses

    if not extras:
        return spec
    plats = []
    for p in spec.platforms:
        conda = dataclasses.replace(p.conda, specs=p.conda.specs + tuple(extras)) if p.conda else None
        pip = p.pip
        if pip is not None and not p.pip_in_conda:
            pip = dataclasses.replace(pip, requirements=pip.requirements + tuple(extras))
        plats.append(dataclasses.replace(p, conda=conda, pip=pip))
    return dataclasses.replace(spec, platforms=tuple(plats))


def _regenerate(args: dict[str, Any]) -> str:
    words = ["envgen", "lock"]
    for flag, key in (("--torch", "torch"), ("--cuda", "cuda"), ("--rocm", "rocm"), ("--installer", "installer"),
                      ("--channel", "channel"), ("--python", "python"), ("--with", "with_"), ("--from", "from_")):
        if args.get(key) is not None:
            words += [flag, str(args[key])]
    if args.get("cpu"):
        words.append("--cpu")
    for plat in args.get("platform") or []:
        words += ["--platform", plat]
    if args.get("priority") != "strict":
        words += ["--channel-priority", args["priority"]]
    for v in args.get("virtual") or []:
        words += ["--virtual", v]
    words += ["-o", str(args["out"])]
    words += list(args.get("packages") or [])
    return shlex.join(words)


def _check_timeout(seconds: float) -> None:
    import math

    from envgen.errors import BadInput

    if not math.isfinite(seconds) or seconds <= 0:
        raise BadInput(f"--timeout {seconds}: a solve needs a positive number of seconds",
                       hint="e.g. --timeout 300")


def _fetcher(mirror: list[str] | None, offline: bool) -> Fetcher:
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors

    return Fetcher(load_mirrors(tuple(mirror or ())), offline, report=common.note)


def _check(spec: LockSpec, out: Path, json_out: bool) -> None:
    from envgen.lock import engine as lockfile

    problems = lockfile.check(spec, out)
    if json_out:
        common.print_json({"up_to_date": not problems, "problems": problems})
    elif problems:
        common.note(f"the lock in {out} is out of date:")
        for p in problems:
            common.note(f"  {p}")
    else:
        typer.echo(f"the lock in {out} matches its inputs")
    if problems:
        raise typer.Exit(1)


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
                    for plat, wheels in locked.pip.items()}})
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


def install(
    lockpath: Path = typer.Argument(..., metavar="LOCK", help="a lock folder, conda-lock.yml, explicit file or pylock"),
    prefix: Path | None = typer.Option(None, "--prefix", "-p", help="the environment folder to create"),
    name: str | None = typer.Option(None, "--name", "-n", help="create it under the conda envs folder"),
    platform: str | None = typer.Option(None, "--platform", help="which locked platform (default: this one)"),
    force: bool = typer.Option(False, "--force", help="install into an existing prefix, making it match the lock"),
    mirror: list[str] | None = MIRROR_OPTION,
    offline: bool = OFFLINE_OPTION,
    json_out: bool = common.JSON_OPTION,
) -> None:
    from envgen.lock.install import install as run_install
    from envgen.lock.read import load_lock
    from envgen.models import check_platform, host_platform

    target = _prefix(prefix, name)
    env = load_lock(lockpath, check_platform(platform) if platform else host_platform())
    done = run_install(env, target, _fetcher(mirror, offline), force)
    if json_out:
        common.print_json({"prefix": str(done.prefix), "conda": done.conda, "pip": done.pip})
    else:
        typer.echo(f"installed {done.conda} conda and {done.pip} pip packages into {done.prefix}")


def _prefix(prefix: Path | None, name: str | None) -> Path:
    import os

    from envgen.errors import BadInput

    if (prefix is None) == (name is None):
        raise BadInput("give exactly one of --prefix and --name", hint="e.g. --prefix ./env or --name torch18")
    if prefix is not None:
        return prefix
    from envgen.compile.manifests import check_env_name

    envs = os.environ.get("CONDA_ENVS_PATH", "").split(os.pathsep)[0] or str(Path.home() / ".conda" / "envs")
    return Path(envs) / check_env_name(str(name))


def diff(
    old: Path = typer.Argument(..., metavar="OLD", help="a lock folder or lockfile, or an installed conda env"),
    new: Path = typer.Argument(..., metavar="NEW", help="a lock folder or lockfile, or an installed conda env"),
    platform: list[str] | None = typer.Option(None, "--platform",
                                              help="only this platform, repeatable (an installed env is taken as the "
                                                   "first, else this machine's)"),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Added, removed, upgraded, downgraded and rebuilt packages from OLD to NEW; exit 0 when nothing changed."""
    from envgen.lock.changes import diff as changes_between
    from envgen.lock.changes import read_side, summary
    from envgen.models import check_platform, host_platform

    plats = tuple(check_platform(p) for p in platform or [])
    here = plats[0] if plats else host_platform()
    changes = changes_between(read_side(old, here), read_side(new, here), plats)
    if json_out:
        common.print_json({"old": str(old), "new": str(new), "changes": [c.to_json() for c in changes]})
    else:
        for change in changes:
            typer.echo(change.describe())
        typer.echo(summary(changes))
    if changes:
        raise typer.Exit(1)


def verify(
    lockpath: Path = typer.Argument(..., metavar="LOCK", help="a lock folder, conda-lock.yml, explicit file or pylock"),
    prefix: Path = typer.Option(..., "--prefix", "-p", help="the installed environment"),
    platform: str | None = typer.Option(None, "--platform", help="which locked platform (default: this one)"),
    json_out: bool = common.JSON_OPTION,
) -> None:
    from envgen.lock.read import load_lock
    from envgen.lock.verify import verify as run_verify
    from envgen.models import check_platform, host_platform

    env = load_lock(lockpath, check_platform(platform) if platform else host_platform())
    drift = run_verify(env, prefix)
    if json_out:
        import dataclasses

        common.print_json({"prefix": str(prefix), "drift": [dataclasses.asdict(d) for d in drift]})
    elif drift:
        for d in drift:
            typer.echo(d.describe())
    else:
        typer.echo(f"{prefix} matches {lockpath} ({len(env.conda)} conda, {len(env.pip)} pip packages)")
    if drift:
        raise typer.Exit(1)
