"""`envgen migrate`: the ordered steps from the environment people have to the one they want, as a script."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from envgen.cli import _common as common
from envgen.cli import _options as options

if TYPE_CHECKING:
    from envgen.matrix import Matrix
    from envgen.matrix.migrate import MigrateData
    from envgen.migrate.beside import Beside
    from envgen.migrate.driver import DriverCheck
    from envgen.migrate.packages import Snapshot
    from envgen.migrate.plan import EnvRef, Plan, Target


def register(app: typer.Typer) -> None:
    app.command("migrate", help="Write the steps (backup, remove, reset, install, verify) that move an existing "
                                "environment to a target, as a bash, PowerShell or cmd script. Never runs them. "
                                "Exit 0: already on target; 1: steps pending.")(migrate)


def migrate(
    from_: list[Path] | None = typer.Option(None, "--from", help="a listing of the current env: conda list "
                                               "[--json|--explicit], conda env export, pip freeze, pip list "
                                               "--format=json; repeat to mix conda and pip", metavar="FILE"),
    current: bool = typer.Option(False, "--current", help="inspect the running interpreter's environment"),
    fmt: str | None = typer.Option(None, "--format", help="force the input format: conda-list, conda-json, "
                                      "conda-explicit, conda-env, pip-freeze, pip-json"),
    torch: str | None = typer.Option(None, "--torch", help="target torch version (default: newest that fits)"),
    cuda: str | None = typer.Option(None, "--cuda", help="target CUDA version: 11.8 or cu118"),
    rocm: str | None = typer.Option(None, "--rocm", help="target ROCm version"),
    cpu: bool = typer.Option(False, "--cpu", help="target the CPU build"),
    python: str | None = typer.Option(None, "--python", help="target Python (default: the env's own)"),
    platform: str | None = typer.Option(None, "--platform", help="conda subdir (default: from the input)"),
    installer: str | None = typer.Option(None, "--installer", help="conda or pip (default: the env's)"),
    channel: str | None = typer.Option(None, "--channel", help="pytorch, conda-forge, pytorch-index, pypi"),
    to: Path | None = typer.Option(None, "--to", help="target from environment.yml or a lockfile "
                                      "(conda-lock.yml, explicit, requirements with hashes, pylock.toml)"),
    shell_name: str | None = typer.Option(None, "--shell", help="bash, powershell or cmd (default: from the "
                                             "input's platform)"),
    name: str | None = typer.Option(None, "--name", "-n", help="conda env to activate and change"),
    prefix: str | None = typer.Option(None, "--prefix", "-p", help="conda env prefix to activate and change"),
    out: str | None = typer.Option(None, "-o", "--output", help="write the script to FILE ('-': stdout)"),
    new_env: str | None = typer.Option(None, "--new-env", metavar="NAME",
                                          help="build the (conda) target in a new conda env NAME; the old env "
                                               "stays untouched"),
    new_venv: str | None = typer.Option(None, "--new-venv", metavar="DIR",
                                           help="build the (pip) target in a new venv DIR; the old env stays "
                                                "untouched"),
    force: bool = typer.Option(False, "--force", help="write the script even when the target does not run on "
                                                      "this machine's driver or GPU"),
    json_out: bool = options.JSON_OPTION,
    matrix_dir: str | None = options.MATRIX_DIR_OPTION,
) -> None:
    """The machine's driver is probed, or given by ENVGEN_DRIVER / ENVGEN_GPU / ENVGEN_CUDA."""
    from envgen import shell
    from envgen.errors import BadInput
    from envgen.matrix.migrate import load_migrate_data
    from envgen.migrate import scripts

    data = load_migrate_data(matrix_dir)
    snap = _snapshot(from_ or [], current, fmt, data)
    plat = _platform(platform, snap)
    if to is not None and any(x for x in (torch, cuda, rocm, cpu, installer, channel, python)):
        raise BadInput("--to gives the whole target; it cannot be combined with --torch/--cuda/--cpu/--installer/"
                       "--channel/--python", hint="drop either --to or the selection flags")
    target = _target(to, data, plat, snap, matrix_dir, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, python=python,
                     installer=installer, channel=channel)
    env = _env(name, prefix, snap)
    sh = shell.check_shell(shell_name) if shell_name else shell.default_shell(plat)
    result = _plan(snap, target, data, env, _beside(new_env, new_venv), python)
    matrix = common.load(matrix_dir)
    check = _driver(matrix, target, result.pending, force)
    if (note := _floor(matrix, target)) is not None:
        result = dataclasses.replace(result, notes=(note,))
    regen = _regenerate(from_ or [], current, fmt, to, torch, cuda, rocm, cpu, python, plat, installer, channel,
                        sh, name, prefix, out) + _regenerate_more(new_env, new_venv, force)
    text = scripts.render(result, sh, regenerate=regen, input_hash=snap.digest)  # refuses unsafe values
    text = _no_url_secrets(text)
    if check is not None and not json_out:
        common.note(f"driver: {check.message}")
        for reason in check.reasons:
            common.note(f"  - {reason}")
    _present(result, text, sh, out, json_out, snap, check)
    if result.pending:
        raise typer.Exit(1)


