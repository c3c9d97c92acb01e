"""The site's data: every cell of the matrix answered by envgen's own compiler, and why the others do not exist.

A cell is (torch release, platform, installer family, compute platform, Python): the flags of
`envgen command --torch T --platform P --channel F --cuda X|--rocm X|--cpu|--xpu --python Y`. Each cell is asked
through the very functions that command calls (`build_requests`, `resolve`, `install_command(...).to_json()`), so
the site and the CLI cannot disagree. A choice that does not exist carries the refusal envgen gives for the
selection up to it (the release on that platform, then the family, the compute platform, the Python).

The result is plain JSON-able data, compact (every string once, in `strings`; cells and reasons are rows of
indices) and byte-stable: it depends on the matrix only, in the matrix's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from envgen import __version__
from envgen.compile.commands import install_command
from envgen.compile.resolve import resolve
from envgen.compile.selection import build_requests
from envgen.errors import EnvgenError
from envgen.matrix import Matrix
from envgen.matrix.compat import floors, judged_archs
from envgen.matrix.records import Release
from envgen.models import PLATFORMS, Accel, PyVer

FORMAT = 1
SLOTS = ("{T}", "{P}", "{F}", "{A}", "{Y}")  # torch, platform, family, compute platform, Python
OSES = ("linux", "windows", "macos")
_KIND_ORDER = {"cuda": 0, "rocm": 1, "xpu": 2, "mps": 3, "cpu": 4}


@dataclass(frozen=True, slots=True)
class Cell:
    """One selection: the flags of one `envgen command` call (`accel` is a tag: cu118, rocm6.2, cpu, xpu)."""

    torch: str
    platform: str | None = None
    family: str | None = None
    accel: str | None = None
    python: str | None = None

    def argv(self) -> list[str]:
        """The `envgen command` arguments for this selection."""
        out = ["--torch", self.torch]
        for flag, value in (("--platform", self.platform), ("--channel", self.family)):
            if value is not None:
                out += [flag, value]
        out += accel_flags(self.accel)
        return out + (["--python", self.python] if self.python is not None else [])


def accel_flags(tag: str | None) -> list[str]:
    """`cu118` -> ['--cuda', 'cu118']; `rocm6.2` -> ['--rocm', '6.2']; `cpu` -> ['--cpu']; `xpu` -> ['--xpu']."""
    if tag is None:
        return []
    accel = Accel.parse(tag)
    if accel.kind in ("cpu", "xpu"):
        return [f"--{accel.kind}"]
    if accel.kind == "rocm":
        return ["--rocm", accel.dotted]
    return ["--cuda", tag]


def ask(matrix: Matrix, cell: Cell) -> list[tuple[dict[str, Any], str | None]]:
    """What `envgen command --json` answers for `cell` (each command object with the stack's cuDNN); raises the
    `EnvgenError` it would report."""
    accel = Accel.parse(cell.accel) if cell.accel else None
    requests = build_requests(
        matrix, torch=cell.torch, cuda=cell.accel if accel and accel.kind == "cuda" else None,
        rocm=accel.dotted if accel and accel.kind == "rocm" else None, cpu=bool(accel and accel.kind == "cpu"),
        xpu=bool(accel and accel.kind == "xpu"), python=cell.python,
        platforms=[cell.platform] if cell.platform else None, installer=None, channel=cell.family)
    return [(install_command(s).to_json(), s.cudnn) for r in requests for s in resolve(matrix, r)]


def refusal(matrix: Matrix, cell: Cell) -> str | None:
    """The refusal `envgen command` gives for `cell` (message, then the hint on a line of its own); None when it
    answers."""
    try:
        ask(matrix, cell)
    except EnvgenError as exc:
        return reason_text(exc)
    return None


def reason_text(exc: EnvgenError) -> str:
    """A refusal as the CLI prints it, less the `error: ` prefix."""
    return exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")


@dataclass(slots=True)
class _Strings:
    """Every string of the data once; rows refer to them by index."""

    items: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    lists: list[list[int]] = field(default_factory=list)
    list_index: dict[tuple[int, ...], int] = field(default_factory=dict)

    def add(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.items)
            self.items.append(text)
        return self.index[text]

    def add_list(self, texts: Iterable[str]) -> int:
        key = tuple(self.add(t) for t in texts)
        if key not in self.list_index:
            self.list_index[key] = len(self.lists)
            self.lists.append(list(key))
        return self.list_index[key]


def accel_key(tag: str) -> tuple[int, tuple[int, ...]]:
    """Option order: CUDA, ROCm, XPU, CPU; newest first within a kind."""
    a = Accel.parse(tag)
    return (_KIND_ORDER[a.kind], tuple(-x for x in (a.version.release if a.version else ())))


def python_key(text: str) -> tuple[int, int, bool]:
    """Option order: newest first, the free-threaded build after the regular one."""
    p = PyVer.parse(text)
    return (-p.version.major, -p.version.minor, p.freethreaded)


def site_platforms(matrix: Matrix) -> list[str]:
    used = {p for rel in matrix.releases for b in rel.builds for p in b.platforms}
    return [p for p in PLATFORMS if p in used]


def site_families(matrix: Matrix) -> list[tuple[str, str]]:
    """(family, installer), conda families first, in the matrix's order of routes."""
    pairs = list(dict.fromkeys((r.family, r.installer) for r in matrix.routes.values()))
    return [p for p in pairs if p[1] == "conda"] + [p for p in pairs if p[1] != "conda"]


def compile_site(matrix: Matrix) -> dict[str, Any]:
    """The whole site's data (see the module's docstring)."""
    strings = _Strings()
    platforms = site_platforms(matrix)
    families = site_families(matrix)
    releases = [_release(matrix, rel, platforms, [f for f, _ in families], strings)
                for rel in sorted(matrix.releases, key=lambda r: r.torch, reverse=True)]
    tags = sorted({t for r in releases for t in r["accels"] if t.startswith("cu")}, key=accel_key)
    return {
        "format": FORMAT, "envgen": __version__, "digest": matrix.digest,
        "platforms": platforms, "families": [list(f) for f in families],
        "floors": {t: {o: _floor_pair(matrix, t, o) for o in OSES} for t in tags},
        "toolkits": {o: [[str(tk.cuda), str(f)] for tk in matrix.toolkits.values()
                         if (f := tk.driver_windows if o == "windows" else tk.driver_linux) is not None] for o in OSES},
        "gpus": [[g.name, str(g.cc)] for g in matrix.gpu_models],
        "datacenter": [g.name for g in matrix.datacenter],
        "forward": _forward(matrix), "slots": list(SLOTS),
        "accel_names": {t: Accel.parse(t).describe() for r in releases for t in r["accels"]},
        "releases": releases, "strings": strings.items, "lists": strings.lists,
    }


def _floor_pair(matrix: Matrix, tag: str, os_name: str) -> list[str | None]:
    cuda = Accel.parse(tag).cuda
    assert cuda is not None
    return [str(v) if v is not None else None for v in floors(matrix, cuda, os_name)]


def _forward(matrix: Matrix) -> dict[str, Any] | None:
    fc = matrix.forward_compat
    return None if fc is None else {"since": str(fc.since), "oses": list(fc.oses), "package": fc.package}


def _release(matrix: Matrix, rel: Release, platforms: list[str], families: list[str],
             strings: _Strings) -> dict[str, Any]:
    torch = str(rel.torch)
    accels = sorted({b.accel.tag for b in rel.builds}, key=accel_key)
    pythons = sorted({str(p) for b in rel.builds for pys in b.python.values() for p in pys}, key=python_key)
    cells, refused = _cells(matrix, rel)
    rows = []
    for c, (answer, cudnn) in sorted(cells.items(), key=lambda kv: _order(kv[0], platforms, families, accels,
                                                                            pythons)):
        assert c.platform and c.family and c.accel and c.python
        rows.append([platforms.index(c.platform), families.index(c.family), accels.index(c.accel),
                     pythons.index(c.python), strings.add(answer["command"]), strings.add_list(answer["notes"]),
                     strings.add(answer["route"]), strings.add(cudnn) if cudnn else -1])
    no = _reasons(matrix, torch, set(cells), refused, platforms, families, accels, pythons, strings)
    judged = {}
    for tag in accels:
        accel = Accel.parse(tag)
        if accel.kind == "cuda":
            archs, exact = judged_archs(matrix, rel, accel)
            judged[tag] = [list(archs), exact]
    return {
        "torch": torch, "date": rel.date, "companions": dict(rel.companions), "accels": accels, "pythons": pythons,
        "archs": {t: list(f.archs) for t, f in rel.accel.items() if f.archs and t in accels},
        "judge": judged, "cells": rows, "no": no,
    }


def _cells(matrix: Matrix, rel: Release) -> tuple[dict[Cell, tuple[dict[str, Any], str | None]], dict[Cell, str]]:
    """Every cell the release's builds list, answered by the compiler or refused by it (a companion without a
    wheel for that Python, say)."""
    answered: dict[Cell, tuple[dict[str, Any], str | None]] = {}
    refused: dict[Cell, str] = {}
    for b in rel.builds:
        family = matrix.routes[b.route].family
        for plat in b.platforms:
            for py in b.python.get(plat, ()):
                cell = Cell(str(rel.torch), plat, family, b.accel.tag, str(py))
                if cell in answered or cell in refused:
                    continue
                try:
                    (answered[cell],) = ask(matrix, cell)
                except EnvgenError as exc:
                    refused[cell] = reason_text(exc)
    return answered, refused


def _order(c: Cell, platforms: list[str], families: list[str], accels: list[str],
           pythons: list[str]) -> tuple[int, int, int, int]:
    assert c.platform and c.family and c.accel and c.python
    return (platforms.index(c.platform), families.index(c.family), accels.index(c.accel), pythons.index(c.python))


def _reasons(matrix: Matrix, torch: str, ok: set[Cell], refused: dict[Cell, str], platforms: list[str],
             families: list[str], accels: list[str], pythons: list[str], strings: _Strings) -> list[list[int]]:
    """[platform, family, accel, python, reason] for each disabled choice below an enabled one (-1: the levels
    below the one refused)."""
    have = {level: {_prefix(c, level) for c in ok} for level in range(1, 5)}
    out: list[list[int]] = []
    axes = (platforms, families, accels, pythons)
    for level in range(1, 5):
        parents = [()] if level == 1 else sorted(have[level - 1], key=lambda p: _index(p, axes))
        for parent in parents:
            for value in axes[level - 1]:
                key = (*parent, value)
                if key in have[level]:
                    continue
                cell = Cell(torch, *key)
                reason = refused.get(cell) or refusal(matrix, cell) or _no_cell_reason(cell)
                idx = [axes[i].index(v) for i, v in enumerate(key)]
                out.append(idx + [-1] * (4 - level) + [strings.add_list(_segments(reason, slot_values(cell)))])
    return out


def slot_values(cell: Cell) -> list[tuple[str, str]]:
    """The selection's own values as they appear in envgen's messages, in the order `_segments` replaces them
    (the page puts them back in the reverse order)."""
    values = [(SLOTS[0], cell.torch), (SLOTS[1], cell.platform), (SLOTS[2], cell.family),
              (SLOTS[3], Accel.parse(cell.accel).describe() if cell.accel else None), (SLOTS[4], cell.python)]
    return [(k, v) for k, v in values if v]


def _segments(text: str, values: list[tuple[str, str]]) -> list[str]:
    """A reason with the selection's values as placeholders, cut after each ':', ';', '(' and line break: the
    reasons of neighbouring choices then share nearly every piece. Checked to give the text back exactly."""
    templated = text
    for key, value in values:
        templated = templated.replace(value, key)
    if fill(templated, values) != text or any(k in text for k, _ in values):
        templated = text  # a value inside another, or a placeholder in the text itself: kept as written
    return re.split(r"(?<=[:;\n(])", templated)


def fill(templated: str, values: list[tuple[str, str]]) -> str:
    """`_segments`'s placeholders replaced by the values again (what the page's script does)."""
    for key, value in reversed(values):
        templated = templated.replace(key, value)
    return templated


def _prefix(c: Cell, level: int) -> tuple[str, ...]:
    values = (c.platform, c.family, c.accel, c.python)
    return tuple(v for v in values[:level] if v is not None)


def _index(prefix: tuple[str, ...], axes: tuple[list[str], ...]) -> list[int]:
    return [axes[i].index(v) for i, v in enumerate(prefix)]


def _no_cell_reason(cell: Cell) -> str:
    """A selection envgen answers with a default while no cell below it installs (never seen in the matrix; kept
    so the site says something true)."""
    return f"envgen answers `envgen command {' '.join(cell.argv())}` only by choosing another option below it"
