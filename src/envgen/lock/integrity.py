"""Self-checking lockfiles: what a file holds is stated in the file, and a set is stated in every file of it.

After its header, each lockfile envgen writes carries two comment lines:

    # records: <count> sha256:<digest>
    # lock-set: sha256:<digest>

`records` is the count and digest of the package records the file holds, as its own reader sees them (for
pixi.lock, whose reader is rattler's, the digest covers the file's body). A file cut at a package boundary, a
record deleted or added, a changed md5 or sha256 and a swapped URL all change it. `lock-set` is the digest of
the `records` lines of every file written together, so files of two runs mixed in one folder (a kill between
two writes, two runs at once, a hand-copied file) are caught as well.

Every reader of a lock (`install`, `verify`, `migrate --to LOCK`, `lock --check`, `lock --update`) recomputes
the digest and refuses a file that does not match, saying what differs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from envgen.errors import BadInput

_RECORDS = re.compile(r"^# records: (\d+) sha256:([0-9a-f]{64})$")
_SET = re.compile(r"^# lock-set: sha256:([0-9a-f]{64})$")
REGENERATE = "re-create the lock with `envgen lock` (see the regenerate line at the top of the file)"


@dataclass(frozen=True, slots=True)
class Stamp:
    count: int
    digest: str

    def line(self) -> str:
        return f"# records: {self.count} sha256:{self.digest}"


def stamp_of(records: Iterable[Sequence[str]]) -> Stamp:
    """The count and digest of records (each a sequence of strings, in the file's order)."""
    lines = [json.dumps([str(x) for x in r], ensure_ascii=True) for r in records]
    return Stamp(len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())


def set_digest(stamps: dict[str, Stamp]) -> str:
    text = "\n".join(f"{name} {s.count} {s.digest}" for name, s in sorted(stamps.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _head_end(lines: list[str]) -> int:
    """Index of the first line after the leading comment block (the header)."""
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            return i
    return len(lines)


def insert(text: str, stamp: Stamp, lock_set: str) -> str:
    """`text` with the records and lock-set lines placed at the end of its header comment."""
    lines = text.split("\n")
    at = _head_end(lines)
    return "\n".join(lines[:at] + [stamp.line(), f"# lock-set: sha256:{lock_set}"] + lines[at:])


@dataclass(frozen=True, slots=True)
class Stated:
    """What a file's header says of it (None where a line is missing)."""

    records: Stamp | None
    lock_set: str | None


def stated(text: str) -> Stated:
    lines = text.split("\n")
    head = lines[: _head_end(lines)]
    records = lock_set = None
    for line in head:
        if m := _RECORDS.match(line):
            records = Stamp(int(m.group(1)), m.group(2))
        elif m := _SET.match(line):
            lock_set = m.group(1)
    return Stated(records, lock_set)


def body(text: str) -> str:
    """The text after the header (what the records of pixi.lock are a digest of)."""
    lines = text.split("\n")
    return "\n".join(lines[_head_end(lines):])


def verify(where: str, text: str, records: Sequence[Sequence[str]], names: Sequence[str] = (),
           explain: Callable[[], str | None] | None = None) -> Stamp:
    """Refuse (BadInput, exit 2) a file whose records do not match its stated count and digest; return them.

    `names` (one per record, in order) lets the message name where a file was cut; `explain` names the first
    package that differs (from another file of the set), when it can."""
    found = stamp_of(records)
    said = stated(text).records
    if said is None:
        raise BadInput(f"{where} does not state its records (no `# records:` line): it was not written by this "
                       "envgen, or its header was edited", hint=REGENERATE)
    if said.count != found.count:
        cut = f"; it ends after {names[-1]}" if names and found.count < said.count else ""
        raise BadInput(f"{where} holds {found.count} package records, its header says {said.count}: the file "
                       f"was cut or edited{cut}", hint=REGENERATE)
    if said.digest != found.digest:
        first = explain() if explain is not None else None
        raise BadInput(f"{where}: a package record (a name, version, URL or hash) differs from what was written "
                       "(the records digest does not match)" + (f"; first difference: {first}" if first else ""),
                       hint=REGENERATE)
    return found


def verify_set(texts: dict[str, str]) -> list[str]:
    """Problems with a set of files that should have been written together (empty: one set)."""
    stamps: dict[str, Stamp] = {}
    sets: dict[str, str | None] = {}
    for name, text in texts.items():
        s = stated(text)
        if s.records is not None:
            stamps[name] = s.records
        sets[name] = s.lock_set
    want = set_digest(stamps)
    return [f"{name}: not written together with the other files of this lock (a run was interrupted between "
            "files, two runs overlapped, or a file was copied in)"
            for name, got in sorted(sets.items()) if got != want]
