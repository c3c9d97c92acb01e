"""The lock engine: LockSpec -> solved packages -> every lockfile's text, written atomically, or checked.

`solve_all` fetches repodata (through the mirrors and the cache), solves each platform with py-rattler and the
pip side with uv; `render_all` turns the result into file texts, each stating its records and the set it belongs
to (`envgen.lock.integrity`; nothing touches the disk until every platform has solved); `write_all` writes the
set as a unit (staged beside the target, then swapped in under a lock on the folder); `check` compares a
committed lock's input hash and checks every file's records without solving.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from envgen.errors import BadInput, EnvgenError
from envgen.fileio import header, one_line
from envgen.lock import conda as solver
from envgen.lock import condalock, explicit, gateway, integrity, pylock, read, unit
from envgen.lock.conda import CondaSolve
from envgen.lock.condalock import CondaLock
from envgen.lock.fetch import Fetcher
from envgen.lock.pipcells import solve_pip
from envgen.lock.provided import Provided
from envgen.lock.read import CONDA_LOCK, PIXI_LOCK, RECIPE
from envgen.lock.records import LockedConda, LockedWheel
from envgen.lock.spec import LockSpec, PlatformSpec, input_hash, platform_hash
from envgen.redact import redact, strip_credentials

_HASH_LINE = re.compile(r"input-hash: sha256:([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Locked:
    spec: LockSpec
    conda: dict[str, tuple[LockedConda, ...]] = field(default_factory=dict)
    pip: dict[str, tuple[LockedWheel, ...]] = field(default_factory=dict)
    pythons: dict[str, str] = field(default_factory=dict)  # platform -> Python the pip side was locked for
    # platform -> PyPI name -> the conda package that satisfies it for the pip section (`envgen.lock.provided`)
    provided: dict[str, dict[str, Provided]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Previous:
    """An existing lock, for --update."""

    conda: dict[str, tuple[LockedConda, ...]]
    pip: dict[str, tuple[LockedWheel, ...]]


def explicit_name(platform: str) -> str:
    return f"conda-{platform}.lock"


def requirements_name(platform: str) -> str:
    return f"requirements-{platform}.txt"


def pylock_name(platform: str) -> str:
    return f"pylock.{platform}.toml"


def expected_files(spec: LockSpec) -> list[str]:
    names = []
    if spec.has_conda:
        names += [CONDA_LOCK, PIXI_LOCK] + [explicit_name(p.platform) for p in spec.platforms if p.conda]
    names += [n for p in spec.platforms if p.pip for n in (requirements_name(p.platform), pylock_name(p.platform))]
    return sorted(names)


# -- solving ------------------------------------------------------------------------------------------------

def solve_all(spec: LockSpec, fetcher: Fetcher, previous: Previous | None = None,
              update: tuple[str, ...] = (), timeout_s: float = 120.0,
              report: Callable[[str], None] | None = None) -> Locked:
    """Every platform of `spec`: the conda solves at once (`solve_many`), then the pip side's at once."""
    return solve_many([spec], fetcher, previous, update, timeout_s, report)[0]


def solve_many(specs: list[LockSpec], fetcher: Fetcher, previous: Previous | None = None,
               update: tuple[str, ...] = (), timeout_s: float = 120.0,
               report: Callable[[str], None] | None = None, at_once: bool = True) -> list[Locked]:
    """Several locks (a CI matrix: torch versions x platforms) in one go. Every conda cell is solved at once through
    one gateway (each subdir fetched once for all; `at_once=False`: one after another, for comparison); the
    results, and so the files, are those of solving each cell alone, in order (`tests/test_lock_many.py`). Then every
    pip cell of every spec is resolved at once (`envgen.lock.pipcells`; `at_once=False`: one after another)."""
    cells = [(i, spec, p) for i, spec in enumerate(specs) for p in spec.platforms if p.conda]
    if report:
        for _, _, p in cells:
            report(f"solving {p.platform} (conda)")
    conda = _solve_conda_cells(cells, fetcher, previous, update, timeout_s, at_once, report)
    by_spec = [{p.platform: conda[(i, p.platform)] for p in spec.platforms if p.conda} for i, spec in enumerate(specs)]
    pip = solve_pip(specs, by_spec, fetcher, previous.pip if previous else None, update, report, at_once)
    return [Locked(spec, by_spec[i], side.pip, side.pythons, side.provided) for i, (spec, side) in
            enumerate(zip(specs, pip, strict=True))]


