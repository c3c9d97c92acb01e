"""Downloads with a per-user cache: repodata, package files, wheels.

Conda repodata normally goes through rattler's gateway instead (`lock.engine`, `lock.gateway.solve_gateway_each`:
`.zst` and CEP-16 shards, cached under `<cache>/gateway`); this fetcher's whole `repodata.json` files serve the runs the
gateway cannot (.condarc proxies or TLS settings, credentials in a channel's download URL) and `gateway=False`.
Repodata is cached under the user cache folder (`ENVGEN_CACHE_DIR`, else platformdirs) keyed by its canonical
URL, revalidated with ETag / Last-Modified, and only stored after it parsed as JSON. `offline=True` uses the
cache only. Every network failure becomes an `OutsideFailure` (exit 3) naming the URL (without credentials)
and what to try. Downloads that take a while show progress on stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from envgen.errors import BadInput, OutsideFailure
from envgen.fileio import write_atomic
from envgen.lock.mirrors import Mirrors
from envgen.redact import redact, strip_credentials

if TYPE_CHECKING:  # requests is imported when the first download starts
    import requests

NETWORK_HINT = ("check your connection and proxy settings (HTTPS_PROXY), use a mirror (--mirror FROM=TO or "
                "ENVGEN_MIRRORS), or run with --offline to use what is cached")
EMPTY_REPODATA = {"info": {}, "packages": {}, "packages.conda": {}, "repodata_version": 1}


def cache_root() -> Path:
    base = os.environ.get("ENVGEN_CACHE_DIR")
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("envgen", appauthor=False)
    return Path(base)


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:24]


# a package file or wheel name: no folder parts, no leading dot, one of the formats installers read
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+!~-]*\.(?:conda|tar\.bz2|whl|tar\.gz|zip)$")


def safe_file_name(url: str) -> str:
    """The local file name of a package URL: its decoded last path segment, when that is a plain package file name.

    Anything else (a `%2F` that decodes to a folder, `..`, a dotfile, a name without a package suffix) is refused
    before anything is downloaded: a URL in a lockfile never chooses where a file is written."""
    segment = urlsplit(url).path.rsplit("/", 1)[-1]
    name = unquote(segment)
    if not _FILE_NAME.fullmatch(name) or ".." in name:
        raise BadInput(f"refusing the package URL {redact(url)}: its file name {name[:80]!r} is not a plain package "
                       "file name", hint="the lockfile was edited to write outside the cache; re-create it with "
                                         "`envgen lock` from a trusted source")
    return name


def file_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path))


@dataclass
class Fetcher:
    """Fetch canonical URLs through the mirrors, caching under `root`."""

    mirrors: Mirrors = field(default_factory=Mirrors)
    offline: bool = False
    root: Path = field(default_factory=cache_root)
    report: Callable[[str], None] | None = None  # progress lines for slow downloads (the CLI writes them)
    timeout_s: float = 30.0
    proxies: tuple[tuple[str, str | None], ...] = ()  # .condarc proxy_servers (scheme or scheme://host -> proxy)
    verify: bool | str = True  # .condarc ssl_verify: false, or a CA bundle path
    gateway: bool = True  # conda repodata through rattler's gateway where the run allows it (`lock.engine`)
    _session: requests.Session | None = None
    _seen: dict[tuple[str, str], Path | None] = field(default_factory=dict)  # fetched once per run

    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.proxies.update({k: v for k, v in self.proxies if v})  # the environment's still win
            self._session.verify = self.verify
        return self._session

    def subprocess_env(self) -> dict[str, str]:
        """The proxy and CA settings for uv, where the environment does not set them already."""
        import os

        out = {}
        for scheme, var in (("https", "HTTPS_PROXY"), ("http", "HTTP_PROXY")):
            proxy = dict(self.proxies).get(scheme)
            if proxy and not (os.environ.get(var) or os.environ.get(var.lower())):
                out[var] = proxy
        if isinstance(self.verify, str) and self.verify != "truststore" and not os.environ.get("SSL_CERT_FILE"):
            out["SSL_CERT_FILE"] = self.verify
        return out

    # -- repodata ---------------------------------------------------------------------------------------
    def repodata(self, channel: str, subdir: str) -> Path | None:
        """A local repodata.json for channel/subdir; None when a platform subdir does not exist there."""
        key = (channel.rstrip("/"), subdir)
        if key not in self._seen:
            self._seen[key] = self._repodata(channel, subdir)
        return self._seen[key]

    def _repodata(self, channel: str, subdir: str) -> Path | None:
        url = f"{channel.rstrip('/')}/{subdir}/repodata.json"
        source = self.mirrors.apply(url)
        if source.startswith("file://"):
            path = file_path(source)
            if path.is_file():
                return path
            if subdir == "noarch":
                raise OutsideFailure(f"{redact(source)} does not exist",
                                     hint="a conda channel needs noarch/repodata.json; check the channel path")
            return None
        cached, meta_path = self._cached(url)
        meta = _read_meta(meta_path)
        if self.offline:
            if cached.is_file():
                return None if meta.get("missing") else cached
            raise OutsideFailure(f"{redact(url)} is not in the cache and --offline was given",
                                 hint="run once without --offline (or with a mirror) to fill the cache")
        return self._refresh(url, source, subdir, cached, meta_path, meta)

    def _cached(self, url: str) -> tuple[Path, Path]:
        folder = self.root / "repodata"
        return folder / f"{_key(url)}.json", folder / f"{_key(url)}.meta.json"

    def _refresh(self, url: str, source: str, subdir: str, cached: Path, meta_path: Path,
                 meta: dict[str, Any]) -> Path | None:
        headers: dict[str, str] = {}
        if cached.is_file() and meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if cached.is_file() and meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        response = self._get(source, headers, allow_missing=subdir != "noarch")
        if response.status_code == 304 and cached.is_file():
            return None if meta.get("missing") else cached
        if response.status_code == 404 and subdir != "noarch":
            write_atomic(cached, json.dumps(EMPTY_REPODATA))
            write_atomic(meta_path, json.dumps({"url": strip_credentials(url), "missing": True}))
            return None
        body = self._body(response, source)
        try:
            json.loads(body)
        except ValueError as exc:
            raise OutsideFailure(f"the repodata from {redact(source)} is damaged ({exc.__class__.__name__}: {exc})",
                                 hint="the server sent a truncated or corrupt file (nothing was cached); try again, "
                                      "use a mirror (--mirror FROM=TO), or --offline to use an earlier cached copy"
                                 ) from None
        write_atomic(cached, body)
        write_atomic(meta_path, json.dumps({"url": strip_credentials(url), "etag": response.headers.get("ETag"),
                                            "last_modified": response.headers.get("Last-Modified")}))
        return cached

    # -- files ------------------------------------------------------------------------------------------
    def file(self, url: str, sha256: str, dest_dir: Path, md5: str = "") -> Path:
        """A verified local copy of a package file or wheel: every hash given is checked on the bytes before the
        file is written to its place; a mismatch or no hash at all is refused, naming the file."""
        name = safe_file_name(url)
        if not sha256 and not md5:
            raise BadInput(f"{name} has no hash in the lock: nothing is installed unchecked",
                           hint="re-create the lock with `envgen lock`")
        target = dest_dir / name
        if target.is_file() and _matches(target.read_bytes(), sha256, md5) is None:
            return target
        source = self.mirrors.apply(url)
        if source.startswith("file://"):
            data = file_path(source).read_bytes() if file_path(source).is_file() else None
            if data is None:
                raise OutsideFailure(f"{redact(source)} does not exist", hint="check the channel path or the mirror")
        elif self.offline:
            raise OutsideFailure(f"{name} is not in the cache and --offline was given",
                                 hint="run once without --offline to download it")
        else:
            response = self._get(source, {})
            data = self._body(response, source)
        wrong = _matches(data, sha256, md5)
        if wrong is not None:
            kind, want, got = wrong
            raise OutsideFailure(f"hash mismatch for {name}: the lock says {kind} {want}, the download from "
                                 f"{redact(source)} has {got}",
                                 hint="the file on the server changed or was tampered with; nothing was installed. "
                                      "Check the mirror, or re-lock if the change is expected")
        write_atomic(target, data)
        return target

    # -- http ---------------------------------------------------------------------------------------------
    def _get(self, source: str, headers: dict[str, str], allow_missing: bool = False) -> requests.Response:
        import requests

        try:
            response = self.session().get(source, headers=headers, stream=True, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise OutsideFailure(f"cannot reach {redact(source)}: {_reason(exc)}", hint=NETWORK_HINT) from None
        if response.status_code in (200, 304) or (response.status_code == 404 and allow_missing):
            return response
        raise OutsideFailure(f"{redact(source)} answered HTTP {response.status_code}", hint=NETWORK_HINT)

    def _body(self, response: requests.Response, source: str) -> bytes:
        import requests

        total = int(response.headers.get("Content-Length") or 0)
        chunks: list[bytes] = []
        got, shown = 0, False
        next_at = time.monotonic() + 1.0
        try:
            for chunk in response.iter_content(1 << 16):
                chunks.append(chunk)
                got += len(chunk)
                if self.report is not None and time.monotonic() > next_at:
                    shown, next_at = True, time.monotonic() + 1.0
                    self.report(_progress(source, got, total))
        except (requests.RequestException, OSError) as exc:
            raise OutsideFailure(f"the download of {redact(source)} broke off after {got} bytes: {_reason(exc)}",
                                 hint=NETWORK_HINT) from None
        if shown and self.report is not None:
            self.report(_progress(source, got, total) + " done")
        if total and got != total and not response.headers.get("Content-Encoding"):
            raise OutsideFailure(f"the download of {redact(source)} broke off after {got} of {total} bytes",
                                 hint=NETWORK_HINT)
        return b"".join(chunks)


def _progress(source: str, got: int, total: int) -> str:
    name = redact(source).rsplit("/", 2)[-2:]
    share = f" {100 * got // total}%" if total else ""
    return f"downloading {'/'.join(name)}: {got / 1e6:.1f} MB{share}"


def _reason(exc: Exception) -> str:
    text = redact(str(exc))  # requests' messages repeat the URL, credentials included
    return (text[:200] + "...") if len(text) > 200 else text or exc.__class__.__name__


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads(path.read_text())  # envgen's own .meta.json: always an object
        return meta
    except (OSError, ValueError):
        return {}


def _matches(data: bytes, sha256: str, md5: str) -> tuple[str, str, str] | None:
    """The first hash that does not match as (kind, locked, actual); None when every given hash matches."""
    if sha256 and (got := hashlib.sha256(data).hexdigest()) != sha256:
        return "sha256", sha256, got
    if md5 and (got := hashlib.md5(data).hexdigest()) != md5:
        return "md5", md5, got
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
