"""Write tests/data/pypi_snapshot.json: what PyPI publishes for torch and its companions.

The tests in tests/test_pypi_snapshot.py hold matrices/torch.yaml against this file (offline). Refresh it
after a PyTorch release, or when PyPI yanks a version:

    nox -s pypi-snapshot                      # or: python scripts/pypi_snapshot.py [--out PATH]

then run `python -m pytest tests/test_pypi_snapshot.py` and fix the matrix rows it names.

Per project and version the file records: the wheels' tags (PEP 425 triples `python-abi-platform`, compressed
tag sets expanded), whether an sdist exists, whether the version is yanked and why, the date of its earliest
upload, and for the companions (torchvision, torchaudio, torchtext) the `torch` requirements of the
version's metadata. No URLs, no file names, no timestamps of the run: the same PyPI state gives the same bytes.

Where the requirements come from, in order: `info.requires_dist` of the per-version JSON
(https://pypi.org/pypi/<name>/<version>/json); the PEP 658 metadata file of one wheel; else the METADATA
member of the version's smallest wheel, read with HTTP range requests (the zip's directory and that one
member, a few kilobytes). torch wheels are never read: torch's own requirements are not recorded.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

API = "https://pypi.org/pypi"
PROJECTS = ("torch", "torchvision", "torchaudio", "torchtext")
COMPANIONS = ("torchvision", "torchaudio", "torchtext")
FORMAT = 1
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "pypi_snapshot.json"
MAX_JSON = 64 * 1024 * 1024  # the project JSON of torch is a few MB
MAX_METADATA = 1024 * 1024
TIMEOUT = 60
USER_AGENT = "envgen-pypi-snapshot (+scripts/pypi_snapshot.py)"

Json = dict[str, Any]


# --- derivation: pure functions of PyPI's JSON (tested offline against tests/data/pypi_sample.json) ---

def wheel_tags(filename: str) -> list[str]:
    """The PEP 425 tags a wheel file name declares (`py2.py3-none-any` -> two tags)."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        parts = filename[: -len(".whl")].split("-")
        if len(parts) < 5:
            return []
        return [f"{parts[-3]}-{parts[-2]}-{parts[-1]}"]
    return sorted(str(tag) for tag in tags)


def torch_requirements(requires_dist: list[str] | None) -> list[str] | None:
    """The `torch` requirements of a metadata's Requires-Dist (markers kept); None where unknown."""
    if requires_dist is None:
        return None
    out = []
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == "torch":
            out.append(str(req))
    return sorted(out)


def metadata_requires(text: str) -> list[str]:
    """Requires-Dist lines of a METADATA file (RFC 822 headers)."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    return [str(v) for v in headers.get_all("Requires-Dist") or []]


def summarize_version(files: list[Json], torch_requires: list[str] | None, companion: bool) -> Json:
    """One version's entry: tags, sdist, yank and reason, the earliest upload date (YYYY-MM-DD)."""
    tags: set[str] = set()
    sdist = False
    dates = []
    for f in files:
        kind = f.get("packagetype")
        if kind == "bdist_wheel" and str(f.get("filename", "")).endswith(".whl"):
            tags.update(wheel_tags(str(f["filename"])))
        elif kind == "sdist":
            sdist = True
        stamp = f.get("upload_time_iso_8601") or f.get("upload_time")
        if stamp:
            dates.append(str(stamp)[:10])
    yanked = bool(files) and all(f.get("yanked") for f in files)
    reasons = sorted({str(f.get("yanked_reason") or "") for f in files if f.get("yanked")} - {""})
    entry: Json = {
        "date": min(dates) if dates else None,
        "sdist": sdist,
        "tags": sorted(tags),
        "yanked": yanked,
        "yank_reason": "; ".join(reasons) if yanked and reasons else None,
    }
    if companion:
        entry["torch"] = torch_requires
    return entry


def metadata_source(files: list[Json]) -> Json | None:
    """The wheel whose metadata to read: one with PEP 658 metadata, else the smallest wheel."""
    wheels = [f for f in files if f.get("packagetype") == "bdist_wheel" and f.get("url")]
    if not wheels:
        return None
    with_pep658 = [f for f in wheels if f.get("core-metadata") or f.get("data-dist-info-metadata")]
    return min(with_pep658 or wheels, key=lambda f: (int(f.get("size") or 0), str(f.get("filename"))))