def _plan(snap: Snapshot, target: Target, data: MigrateData, env: EnvRef, beside: Beside | None,
          python: str | None) -> Plan:
    """The steps: in place, or (--new-env / --new-venv) beside the old environment, which stays untouched."""
    from envgen.migrate import plan as planner

    if beside is None:
        return planner.plan(snap, target, data, env)
    from envgen.migrate.beside import plan_beside
    from envgen.migrate.targets import snapshot_python

    return plan_beside(snap, target, data, beside, python or target.python or snapshot_python(snap))


def _beside(new_env: str | None, new_venv: str | None) -> Beside | None:
    from envgen.errors import BadInput
    from envgen.migrate.beside import Beside

    if new_env and new_venv:
        raise BadInput("give --new-env or --new-venv, not both",
                       hint="--new-env NAME for conda, --new-venv DIR for pip")
    if new_env is not None:
        if not _ENV_NAME.match(new_env):
            raise BadInput(f"invalid conda env name {new_env!r}", hint="env names use letters, digits, _ . -")
        return Beside("conda", new_env)
    if new_venv is not None:
        if not new_venv.strip():
            raise BadInput("--new-venv needs a folder", hint="e.g. --new-venv .venv-cu124")
        return Beside("venv", new_venv)
    return None


def _floor(matrix: Matrix, target: Target) -> str | None:
    from envgen.migrate.driver import floor_note

    return floor_note(matrix, target)


def _driver(matrix: Matrix, target: Target, pending: bool, force: bool) -> DriverCheck | None:
    """The target against this machine's driver and GPUs (probed; ENVGEN_DRIVER / ENVGEN_GPU / ENVGEN_CUDA give
    another machine's); refuses a target that does not run here unless `force`."""
    if not pending or target.accel is None or target.accel.kind != "cuda":
        return None
    from envgen.doctor.detect import choose, machine, overrides_in_force
    from envgen.doctor.probe import probe
    from envgen.errors import Refusal
    from envgen.migrate.driver import check
    from envgen.models import os_of

    facts = probe(include_torch=False, matrix_dir=matrix.directory)
    if not overrides_in_force(facts) and facts.platform and facts.platform != target.platform:
        m, why = None, f"the script is for {target.platform} and this machine is {facts.platform}"
    else:
        m, why = machine(matrix, facts, os_of(target.platform))
    result = check(matrix, target, m, why)
    if result.status != "refused" or force:
        return result
    ways = []
    choice = choose(matrix, facts, torch=target.torch, platform=target.platform, installer=target.installer)
    if choice.runs in ("full", "minor") and choice.accel != target.accel:
        ways.append(f"--cuda {choice.accel.dotted}: torch {choice.torch} {choice.accel.tag} runs here")
    ways += [w for w in choice.alternatives if w.startswith("update the NVIDIA driver")]
    if not any(w.startswith("update the NVIDIA driver") for w in ways):
        from envgen.matrix.compat import floors

        full = floors(matrix, target.accel.version, os_of(target.platform))[0] if target.accel.version else None
        ways.append(f"update the NVIDIA driver to >= {full}" if full else "update the NVIDIA driver")
    ways.append("--force to write the script anyway (for another machine, set ENVGEN_DRIVER and ENVGEN_GPU)")
    raise Refusal(f"{target.description} does not run on this machine: " + "; ".join(result.reasons),
                  alternatives=tuple(ways))


def _regenerate_more(new_env: str | None, new_venv: str | None, force: bool) -> str:
    words = [w for flag, v in (("--new-env", new_env), ("--new-venv", new_venv)) if v for w in (flag, v)]
    words += ["--force"] if force else []
    return (" " + shlex.join(words)) if words else ""


def _snapshot(froms: list[Path], current: bool, fmt: str | None, data: MigrateData) -> Snapshot:
    from envgen.errors import BadInput
    from envgen.migrate import snapshot

    if current and froms:
        raise BadInput("give --from FILE or --current, not both", hint="--current reads the running interpreter's env")
    if current:
        from envgen.migrate.listings import current as read_current

        return read_current(data)
    if not froms:
        raise BadInput("no current environment given",
                       hint="pass --from FILE (output of `conda list`, `pip freeze`, ...; repeatable) or --current")
    return snapshot.read(froms, data, fmt)


def _platform(given: str | None, snap: Snapshot) -> str:
    from envgen.models import check_platform, host_platform

    return check_platform(given) if given else (snap.platform or host_platform())


