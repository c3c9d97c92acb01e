"""`envgen doctor` (name the cause of a broken install) and `envgen detect` (the build for this machine)."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any

import typer

from envgen.cli import _common as common
from envgen.cli import _options as options

if TYPE_CHECKING:
    from envgen.doctor.detect import Choice, Detection
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
    explain: bool = typer.Option(False, "--explain",
                                 help="show every fact the report implies (with where it came from) and the "
                                      "strength of each finding's evidence"),
    json_out: bool = options.JSON_OPTION,
    matrix_dir: str | None = options.MATRIX_DIR_OPTION,
) -> None:
    from envgen.doctor.diagnose import diagnosis
    from envgen.doctor.facts import merge, to_json

    matrix = common.load(matrix_dir)
    facts = _reports(from_) if from_ else _probe(python, matrix.directory)
    if error:
        seen = "\n".join(t for t in (facts.error, error) if t)
        facts = merge(type(facts)(error=seen), facts)
    findings, derivation = diagnosis(matrix, facts)
    crashed = None if from_ else _import_crash(facts)
    if json_out:
        common.print_json({"findings": [f.to_json() for f in findings], "facts": to_json(facts),
                           "derived": [d.to_json() for d in derivation.derived]})
    else:
        if explain:
            _print_derived(derivation)
        _print_findings(findings, facts, crashed, explain)
    raise typer.Exit(1 if findings or crashed else 0)


def _print_derived(derivation: Any) -> None:
    say = common.clean
    if not derivation.derived:
        typer.echo("implied facts: none (the report states everything the rules read, or too little to imply more)")
        return
    typer.echo("implied facts:")
    for d in derivation.derived:
        typer.echo(say(f"  {d.fact} = {d.value}  [{d.strength}] from {d.source}"))


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


def _print_findings(findings: list[Finding], facts: Facts, crashed: str | None, explain: bool = False) -> None:
    say = common.clean  # facts come from the user's machine and files: secrets masked, control characters escaped
    if not findings:
        typer.echo(f"no known cause found, but importing torch failed: {say(crashed)}" if crashed
                   else "no problems found")
    for i, f in enumerate(findings, 1):
        typer.echo(say(f"{i}. [{f.severity}] {f.cause}: {f.message}"))
        if f.evidence:
            shown = "; ".join(f"{k}={_short(v)}" for k, v in f.evidence.items())
            typer.echo(say(f"   evidence ({f.strength}): {shown}"))
        if explain:
            for key, source in f.derived_from.items():
                typer.echo(say(f"   {key} implied by {source}"))
        for cmd in f.fix:
            typer.echo(say(f"   fix: {cmd}"))
    for key, why in sorted(facts.unknown.items()):
        common.note(f"unknown {key}: {why}")


def _short(value: Any) -> str:
    text = str(value) if not isinstance(value, (list, dict)) else __import__("json").dumps(value)
    return text if len(text) <= 160 else text[:157] + "..."


def detect(
    torch: str | None = typer.Option(None, "--torch", metavar="V",
                                        help="torch version (default: the newest that runs)"),
    platform: str | None = typer.Option(None, "--platform", metavar="SUBDIR",
                                           help="conda subdir (default: this machine, or the report's)"),
    from_: list[str] | None = typer.Option(None, "--from", metavar="FILE",
                                              help="a pasted nvidia-smi (table or --query-gpu csv) or collect_env "
                                                   "instead of probing (repeatable; - reads stdin)"),
    allow_cpu: bool = typer.Option(False, "--allow-cpu",
                                   help="on a GPU machine where no CUDA build runs, name the CPU build (exit 0) "
                                        "instead of exiting 1 with the choices"),
    json_out: bool = options.JSON_OPTION,
    matrix_dir: str | None = options.MATRIX_DIR_OPTION,
) -> None:
    """Overrides for another machine: ENVGEN_GPU, ENVGEN_DRIVER, ENVGEN_CUDA (see envgen.doctor.detect)."""
    from envgen.doctor import detect as detector
    from envgen.errors import BadInput, Refusal
    from envgen.models import check_platform, host_platform, parse_version

    matrix = common.load(matrix_dir)
    torch_v = parse_version(torch, "torch version") if torch else None
    if torch_v is not None and matrix.release(torch_v) is None:
        raise BadInput(f"the matrix has no torch {torch}", hint="see `envgen matrix` for the known releases")
    facts = _detect_facts(from_, matrix.directory)
    plat = check_platform(platform) if platform else facts.platform or _platform_of(facts) or host_platform()
    found = detector.detect(matrix, facts, torch=torch_v, platform=plat, allow_cpu=allow_cpu)
    if not found.choices:
        raise Refusal(f"the matrix has no {'torch ' + torch if torch else 'torch'} build for {plat}",
                      hint="try another --torch or --platform")
    _present_detection(matrix, facts, found, from_, json_out)
    if found.nothing_runs:
        raise detector.NothingRuns(f"no CUDA build of {'torch ' + torch if torch else 'any torch'} runs on this "
                                   f"machine ({found.judged_as})",
                                   alternatives=(*found.ways_out(), "--allow-cpu for the CPU build"))


def _detect_facts(from_: list[str] | None, matrix_dir: str) -> Facts:
    """The facts detect judges: pasted reports or the probe, with the overrides of this process's environment."""
    import os

    from envgen.doctor.detect import OVERRIDES
    from envgen.doctor.probe import probe

    facts = _detect_reports(from_) if from_ else probe(include_torch=False, matrix_dir=matrix_dir)
    env = {k: os.environ[k] for k in OVERRIDES if k in os.environ}
    return dataclasses.replace(facts, env={**(facts.env or {}), **env})


