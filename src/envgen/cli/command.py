"""`envgen command`: the install command for a combination."""

from __future__ import annotations

from typing import Optional

import typer

from envgen.cli import _common as common


def register(app: typer.Typer) -> None:
    app.command("command", help="Print the install command for a torch version and variant.")(command)


def command(
    torch: Optional[str] = common.TORCH_OPTION,
    cuda: Optional[str] = common.CUDA_OPTION,
    rocm: Optional[str] = common.ROCM_OPTION,
    cpu: bool = common.CPU_OPTION,
    xpu: bool = common.XPU_OPTION,
    platform: Optional[str] = typer.Option(None, "--platform", help="conda subdir (default: this machine)"),
    installer: Optional[str] = common.INSTALLER_OPTION,
    channel: Optional[str] = common.CHANNEL_OPTION,
    python: Optional[str] = common.PYTHON_OPTION,
    with_: Optional[str] = common.WITH_OPTION,
    json_out: bool = common.JSON_OPTION,
    matrix_dir: Optional[str] = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.compile.commands import install_command
    from envgen.compile.resolve import resolve
    from envgen.compile.selection import build_requests

    matrix = common.load(matrix_dir)
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, python=python,
                              platforms=[platform] if platform else None, installer=installer, channel=channel,
                              with_=with_, detect=common.auto_detect())
    commands = [install_command(s) for r in requests for s in resolve(matrix, r)]
    if json_out:
        common.print_json([c.to_json() for c in commands])
        return
    for cmd in commands:
        common.note(f"# {cmd.installer} on {cmd.platform}, {cmd.variant}, Python {cmd.python} ({cmd.route})")
        for n in cmd.notes:
            common.note(f"#   {n}")
        typer.echo(cmd.command)
