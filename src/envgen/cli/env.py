"""`envgen env`: write environment.yml and requirements.txt for a combination.

typer is imported only by `register`: the light path (`cli._light`) calls `env` without building the app.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from envgen.cli import _common as common

if TYPE_CHECKING:
    import typer

    from envgen.compile.stack import Request, Stack


def register(app: typer.Typer) -> None:
    import typer

    from envgen.cli import _options as options

    def env_cli(
        torch: str | None = options.TORCH_OPTION,
        cuda: str | None = options.CUDA_OPTION,
        rocm: str | None = options.ROCM_OPTION,
        cpu: bool = options.CPU_OPTION,
        xpu: bool = options.XPU_OPTION,
        platform: list[str] | None = options.PLATFORMS_OPTION,
        installer: str | None = options.INSTALLER_OPTION,
        channel: str | None = options.CHANNEL_OPTION,
        python: str | None = options.PYTHON_OPTION,
        with_: str | None = options.WITH_OPTION,
        name: str | None = typer.Option(None, "--name", "-n", help="conda environment name"),
        out: Path = typer.Option(Path("."), "-o", "--output", help="folder to write into"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the files instead of writing them"),
        json_out: bool = options.JSON_OPTION,
        matrix_dir: str | None = options.MATRIX_DIR_OPTION,
    ) -> None:
        env(torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, platform=platform, installer=installer,
            channel=channel, python=python, with_=with_, name=name, out=out, dry_run=dry_run, json_out=json_out,
            matrix_dir=matrix_dir)

    app.command("env", help="Write environment.yml and requirements.txt for a torch version and variant.")(env_cli)


def env(torch: str | None = None, cuda: str | None = None, rocm: str | None = None, cpu: bool = False,
        xpu: bool = False, platform: list[str] | None = None, installer: str | None = None,
        channel: str | None = None, python: str | None = None, with_: str | None = None, name: str | None = None,
        out: Path = Path("."), dry_run: bool = False, json_out: bool = False, matrix_dir: str | None = None) -> None:
    from envgen.compile.manifests import check_env_name, render_environment_yml, render_requirements
    from envgen.compile.resolve import resolve
    from envgen.compile.selection import build_requests
    from envgen.fileio import write_atomic

    if name is not None:
        check_env_name(name)  # before anything else: it is written into environment.yml
    matrix = common.load(matrix_dir)
    requests = build_requests(matrix, torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, xpu=xpu, python=python,
                              platforms=platform, installer=installer, channel=channel, with_=with_,
                              detect=common.auto_detect(open_installer=common.open_installer(installer, channel)))
    stacks = [s for r in requests for s in resolve(matrix, r)]
    regen = _regenerate(requests, stacks, installer, channel, with_, name, out, python)
    manifests = render_environment_yml(stacks, regen, name) + render_requirements(stacks, regen)
    if json_out:
        common.print_json({"files": [{"path": str(out / m.filename), "text": m.text} for m in manifests],
                           "written": not dry_run,
                           "notes": [{"platform": s.platform, "installer": s.installer, "notes": list(s.notes)}
                                     for s in stacks]})
    for m in manifests:
        if dry_run:
            if not json_out:
                common.echo(f"--- {out / m.filename}\n{m.text}", nl=False)
        else:
            write_atomic(out / m.filename, m.text)
            common.note(f"wrote {out / m.filename}")


def _regenerate(requests: list[Request], stacks: list[Stack], installer: str | None, channel: str | None,
                with_: str | None, name: str | None, out: Path, python: str | None) -> str:
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
    return shlex.join(words)
