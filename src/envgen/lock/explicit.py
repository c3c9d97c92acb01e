"""conda's explicit lock files (`conda-<platform>.lock`): `@EXPLICIT` and one `url#md5` per package,
dependencies first, so `conda create --file` (and `conda-lock install`) link them in order."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from envgen.errors import BadInput
from envgen.lock.records import LockedConda

_LINE = re.compile(r"^(?P<url>[a-z][a-z0-9+.-]*://\S+?\.(?:conda|tar\.bz2))#(?P<md5>[0-9a-f]{32})$")


def render(header: str, platform: str, ordered: tuple[LockedConda, ...]) -> str:
    lines = [header.rstrip("\n"), f"# platform: {platform}", "@EXPLICIT"]
    lines += [f"{p.url}#{p.md5}" for p in ordered]
    return "\n".join(lines) + "\n"


def parse(path: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(platform, ((url, md5), ...)) of an explicit file; BadInput names the bad line."""
    from envgen.fileio import read_text

    return parse_text(read_text(path, hint="check the lockfile path"), str(path))


@functools.lru_cache(maxsize=16)  # pure; a folder is checked, then one of its files loaded
def parse_text(text: str, path: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    platform, seen, out = "", False, []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("# platform:"):
            platform = line.split(":", 1)[1].strip()
        if not line or line.startswith("#"):
            continue
        if line == "@EXPLICIT":
            seen = True
            continue
        m = _LINE.match(line)
        if not seen or not m:
            raise BadInput(f"{path}:{number}: not an explicit-lock line: {line[:80]!r}",
                           hint="expected `@EXPLICIT` then `URL#MD5` lines; re-create it with `envgen lock`")
        out.append((m.group("url"), m.group("md5")))
    if not seen:
        raise BadInput(f"{path} has no @EXPLICIT line", hint="this is not an explicit conda lock file")
    return platform, tuple(out)


def records(pairs: tuple[tuple[str, str], ...]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The package records of an explicit file in order (what its integrity digest covers), and their names."""
    return [(url, md5) for url, md5 in pairs], [url.rsplit("/", 1)[-1] for url, _ in pairs]
