"""Parsers of each listing format and of the running interpreter's prefix (`--current`), for
`envgen.migrate.snapshot`."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from envgen.errors import BadInput
from envgen.fileio import parse_json, read_text
from envgen.matrix.migrate import MigrateData
from envgen.migrate.packages import Package, Snapshot, conda_package, pip_package, platform_of_prefix
from envgen.redact import strip_credentials

if TYPE_CHECKING:
    from email.message import Message

_ARCHIVE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.(?:tar\.bz2|conda)$")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-.+\.whl$")
_SPEC = re.compile(r"^(?:(?P<ch>[^:\s]+)::)?(?P<name>[^=<>!~\s\[]+)\s*(?:(?P<op>==|=|>=|<=|<|>|!=|~=)\s*"
                   r"(?P<ver>[^=\s,;]*)(?:=(?P<build>\S+))?)?\s*$")
_REQ = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:(?:===?)\s*(?P<ver>[^\s;]+)|"
                  r"\s@\s(?P<url>\S+))\s*(?:;.*)?$")


def conda_list(text: str, data: MigrateData, origin: str) -> Snapshot:
    """`conda list` (columns name, version, build, channel; `[feature]` marks ignored) or `conda list --export`."""
    prefix = platform = None
    packages: list[Package] = []
    build: str | None  # a `conda list` row may leave the build out
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            if m := re.match(r"#\s*packages in environment at (.+?):?\s*$", line):
                prefix = m.group(1)
            elif m := re.match(r"#\s*platform:\s*(\S+)", line):
                platform = m.group(1)
            continue
        if not line:
            continue
        where = f"{origin}:{n}"
        if len(line.split()) == 1 and line.count("=") == 2:  # conda list --export
            name, version, build = line.split("=")
            packages.append(conda_package(name, version, build, None, where))
            continue
        words = [w for w in line.split() if not (w.startswith("[") and w.endswith("]"))]
        if len(words) < 2:
            raise BadInput(f"{where}: expected `name version build channel`, got {line!r}",
                           hint="paste the whole output of `conda list`, or pass --format")
        name, version = words[0], words[1]
        build = words[2] if len(words) > 2 else None
        channel = data.channel_of(words[3]) if len(words) > 3 else "defaults"  # conda leaves defaults blank
        if build == "<pip>" or channel == "pip":
            packages.append(pip_package(name, version, where))
        else:
            packages.append(conda_package(name, version, build, channel, where))
    return Snapshot(tuple(packages), platform or platform_of_prefix(prefix), _env_name(prefix), prefix)


def conda_json(text: str, data: MigrateData, origin: str) -> Snapshot:
    """`conda list --json`: records with base_url, build_string, channel, name, platform, version."""
    packages, platform = [], None
    for i, rec in enumerate(_records(text, origin, "conda list --json")):
        where = f"{origin}: entry {i}"
        name, version = _field(rec, "name", where) or "", _field(rec, "version", where) or ""
        base_url = safe_url(_field(rec, "base_url", where), where)
        channel = data.channel_of(base_url or _field(rec, "channel", where))
        if channel == "pip" or rec.get("platform") == "pypi":
            packages.append(pip_package(name, version, where))
            continue
        plat = _field(rec, "platform", where) or _field(rec, "subdir", where)
        if plat and plat != "noarch" and platform is None:
            platform = plat
        build = _field(rec, "build_string", where) or _field(rec, "build", where)
        packages.append(conda_package(name, version, build, channel, where, base_url))
    return Snapshot(tuple(packages), platform)


def conda_explicit(text: str, data: MigrateData, origin: str) -> Snapshot:
    """`conda list --explicit [--md5]`: one package URL per line after @EXPLICIT; the channel from the URL."""
    packages, platform, started = [], None, False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if m := re.match(r"#\s*platform:\s*(\S+)", line):
            platform = m.group(1)
        if line == "@EXPLICIT":
            started = True
        if not started or not line or line.startswith(("#", "@")):
            continue
        where = f"{origin}:{n}"
        url = safe_url(line.split("#", 1)[0], where) or ""
        parts = urlsplit(url)
        segments = parts.path.rstrip("/").split("/")
        m = _ARCHIVE.match(unquote(segments[-1])) if segments else None
        if not parts.scheme or m is None or len(segments) < 3:
            raise BadInput(f"{where}: not a package URL: {url!r}",
                           hint="an explicit spec lists URLs ending in name-version-build.tar.bz2 or .conda")
        subdir = segments[-2]
        if platform is None and subdir != "noarch":
            platform = subdir
        channel_url = url.rsplit("/", 2)[0]
        packages.append(conda_package(m["name"], m["version"], m["build"], data.channel_of(channel_url), where, url))
    return Snapshot(tuple(packages), platform)


def conda_env(text: str, data: MigrateData, origin: str) -> Snapshot:
    """`conda env export` YAML: name, channels, dependencies (`name=version=build`, `channel::name`), pip list."""
    from envgen.fileio import parse_yaml

    doc = parse_yaml(text, origin, hint="pass the file `conda env export` wrote")
    if not isinstance(doc, dict) or not isinstance(doc.get("dependencies"), list):
        raise BadInput(f"{origin}: no `dependencies:` list", hint="pass the file `conda env export` wrote")
    packages: list[Package] = []
    for i, dep in enumerate(doc["dependencies"]):
        where = f"{origin}: dependencies[{i}]"
        if isinstance(dep, dict) and list(dep) == ["pip"]:
            lines = dep["pip"] or []
            if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                raise BadInput(f"{where}.pip: expected a list of `name==version` lines",
                               hint="pass the file `conda env export` wrote")
            packages += pip_lines(lines, f"{where}.pip")
            continue
        m = _SPEC.match(dep) if isinstance(dep, str) else None
        if m is None:
            shown = repr(dep) if isinstance(dep, str) else f"a {type(dep).__name__}"
            raise BadInput(f"{where}: not a conda spec: {shown}", hint="write it as name=version=build")
        exact = m["op"] in ("=", "==") and m["ver"] and "*" not in m["ver"]
        packages.append(_loose_conda(m["name"], m["ver"] if exact else "", m["build"],
                                     data.channel_of(m["ch"]) if m["ch"] else None, where))
    prefix, name = (_scalar(doc, key, origin) for key in ("prefix", "name"))
    channels = doc.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise BadInput(f"{origin}: channels: expected a list of channel names", hint="e.g. channels: [conda-forge]")
    found = tuple(c for c in (data.channel_of(ch) for ch in channels) if c)
    return Snapshot(tuple(packages), platform_of_prefix(prefix), name, prefix, found)


def _scalar(doc: dict[Any, Any], key: str, origin: str) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadInput(f"{origin}: {key}: expected text, got {type(value).__name__}",
                       hint="pass the file `conda env export` wrote")
    return str(value)


def _loose_conda(name: str, version: str, build: str | None, channel: str | None, where: str) -> Package:
    """A conda package whose version may be unknown (`conda env export --from-history`)."""
    if version:
        return conda_package(name, version, build, channel, where)
    pkg = conda_package(name, "0", None, channel, where)
    return Package(pkg.name, "", "conda", channel)


def pip_freeze(text: str, data: MigrateData, origin: str) -> Snapshot:
    return Snapshot(tuple(pip_lines(text.splitlines(), origin, numbered=True)))


def pip_lines(lines: list[str], origin: str, numbered: bool = False) -> list[Package]:
    packages = []
    for n, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):  # comments, -e VCS checkouts, -i/-f index options
            continue
        where = f"{origin}:{n}" if numbered else f"{origin}[{n - 1}]"
        m = _REQ.match(line)
        if m is None:
            raise BadInput(f"{where}: not a pinned requirement: {line!r}",
                           hint="paste the output of `pip freeze` (name==version or name @ url lines)")
        if m["url"]:
            url = safe_url(m["url"], where) or ""
            wheel = _WHEEL.match(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
            version = wheel["version"] if wheel else ""
            if version:
                packages.append(pip_package(m["name"], version, where, url))
            else:
                pkg = pip_package(m["name"], "0", where)
                packages.append(Package(pkg.name, "", "pip", url=url))
        else:
            packages.append(pip_package(m["name"], m["ver"], where))
    return packages


def pip_json(text: str, data: MigrateData, origin: str) -> Snapshot:
    packages = []
    for i, rec in enumerate(_records(text, origin, "pip list --format=json")):
        where = f"{origin}: entry {i}"
        name, version = _field(rec, "name", where), _field(rec, "version", where)
        if name is None or version is None:
            raise BadInput(f"{where}: needs both `name` and `version`",
                           hint="paste the output of `pip list --format=json`")
        packages.append(pip_package(name, version, where))
    return Snapshot(tuple(packages))


def _records(text: str, origin: str, tool: str) -> list[dict[str, Any]]:
    """The records of a JSON listing: a list of objects, or bad input naming the entry that is not one."""
    doc = parse_json(text, origin, hint=f"paste the output of `{tool}`")
    if not isinstance(doc, list):
        raise BadInput(f"{origin}: expected a JSON list of packages, got {type(doc).__name__}",
                       hint=f"paste the output of `{tool}`")
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise BadInput(f"{origin}: entry {i}: expected an object, got {type(rec).__name__}",
                           hint=f"paste the output of `{tool}`")
    return doc


def _field(rec: dict[str, Any], key: str, where: str) -> str | None:
    """A text field of a JSON record (None when absent or null); any other type is bad input naming it."""
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{where}: {key}: expected text, got {type(value).__name__}",
                       hint="paste the listing as the tool printed it")
    return value


def safe_url(text: str | None, where: str) -> str | None:
    """A URL from a listing without its credentials (user:password@, /t/<token>/, ?token=): what envgen keeps,
    prints and writes; the credentials stay in the user's netrc, conda token store or pip configuration."""
    if not text:
        return text
    try:
        return strip_credentials(text)
    except ValueError as exc:  # urlsplit: "Invalid IPv6 URL" and friends
        raise BadInput(f"{where}: not a valid URL ({exc})", hint="paste the listing as the tool printed it") from None


