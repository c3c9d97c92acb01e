"""`envgen command`: the install command for a combination."""

from __future__ import annotations

from typing import Optional

import typer

from envgen.cli import _common as common


def register(app: typer.Typer) -> None:
    app.command("command", help="Print the install command for a torch version and variant.")(command)


def command(
    torch: Optional[str] = typer.Option(None, "--torch", help="torch version, e.g. 1.8.1 (default: newest)"),
    cuda: Optional[str] = typer.Option(None, "--cuda", help="CUDA version: 10.2, cu102 or auto"),
    rocm: Optional[str] = typer.Option(None, "--rocm", help="ROCm version, e.g. 5.7"),
    cpu: bool = typer.Option(False, "--cpu", help="the CPU build"),
    xpu: bool = typer.Option(False, "--xpu", help="the Intel XPU build"),
    platform: Optional[str] = typer.Option(None, "--platform", help="conda subdir (default: this machine)"),
    installer: Optional[str] = typer.Option(None, "--installer", help="conda, pip or both (default: both)"),
    channel: Optional[str] = typer.Option(None, "--channel", help="pytorch, conda-forge, peterjc123, pytorch-index, pypi"),
    python: Optional[str] = typer.Option(None, "--python", help="Python version (default: newest with binaries)"),
    with_: Optional[str] = typer.Option(None, "--with", help="companions, e.g. torchvision,torchaudio"),
    json_out: bool = common.JSON_OPTION,
    matrix_dir: Optional[str] = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.commands import install_command
    from envgen.resolve import resolve
    from envgen.selection import build_requests

    matrix = common.load(matrix_dir)
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, python=python,
                              platforms=[platform] if platform else None, installer=installer, channel=channel,
                              with_=with_)
    commands = [install_command(s) for r in requests for s in resolve(matrix, r)]
    if json_out:
        common.print_json([c.to_json() for c in commands])
        return
    for cmd in commands:
        common.note(f"# {cmd.installer} on {cmd.platform}, {cmd.variant}, Python {cmd.python} ({cmd.route})")
        for n in cmd.notes:
            common.note(f"#   {n}")
        typer.echo(cmd.command)
