"""What a lock is made from: a small frozen `LockSpec`, built from resolved Stacks and/or an environment.yml.

The engine (`envgen.lock.engine`) only sees this record: per platform the conda specs, channel URLs in priority
order, the channel priority and the virtual packages; the pip requirements, indexes and Python. Its hash is the
input hash written into every lockfile, so `envgen lock --check` can tell a stale lock without solving.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

from envgen.errors import BadInput
from envgen.fileio import sha256_text
from envgen.lock.records import PRIORITIES, VirtualPkg

CHANNEL_ALIAS = "https://conda.anaconda.org"  # conda's default channel_alias: how a bare channel name is a URL


@dataclass(frozen=True, slots=True)
class CondaPart:
    specs: tuple[str, ...]
    channels: tuple[str, ...]  # canonical URLs, priority order
    priority: str = "strict"
    virtual: tuple[VirtualPkg, ...] = ()


@dataclass(frozen=True, slots=True)
class PipPart:
    requirements: tuple[str, ...]
    python: str  # "3.9"; for a pip part inside a conda env, the solved Python decides
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    unlocked: tuple[str, ...] = ()  # lines no hash can pin (editables, local paths, VCS): installed after the lock


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    platform: str
    conda: CondaPart | None = None
    pip: PipPart | None = None
    pip_in_conda: bool = False  # the pip packages go into the conda environment (environment.yml `pip:`)
    exclude_newer: str | None = None  # nothing newer than this (`YYYY-MM-DDTHH:MM:SSZ`) on either side


@dataclass(frozen=True, slots=True)
class LockSpec:
    platforms: tuple[PlatformSpec, ...]
    command: str = "envgen lock"
    reasons: tuple[tuple[str, str], ...] = ()  # package name -> why the matrix asks for it (for conflicts)
    renames: tuple[tuple[str, str], ...] = ()  # conda name -> pip name where they differ (pytorch -> torch)
    notes: tuple[str, ...] = ()  # what envgen decided for the user and says (not part of the input hash)
    origins: tuple[tuple[str, str], ...] = ()  # spec or requirement -> where it came from (for refusals)

    def platform(self, name: str) -> PlatformSpec:
        for p in self.platforms:
            if p.platform == name:
                return p
        raise BadInput(f"the lock has no platform {name!r}",
                       hint="locked platforms: " + ", ".join(p.platform for p in self.platforms))

    @property
    def has_conda(self) -> bool:
        return any(p.conda for p in self.platforms)

    @property
    def has_pip(self) -> bool:
        return any(p.pip for p in self.platforms)


_UNSET_OMITTED = ("exclude_newer", "unlocked")  # fields added later: left out when unset (older locks keep their hash)


def plain(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (f.name in _UNSET_OMITTED and getattr(value, f.name) in (None, ()))}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def platform_hash(p: PlatformSpec) -> str:
    return sha256_text(json.dumps(plain(p), sort_keys=True))


def input_hash(spec: LockSpec) -> str:
    """The hash of everything a solve depends on (not the command line that asked for it)."""
    return sha256_text(json.dumps([plain(p) for p in spec.platforms], sort_keys=True))


# -- virtual packages -------------------------------------------------------------------------------------

def default_virtual(platform: str, cuda: str | None, assume: bool = False) -> dict[str, VirtualPkg]:
    """The virtual packages a solve for `platform` assumes (matrices/virtual_packages.yaml) plus __cuda: `cuda`, else
    the table's default for the platform where `assume`."""
    table = _virtual_table()
    out = {}
    for name, value in (table.get(platform) or {}).items():
        version, _, build = str(value).partition("=")
        out[name] = VirtualPkg(name, version, build or "0")
    cuda = cuda or (default_cuda(platform) if assume else None)
    if cuda and not platform.startswith("osx"):
        out["__cuda"] = VirtualPkg("__cuda", cuda)
    return out


@functools.cache
def _virtual_table() -> dict[str, Any]:
    from ruamel.yaml import YAML

    from envgen.matrix import find_matrix_dir

    table = YAML(typ="safe").load((find_matrix_dir() / "virtual_packages.yaml").read_text(encoding="utf-8"))
    return dict(table)


def default_cuda(platform: str) -> str | None:
    """The __cuda a solve assumes for `platform` when nothing names a CUDA version (matrices/virtual_packages.yaml)."""
    value = (_virtual_table().get("default_cuda") or {}).get(platform)
    return str(value) if value is not None else None


def parse_virtual(items: list[str] | tuple[str, ...]) -> dict[str, VirtualPkg | None]:
    """`--virtual __glibc=2.28`, `__archspec=1=x86_64`, `__cuda=none` (removes it)."""
    out: dict[str, VirtualPkg | None] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        if not name.startswith("__") or not sep or not rest:
            raise BadInput(f"invalid virtual package {item!r}",
                           hint="write NAME=VERSION[=BUILD], e.g. __glibc=2.28, __cuda=11.8 or __cuda=none")
        if rest.lower() == "none":
            out[name] = None
            continue
        version, _, build = rest.partition("=")
        out[name] = VirtualPkg(name, version, build or "0")
    return out


def virtual_for(platform: str, cuda: str | None, overrides: dict[str, VirtualPkg | None],
                assume: bool = False) -> tuple[VirtualPkg, ...]:
    """The virtual packages of a solve: the platform's, __cuda (`cuda`, or the default where `assume`), overrides."""
    found = default_virtual(platform, cuda, assume)
    for name, value in overrides.items():
        if value is None:
            found.pop(name, None)
        else:
            found[name] = value
    return tuple(found[k] for k in sorted(found))


def check_priority(value: str) -> str:
    if value not in PRIORITIES:
        raise BadInput(f"unknown channel priority {value!r}", hint="use strict, flexible or disabled")
    return value


def channel_url(name: str, known: dict[str, str]) -> str:
    """A channel as written by a user (name or URL) -> its canonical URL."""
    name = name.strip().rstrip("/")
    if "://" in name:
        return name
    if name in known:
        return known[name].rstrip("/")
    return f"{CHANNEL_ALIAS}/{name}"


def qualify(spec: str, known: dict[str, str]) -> str:
    """`pytorch::pytorch>=2` -> `https://conda.anaconda.org/pytorch::pytorch>=2` (rattler wants the URL)."""
    if "::" not in spec:
        return spec
    channel, _, rest = spec.rpartition("::")
    return f"{channel_url(channel, known)}::{rest}"