PARSERS: dict[str, Callable[[str, MigrateData, str], Snapshot]] = {
    "conda-list": conda_list, "conda-json": conda_json, "conda-explicit": conda_explicit, "conda-env": conda_env,
    "pip-freeze": pip_freeze, "pip-json": pip_json,
}


def _env_name(prefix: str | None) -> str | None:
    if not prefix:
        return None
    parts = re.split(r"[\\/]", prefix.rstrip("\\/"))
    return parts[-1] if len(parts) >= 2 and parts[-2] == "envs" else None


# --- the running interpreter ------------------------------------------------------------------------
def current(data: MigrateData, prefix: str | Path | None = None, paths: list[str] | None = None) -> Snapshot:
    """The env of the running interpreter (or `prefix`): conda-meta/*.json, then installed distributions."""
    import hashlib
    from importlib.metadata import distributions

    from envgen.models import host_platform

    root = Path(prefix or sys.prefix)
    conda, platform = _conda_meta(root / "conda-meta", data)
    pip: dict[str, Package] = {}
    for dist in distributions(path=paths if paths is not None else sys.path):
        # importlib.metadata's PackageMetadata is an email Message; its protocol type lacks .get before 3.12
        name, version = cast("Message", dist.metadata).get("Name"), dist.version
        if not name or not version:
            continue
        installer = (dist.read_text("INSTALLER") or "").strip().lower()
        if conda and (installer == "conda" or (not installer and _owned_by_conda(name, version, conda, data))):
            continue
        pkg = pip_package(name, version, f"{root}: installed distribution {name}", _direct_url(dist))
        pip.setdefault(pkg.name, pkg)
    packages = tuple(sorted(conda.values(), key=lambda p: p.name)) + tuple(sorted(pip.values(), key=lambda p: p.name))
    digest = hashlib.sha256(json.dumps([p.to_json() for p in packages], sort_keys=True).encode()).hexdigest()
    return Snapshot(packages, platform or host_platform(), _env_name(str(root)), str(root) if conda else None,
                    formats=("current",), digest=digest)