def _target(to: Path | None, data: MigrateData, plat: str, snap: Snapshot, matrix_dir: str | None, *,
            torch: str | None, cuda: str | None, rocm: str | None, cpu: bool, python: str | None,
            installer: str | None, channel: str | None) -> Target:
    from envgen.compile.resolve import resolve_one
    from envgen.compile.selection import build_requests
    from envgen.compile.stack import ROLES
    from envgen.migrate import targets

    if to is not None:
        return targets.from_file(to, data, plat)
    matrix = common.load(matrix_dir)
    roles = [r for r in ROLES[1:] if any(data.role_of(p.name, p.installer) == r for p in snap.packages)]
    if installer is None and channel is None:
        torch_pkg = next((p for p in snap.packages if data.role_of(p.name, p.installer) == "torch"), None)
        installer = torch_pkg.installer if torch_pkg else ("conda" if snap.of("conda") else "pip")
    python = python or targets.snapshot_python(snap)
    (request,) = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu,
                                python=python, platforms=[plat], installer=installer, channel=channel,
                                with_=",".join(roles), detect=common.auto_detect())
    return targets.from_stack(resolve_one(matrix, request))


_ENV_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _env(name: str | None, prefix: str | None, snap: Snapshot) -> EnvRef:
    from envgen.errors import BadInput
    from envgen.migrate.plan import EnvRef

    if name and prefix:
        raise BadInput("give --name or --prefix, not both", hint="--name picks an env by name, --prefix by path")
    if name is not None and not _ENV_NAME.match(name):
        raise BadInput(f"invalid conda env name {name!r}", hint="env names use letters, digits, _ . -")
    if name or prefix:
        return EnvRef(name, prefix)
    return EnvRef(snap.name, None) if snap.name else EnvRef(None, snap.prefix)


def _regenerate(froms: list[Path], current: bool, fmt: str | None, to: Path | None, torch: str | None,
                cuda: str | None, rocm: str | None, cpu: bool, python: str | None, plat: str, installer: str | None,
                channel: str | None, sh: str, name: str | None, prefix: str | None, out: str | None) -> str:
    words = ["envgen", "migrate"]
    words += ["--current"] if current else [w for f in froms for w in ("--from", str(f))]
    pairs = [("--format", fmt), ("--to", to), ("--torch", torch), ("--cuda", cuda), ("--rocm", rocm),
             ("--python", python), ("--platform", plat), ("--installer", installer), ("--channel", channel),
             ("--shell", sh), ("--name", name), ("--prefix", prefix), ("-o", out)]
    if cpu:
        words.append("--cpu")
    words += [w for flag, value in pairs if value is not None for w in (flag, str(value))]
    return shlex.join(words)


def _present(result: Plan, text: str, sh: str, out: str | None, json_out: bool, snap: Snapshot,
             check: DriverCheck | None = None) -> None:
    import sys

    from envgen.fileio import write_atomic

    if out and out != "-":
        write_atomic(Path(out), text)
        common.note(f"wrote {out} ({sh}); envgen does not run it: read it, then run it yourself")
    if json_out:
        common.print_json({
            "pending": result.pending, "platform": result.platform, "shell": sh,
            "env": {"name": result.env.name, "prefix": result.env.prefix},
            "inputs": list(snap.formats), "current": [p.to_json() for p in result.current_torch],
            "target": {"description": result.target.description, "installer": result.target.installer,
                       "torch": str(result.target.torch) if result.target.torch else None,
                       "variant": result.target.accel.tag if result.target.accel else None,
                       "command": list(result.target.install)},
            "notes": list(result.notes), "driver": check.to_json() if check else None,
            "steps": [s.to_json() for s in result.steps], "script": out if out and out != "-" else None})
        return
    if out == "-":
        sys.stdout.write(text)
        return
    _table(result, written=bool(out))


def _table(result: Plan, written: bool) -> None:
    from rich.table import Table

    con = common.console()
    mark = common.markup  # every value may come from the user's files: rich markup in it stays text
    if not result.steps:
        con.print(f"already on the target: {mark(result.target.description)}; nothing to do")
        return
    table = Table(title=f"migrate to {mark(result.target.description)}", show_lines=False)
    for col in ("#", "step", "packages", "command", "why"):
        table.add_column(col, overflow="fold")
    for i, step in enumerate(result.steps, 1):
        cmd = shlex.join(step.argv) + (f" > {step.stdout}" if step.stdout else "")
        if step.kind == "verify":  # the program is in the script, as a here-document
            cmd = shlex.join([step.argv[0], "-", *step.argv[3:]]) + " < the verify program (see the script)"
        table.add_row(str(i), mark(step.kind), mark(" ".join(step.packages)), mark(cmd), mark(step.reason))
    con.print(table)
    for note in result.notes:
        con.print(f"note: {mark(note)}")
    if not written:
        common.note("pass -o FILE to write the script (or -o - to print it); envgen never runs it")


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")


def _no_url_secrets(text: str) -> str:
    """The script with any credential still inside a URL masked. The readers already drop credentials from every
    URL they keep; this is the last guard. Only URLs are touched, so a folder named `t` in a path stays intact."""
    from envgen.redact import redact

    return _URL.sub(lambda m: redact(m[0]), text)
