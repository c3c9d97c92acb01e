"""The command line: one typer app, one error boundary.

Each command group lives in a module of this package exposing `register(app)`; modules are found by name,
so adding a command never means editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from envgen.errors import EnvgenError, ExitCode

app = typer.Typer(
    name="envgen",
    help="Right, reproducible and explained PyTorch environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


def _version_callback(value: bool) -> None:
    if value:
        from envgen import __version__

        typer.echo(f"envgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Right, reproducible and explained PyTorch environments."""


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the single error boundary. Library errors become `error:`/`hint:` and an exit code."""
    try:
        code = app(args=argv, prog_name="envgen", standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(N) is returned, not raised, without standalone mode
            sys.exit(code)
    except EnvgenError as exc:
        from envgen.cli._common import report_error

        report_error(exc)
        sys.exit(int(exc.exit_code))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # click's usage errors and friends
        import click

        if isinstance(exc, click.exceptions.UsageError):
            exc.show()
            sys.exit(int(ExitCode.BAD_INPUT))
        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(int(ExitCode.BAD_INPUT))
        raise
    sys.exit(0)
