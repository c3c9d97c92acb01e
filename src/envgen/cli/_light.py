"""The light path: `--version`, `command`, `matrix`, `env` and `lock` with plain arguments, without building the typer
app.

Building the app costs more than the commands themselves (typer, click and the pydantic adapters typer converts
values with). Most calls of these commands are plain: long options, each given once, with values that cannot be
mistaken for options. `parse` reads exactly those and returns the call typer would make; for anything else
(`--help`, an unknown or repeated option, a missing or empty value, a value starting with `-`, an argument,
`--`, completion, a stdout click would re-encode) it returns None and `main` hands the arguments to typer, which
answers as it always has. So the output is the same byte for byte either way; `tests/test_cli_light.py` holds
`parse` equal to typer's own parsing and the outputs equal.
"""

from __future__ import annotations

import codecs
import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: `--version` answers before typing, dataclasses or pathlib load
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Literal

    Kind = Literal["text", "flag", "list", "path", "float"]
_SELECTION: dict[str, tuple[str, Kind]] = {
    "--torch": ("torch", "text"), "--cuda": ("cuda", "text"), "--rocm": ("rocm", "text"), "--cpu": ("cpu", "flag"),
    "--xpu": ("xpu", "flag"), "--platform": ("platform", "text"), "--installer": ("installer", "text"),
    "--channel": ("channel", "text"), "--python": ("python", "text"), "--with": ("with_", "text"),
    "--json": ("json_out", "flag"), "--matrix-dir": ("matrix_dir", "text"),
}
# each command's options as typer declares them (cli/command.py, cli/env.py, cli/matrix.py): flag -> (parameter, kind)
OPTIONS: dict[str, dict[str, tuple[str, Kind]]] = {
    "command": _SELECTION,
    "env": {**_SELECTION, "--platform": ("platform", "list"), "--name": ("name", "text"), "-n": ("name", "text"),
            "--output": ("out", "path"), "-o": ("out", "path"), "--dry-run": ("dry_run", "flag")},
    "matrix": {k: v for k, v in _SELECTION.items() if k not in ("--xpu", "--channel", "--with")},
    "lock": {**{k: v for k, v in _SELECTION.items() if k != "--xpu"}, "--torch": ("torch", "list"),
             "--platform": ("platform", "list"), "--from": ("from_", "path"), "--group": ("group", "list"),
             "--output": ("out", "path"), "-o": ("out", "path"), "--check": ("check", "flag"),
             "--update": ("update", "list"), "--mirror": ("mirror", "list"), "--offline": ("offline", "flag"),
             "--channel-priority": ("priority", "text"), "--virtual": ("virtual", "list"),
             "--timeout": ("timeout", "float"), "--exclude-newer": ("exclude_newer", "text")},
}
# the command's positional arguments (typer passes None when none are given), and defaults other than the kind's
_ARGUMENTS = {"lock": "packages"}
_DEFAULTS_OF: dict[str, dict[str, Any]] = {"env": {"out": "."}, "lock": {"out": "locks", "priority": "strict",
                                                                         "timeout": 120.0}}
# typer's defaults for what was not given (a list option given nowhere is None; $ENVGEN_MATRIX_DIR is --matrix-dir)
_DEFAULTS: dict[Kind, Any] = {"text": None, "flag": False, "list": None}


def parse(args: list[str], environ: dict[str, str] | os._Environ[str] | None = None,
          ) -> tuple[str, dict[str, Any]] | None:
    """What typer would call for `args` (the command's name, or `--version`, and its keyword arguments) when the
    light path answers them exactly as typer would; otherwise None."""
    environ = os.environ if environ is None else environ
    if "_ENVGEN_COMPLETE" in environ:
        return None
    if args == ["--version"]:
        return "--version", {}
    if not args or args[0] not in OPTIONS or any(not _plain(a) for a in args):
        return None
    from pathlib import Path

    spec = OPTIONS[args[0]]
    given: dict[str, Any] = {}
    rest = args[1:]
    while rest:
        word = rest.pop(0)
        if not word.startswith("-") and args[0] in _ARGUMENTS:
            given.setdefault(_ARGUMENTS[args[0]], []).append(word)
            continue
        flag, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        found = spec.get(flag)
        if found is None:
            return None
        param, kind = found
        if kind == "flag":
            if eq or param in given:
                return None
            given[param] = True
            continue
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None
        if kind == "list":
            given.setdefault(param, []).append(value)
        elif param in given or (kind == "float" and not _decimal(value)):
            return None
        else:
            given[param] = Path(value) if kind == "path" else float(value) if kind == "float" else value
    defaults = _DEFAULTS_OF.get(args[0], {})
    kwargs = {param: defaults.get(param, _DEFAULTS.get(kind)) for param, kind in spec.values()}
    kwargs.update({param: Path(value) for param, value in defaults.items() if _kind_of(spec, param) == "path"})
    if args[0] in _ARGUMENTS:
        kwargs[_ARGUMENTS[args[0]]] = None
    kwargs["matrix_dir"] = environ.get("ENVGEN_MATRIX_DIR") or None
    kwargs.update(given)
    return args[0], kwargs


def _kind_of(spec: dict[str, tuple[str, Kind]], param: str) -> Kind | None:
    return next((kind for p, kind in spec.values() if p == param), None)


def _decimal(value: str) -> bool:
    """A number typer reads as Python's float does: digits, optionally a point and more digits."""
    whole, _, fraction = value.partition(".")
    return whole.isascii() and whole.isdigit() and (not fraction or (fraction.isascii() and fraction.isdigit()))


def _plain(arg: str) -> bool:
    """Text typer takes as it is: no lone surrogate (bytes the file system encoding could not decode)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run(argv: list[str] | None) -> int | None:
    """Answer `argv` on the light path and return the exit code, or None when typer has to."""
    args = sys.argv[1:] if argv is None else list(argv)
    call = parse(args)
    if call is None or _misconfigured(sys.stdout):
        return None
    name, kwargs = call
    if name == "--version":  # typer.echo of a text without control characters: the text, then a flush
        from envgen import __version__

        sys.stdout.write(f"envgen {__version__}\n")
        sys.stdout.flush()
        return 0
    return _boundary(_command(name), kwargs, f"envgen {name}")


def _command(name: str) -> Callable[..., int | None]:
    if name == "command":
        from envgen.cli.command import command

        return command
    if name == "env":
        from envgen.cli.env import env

        return env
    if name == "lock":
        from envgen.cli.lock import lock

        return lock
    from envgen.cli.matrix import matrix_cmd

    return matrix_cmd


def _boundary(func: Callable[..., int | None], kwargs: dict[str, Any], path: str) -> int:
    """The CLI's error boundary as `_app.run` draws it, for a command that parsed."""
    from envgen.cli import _common as common
    from envgen.errors import EnvgenError

    try:
        code = func(**kwargs)  # None, or an exit code (`lock --check`)
    except EnvgenError as exc:
        common.report_error(exc, default_hint=f"see '{path} --help'")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    return int(code or 0)


def _misconfigured(stream: Any) -> bool:
    """A stdout click would wrap in another encoding before `typer.echo` writes (an ASCII one)."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        return codecs.lookup(encoding).name == "ascii"
    except LookupError:
        return False
