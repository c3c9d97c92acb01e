"""`lock-inputs.yml`: what a lock was made from, written beside its lockfiles as part of the same set.

It records the request (the `envgen lock` flags that decide what is locked; see `envgen.lock.inputs.LockRequest`),
each file the lock was read from (its path relative to the lock folder, its sha256 and what envgen read in it),
the envgen version, and the per-platform spec whose hash is every lockfile's input hash. With it,
`envgen lock --check -o DIR`, `envgen lock --update PKG -o DIR` and a plain re-lock (`envgen lock -o DIR`) need
nothing but the folder, and a stale lock is explained in words (`envgen.lock.staleness`) instead of two hashes.
There is no digest of the matrix: an unrelated matrix edit must not change a committed lock's bytes; what the
matrix changed for *this* lock is found by replaying the recorded request.

Like every file of the set it carries the `# records:` and `# lock-set:` lines (`envgen.lock.integrity`); its
records are the digest of its body. URL credentials never reach it: the spec holds canonical URLs, and every
string read from a file passes `envgen.redact.redact_data`.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from envgen import __version__
from envgen.compile.envfile import EnvFile
from envgen.errors import BadInput
from envgen.fileio import parse_yaml
from envgen.lock import integrity
from envgen.lock.read import RECIPE, checked_text
from envgen.lock.request import LockRequest
from envgen.lock.spec import LockSpec, plain
from envgen.redact import redact_data

FORMAT = 1
_HINT = "re-create the lock with `envgen lock` and the flags it was made with"


@dataclass(frozen=True, slots=True)
class Source:
    """A file the lock was made from: where it is (relative to the lock folder) and what envgen read in it."""

    path: str
    sha256: str
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recipe:
    request: LockRequest  # `from_` relative to the lock folder
    sources: tuple[Source, ...]
    envgen: str
    platforms: dict[str, Any]  # platform -> its PlatformSpec as hashed (`envgen.lock.spec.plain`)

    def env_content(self) -> EnvFile | None:
        """The environment file as it was when the lock was made (for explaining what changed since)."""
        if not self.sources:
            return None
        c = self.sources[0].content
        index = c.get("index_url")
        return EnvFile(name=c.get("name"), channels=texts(c.get("channels")), conda=texts(c.get("conda")),
                       pip=texts(c.get("pip")), platforms=texts(c.get("platforms")),
                       index_url=index if isinstance(index, str) else None,
                       extra_index_urls=texts(c.get("extra_index_urls")), find_links=texts(c.get("find_links")))


def texts(value: Any) -> list[str]:
    """A recorded list of text as a list of str (anything else, from a file edited by hand: empty)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def relative_to(path: Path, folder: Path) -> str:
    """`path` as written from `folder` (posix separators); absolute where no relative path exists."""
    try:
        return Path(os.path.relpath(path.absolute(), folder.absolute())).as_posix()
    except ValueError:  # another drive on Windows
        return path.absolute().as_posix()


def record(request: LockRequest, env_path: Path | None, env: EnvFile | None, out: Path, spec: LockSpec) -> Recipe:
    """The recipe of a lock about to be written to `out` (`request.from_` as given on the command line)."""
    sources: tuple[Source, ...] = ()
    rel = None
    if env_path is not None and env is not None:
        rel = relative_to(env_path, out)
        digest = hashlib.sha256(env_path.read_bytes()).hexdigest()
        sources = (Source(rel, digest, redact_data(dict(env))),)
    return Recipe(_with_from(request, rel), sources, __version__, {p.platform: plain(p) for p in spec.platforms})


def _with_from(request: LockRequest, from_: str | None) -> LockRequest:
    import dataclasses

    return dataclasses.replace(request, from_=from_)


def render(recipe: Recipe) -> str:
    """The body of lock-inputs.yml (YAML, keys sorted: byte-stable)."""
    from ruamel.yaml import YAML

    request = {f.name.rstrip("_"): _listed(getattr(recipe.request, f.name)) for f in fields(LockRequest)}
    data = {"format": FORMAT, "envgen": recipe.envgen, "request": redact_data(request),
            "files": [{"path": s.path, "sha256": s.sha256, "read": s.content} for s in recipe.sources],
            "platforms": recipe.platforms}
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_text(text: str, where: str) -> Recipe:
    data = parse_yaml(integrity.body(text), where, hint=_HINT)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{where}: not a lock-inputs file of format {FORMAT}", hint=_HINT)
    platforms, files = data.get("platforms"), data.get("files") or []
    if not isinstance(platforms, dict) or not all(isinstance(k, str) and isinstance(v, dict)
                                                  for k, v in platforms.items()):
        raise BadInput(f"{where}: platforms: expected a mapping of platform to its spec", hint=_HINT)
    if not isinstance(files, list):
        raise BadInput(f"{where}: files: expected a list", hint=_HINT)
    return Recipe(_request(data.get("request"), where), tuple(_source(s, where) for s in files),
                  str(data.get("envgen", "")), dict(platforms))


def _request(data: Any, where: str) -> LockRequest:
    if not isinstance(data, dict):
        raise BadInput(f"{where}: request: expected a mapping", hint=_HINT)
    values: dict[str, Any] = {}
    for f in fields(LockRequest):
        key, value, default = f.name.rstrip("_"), data.get(f.name.rstrip("_")), f.default
        if value is None:  # unset, or a field this recipe predates: the default
            continue
        want = type(default) if default is not None else str
        if want is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{where}: request.{key}: expected a list of text", hint=_HINT)
            value = tuple(value)
        elif not isinstance(value, want) or (want is str and not value):
            raise BadInput(f"{where}: request.{key}: expected {'true/false' if want is bool else 'text'}",
                           hint=_HINT)
        values[f.name] = value
    return LockRequest(**values)


def _source(data: Any, where: str) -> Source:
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not isinstance(data.get("read"), dict):
        raise BadInput(f"{where}: files: each entry needs a path and what was read", hint=_HINT)
    path = data["path"]
    if not path or any(ord(c) < 32 for c in path):
        raise BadInput(f"{where}: files: invalid path {path!r}", hint=_HINT)
    return Source(path, str(data.get("sha256", "")), dict(data["read"]))


def read(folder: Path) -> Recipe | None:
    """The checked recipe of the lock in `folder`; None when the lock has none (made before envgen recorded it)."""
    path = folder / RECIPE
    if not path.is_file():
        return None
    return parse_text(checked_text(path), str(path))


def source_path(folder: Path, source: Source) -> Path:
    """Where a recorded file is now, for a command run from anywhere."""
    path = Path(source.path)
    return path if path.is_absolute() else folder / path