def _present_detection(matrix: Matrix, facts: Facts, found: Detection, from_: list[str] | None,
                       json_out: bool) -> None:
    from envgen.doctor.detect import overrides_in_force
    from envgen.doctor.facts import to_json

    variants = [_variant(matrix, facts, c, found.platform) for c in found.choices]
    keep = ("platform", "os", "driver_version", "driver_cuda", "gpus", "unknown")
    machine_json = {k: v for k, v in to_json(facts).items() if k in keep}
    machine_json["overrides"] = overrides_in_force(facts)
    machine_json["judged_as"] = found.judged_as
    machine_json["sources"] = list(from_ or ["probe"])
    if json_out:
        common.print_json({"machine": machine_json, "platform": found.platform, "variants": variants,
                           "differ": found.differ})
    else:
        _print_detect(machine_json, found.platform, variants, found.differ)


def _detect_reports(paths: list[str]) -> Facts:
    """Pasted reports merged, the GPUs taken from the report that says most about them (an nvidia-smi table
    truncates names; its --query-gpu csv has the compute capability)."""
    from envgen.doctor.facts import merge

    parts = [_reports([p]) for p in paths]
    merged = merge(*parts)
    rich = [p.gpus for p in parts if p.gpus]
    if not rich:
        return merged
    best = max(rich, key=lambda gs: (sum(g.compute_capability is not None for g in gs),
                                     sum("..." not in g.name for g in gs)))
    return dataclasses.replace(merged, gpus=best)


def _platform_of(facts: Facts) -> str | None:
    from envgen.doctor.fixes import DEFAULT_SUBDIR

    return DEFAULT_SUBDIR.get(facts.os or "")


def _variant(matrix: Matrix, facts: Facts, choice: Choice, platform: str | None) -> dict[str, Any]:
    from envgen.doctor.fixes import install

    command: tuple[str, ...] = ()
    if choice.runs != "none":
        target = type(facts)(platform=platform, os=None)
        command = install(matrix, target, torch=choice.torch, accel=choice.accel, installer=choice.installer)
    return {"installer": choice.installer, "torch": str(choice.torch) if choice.torch else None,
            "variant": choice.accel.tag if choice.runs != "none" else None, "runs": choice.runs,
            "reasons": list(choice.reasons), "warnings": list(choice.warnings),
            "alternatives": list(choice.alternatives), "command": command[0] if command else None}


def _print_detect(machine: dict[str, Any], platform: str | None, variants: list[dict[str, Any]],
                  differ: str | None) -> None:
    common.note(f"# {platform}; {machine['judged_as']}")
    if machine["overrides"]:
        common.note("# overrides in force: " + ", ".join(f"{k}={v}" for k, v in machine["overrides"].items()))
    if machine["sources"] != ["probe"]:
        common.note("# facts from: " + ", ".join(machine["sources"]))
    for v in variants:
        head = f"torch {v['torch']} {v['variant']}" if v["variant"] else f"no CUDA build of torch {v['torch']} runs"
        how = {"minor": " (through CUDA minor-version compatibility)", "cpu": ""}.get(v["runs"], "")
        typer.echo(common.clean(f"{v['installer']}: {head}{how}"))
        for reason in v["reasons"]:
            typer.echo(common.clean(f"  - {reason}"))
        for warning in v["warnings"]:
            typer.echo(common.clean(f"  ! {warning}"))
        for way in v["alternatives"]:
            typer.echo(common.clean(f"  choice: {way}"))
        if v["command"]:
            typer.echo(f"  {v['command']}")
    if differ:
        typer.echo(common.clean(f"note: {differ}"))
