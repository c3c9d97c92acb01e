"""`envgen doctor` (name the cause of a broken install) and `envgen detect` (the build for this machine)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from envgen.cli import _common as common

if TYPE_CHECKING:
    from envgen.doctor.detect import Choice
    from envgen.doctor.facts import Facts
    from envgen.doctor.findings import Finding
    from envgen.matrix import Matrix


def register(app: typer.Typer) -> None:
    app.command("doctor", help="Diagnose a PyTorch install: probe this machine, or read pasted reports "
                               "(collect_env, conda list, pip list/freeze, nvidia-smi, a facts file). "
                               "Exit 1 when something is wrong.")(doctor)
    app.command("detect", help="The best torch variant for this machine per installer, with the reasons.")(detect)


def doctor(
    from_: list[str] | None = typer.Option(None, "--from", metavar="FILE",
                                              help="a pasted report or facts file instead of probing "
                                                   "(repeatable; - reads stdin)"),
    error: str | None = typer.Option(None, "--error", metavar="TEXT", help="the error message you saw"),
    python: str | None = typer.Option(None, "--python", metavar="PATH",
                                         help="examine this interpreter (default: the one running envgen)"),
    json_out: bool = common.JSON_OPTION,
    matrix_dir: str | None = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.doctor.diagnose import diagnose
    from envgen.doctor.facts import merge, to_json

    matrix = common.load(matrix_dir)
    facts = _reports(from_) if from_ else _probe(python, matrix.directory)
    if error:
        seen = "\n".join(t for t in (facts.error, error) if t)
        facts = merge(type(facts)(error=seen), facts)
    findings = diagnose(matrix, facts)
    crashed = None if from_ else _import_crash(facts)
    if json_out:
        common.print_json({"findings": [f.to_json() for f in findings], "facts": to_json(facts)})
    else:
        _print_findings(findings, facts, crashed)
    raise typer.Exit(1 if findings or crashed else 0)


def _reports(paths: list[str]) -> Facts:
    from envgen.doctor.facts import merge
    from envgen.doctor.reports import parse_report, read_report
    from envgen.fileio import read_stream

    parts = [parse_report(read_stream(sys.stdin.buffer, "<stdin>"), "<stdin>") if p == "-" else read_report(p)
             for p in paths]
    return merge(*parts)


def _probe(python: str | None, matrix_dir: str) -> Facts:
    from envgen.doctor.probe import probe
    from envgen.errors import BadInput

    hint = "give --python the path of a Python interpreter (e.g. .venv/bin/python, or `which python3`)"
    if python is not None:
        import shutil

        found = shutil.which(python)
        if found is None:
            raise BadInput(f"no interpreter at {python!r}", hint=hint)
        python = found
    facts = probe(python=python, matrix_dir=matrix_dir)
    if python is not None and facts.python_prefix is None:  # it could not be examined: saying nothing would lie
        why = facts.unknown.get("python_prefix") or f"cannot run {python}"
        raise BadInput(f"cannot examine {python}: {why.removeprefix(f'cannot run {python}: ')}", hint=hint)
    return facts


def _import_crash(facts: Facts) -> str | None:
    """What importing torch did when it failed other than by torch being absent (crash, exception, hang)."""
    if facts.torch_error and not facts.torch_error.startswith("ModuleNotFoundError"):
        return facts.torch_error
    return None


def _print_findings(findings: list[Finding], facts: Facts, crashed: str | None) -> None:
    say = common.clean  # facts come from the user's machine and files: secrets masked, control characters escaped
    if not findings:
        typer.echo(f"no known cause found, but importing torch failed: {say(crashed)}" if crashed
                   else "no problems found")
    for i, f in enumerate(findings, 1):
        typer.echo(say(f"{i}. [{f.severity}] {f.cause}: {f.message}"))
        if f.evidence:
            typer.echo(say("   evidence: " + "; ".join(f"{k}={_short(v)}" for k, v in f.evidence.items())))
        for cmd in f.fix:
            typer.echo(say(f"   fix: {cmd}"))
    for key, why in sorted(facts.unknown.items()):
        common.note(f"unknown {key}: {why}")


def _short(value: Any) -> str:
    text = str(value) if not isinstance(value, (list, dict)) else __import__("json").dumps(value)
    return text if len(text) <= 160 else text[:157] + "..."


def detect(
    torch: str | None = typer.Option(None, "--torch", metavar="V",
                                        help="torch version (default: the newest that fits)"),
    platform: str | None = typer.Option(None, "--platform", metavar="SUBDIR",
                                           help="conda subdir (default: this machine)"),
    json_out: bool = common.JSON_OPTION,
    matrix_dir: str | None = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.doctor.detect import choose
    from envgen.doctor.facts import to_json
    from envgen.doctor.probe import probe
    from envgen.models import check_platform, parse_version

    matrix = common.load(matrix_dir)
    torch_v = parse_version(torch, "torch version") if torch else None
    if torch_v is not None and matrix.release(torch_v) is None:
        from envgen.errors import BadInput

        raise BadInput(f"the matrix has no torch {torch}", hint="see `envgen matrix` for the known releases")
    facts = probe(include_torch=False, matrix_dir=matrix.directory)
    plat = check_platform(platform) if platform else facts.platform
    variants = []
    for installer in ("conda", "pip"):
        if not matrix.builds(torch=torch_v, platform=plat, installer=installer):
            continue
        choice = choose(matrix, facts, torch=torch_v, platform=plat, installer=installer)
        variants.append(_variant(matrix, facts, choice, plat))
    if not variants:
        from envgen.errors import Refusal

        raise Refusal(f"the matrix has no {'torch ' + torch if torch else 'torch'} build for {plat}",
                      hint="try another --torch or --platform")
    machine = {k: v for k, v in to_json(facts).items() if k in ("platform", "os", "driver_version", "driver_cuda",
                                                                 "gpus", "unknown")}
    machine["overrides"] = {k: v for k, v in (facts.env or {}).items() if k in ("ENVGEN_CUDA", "CONDA_OVERRIDE_CUDA")}
    if json_out:
        common.print_json({"machine": machine, "platform": plat, "variants": variants})
        return
    _print_detect(machine, plat, variants)


def _variant(matrix: Matrix, facts: Facts, choice: Choice, platform: str | None) -> dict[str, Any]:
    from envgen.doctor.fixes import install

    target = type(facts)(platform=platform, os=None)
    command = install(matrix, target, torch=choice.torch, accel=choice.accel, installer=choice.installer)
    return {"installer": choice.installer, "torch": str(choice.torch) if choice.torch else None,
            "variant": choice.accel.tag, "reasons": list(choice.reasons), "command": command[0] if command else None}


def _print_detect(machine: dict[str, Any], platform: str | None, variants: list[dict[str, Any]]) -> None:
    gpus = ", ".join(g["name"] + (f" (compute capability {g['compute_capability']})"
                                  if g.get("compute_capability") else "") for g in machine.get("gpus") or [])
    driver = machine.get("driver_version")
    common.note(f"# {platform}; " + (f"NVIDIA driver {driver}" + (f" (CUDA {machine['driver_cuda']})"
                                                                     if machine.get("driver_cuda") else "")
                                      if driver else "no NVIDIA driver") + (f"; {gpus}" if gpus else ""))
    for v in variants:
        typer.echo(f"{v['installer']}: torch {v['torch']} {v['variant']}")
        for reason in v["reasons"]:
            typer.echo(f"  - {reason}")
        if v["command"]:
            typer.echo(f"  {v['command']}")