def _solve_conda_cells(cells: list[tuple[int, LockSpec, PlatformSpec]], fetcher: Fetcher, previous: Previous | None,
                       update: tuple[str, ...], timeout_s: float, at_once: bool = True,
                       report: Callable[[str], None] | None = None) -> dict[tuple[int, str], tuple[LockedConda, ...]]:
    """(index of the spec, platform) -> packages, solved all at once through rattler's gateway (`report`: what it
    fetches, per channel); where the gateway cannot fetch, envgen's own fetcher (whose own `report` shows the
    downloads) puts whole repodata.json files on disk, cell after cell, and the same gateway solves them from there
    (`gateway.local_sources`). A failure raises for the first failing cell in order, explained as for that cell
    alone."""
    jobs = [_job(p, previous, update, timeout_s) for _, _, p in cells]
    sources = _sources(fetcher, [spec for _, spec, _ in cells])
    out: dict[tuple[int, str], tuple[LockedConda, ...]] = {}
    results: list[tuple[LockedConda, ...] | EnvgenError] = []
    if sources is not None:
        results = _solve_through(jobs, sources, at_once, report)
    else:  # whole files through envgen's fetcher, in the cells' order, then solved as the gateway's are
        files: dict[tuple[str, str], Path] = {}
        failure, reached = None, len(cells)
        for n, (_, _, p) in enumerate(cells):
            try:
                files.update(_repodata_files(p, fetcher))
            except EnvgenError as exc:  # a failure of an earlier cell's solve still comes first
                failure, reached = exc, n
                break
        if reached:
            with tempfile.TemporaryDirectory(prefix="solve-", dir=_made(fetcher.root),
                                             ignore_cleanup_errors=True) as tmp:
                results = _solve_through(jobs[:reached], gateway.local_sources(files, Path(tmp)), at_once)
        if failure is not None:
            results.append(failure)
    for (i, spec, p), result in zip(cells, results, strict=False):
        try:
            if isinstance(result, EnvgenError):
                raise result
            out[(i, p.platform)] = result
        except EnvgenError as exc:
            failed = _why(exc, spec, p) if isinstance(exc, BadInput) else exc
            failed.context.setdefault("lock", i)  # which of the specs: the caller names it
            raise failed from None
    return out


def _solve_through(jobs: list[tuple[CondaSolve, tuple[LockedConda, ...]]], sources: gateway.Sources, at_once: bool,
                   report: Callable[[str], None] | None = None) -> list[tuple[LockedConda, ...] | EnvgenError]:
    if at_once:
        return list(gateway.solve_gateway_each(jobs, sources, report))
    return [gateway.solve_gateway_each([job], sources, report)[0] for job in jobs]


def _made(folder: Path) -> Path | None:
    """The cache folder, where links to its files can be hard links; None (the system's temporary folder) when it
    cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _job(p: PlatformSpec, previous: Previous | None, update: tuple[str, ...],
         timeout_s: float) -> tuple[CondaSolve, tuple[LockedConda, ...]]:
    assert p.conda is not None
    locked: tuple[LockedConda, ...] = ()
    if previous is not None:
        locked = tuple(x for x in previous.conda.get(p.platform, ()) if x.name not in update)
    return (CondaSolve(p.platform, p.conda.specs, p.conda.channels, p.conda.priority, p.conda.virtual, timeout_s,
                       p.exclude_newer), locked)


def _why(exc: BadInput, spec: LockSpec, p: PlatformSpec) -> BadInput:
    if "solver" not in (exc.context or {}):  # an invalid spec, not a conflict: channel advice would mislead
        return exc
    return _explain(exc, spec, p)


def _sources(fetcher: Fetcher, specs: list[LockSpec]) -> gateway.Sources | None:
    """rattler's gateway (`.zst`, CEP-16 shards, HTTP revalidation) through envgen's mirrors and cache folder.
    None (envgen's own fetcher of whole repodata.json files) where the run has what only that fetcher applies:
    .condarc proxy or TLS settings, or credentials in a channel's download URL (the gateway would write them into
    its cache files)."""
    routes = {fetcher.mirrors.apply(c) for spec in specs for p in spec.platforms if p.conda for c in p.conda.channels}
    if not fetcher.gateway or fetcher.proxies or fetcher.verify is not True \
            or any(strip_credentials(r) != r for r in routes):
        return None
    return gateway.gateway_sources(fetcher.root / "gateway", fetcher.mirrors.apply, fetcher.mirrors.unapply,
                                   fetcher.offline)


def _repodata_files(p: PlatformSpec, fetcher: Fetcher) -> dict[tuple[str, str], Path]:
    """Whole repodata.json files through envgen's own fetcher (the path with .condarc proxy and TLS settings)."""
    assert p.conda is not None
    repodata = {}
    for url in p.conda.channels:
        for sub in (p.platform, "noarch"):
            path = fetcher.repodata(url, sub)
            if path is not None:
                repodata[(url, sub)] = path
    return repodata


