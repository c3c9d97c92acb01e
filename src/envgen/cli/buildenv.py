"""`envgen build-env`: an environment for building PyTorch from source (environment.yml, env script, checklist)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from envgen.cli._common import note, print_json
from envgen.cli._options import JSON_OPTION, MATRIX_DIR_OPTION
from envgen.errors import BadInput

if TYPE_CHECKING:
    from envgen.build.plan import BuildPlan, BuildRequest
    from envgen.models import Accel


def register(app: typer.Typer) -> None:
    app.command("build-env", help="Environment, env script and checklist for building PyTorch from source.")(build_env)


def build_env(
    torch: str | None = typer.Option(None, "--torch", help="Source release to build, e.g. 2.0.0."),
    ref: str | None = typer.Option(None, "--ref", help="A branch instead of a release: main."),
    cuda: str | None = typer.Option(None, "--cuda", help="CUDA version to build with, e.g. 11.7."),
    cpu: bool = typer.Option(False, "--cpu", help="A CPU-only build (the default without --cuda)."),
    platform: str | None = typer.Option(None, "--platform",
                                        help="conda subdir: linux-64 or win-64 (default: this machine)."),
    python: str | None = typer.Option(None, "--python",
                                      help="Python of the build env (default: the newest the tree supports)."),
    output: str | None = typer.Option(None, "-o", "--output", metavar="DIR",
                                      help="Write environment.yml, the env script and CHECKLIST.md into DIR."),
    shell: str | None = typer.Option(None, "--shell",
                                     help="bash, powershell or cmd (default: powershell on win-64, else bash)."),
    arch: str | None = typer.Option(None, "--arch",
                                    help="TORCH_CUDA_ARCH_LIST: 8.6, sm_86, 'all' (the release's binary list) "
                                         "or 'auto' (default: this machine's GPUs, else all)."),
    vs: str | None = typer.Option(None, "--vs",
                                  help="The Visual Studio you have (2019, 17.4.3): refused when it cannot build this."),
    ccache: bool = typer.Option(False, "--ccache", help="Add a compiler cache (ccache, sccache on Windows)."),
    cuda_home: str | None = typer.Option(None, "--cuda-home", help="Where the CUDA toolkit is installed."),
    build_type: str = typer.Option("release", "--build-type",
                                   help="release or debug (picks the Windows MAGMA archive)."),
    check: bool = typer.Option(False, "--check",
                               help="Check this machine against the checklist (exit 1 when something is wrong)."),
    matrix_dir: str | None = MATRIX_DIR_OPTION,
    json: bool = JSON_OPTION,
) -> None:
    from envgen.build.plan import describe, plan
    from envgen.matrix.build import load_build

    request = _request(torch, ref, cuda, cpu, platform, python, shell, arch, vs, ccache, cuda_home, build_type,
                       matrix_dir)
    build_plan = plan(load_build(matrix_dir), request)
    if check:
        from envgen.models import host_platform

        if build_plan.platform != host_platform():
            raise BadInput(f"--check checks this machine ({host_platform()}), not {build_plan.platform}",
                           hint=f"drop --platform, or run --check on a {build_plan.platform} machine")
        _check(build_plan, json)
        return
    if json:
        print_json(describe(build_plan))
    if output:
        _write(build_plan, output, quiet=json)
    elif not json:
        from envgen.build.render import environment_yml

        typer.echo(environment_yml(build_plan), nl=False)
        note("note: -o DIR also writes the env script and CHECKLIST.md")


def _request(torch: str | None, ref: str | None, cuda: str | None, cpu: bool, platform: str | None,
             python: str | None, shell: str | None, arch: str | None, vs: str | None, ccache: bool,
             cuda_home: str | None, build_type: str, matrix_dir: str | None = None) -> BuildRequest:
    from envgen.build.plan import BuildRequest
    from envgen.models import Accel, PyVer, check_platform, host_platform, parse_version
    from envgen.shell import check_shell, default_shell

    if (torch is None) == (ref is None):
        raise BadInput("give exactly one of --torch VERSION or --ref main", hint="e.g. --torch 2.0.0")
    if cuda and cpu:
        raise BadInput("give --cuda X.Y or --cpu, not both", hint="--cpu builds without CUDA")
    if build_type not in ("release", "debug"):
        raise BadInput(f"unknown build type {build_type!r}", hint="use release or debug")
    plat = check_platform(platform or host_platform())
    gpus: tuple[str, ...] = ()
    if cuda and plat == host_platform():
        gpus = _this_machine(Accel.parse(cuda), plat, matrix_dir)
    if arch not in (None, "auto"):
        gpus = ()
    return BuildRequest(torch=parse_version(torch, "torch version") if torch else None, ref=ref,
                        accel=Accel.parse(cuda) if cuda else Accel("cpu"), platform=plat,
                        python=PyVer.parse(python) if python else None,
                        shell=check_shell(shell or default_shell(plat)), arch=arch, gpus=gpus, vs=vs, ccache=ccache,
                        cuda_home=cuda_home, build_type=build_type)


def _this_machine(accel: Accel, platform: str, matrix_dir: str | None) -> tuple[str, ...]:
    """This machine's GPUs' compute capabilities (by name where NVML or nvidia-smi gives none; ENVGEN_GPU replaces
    them), and a note on stderr whether its driver runs the CUDA the build uses (`envgen.matrix.compat`)."""
    from envgen.doctor.detect import machine
    from envgen.doctor.probe import probe
    from envgen.matrix import load_matrix
    from envgen.matrix.compat import judge
    from envgen.models import os_of

    matrix = load_matrix(matrix_dir)
    m, _why = machine(matrix, probe(include_torch=False, matrix_dir=matrix.directory), os_of(platform))
    if m is None or not m.gpus:
        return ()
    verdict = judge(matrix, m, accel)
    how = {"full": "runs it fully", "minor": "runs it only through CUDA minor-version compatibility"}.get(
        verdict.runs, "does not run it: the torch you build could not use the GPU here")
    note(f"note: this machine ({m.describe()}) {how}: {verdict.reasons[0]}")
    return tuple(sorted({f"{g.cc.major}.{g.cc.minor}" for g in m.gpus if g.cc is not None}))


def _write(build_plan: BuildPlan, output: str, quiet: bool) -> None:
    from pathlib import Path

    from envgen.build.render import files
    from envgen.fileio import write_atomic

    folder = Path(output)
    for name, text in files(build_plan).items():
        write_atomic(folder / name, text)
        if not quiet:
            typer.echo(str(folder / name))


def _check(build_plan: BuildPlan, as_json: bool) -> None:
    from envgen.build.check import report, run_checks

    findings, checked = run_checks(build_plan)
    data = report(build_plan, findings, checked)
    if as_json:
        print_json(data)
    else:
        for c in checked:
            typer.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.id}: {c.found or 'not found'}")
        for f in findings:
            typer.echo(f"[{f.severity}] {f.message}")
            typer.echo(f"    evidence: {f.evidence}")
            for fix in f.fix:
                typer.echo(f"    fix: {fix}")
    if not data["ok"]:
        raise typer.Exit(1)
