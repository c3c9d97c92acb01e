"""TOML from a user's file (pyproject.toml, pixi.toml) with the limits of `envgen.fileio`, and the small
checks the readers of these files share: each wrong value is `BadInput` naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envgen.compat import tomllib
from envgen.errors import BadInput
from envgen.fileio import MAX_DEPTH, read_text

_LIMIT_HINT = "envgen reads environment files; this does not look like one"


def read_toml(path: Path, hint: str) -> dict[str, Any]:
    """The tables of a TOML file: at most `fileio.MAX_BYTES`, strict UTF-8, nested at most `MAX_DEPTH` levels."""
    text = read_text(path, hint="check the path given to --from")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}", hint=hint) from None
    except (RecursionError, ValueError, MemoryError) as exc:  # very deep arrays, integers past Python's limit
        raise BadInput(f"{path}: not readable as TOML ({type(exc).__name__})", hint=_LIMIT_HINT) from None
    _check_depth(data, str(path))
    return data


def _check_depth(data: Any, where: str) -> None:
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise BadInput(f"{where}: nested deeper than {MAX_DEPTH} levels", hint=_LIMIT_HINT)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))


def kind(value: Any) -> str:
    """How a wrong value is named in a message."""
    return {dict: "a table", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def table(data: dict[str, Any], key: str, where: str, at: str) -> dict[str, Any]:
    """`data[key]` as a table (absent: empty)."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise BadInput(f"{where}: {at}: expected a table, got {kind(value)}",
                       hint=f"write `[{at}]` with `name = value` lines")
    return value


def strings(value: Any, where: str, at: str) -> list[str]:
    """A list of text (absent: empty), each entry stripped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where}: {at}: expected a list, got {kind(value)}",
                       hint=f'write `{at.rsplit(".", 1)[-1]} = ["..."]`')
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise BadInput(f"{where}: {at}[{i}]: expected text, got {kind(item)}", hint="quote the entry")
    return [item.strip() for item in value]