def _explain(exc: BadInput, spec: LockSpec, p: PlatformSpec) -> BadInput:
    """Add the matrix's reasons for the packages the solver names, and the channel-priority advice."""
    text = exc.message
    why = [reason for name, reason in spec.reasons if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    message = text + ("".join(f"\n  the matrix says: {w}" for w in why) if why else "")
    assert p.conda is not None
    origins = dict(spec.origins)
    by_side: dict[str, list[str]] = {}
    for item in p.conda.specs:
        by_side.setdefault(origins.get(item, "the request"), []).append(item.rpartition("::")[2])
    message += "".join(f"\n  asked by {side}: {', '.join(items)}" for side, items in by_side.items())
    order = ", ".join(p.conda.channels)
    hint = (f"channels, in priority order ({p.conda.priority}): {order}. "
            "A package found in an earlier channel hides every later channel's builds under strict priority; "
            "try --channel-priority flexible (or disabled), other --virtual packages, or looser pins")
    return BadInput(message, hint=hint, context=exc.context)


# -- rendering ----------------------------------------------------------------------------------------------

def render_all(locked: Locked, recipe: str | None = None) -> dict[str, str]:
    """Every lockfile's text; `recipe` (the body of lock-inputs.yml, `envgen.lock.recipe.render`) joins the set."""
    spec = locked.spec
    digest = input_hash(spec)
    head = header("#", input_hash=digest, command=redact(spec.command))
    files: dict[str, str] = {}
    known: dict[str, list[tuple[str, ...]]] = {}
    if spec.has_conda:
        files.update(_render_conda(locked, head))
        known[CONDA_LOCK] = _conda_lock_records(locked)
    for p in spec.platforms:
        if p.pip:
            wheels = locked.pip[p.platform]
            pip_head = head + _provided_lines(locked.provided.get(p.platform, {})) + "".join(
                ["# not locked (no hash can pin them; install them after this environment):\n"] * bool(p.pip.unlocked)
                + [f"#   {one_line(r)}\n" for r in p.pip.unlocked])
            files[requirements_name(p.platform)] = pylock.render_requirements(
                pip_head, wheels, p.pip.index_url, p.pip.extra_index_urls, p.pip.find_links)
            files[pylock_name(p.platform)] = pylock.render_pylock(pip_head, p.platform, locked.pythons[p.platform],
                                                                  wheels)
    if recipe is not None:
        files[RECIPE] = head + recipe
    return stamp(dict(sorted(files.items())), known)


def _provided_lines(found: dict[str, Provided]) -> str:
    """The header lines saying which requirements the conda side satisfies (pip installs none of them)."""
    if not found:
        return ""
    return "# satisfied by the conda packages of this environment (pip installs none of them):\n" + "".join(
        f"#   {f.describe()}\n" for _, f in sorted(found.items()))


def stamp(files: dict[str, str], known: dict[str, list[tuple[str, ...]]] | None = None) -> dict[str, str]:
    """Each file with its records line and the lock-set line of all of them. The records are what the file's
    own reader finds in it: read back from the text, or, for conda-lock.yml (a YAML parse of a large lock takes
    seconds), taken in the reader's order from the records it was rendered from (`known`)."""
    stamps = {}
    for name, text in files.items():
        records = (known or {}).get(name)
        if records is None:
            records, _ = read.records_of(name, text, name)
        stamps[name] = integrity.stamp_of(records)
    lock_set = integrity.set_digest(stamps)
    return {name: integrity.insert(text, stamps[name], lock_set) for name, text in files.items()}


def _conda_lock_records(locked: Locked) -> list[tuple[str, ...]]:
    """The records `condalock.records` reads back from the conda-lock.yml `_render_conda` writes (same order)."""
    spec = locked.spec
    plats = tuple(p.platform for p in spec.platforms if p.conda)
    in_conda = {p.platform: locked.pip.get(p.platform, ()) for p in spec.platforms if p.pip_in_conda}
    as_read = CondaLock(plats, {}, (), {p: tuple(sorted(locked.conda.get(p, ()), key=lambda x: x.name)) for p in plats},
                        {p: tuple(sorted(in_conda.get(p, ()), key=lambda x: x.name)) for p in plats})
    return condalock.records(as_read)[0]


def _render_conda(locked: Locked, head: str) -> dict[str, str]:
    spec = locked.spec
    plats = tuple(p.platform for p in spec.platforms if p.conda)
    channels = tuple(dict.fromkeys(c for p in spec.platforms if p.conda for c in p.conda.channels))
    in_conda = {p.platform: locked.pip.get(p.platform, ()) for p in spec.platforms if p.pip_in_conda}
    files = {CONDA_LOCK: condalock.render(head, plats, channels,
                                          {p.platform: platform_hash(p) for p in spec.platforms if p.conda},
                                          ("envgen",), locked.conda, in_conda)}
    for plat in plats:
        files[explicit_name(plat)] = explicit.render(head, plat, solver.topological(locked.conda[plat]))
    pypi = {plat: tuple((w.name, w.version, w.url) for w in wheels) for plat, wheels in in_conda.items()}
    files[PIXI_LOCK] = head + solver.write_pixi(Path(PIXI_LOCK), {p: locked.conda[p] for p in plats}, pypi, channels)
    return files


def write_all(files: dict[str, str], outdir: Path) -> list[Path]:
    """Write the set as a unit: staged beside the target, then swapped in (see `envgen.lock.unit`)."""
    return unit.write_set(files, outdir)


# -- checking and reading -------------------------------------------------------------------------------------

def file_hash(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8") as handle:
            head = "".join(handle.readline() for _ in range(6))
    except OSError:
        return None
    m = _HASH_LINE.search(head)
    return m.group(1) if m else None


def check(spec: LockSpec, outdir: Path) -> list[str]:
    """Why the lock in outdir does not match spec, or is not what was written (empty: up to date and intact).
    Does not solve."""
    want = input_hash(spec)
    names = expected_files(spec)
    problems = []
    for name in names:
        found = file_hash(outdir / name)
        if found is None:
            problems.append(f"{name}: missing" if not (outdir / name).exists() else f"{name}: no envgen header")
        elif found != want:
            problems.append(f"{name}: made from other inputs (input hash {found[:12]}, now {want[:12]})")
    return problems + read.check_folder(outdir, names) if outdir.is_dir() else problems


def read_previous(outdir: Path) -> Previous | None:
    """The lock --update starts from; one that fails its check is refused (exit 2), never carried forward."""
    problems = read.check_folder(outdir) if outdir.is_dir() else []
    if problems:
        raise BadInput(f"--update starts from the lock in {outdir}, and it fails its check:\n  "
                       + "\n  ".join(problems),
                       hint="re-create it without --update (`envgen lock` with the same flags)")
    path = outdir / CONDA_LOCK
    conda: dict[str, tuple[LockedConda, ...]] = {}
    pip: dict[str, tuple[LockedWheel, ...]] = {}
    if path.exists():
        lock: CondaLock = read.read_conda_lock(path)
        conda = _full_records(dict(lock.conda), outdir / PIXI_LOCK)
        pip = {k: v for k, v in lock.pip.items() if v}
    for file in sorted(outdir.glob("pylock.*.toml")):
        plat = file.name[len("pylock."):-len(".toml")]
        pip.setdefault(plat, read.read_pylock(file, plat))
    if not conda and not pip:
        return None
    return Previous(conda, pip)


def _full_records(conda: dict[str, tuple[LockedConda, ...]], pixi: Path) -> dict[str, tuple[LockedConda, ...]]:
    """conda-lock.yml drops build numbers, sizes, constraints and virtual-package dependencies; pixi.lock keeps
    them. Kept packages come back from the solver as given, so --update takes them from pixi.lock where it has
    the same file (otherwise an update that changes nothing would still rewrite pixi.lock with less)."""
    if not pixi.is_file():
        return conda
    try:
        full = {p.url: p for pkgs in solver.read_pixi(pixi).values() for p in pkgs}
    except BadInput:
        return conda
    return {plat: tuple(full.get(p.url, p) for p in pkgs) for plat, pkgs in conda.items()}
