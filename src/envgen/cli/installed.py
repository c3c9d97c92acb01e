"""`envgen install`, `envgen verify`, `envgen diff`: environments made from locks, checked against them, and what
changed between two locks (or a lock and an installed environment)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from envgen.cli import _common as common
from envgen.cli import _options as options

if TYPE_CHECKING:
    from envgen.lock.fetch import Fetcher


def register(app: typer.Typer) -> None:
    app.command("install", help="Create an environment from a lock (a conda prefix or a venv), checking every "
                                "package's hash.")(install)
    app.command("verify", help="Compare an installed environment (conda prefix or venv) with a lock; exit 1 on "
                               "drift.")(verify)
    app.command("diff", help="What changed between two locks, per platform and package; exit 1 when anything did.")(
        diff)


def _fetcher(mirror: list[str] | None, offline: bool) -> Fetcher:
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors

    return Fetcher(load_mirrors(tuple(mirror or ())), offline, report=common.note)


def install(
    lockpath: Path = typer.Argument(..., metavar="LOCK", help="a lock folder, conda-lock.yml, explicit file, pylock "
                                                              "or requirements-<platform>.txt (for --venv)"),
    prefix: Path | None = typer.Option(None, "--prefix", "-p", help="the environment folder to create"),
    name: str | None = typer.Option(None, "--name", "-n", help="create it under the conda envs folder"),
    venv: Path | None = typer.Option(None, "--venv", help="a venv to create (or update, with --force) from the "
                                                          "lock's pip part"),
    python: str | None = typer.Option(None, "--python", help="the interpreter for a new --venv (default: one of "
                                                             "the Python the lock was made for)"),
    platform: str | None = typer.Option(None, "--platform", help="which locked platform (default: this one)"),
    force: bool = typer.Option(False, "--force", help="install into an existing prefix, making it match the lock"),
    mirror: list[str] | None = options.MIRROR_OPTION,
    offline: bool = options.OFFLINE_OPTION,
    json_out: bool = options.JSON_OPTION,
) -> None:
    from envgen.lock.install import install as run_install
    from envgen.lock.read import load_lock
    from envgen.models import check_platform, host_platform

    target = _prefix(prefix, name, venv, python)
    plat = check_platform(platform) if platform else host_platform()
    if venv is not None:
        return _install_venv(lockpath, plat, venv, python, force, _fetcher(mirror, offline), json_out)
    env = load_lock(lockpath, plat)
    done = run_install(env, target, _fetcher(mirror, offline), force)
    if json_out:
        common.print_json({"prefix": str(done.prefix), "conda": done.conda, "pip": done.pip})
    else:
        typer.echo(f"installed {done.conda} conda and {done.pip} pip packages into {done.prefix}")


def _install_venv(lockpath: Path, platform: str, venv: Path, python: str | None, force: bool, fetcher: Fetcher,
                  json_out: bool) -> None:
    from envgen.lock.venv import install_venv, read_lock

    done = install_venv(read_lock(lockpath, platform), venv, fetcher, force, python)
    if json_out:
        common.print_json({"prefix": str(done.prefix), "conda": 0, "pip": done.pip, "venv": True,
                           "python": done.python})
    else:
        typer.echo(f"installed {done.pip} pip packages into {done.prefix} (venv, Python {done.python})")


def _prefix(prefix: Path | None, name: str | None, venv: Path | None = None, python: str | None = None) -> Path:
    import os

    from envgen.errors import BadInput

    if [prefix, name, venv].count(None) != 2:
        raise BadInput("give exactly one of --prefix, --name and --venv",
                       hint="e.g. --prefix ./env or --name torch18 (conda), or --venv ./.venv")
    if python is not None and venv is None:
        raise BadInput("--python chooses the interpreter of a new --venv",
                       hint="a conda environment gets the Python its lock holds; drop --python")
    if venv is not None:
        return venv
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
    json_out: bool = options.JSON_OPTION,
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
    lockpath: Path = typer.Argument(..., metavar="LOCK", help="a lock folder, conda-lock.yml, explicit file, pylock "
                                                              "or requirements-<platform>.txt (for a venv)"),
    prefix: Path = typer.Option(..., "--prefix", "-p", "--venv", help="the installed environment (conda or venv)"),
    platform: str | None = typer.Option(None, "--platform", help="which locked platform (default: this one)"),
    json_out: bool = options.JSON_OPTION,
) -> None:
    from envgen.lock.read import kind_of, load_lock
    from envgen.lock.venv import is_venv, read_lock
    from envgen.lock.verify import verify as run_verify
    from envgen.models import check_platform, host_platform

    plat = check_platform(platform) if platform else host_platform()
    venv = not (prefix / "conda-meta").is_dir() and is_venv(prefix)
    pip_only = venv or (lockpath.is_file() and kind_of(lockpath.name) == "requirements")
    env = read_lock(lockpath, plat).env if pip_only else load_lock(lockpath, plat)
    drift = run_verify(env, prefix)
    if json_out:
        import dataclasses

        common.print_json({"prefix": str(prefix), "drift": [dataclasses.asdict(d) for d in drift]})
    elif drift:
        for d in drift:
            typer.echo(d.describe())
    else:
        what = f"venv, {len(env.pip)} pip" if venv else f"{len(env.conda)} conda, {len(env.pip)} pip"
        typer.echo(f"{prefix} matches {lockpath} ({what} packages)")
    if drift:
        raise typer.Exit(1)
