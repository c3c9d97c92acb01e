"""`envgen env`: write environment.yml and requirements.txt for a combination."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from envgen.cli import _common as common


def register(app: typer.Typer) -> None:
    app.command("env", help="Write environment.yml and requirements.txt for a torch version and variant.")(env)


def env(
    torch: Optional[str] = typer.Option(None, "--torch", help="torch version, e.g. 1.8.1 (default: newest)"),
    cuda: Optional[str] = typer.Option(None, "--cuda", help="CUDA version: 10.2, cu102 or auto"),
    rocm: Optional[str] = typer.Option(None, "--rocm", help="ROCm version, e.g. 5.7"),
    cpu: bool = typer.Option(False, "--cpu", help="the CPU build"),
    xpu: bool = typer.Option(False, "--xpu", help="the Intel XPU build"),
    platform: Optional[List[str]] = typer.Option(None, "--platform", help="conda subdir; repeat for several"),
    installer: Optional[str] = typer.Option(None, "--installer", help="conda, pip or both (default: both)"),
    channel: Optional[str] = typer.Option(None, "--channel", help="pytorch, conda-forge, peterjc123, pytorch-index, pypi"),
    python: Optional[str] = typer.Option(None, "--python", help="Python version (default: newest with binaries)"),
    with_: Optional[str] = typer.Option(None, "--with", help="companions, e.g. torchvision,torchaudio"),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="conda environment name"),
    out: Path = typer.Option(Path("."), "-o", "--output", help="folder to write into"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the files instead of writing them"),
    json_out: bool = common.JSON_OPTION,
    matrix_dir: Optional[str] = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.fileio import write_atomic
    from envgen.manifests import render_environment_yml, render_requirements
    from envgen.resolve import resolve
    from envgen.selection import build_requests

    matrix = common.load(matrix_dir)
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, python=python,
                              platforms=platform, installer=installer, channel=channel, with_=with_)
    stacks = [s for r in requests for s in resolve(matrix, r)]
    regen = _regenerate(requests, stacks, installer, channel, with_, name, out, python)
    manifests = render_environment_yml(stacks, regen, name) + render_requirements(stacks, regen)
    if json_out:
        common.print_json({"files": [{"path": str(out / m.filename), "text": m.text} for m in manifests],
                           "written": not dry_run})
    for m in manifests:
        if dry_run:
            if not json_out:
                typer.echo(f"--- {out / m.filename}\n{m.text}", nl=False)
        else:
            write_atomic(out / m.filename, m.text)
            common.note(f"wrote {out / m.filename}")


def _regenerate(requests, stacks, installer, channel, with_, name, out, python) -> str:
    """The command that rebuilds these files, with every default made explicit."""
    first = stacks[0]
    words = ["envgen", "env", "--torch", str(first.torch)]
    accels = {s.accel for s in stacks}
    if len(accels) == 1 or requests[0].accel is not None:  # a variant that differs per platform stays implicit
        accel = first.accel
        words += ["--cpu"] if accel.kind == "cpu" else (["--xpu"] if accel.kind == "xpu" else
                                                        [f"--{accel.kind}", accel.dotted])
    for r in requests:
        words += ["--platform", r.platform]
    if python:
        words += ["--python", python]
    if installer:
        words += ["--installer", installer]
    if channel:
        words += ["--channel", channel]
    if with_ is not None:
        words += ["--with", with_]
    if name:
        words += ["--name", name]
    words += ["-o", str(out)]
    return " ".join(words)
