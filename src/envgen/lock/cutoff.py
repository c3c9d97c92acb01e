"""`--exclude-newer`: solve as of a date, for both sides (a 2021 paper's unpinned `numpy scipy` lock to 2021's
releases, not today's).

`DATE` is an ISO date or an RFC 3339 time (UTC when no offset is given); `release` is the release date of the torch
being locked, from the matrix, and `release+90d` that date plus 90 days. The conda side filters records by their
timestamp (py-rattler's `exclude_newer`; records without a timestamp, as the oldest ones in the channels are, are
kept: dropping them would empty the very eras a cut-off is for); the pip side is uv's `--exclude-newer` (files are
judged by the index's upload time; a file without one is excluded by uv). The cut-off is part of the lock's inputs
(recorded, so `--check` and `--update` keep it).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from envgen.errors import BadInput

_RELEASE = re.compile(r"^release(?:\+(\d{1,4})d)?$")
_HINT = "write a date (2021-06-30), a time (2021-06-30T12:00:00Z), `release` or `release+90d`"


def is_relative(value: str) -> bool:
    return bool(_RELEASE.match(value.strip()))


def resolve(value: str, release_date: str | None = None) -> str:
    """The cut-off as `YYYY-MM-DDTHH:MM:SSZ` (UTC)."""
    text = value.strip()
    m = _RELEASE.match(text)
    if m:
        if release_date is None:
            raise BadInput("--exclude-newer release needs the torch release being locked",
                           hint="give --torch, name torch in the environment file, or write a date")
        when = _parse(release_date) + timedelta(days=int(m.group(1) or 0))
    else:
        when = _parse(text)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--exclude-newer {text!r} is not a date", hint=_HINT) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if len(text) == 10:  # a date: the whole day counts
        when += timedelta(days=1) - timedelta(seconds=1)
    return when.astimezone(timezone.utc)


def as_datetime(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
