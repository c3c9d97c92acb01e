"""Channel and index remapping for mirrors, and keeping credentials out of lockfiles.

A mirror maps a URL prefix to another (`https://conda.anaconda.org=https://mirror.example/anaconda/cloud`).
Lockfiles always carry the canonical URL (the left side); downloads go to the mirror (the right side).
Mappings come from, in order of precedence: `--mirror FROM=TO` flags, the `ENVGEN_MIRRORS` environment
variable (`FROM=TO` pairs separated by whitespace or `;`), and a TOML config file (`ENVGEN_MIRROR_FILE`,
else `mirrors.toml` in the user config folder) with a `[mirrors]` table of `"FROM" = "TO"`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envgen.errors import BadInput
from envgen.redact import redact as mask
from envgen.redact import strip_credentials

if TYPE_CHECKING:
    from envgen.lock.spec import LockSpec

ENV_VAR = "ENVGEN_MIRRORS"
FILE_VAR = "ENVGEN_MIRROR_FILE"


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
        found = [(form, src) for src, dst in self.pairs for form in (dst, strip_credentials(dst))
                 if url == form or url.startswith(form + "/")]
        if not found:
            return strip_credentials(url)
        form, src = max(found, key=lambda pair: len(pair[0]))
        return src + url[len(form):]

    def describe(self) -> list[str]:
        return [f"{src} -> {mask(dst)}" for src, dst in self.pairs]

    def adding(self, pairs: tuple[tuple[str, str], ...]) -> Mirrors:
        """These mappings as well (a configured mirror of the same prefix wins)."""
        known = {src for src, _ in self.pairs}
        merged = self.pairs + tuple(p for p in pairs if p[0] not in known)
        return Mirrors(tuple(sorted(merged, key=lambda pair: len(pair[0]), reverse=True)))


def _split(url: str, pairs: dict[str, str]) -> str:
    """The canonical form of a URL that carries credentials, remembering where the credentials go."""
    canonical = strip_credentials(url)
    if canonical != url:
        pairs[canonical.rstrip("/")] = url.rstrip("/")
    return canonical


def credentials_as_mirrors(spec: LockSpec) -> tuple[LockSpec, tuple[tuple[str, str], ...]]:
    """The spec with canonical channel and index URLs, and (canonical, with credentials) pairs to download with.

    A channel or index written with `user:password@`, a conda `/t/<token>/` or a `?token=` is locked, hashed and
    written under its canonical URL; the credentials only ever travel as a mirror of it for this run (later runs
    get them from netrc, the `ENVGEN_MIRRORS` variable or mirrors.toml, never from a committed file)."""
    pairs: dict[str, str] = {}
    platforms = []
    for p in spec.platforms:
        conda, pip = p.conda, p.pip
        if conda is not None:
            specs = tuple(_split(s.rpartition("::")[0], pairs) + "::" + s.rpartition("::")[2] if "::" in s else s
                          for s in conda.specs)
            conda = dataclasses.replace(conda, channels=tuple(_split(c, pairs) for c in conda.channels), specs=specs)
        if pip is not None:
            pip = dataclasses.replace(
                pip, index_url=_split(pip.index_url, pairs) if pip.index_url else None,
                extra_index_urls=tuple(_split(u, pairs) for u in pip.extra_index_urls),
                find_links=tuple(_split(u, pairs) for u in pip.find_links))
        platforms.append(dataclasses.replace(p, conda=conda, pip=pip))
    return dataclasses.replace(spec, platforms=tuple(platforms)), tuple(sorted(pairs.items()))


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