def render(projects: dict[str, Json]) -> str:
    """The snapshot file's text: sorted keys, one value per line, a trailing newline."""
    doc = {
        "format": FORMAT,
        "generator": "scripts/pypi_snapshot.py",
        "regenerate": "nox -s pypi-snapshot",
        "projects": projects,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


# --- the network edge ---

def _get(url: str, limit: int, headers: dict[str, str] | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        data: bytes = resp.read(limit + 1)
    if len(data) > limit:
        raise RuntimeError(f"{url}: more than {limit} bytes")
    return data


def fetch_json(url: str) -> Json | None:
    """The JSON at url; None on 404."""
    try:
        data = json.loads(_get(url, MAX_JSON))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    if not isinstance(data, dict):
        raise RuntimeError(f"{url}: not a JSON object")
    return data


class RangeReader(io.RawIOBase):
    """A remote file read through HTTP range requests, so zipfile reads only the directory and one member."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.pos, self.fetched = url, size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        self.fetched += end - self.pos
        if self.fetched > 8 * MAX_METADATA:
            raise RuntimeError(f"{self.url}: reading its metadata needs more than {8 * MAX_METADATA} bytes")
        data = _get(self.url, end - self.pos, {"Range": f"bytes={self.pos}-{end - 1}"})
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def wheel_metadata(url: str, size: int) -> str:
    with zipfile.ZipFile(io.BufferedReader(RangeReader(url, size), buffer_size=64 * 1024)) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise RuntimeError(f"{url}: {len(names)} METADATA files")
        if zf.getinfo(names[0]).file_size > MAX_METADATA:
            raise RuntimeError(f"{url}: METADATA over {MAX_METADATA} bytes")
        return zf.read(names[0]).decode("utf-8")


def requires_of(name: str, version: str, files: list[Json], base: str) -> list[str] | None:
    per_version = fetch_json(f"{API}/{name}/{version}/json")
    if per_version is not None:
        requires = per_version.get("info", {}).get("requires_dist")
        if requires is not None:
            return [str(r) for r in requires]
    wheel = metadata_source(files)
    if wheel is None:
        return None
    url = urllib.parse.urljoin(base, str(wheel["url"]))
    if wheel.get("core-metadata") or wheel.get("data-dist-info-metadata"):
        try:
            return metadata_requires(_get(url + ".metadata", MAX_METADATA).decode("utf-8"))
        except urllib.error.HTTPError as exc:  # announced but not served: read the wheel's own copy
            if exc.code != 404:
                raise
    return metadata_requires(wheel_metadata(url, int(wheel["size"])))


def snapshot(names: tuple[str, ...], log: Any = sys.stderr) -> dict[str, Json]:
    projects: dict[str, Json] = {}
    for name in names:
        base = f"{API}/{name}/json"
        project = fetch_json(base)
        if project is None:
            raise RuntimeError(f"{base}: no such project")
        versions: Json = {}
        releases: dict[str, list[Json]] = project.get("releases", {})
        for version, files in releases.items():
            requires = None
            if name in COMPANIONS and files:
                print(f"{name} {version}: reading its requirements", file=log)
                requires = torch_requirements(requires_of(name, version, files, base))
            versions[version] = summarize_version(files, requires, name in COMPANIONS)
        projects[name] = {"versions": versions}
    return projects


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    parser.add_argument("--project", action="append", choices=PROJECTS, help="only these projects (repeatable)")
    args = parser.parse_args(argv)
    names = tuple(args.project or PROJECTS)
    try:
        projects = snapshot(names)
    except (OSError, RuntimeError, ValueError, zipfile.BadZipFile) as exc:
        where = f" ({exc.url})" if isinstance(exc, urllib.error.HTTPError) else ""
        print(f"error: {exc}{where}", file=sys.stderr)
        print("hint: the snapshot reads PyPI's JSON API; check the network and run it again", file=sys.stderr)
        return 3
    if args.project and args.out.exists():  # refresh some projects, keep the others
        projects = {**json.loads(args.out.read_text(encoding="utf-8"))["projects"], **projects}
    write_atomic(args.out, render(projects))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
