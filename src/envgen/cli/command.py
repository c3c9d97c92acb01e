"""`envgen command`: the install command for a combination."""

from __future__ import annotations

import typer

from envgen.cli import _common as common


def register(app: typer.Typer) -> None:
    app.command("command", help="Print the install command for a torch version and variant.")(command)


def command(
    torch: str | None = common.TORCH_OPTION,
    cuda: str | None = common.CUDA_OPTION,
    rocm: str | None = common.ROCM_OPTION,
    cpu: bool = common.CPU_OPTION,
    xpu: bool = common.XPU_OPTION,
    platform: str | None = typer.Option(None, "--platform", help="conda subdir (default: this machine)"),
    installer: str | None = common.INSTALLER_OPTION,
    channel: str | None = common.CHANNEL_OPTION,
    python: str | None = common.PYTHON_OPTION,
    with_: str | None = common.WITH_OPTION,
    json_out: bool = common.JSON_OPTION,
    matrix_dir: str | None = common.MATRIX_DIR_OPTION,
) -> None:
    from envgen.compile.commands import install_command
    from envgen.compile.resolve import resolve
    from envgen.compile.selection import build_requests

    matrix = common.load(matrix_dir)
    detect = common.auto_detect(open_installer=common.open_installer(installer, channel))
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, python=python,
                              platforms=[platform] if platform else None, installer=installer, channel=channel,
                              with_=with_, detect=detect)
    commands = [install_command(s) for r in requests for s in resolve(matrix, r)]
    if json_out:
        common.print_json([c.to_json() for c in commands])
        return
    for cmd in commands:
        common.note(f"# {cmd.installer} on {cmd.platform}, {cmd.variant}, Python {cmd.python} ({cmd.route})")
        for n in cmd.notes:
            common.note(f"#   {n}")
        typer.echo(cmd.command)
