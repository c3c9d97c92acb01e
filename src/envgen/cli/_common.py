"""Helpers shared by the command modules: JSON output, colour, the error report (the options: `_options`).

No typer here: the light path (`cli._light`) runs commands through these helpers without building the app.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from envgen.errors import EnvgenError

if TYPE_CHECKING:
    from packaging.version import Version
    from rich.console import Console

    from envgen.compile.selection import AutoDetect
    from envgen.doctor.detect import Choice
    from envgen.doctor.facts import Facts
    from envgen.matrix import Matrix


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    colour = use_colour(stream)
    return Console(file=stream, no_color=not colour, highlight=False, soft_wrap=False,
                   force_terminal=colour if colour else None, width=None if colour else 200)


# what click.echo strips from text bound for a stream that is not a terminal (click's own pattern)
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def echo(text: str, nl: bool = True) -> None:
    """`typer.echo` of a text without typer: stdout, a line feed unless `nl` is false, ANSI style codes stripped
    when stdout is not a terminal, flushed (what click.echo does with text; the light path stays byte-identical)."""
    out = text + "\n" if nl else text
    stream = sys.stdout
    if out and not _isatty(stream):
        out = _ANSI.sub("", out)
    if out:
        stream.write(out)
    stream.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - click treats a stream that cannot say as no terminal
        return False


def print_json(data: Any) -> None:
    """JSON on stdout, with every URL secret masked (`envgen.redact.redact_data`)."""
    from envgen.redact import redact_data

    sys.stdout.write(json.dumps(redact_data(data), indent=2, sort_keys=False, default=str) + "\n")


def note(message: str) -> None:
    """A diagnostic line on stderr (secrets masked, control characters escaped)."""
    sys.stderr.write(clean(message.rstrip("\n")) + "\n")


def report_error(exc: EnvgenError, default_hint: str | None = None) -> None:
    """The `error:` and `hint:` lines of the CLI boundary; every error has a hint (`default_hint` when the error
    brings none). Text passes `clean`: no URL secret and no terminal control sequence reaches the terminal."""
    sys.stderr.write(f"error: {clean(exc.message)}\n")
    hint = exc.hint or default_hint
    if hint:
        sys.stderr.write(f"hint: {clean(hint)}\n")


# control characters a message may carry from its input (a file name, a value): escaped, so they cannot move the
# cursor, recolour the terminal or fake a line; line feeds and tabs stay (messages may list problems line by line)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """`text` fit for the terminal: URL secrets masked (`envgen.redact.redact`), control characters escaped."""
    from envgen.fileio import escape_char
    from envgen.redact import redact

    return redact(_CONTROL.sub(escape_char, text))


def markup(text: str) -> str:
    """User text for a rich table or line: `clean`, then rich's markup escaped (`[/bold]` stays text)."""
    from rich.markup import escape

    return escape(clean(text))


def open_installer(installer: str | None, channel: str | None) -> bool:
    """Whether the user left the installer to envgen (no --installer, or both; no --channel)."""
    return installer in (None, "both", "all") and channel is None


def auto_detect(open_installer: bool = False) -> AutoDetect:
    """`--cuda auto` for this machine: probe it once (NVML, platform; not torch; the ENVGEN_GPU / ENVGEN_DRIVER /
    ENVGEN_CUDA overrides), then let `detect` choose per platform and installer. Where no CUDA build runs on a GPU
    machine it raises `NothingRuns` (exit 1, with the choices), never the CPU build unasked. With `open_installer`
    (the user left the installer to envgen) an installer where nothing runs is skipped when the other one has a
    build that runs (selection asks conda, then pip). Handed to `envgen.compile.selection.build_requests`."""
    facts: Facts | None = None
    stuck: dict[str, Choice] = {}

    def detect(matrix: Matrix, torch: Version | None, platform: str, installer: str) -> Choice:
        nonlocal facts
        from dataclasses import replace

        from envgen.doctor.detect import NothingRuns, choose
        from envgen.doctor.probe import probe

        if facts is None:
            facts = probe(include_torch=False)
        choice = choose(matrix, facts, torch=torch, platform=platform, installer=installer)
        earlier = stuck.pop(platform, None)
        if choice.runs == "none" or (earlier is not None and choice.torch is None):
            if open_installer and installer == "conda":
                stuck[platform] = choice
                return replace(choice, torch=None)  # selection skips it; pip answers, or raises below
            what = f"torch {torch}" if torch else "any torch"
            ways = (*(earlier.alternatives if earlier else ()), *choice.alternatives, "--cpu for the CPU build")
            raise NothingRuns(f"--cuda auto: no CUDA build of {what} runs on this machine ({platform}, "
                              f"{'conda or pip' if earlier else installer}): " + "; ".join(choice.reasons),
                              alternatives=tuple(dict.fromkeys(ways)))
        extra = [f"warning: {w}" for w in choice.warnings]
        if earlier is not None:
            extra.append(f"conda has no CUDA build of {earlier.torch} that runs here, so pip: " + earlier.reasons[-2])
        return replace(choice, reasons=(*choice.reasons, *extra)) if extra else choice

    return detect


def load(matrix_dir: str | None) -> Matrix:
    from envgen.matrix import load_matrix

    return load_matrix(matrix_dir)
