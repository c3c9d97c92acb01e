"""The typer app of every command, and the error boundary around it (what `envgen.cli.main` falls back to).

`cli/__init__.py` answers `--version`, `command`, `matrix` and `env` without this module when their arguments are
plain (`cli._light`); everything else, `--help`, completion and every usage error come here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Protocol

import typer

from envgen.errors import EnvgenError, ExitCode

app = typer.Typer(
    name="envgen",
    help="Right, reproducible and explained PyTorch environments.",
    no_args_is_help=True,
    add_completion=False,  # `envgen completion SHELL` prints the script (cli/completion.py)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register_all() -> None:
    here = os.path.dirname(__file__)  # the package's folder (importing envgen.cli here would be a circle)
    for info in sorted(pkgutil.iter_modules([here]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"envgen.cli.{info.name}")
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


def run(argv: list[str] | None) -> int:
    """Run the app and return the exit code; the handled exception is gone once this returns
    (see `envgen.cli._release`)."""
    from envgen.cli._common import report_error

    if "_ENVGEN_COMPLETE" in os.environ:  # a shell asks for completions (the script of `envgen completion SHELL`)
        from typer.completion import completion_init  # type: ignore[attr-defined]  # re-exported, no __all__

        completion_init()
    try:
        code = app(args=argv, prog_name="envgen", standalone_mode=False)
        return code if isinstance(code, int) else 0  # typer.Exit(N) is returned, not raised, without standalone mode
    except EnvgenError as exc:
        report_error(exc, default_hint=f"see '{_command_path(argv)} --help'")
        return int(exc.exit_code)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as exc:  # click's usage errors and friends
        if isinstance(exc, _click_exceptions()):
            report_error(_usage_error(exc, argv))
            return int(ExitCode.BAD_INPUT)
        raise


def _usage_error(exc: _ClickException, argv: list[str] | None) -> EnvgenError:
    """A click usage error (unknown option, missing value, bad choice, extra argument ...) in envgen's words:
    its message, and a hint naming the `--help` of the command it was meant for."""
    from envgen.errors import BadInput

    ctx = getattr(exc, "ctx", None)
    path = str(getattr(ctx, "command_path", "") or "") or _command_path(argv)
    if type(exc).__name__ == "NoArgsIsHelpError":  # `envgen` alone, or a group without its command
        names = ", ".join(sorted(c.name for c in app.registered_commands if c.name))
        return BadInput(f"no command given to {path}", hint=f"see '{path} --help'; commands: {names}")
    return BadInput(exc.format_message(), hint=f"see '{path} --help'")


def _command_path(argv: list[str] | None) -> str:
    """`envgen` and the command the arguments name (`envgen lock`), for hints; click may not have got that far."""
    args = sys.argv[1:] if argv is None else argv
    names = {c.name for c in app.registered_commands}
    for arg in args:
        if arg in names:
            return f"envgen {arg}"
        if not arg.startswith("-"):
            break
    return "envgen"


class _ClickException(Protocol):
    """What the error boundary uses of click's ClickException (click's own class or typer's vendored copy)."""

    def format_message(self) -> str: ...


def _click_exceptions() -> tuple[type[_ClickException], ...]:
    """click's ClickException, from click itself and from the copy newer typer releases vendor as typer._click."""
    found: list[type[_ClickException]] = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(name).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)