def _conda_meta(folder: Path, data: MigrateData) -> tuple[dict[str, Package], str | None]:
    out: dict[str, Package] = {}
    platform = None
    if not folder.is_dir():
        return out, None
    for path in sorted(folder.glob("*.json")):
        rec = parse_json(read_text(path, hint="is this prefix intact?"), str(path), hint="is this prefix intact?")
        if not isinstance(rec, dict):
            raise BadInput(f"{path}: conda metadata is not a JSON object", hint="is this prefix intact?")
        where = str(path)
        url = safe_url(_field(rec, "url", where), where)
        channel = data.channel_of(_field(rec, "channel", where) or (url or "").rsplit("/", 2)[0] or None)
        subdir = _field(rec, "subdir", where)
        if subdir and subdir != "noarch" and platform is None:
            platform = subdir
        pkg = conda_package(_field(rec, "name", where) or "", _field(rec, "version", where) or "",
                            _field(rec, "build", where), channel, where, url)
        out[pkg.name] = pkg
    return out, platform


def _owned_by_conda(name: str, version: str, conda: dict[str, Package], data: MigrateData) -> bool:
    from packaging.utils import canonicalize_name

    key = str(canonicalize_name(name))
    role = data.role_of(key, "pip")
    names = data.torch_names["conda"].get(role, ()) if role else (key, key.replace("-", "_"))
    return any(n in conda and conda[n].version == version for n in names)


def _direct_url(dist: Any) -> str | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = parse_json(text, "direct_url.json", hint="")
    except BadInput:
        return None
    url = info.get("url") if isinstance(info, dict) else None
    try:
        return strip_credentials(url) if isinstance(url, str) and url else None
    except ValueError:
        return None
