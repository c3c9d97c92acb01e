"""cli: the command line: one typer app, one error boundary.

Owns: parsing flags, calling the library, presenting its answer (tables, JSON, files), and the single place
that turns an `EnvgenError` into `error:` / `hint:` lines and an exit code. Each command group lives in a
module of this package exposing `register(app)`; modules are found by name, so adding a command never means
editing the app (`_app.py`). Heavy imports stay inside command bodies, so start-up stays fast; `--version`,
`command`, `matrix` and `env` with plain arguments do not even build the app (`_light.py`), and everything else
goes to typer.
May import: every package of envgen (it sits on top); nothing imports it but `envgen.__main__`.
Public names: `app` (built on first use), `main`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: `envgen --version` answers before typing loads
if TYPE_CHECKING:
    import typer


def main(argv: list[str] | None = None) -> None:
    """Entry point: the single error boundary. Library errors become `error:`/`hint:` and an exit code."""
    from envgen.cli import _light

    try:
        code = _light.run(argv)
        if code is None:
            from envgen.cli._app import run

            code = run(argv)
    finally:
        _release()
    sys.exit(code)


def __getattr__(name: str) -> typer.Typer:
    """`app`, the typer app, built when first asked for (`main` does without it where it can)."""
    if name == "app":
        from envgen.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _release() -> None:
    """Free what reference cycles hold (a handled error's traceback keeps a failed solve's py-rattler objects).

    Left to interpreter shutdown, rattler's threads release them while Python finalises and the process aborts
    ("PyGILState_Release ... finalizing", exit 134 instead of 2) after about one failed solve in six.
    """
    import gc

    gc.collect()
