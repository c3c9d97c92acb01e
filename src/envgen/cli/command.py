"""`envgen command`: the install command for a combination.

typer is imported only by `register`: the light path (`cli._light`) calls `command` without building the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envgen.cli import _common as common

if TYPE_CHECKING:
    import typer


def register(app: typer.Typer) -> None:
    import typer

    from envgen.cli import _options as options

    def command_cli(
        torch: str | None = options.TORCH_OPTION,
        cuda: str | None = options.CUDA_OPTION,
        rocm: str | None = options.ROCM_OPTION,
        cpu: bool = options.CPU_OPTION,
        xpu: bool = options.XPU_OPTION,
        platform: str | None = typer.Option(None, "--platform", help="conda subdir (default: this machine)"),
        installer: str | None = options.INSTALLER_OPTION,
        channel: str | None = options.CHANNEL_OPTION,
        python: str | None = options.PYTHON_OPTION,
        with_: str | None = options.WITH_OPTION,
        json_out: bool = options.JSON_OPTION,
        matrix_dir: str | None = options.MATRIX_DIR_OPTION,
    ) -> None:
        command(torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, platform=platform, installer=installer,
                channel=channel, python=python, with_=with_, json_out=json_out, matrix_dir=matrix_dir)

    app.command("command", help="Print the install command for a torch version and variant.")(command_cli)


def command(torch: str | None = None, cuda: str | None = None, rocm: str | None = None, cpu: bool = False,
            xpu: bool = False, platform: str | None = None, installer: str | None = None,
            channel: str | None = None, python: str | None = None, with_: str | None = None,
            json_out: bool = False, matrix_dir: str | None = None) -> None:
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
        common.echo(cmd.command)
