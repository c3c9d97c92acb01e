"""The pip side of a set of locks: every (spec, platform) pip cell resolved with uv, all at once.

Each cell is prepared in order (its Python: the pip section's, else the conda side's; what the conda side provides,
checked against the requirements; the pins `--update` holds), and reported (`resolving <platform> (pip, Python X)`);
then every prepared cell's `uv pip compile` runs at once, `os.cpu_count()` processes at a time (`pip.compile_each`;
`at_once=False`: one after another). The results, the error raised (the first failing cell in order, explained as
for that cell alone) and the order of the lines are those of resolving one cell after another, so the files are too
(`tests/test_lock_pip_cells.py`). The lines come before the resolving, so after a failure they can name cells
after the failing one, which one after another would not have reached.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from envgen.errors import BadInput, EnvgenError
from envgen.lock.fetch import Fetcher
from envgen.lock.pip import PipJob, compile_each
from envgen.lock.provided import Provided, check_requirements, provided
from envgen.lock.records import LockedConda, LockedWheel
from envgen.lock.spec import LockSpec, PlatformSpec


@dataclass(frozen=True, slots=True)
class PipSide:
    """The pip side of one spec, by platform: the files, the Python locked for, what the conda side provides."""

    pip: dict[str, tuple[LockedWheel, ...]] = field(default_factory=dict)
    pythons: dict[str, str] = field(default_factory=dict)
    provided: dict[str, dict[str, Provided]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Cell:
    index: int  # of the spec
    p: PlatformSpec
    python: str
    found: dict[str, Provided]
    job: PipJob


def solve_pip(specs: list[LockSpec], conda: list[dict[str, tuple[LockedConda, ...]]], fetcher: Fetcher,
              previous: dict[str, tuple[LockedWheel, ...]] | None = None, update: tuple[str, ...] = (),
              report: Callable[[str], None] | None = None, at_once: bool = True) -> list[PipSide]:
    """Each spec's pip side, in the specs' order; `conda`: each spec's solved conda packages by platform;
    `previous`: the pip files of the lock `--update` starts from, by platform."""
    cells, failure = _prepare(specs, conda, previous, update, report)
    results = compile_each([c.job for c in cells], fetcher.mirrors, fetcher.root / "uv", fetcher.offline,
                           fetcher.subprocess_env(), workers=(os.cpu_count() or 1) if at_once else 1)
    sides = [PipSide() for _ in specs]
    # one after another, compile_each stops after the first failure: fewer results than cells, the last a failure
    for cell, result in zip(cells, results, strict=False):
        if isinstance(result, EnvgenError):
            failed = _explained(result, cell) if isinstance(result, BadInput) else result
            failed.context.setdefault("lock", cell.index)  # which of the specs (`solve_many`)
            raise failed
        side = sides[cell.index]
        side.pip[cell.p.platform] = result
        side.pythons[cell.p.platform] = cell.python
        if cell.found:
            side.provided[cell.p.platform] = cell.found
    if failure is not None:
        raise failure
    return sides


def _prepare(specs: list[LockSpec], conda: list[dict[str, tuple[LockedConda, ...]]],
             previous: dict[str, tuple[LockedWheel, ...]] | None, update: tuple[str, ...],
             report: Callable[[str], None] | None) -> tuple[list[_Cell], EnvgenError | None]:
    """The cells in order, up to the first that cannot be resolved (and its error)."""
    cells: list[_Cell] = []
    for i, spec in enumerate(specs):
        for p in spec.platforms:
            if not p.pip:
                continue
            packages = conda[i].get(p.platform, ())
            try:
                python = p.pip.python or _conda_python(packages, p.platform)
                if report:
                    report(f"resolving {p.platform} (pip, Python {python})")
                found = provided(packages, dict(spec.renames)) if p.pip_in_conda else {}
                check_requirements(p.pip.requirements, found, p.platform)
            except EnvgenError as exc:
                exc.context.setdefault("lock", i)  # which of the specs (`solve_many`)
                return cells, exc
            cells.append(_Cell(i, p, python, found, _job(p, python, previous, update, found)))
    return cells, None


def _conda_python(packages: tuple[LockedConda, ...], platform: str) -> str:
    for x in packages:
        if x.name == "python":
            return ".".join(x.version.split(".")[:2])
    raise BadInput(f"the {platform} pip packages need a Python, and the conda side has none",
                   hint="add python to the environment's dependencies")


def _job(p: PlatformSpec, python: str, previous: dict[str, tuple[LockedWheel, ...]] | None,
         update: tuple[str, ...], found: dict[str, Provided]) -> PipJob:
    """uv's job for one platform; what the conda side provides stands in as installed and is left out."""
    assert p.pip is not None
    keep: tuple[str, ...] = ()
    if previous is not None and update:
        skip = {canonicalize_name(u) for u in update} | {canonicalize_name(n) for n in found}
        keep = tuple(f"{w.name}=={w.version}" for w in previous.get(p.platform, ())
                     if canonicalize_name(w.name) not in skip)
    glibc = next((v.version for v in (p.conda.virtual if p.conda else ()) if v.name == "__glibc"), "2.17")
    return PipJob(p.platform, python, p.pip.requirements, p.pip.index_url, p.pip.extra_index_urls,
                  p.pip.find_links, glibc, keep, tuple((f.pip_name, f.version) for f in found.values()),
                  p.exclude_newer)


def _explained(exc: BadInput, cell: _Cell) -> BadInput:
    """uv's refusal, with the side each pin came from."""
    assert cell.p.pip is not None
    sides = [f"pip section: {', '.join(cell.p.pip.requirements)}"]
    if cell.found:
        sides.append("installed by the conda side (taken as given): "
                     + ", ".join(f.describe() for _, f in sorted(cell.found.items())))
    if cell.job.keep:
        sides.append(f"held as locked (--update): {', '.join(cell.job.keep)}")
    return BadInput(exc.message + "\n" + "\n".join(f"  {line}" for line in sides), hint=exc.hint,
                    context=exc.context)
