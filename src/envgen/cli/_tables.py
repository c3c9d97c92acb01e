"""Lines and tables on stdout, as rich prints them, without importing rich when the text is plain.

A command collects what it shows as `Grid`s (titled tables) and lines, then calls `show`. In colour (a terminal,
or FORCE_COLOR) and whenever the text holds anything rich would read as markup or emoji, or would wrap or fold,
rich prints it as before (`Console.print`, `Table(title=..., title_justify="left")`, columns that fold). Otherwise
the same bytes are written by hand: rich's default heavy-head box, each column as wide as its widest cell, the
title padded to the table's width. Importing rich costs about as much as the rest of `envgen matrix --torch`;
`tests/test_cli_light.py` holds both renderings equal for every view of the shipped matrix.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from envgen.cli import _common as common

WIDTH = 200  # the console width without colour (`_common.console`)
# text rich prints as it is: printable ASCII (one cell per character), no markup bracket or escape, no `:name:`
_PLAIN = re.compile(r"[ -Z^-~]*")
_EMOJI = re.compile(r":[^\s:]*:")


@dataclass(frozen=True, slots=True)
class Grid:
    """A titled table of text cells, one column per heading."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)


def show(blocks: list[Grid | str]) -> None:
    """Print each line and table on stdout."""
    text = None if common.use_colour(sys.stdout) else plain(blocks)
    if text is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    console = common.console()
    for block in blocks:
        console.print(block if isinstance(block, str) else _rich(block))


def plain(blocks: list[Grid | str], width: int = WIDTH) -> str | None:
    """The text rich would print at `width` without colour, or None where only rich knows (markup, wrapping)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, str):
            lines = _wrap(block, width) if _plain(block) else None
            if lines is None:
                return None
            out += [line + "\n" for line in lines]
            continue
        cells = [block.title, *block.columns, *(c for row in block.rows for c in row)]
        if not all(_plain(c) for c in cells) or any(len(row) != len(block.columns) for row in block.rows):
            return None
        widths = [max(len(c) for c in col) for col in zip(block.columns, *block.rows, strict=True)]
        total = sum(widths) + 3 * len(widths) + 1
        if total >= width or len(block.title) > total or not block.title:
            return None
        out.append(block.title.ljust(total) + "\n")
        out.append(_rule("┏", "━", "┳", "┓", widths))
        out.append(_line("┃", block.columns, widths))
        out.append(_rule("┡", "━", "╇", "┩", widths))
        out.extend(_line("│", row, widths) for row in block.rows)
        out.append(_rule("└", "─", "┴", "┘", widths))
    return "".join(out)


def _wrap(text: str, width: int) -> list[str] | None:
    """`text` in lines as rich wraps it: greedily at spaces, a line keeping the space it broke at unless that space
    would pass the width; None for text rich would fold or where spaces run (only single spaces between words)."""
    if len(text) <= width:
        return [text]
    words = text.split(" ")
    if not all(words) or any(len(w) > width for w in words):
        return None
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + len(word) > width:
            lines.append(line[:width])
            line = ""
        line += word + " "
    lines.append(line[:-1])
    return lines


def _plain(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None and _EMOJI.search(text) is None


def _rule(left: str, across: str, cross: str, right: str, widths: list[int]) -> str:
    return left + cross.join(across * (w + 2) for w in widths) + right + "\n"


def _line(edge: str, cells: tuple[str, ...], widths: list[int]) -> str:
    return edge + edge.join(f" {c.ljust(w)} " for c, w in zip(cells, widths, strict=True)) + edge + "\n"


def _rich(grid: Grid) -> object:
    from rich.table import Table

    table = Table(title=grid.title, title_justify="left", show_lines=False)
    for col in grid.columns:
        table.add_column(col, overflow="fold")
    for row in grid.rows:
        table.add_row(*row)
    return table
