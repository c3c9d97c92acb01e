"""The environment people have: conda/pip listings (or the running interpreter's prefix) -> a `Snapshot`.

Formats, detected by content (`fmt=` forces one): `conda-list` (the text table with its channel column, and
`conda list --export`), `conda-json` (`conda list --json`), `conda-explicit` (`conda list --explicit`, the
channel taken from each URL), `conda-env` (`conda env export` YAML), `pip-freeze`, `pip-json`
(`pip list --format=json`). Every package keeps where it came from: its conda channel (mirror URLs mapped
back to the channel they mirror, see `matrices/migrate.yaml`) or pip with its local version tag (`+cu102`).
Names, versions and build strings are checked against conda's and pip's grammar here, so nothing else
reaches a script: an invalid one is refused with the line it was on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from envgen.errors import BadInput
from envgen.fileio import parse_json, read_text
from envgen.matrix.migrate import MigrateData
from envgen.migrate.listings import PARSERS
from envgen.migrate.packages import Package, Snapshot

FORMATS: tuple[str, ...] = ("conda-json", "pip-json", "conda-explicit", "conda-env", "conda-list", "pip-freeze")
# --- detection and reading ---------------------------------------------------------------------------
def detect(text: str, origin: str = "input") -> str | None:
    """The format of a listing by its content, or None. JSON that breaks the readers' limits is bad input."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        data = parse_json(stripped, origin, hint="paste `conda list --json` or `pip list --format=json` output")
        records = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
        if records:  # the records decide; the parser then names any entry that is not one
            if any({"build_string", "channel", "dist_name", "base_url"} & set(d) for d in records):
                return "conda-json"
            if all({"name", "version"} <= set(d) for d in records):
                return "pip-json"
        return None
    lines = [ln.strip() for ln in stripped.splitlines()]
    if "@EXPLICIT" in lines:
        return "conda-explicit"
    if any(re.match(r"^dependencies\s*:", ln) for ln in stripped.splitlines()):
        return "conda-env"
    if any(ln.startswith(("# packages in environment at", "# Name")) for ln in lines):
        return "conda-list"
    body = [ln for ln in lines if ln and not ln.startswith(("#", "-"))]
    freeze = sum(1 for ln in body if _FREEZE_LOOSE.match(ln))
    conda = sum(1 for ln in body if _CONDA_ROW.match(ln))
    if not body or not (freeze or conda):
        return None
    # the most lines decide; the strict parser then names any line that does not fit
    return "pip-freeze" if freeze >= conda else "conda-list"


def parse(text: str, data: MigrateData, fmt: str | None = None, origin: str = "input") -> Snapshot:
    """One listing -> a Snapshot. `origin` names the input in messages."""
    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}", hint="use one of: " + ", ".join(FORMATS))
    found = fmt or detect(text, origin)
    if found is None:
        raise BadInput(f"{origin}: not a package listing envgen can read",
                       hint="tried: " + ", ".join(FORMATS) + "; pass --format to force one")
    snap = PARSERS[found](text, data, origin)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return replace(snap, formats=(found,), digest=digest)


def read(paths: Sequence[str | Path], data: MigrateData, fmt: str | None = None) -> Snapshot:
    """Read and merge several listings (`--from a --from b`)."""
    snaps = []
    for path in paths:
        text = read_text(path, hint="check the path")  # size-capped, strict UTF-8 (or UTF-16 with its BOM)
        snaps.append(parse(text, data, fmt, str(path)))
    return merge(snaps)


def merge(snaps: Iterable[Snapshot]) -> Snapshot:
    """Conda packages from the conda listings; pip packages from pip listings over pip rows of conda ones."""
    snaps = list(snaps)
    if not snaps:
        raise BadInput("no input", hint="pass --from FILE (repeatable) or --current")
    conda: dict[str, Package] = {}
    pip_seen: dict[str, Package] = {}
    pip_direct: dict[str, Package] = {}
    for snap in snaps:
        direct = any(f.startswith("pip-") for f in snap.formats)
        for pkg in snap.packages:
            if pkg.installer == "conda":
                conda[pkg.name] = pkg
            else:
                (pip_direct if direct else pip_seen)[pkg.name] = pkg
    pip = dict(pip_seen, **pip_direct)
    for name, pkg in list(pip.items()):
        if pkg.url and pkg.url.startswith("file:") and name in conda:
            del pip[name]  # `pip freeze` in a conda env lists conda's own packages as `name @ file://`

    def first(attr: str) -> str | None:  # the first listing that names the platform / name / prefix
        found: str | None = next((getattr(s, attr) for s in snaps if getattr(s, attr)), None)
        return found

    return Snapshot(
        packages=tuple(sorted(conda.values(), key=lambda p: p.name))
        + tuple(sorted(pip.values(), key=lambda p: p.name)),
        platform=first("platform"), name=first("name"), prefix=first("prefix"),
        channels=tuple(dict.fromkeys(c for s in snaps for c in s.channels)),
        formats=tuple(f for s in snaps for f in s.formats),
        digest=hashlib.sha256("".join(s.digest for s in snaps).encode()).hexdigest(),
        notes=tuple(n for s in snaps for n in s.notes))


_FREEZE_LOOSE = re.compile(r"^\S+?\s*(?:===?|\s@\s)\s*\S")
_CONDA_ROW = re.compile(r"^(?:\S+\s+\d\S*(?:\s+\S+){0,4}|[^=\s]+=[^=\s]+=[^=\s]+)$")
