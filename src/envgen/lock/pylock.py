"""pip lock outputs: `pylock.<platform>.toml` (PEP 751) and `requirements-<platform>.txt` with `--hash` lines.

Both are rendered from the same locked files; the pylock is validated with `packaging.pylock` before it is
written, and read back with it for installs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from envgen.compat import tomllib
from envgen.errors import BadInput
from envgen.lock.records import SHA256, LockedWheel
from envgen.models import MARKERS

if TYPE_CHECKING:  # packaging.pylock is imported only when a pylock is validated
    from packaging.pylock import PackageSdist, PackageWheel, Pylock



def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def render_pylock(header: str, platform: str, python: str, wheels: tuple[LockedWheel, ...]) -> str:
    lines = [header.rstrip("\n"), 'lock-version = "1.0"', 'created-by = "envgen"',
             f"requires-python = {_q(f'=={python}.*')}"]
    if platform in MARKERS:
        lines.append(f"environments = [{_q(MARKERS[platform])}]")
    if not wheels:  # every requirement is met by the conda side: an empty list, which PEP 751 requires
        lines.append("packages = []")
    for w in sorted(wheels, key=lambda x: x.name):
        lines += ["", "[[packages]]", f"name = {_q(w.name)}", f"version = {_q(w.version)}"]
        file = f"{{ url = {_q(w.url)}, hashes = {{ sha256 = {_q(w.sha256)} }} }}"
        if w.url.endswith(".whl"):
            lines.append(f"wheels = [{file}]")
        else:
            lines.append(f"sdist = {file}")
    text = "\n".join(lines) + "\n"
    validate(text, f"pylock.{platform}.toml")
    return text


def validate(text: str, where: str) -> Pylock:
    """Parse and validate with packaging.pylock; BadInput says what is wrong."""
    from packaging.pylock import Pylock, PylockValidationError

    try:
        lock = Pylock.from_dict(tomllib.loads(text))
        lock.validate()
    except (tomllib.TOMLDecodeError, PylockValidationError) as exc:
        raise BadInput(f"{where} is not a valid PEP 751 lock: {exc}",
                       hint="re-create it with `envgen lock`") from None
    return lock


def read_pylock(path: Path, platform: str) -> tuple[LockedWheel, ...]:
    from envgen.fileio import read_text

    return read_pylock_text(read_text(path, hint="check the lockfile path"), str(path), platform)


def read_pylock_text(text: str, path: str, platform: str) -> tuple[LockedWheel, ...]:
    lock = validate(text, path)
    out = []
    for pkg in lock.packages:
        files: list[PackageWheel | PackageSdist] = list(pkg.wheels or ()) or ([pkg.sdist] if pkg.sdist else [])
        if not files or not files[0].url:
            raise BadInput(f"{path}: package {pkg.name} has no file URL", hint="re-create it with `envgen lock`")
        sha = files[0].hashes.get("sha256", "")
        if not SHA256.fullmatch(sha):
            raise BadInput(f"{path}: package {pkg.name} carries no sha256 (a pip package is never installed "
                           "unchecked)", hint="re-create it with `envgen lock`")
        out.append(LockedWheel(str(pkg.name), str(pkg.version), files[0].url, sha, platform))
    return tuple(out)


def wheel_records(wheels: tuple[LockedWheel, ...]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The package records of a pylock or requirements file (what its integrity digest covers), and names."""
    return [(w.name, w.version, w.sha256) for w in wheels], [w.name for w in wheels]


_REQ = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)\s*\\?$")
_HASH = re.compile(r"^--hash=sha256:(?P<sha>[0-9a-f]{64})$")


def read_requirements_text(text: str, path: str, platform: str) -> tuple[LockedWheel, ...]:
    """The pinned, hashed lines of a requirements file envgen wrote (`name==version \\` + `--hash=sha256:`)."""
    out: list[LockedWheel] = []
    pending: tuple[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "--index-url", "--extra-index-url", "--find-links")):
            continue
        if (m := _HASH.match(line)) and pending is not None:
            out.append(LockedWheel(pending[0], pending[1], "", m.group("sha"), platform))
            pending = None
        elif (m := _REQ.match(line)) and pending is None:
            pending = (m.group("name"), m.group("version"))
        else:
            raise BadInput(f"{path}:{number}: not a hashed requirement line: {line[:80]!r}",
                           hint="envgen writes `name==version \\` followed by `--hash=sha256:...`; re-create it with "
                                "`envgen lock`")
    if pending is not None:
        raise BadInput(f"{path}: {pending[0]}=={pending[1]} has no --hash line", hint="re-create it with `envgen lock`")
    return tuple(out)


def render_requirements(header: str, wheels: tuple[LockedWheel, ...], index_url: str | None,
                        extra_index_urls: tuple[str, ...], find_links: tuple[str, ...]) -> str:
    lines = [header.rstrip("\n")]
    if index_url:
        lines.append(f"--index-url {index_url}")
    lines += [f"--extra-index-url {u}" for u in extra_index_urls]
    lines += [f"--find-links {u}" for u in find_links]
    for w in sorted(wheels, key=lambda x: x.name):
        lines += [f"{w.name}=={w.version} \\", f"    --hash=sha256:{w.sha256}"]
    return "\n".join(lines) + "\n"
