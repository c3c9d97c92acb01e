"""Channel and index remapping for mirrors, and keeping credentials out of lockfiles.

A mirror maps a URL prefix to another (`https://conda.anaconda.org=https://mirror.example/anaconda/cloud`).
Lockfiles always carry the canonical URL (the left side); downloads go to the mirror (the right side).
Mappings come from, in order of precedence: `--mirror FROM=TO` flags, the `ENVGEN_MIRRORS` environment
variable (`FROM=TO` pairs separated by whitespace or `;`), and a TOML config file (`ENVGEN_MIRROR_FILE`,
else `mirrors.toml` in the user config folder) with a `[mirrors]` table of `"FROM" = "TO"`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from envgen.errors import BadInput

ENV_VAR = "ENVGEN_MIRRORS"
FILE_VAR = "ENVGEN_MIRROR_FILE"
_TOKEN = re.compile(r"/t/[^/]+/")  # conda channel tokens: https://host/t/<token>/channel


def redact(url: str) -> str:
    """The URL without user, password or conda token: what may be written to a lockfile or a message."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = _TOKEN.sub("/", parts.path)
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def _norm(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class Mirrors:
    """Prefix mappings, longest prefix first."""

    pairs: tuple[tuple[str, str], ...] = ()

    def apply(self, url: str) -> str:
        """Where to download a canonical URL from."""
        for src, dst in self.pairs:
            if url == src or url.startswith(src + "/"):
                return dst + url[len(src):]
        return url

    def unapply(self, url: str) -> str:
        """The canonical URL of a mirrored one (credentials removed); the longest matching mirror prefix wins."""
        found = [(form, src) for src, dst in self.pairs for form in (dst, redact(dst))
                 if url == form or url.startswith(form + "/")]
        if not found:
            return redact(url)
        form, src = max(found, key=lambda pair: len(pair[0]))
        return src + url[len(form):]

    def describe(self) -> list[str]:
        return [f"{src} -> {redact(dst)}" for src, dst in self.pairs]


def parse_pair(text: str, where: str) -> tuple[str, str]:
    src, sep, dst = text.partition("=")
    if not sep or "://" not in src or "://" not in dst:
        raise BadInput(f"invalid mirror {text!r} ({where})",
                       hint="write FROM=TO with two URLs, e.g. https://conda.anaconda.org=https://mirror.example/conda")
    return _norm(src), _norm(dst)


def _from_file(path: Path) -> list[tuple[str, str]]:
    from envgen.compat import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read mirror config {path}: {exc}",
                       hint='write a [mirrors] table of "FROM" = "TO" URL pairs') from None
    table = data.get("mirrors", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise BadInput(f"{path}: [mirrors] must map URLs to URLs", hint='e.g. "https://conda.anaconda.org" = "..."')
    return [parse_pair(f"{k}={v}", str(path)) for k, v in table.items()]


def config_file() -> Path:
    if os.environ.get(FILE_VAR):
        return Path(os.environ[FILE_VAR])
    from platformdirs import user_config_dir

    return Path(user_config_dir("envgen")) / "mirrors.toml"


def load_mirrors(flags: tuple[str, ...] | list[str] = ()) -> Mirrors:
    """Flags first, then the environment variable, then the config file; the first mapping of a prefix wins."""
    found: dict[str, str] = {}
    layers = [[parse_pair(f, "--mirror") for f in flags],
              [parse_pair(p, ENV_VAR) for p in re.split(r"[\s;]+", os.environ.get(ENV_VAR, "")) if p]]
    path = config_file()
    if path.is_file():
        layers.append(_from_file(path))
    for layer in layers:
        for src, dst in layer:
            found.setdefault(src, dst)
    return Mirrors(tuple(sorted(found.items(), key=lambda kv: (-len(kv[0]), kv[0]))))
