"""The migrate knowledge of `matrices/migrate.yaml`: channel URLs, legacy packages, resets. Loaded and checked."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from envgen.errors import MatrixError
from envgen.redact import strip_credentials

FILE = "migrate.yaml"


@dataclass(frozen=True, slots=True)
class UrlRule:
    pattern: re.Pattern[str]
    channel: str | None  # None: the regex's `channel` group names it
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Legacy:
    names: tuple[str, ...]
    unless_target: tuple[str, ...]  # removed only when the target names one of these
    keep_for_families: tuple[str, ...]  # never removed for targets of these families
    why: str
    sources: tuple[str, ...]
    channels: tuple[str, ...] = ()  # every package from these channels, when the target does not use the channel


@dataclass(frozen=True, slots=True)
class Reset:
    id: str
    packages: tuple[str, ...]
    from_channels: tuple[str, ...]
    platforms: tuple[str, ...]
    target_torch: SpecifierSet
    target_installers: tuple[str, ...]
    install: tuple[str, ...]
    channel: str
    why: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MklRule:
    packages: tuple[str, ...]
    channel_for_family: dict[str, str]
    why: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MigrateData:
    url_rules: tuple[UrlRule, ...]
    aliases: dict[str, str]
    torch_names: dict[str, dict[str, tuple[str, ...]]]  # side -> role -> names
    pip_patterns: tuple[re.Pattern[str], ...]
    pip_why: str
    legacy: tuple[Legacy, ...]
    resets: tuple[Reset, ...]
    mkl: MklRule
    torch_channels: tuple[str, ...]

    def channel_of(self, text: str | None) -> str | None:
        """The channel id of a channel name, alias or URL (a mirror URL maps to the channel it mirrors)."""
        if not text:
            return None
        raw = text.strip().rstrip("/")
        if raw in self.aliases:
            return self.aliases[raw]
        if "://" in raw or raw.startswith(("file:", "/")):
            if "://" in raw:  # credentials of a private mirror or a token channel (/t/<token>/) never decide
                try:
                    raw = strip_credentials(raw).rstrip("/")
                except ValueError:  # not a URL urllib can split ("https://[::1"): only its userinfo can go
                    raw = re.sub(r"://[^@/]*@", "://", raw)
            bare = re.sub(r"^[a-z0-9+.-]+://", "", raw, flags=re.I)
            for rule in self.url_rules:
                if m := rule.pattern.match(bare):
                    found = rule.channel or m.group("channel")
                    return self.aliases.get(found, found)
            scheme = raw.split("://", 1)[0] + "://" if "://" in raw else ""
            return scheme + bare  # an unknown URL is its own channel (without credentials)
        return raw

    def role_of(self, name: str, side: str) -> str | None:
        """torch / torchvision / torchaudio / torchtext when `name` is one of their package names on `side`."""
        for role, names in self.torch_names[side].items():
            if name in names:
                return role
        return None

    def pip_companion(self, name: str) -> bool:
        """A wheel that comes with a pip torch (CUDA libraries, triton)."""
        return any(p.match(name) for p in self.pip_patterns)

    def legacy_rule(self, name: str, channel: str | None = None) -> Legacy | None:
        return next((rule for rule in self.legacy if name in rule.names or (channel and channel in rule.channels)),
                    None)


def _legacy_names(row: dict[str, Any], i: int, need: Any) -> tuple[str, ...]:
    """A legacy row names packages, or (with `channels:`) covers every package of those channels."""
    if row.get("channels"):
        return tuple(row.get("names") or ())
    return tuple(need(row, "names", f"legacy[{i}]") or ())


def load_migrate_data(directory: str | os.PathLike[str] | None = None) -> MigrateData:
    from envgen.matrix.loader import find_matrix_dir

    folder = find_matrix_dir(directory)
    return _load_cached(str(folder.resolve()))


@lru_cache(maxsize=4)
def _load_cached(folder: str) -> MigrateData:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe")
    path, sources_path = Path(folder) / FILE, Path(folder) / "sources.yaml"
    if not path.is_file():
        raise MatrixError([f"matrices/{FILE}: file missing from {folder}"])
    try:
        doc = yaml.load(path.read_text(encoding="utf-8")) or {}
        known = set((yaml.load(sources_path.read_text(encoding="utf-8")) or {}).get("sources", {}))
    except (OSError, YAMLError) as exc:
        raise MatrixError([f"matrices/{FILE}: cannot read: {str(exc).splitlines()[0]}"]) from None
    problems: list[str] = []
    data = _build(doc, known, problems)
    if problems:
        raise MatrixError(problems)
    return data


def _build(doc: dict[str, Any], known: set[str], problems: list[str]) -> MigrateData:
    def place(where: str) -> str:
        return f"matrices/{FILE}: {where}"

    def srcs(row: dict[str, Any], where: str) -> tuple[str, ...]:
        ids = tuple(row.get("source") or ())
        if not ids:
            problems.append(place(f"{where}: no source"))
        for sid in ids:
            if sid not in known:
                problems.append(place(f"{where}: unknown source {sid!r}"))
        return ids

    def need(row: dict[str, Any], key: str, where: str) -> Any:
        if key not in row:
            problems.append(place(f"{where}: missing {key!r}"))
            return None
        return row[key]

    rules = []
    for i, row in enumerate(doc.get("channel_urls") or []):
        where = f"channel_urls[{i}]"
        try:
            pattern = re.compile(str(need(row, "pattern", where) or ""))
        except re.error as exc:
            problems.append(place(f"{where}: bad pattern: {exc}"))
            continue
        if row.get("channel") is None and "channel" not in pattern.groupindex:
            problems.append(place(f"{where}: needs `channel:` or a (?P<channel>...) group"))
        rules.append(UrlRule(pattern, row.get("channel"), srcs(row, where)))
    names_doc = dict(doc.get("torch_names") or {})
    srcs(names_doc, "torch_names")
    torch_names = {side: {role: tuple(v) for role, v in (names_doc.get(side) or {}).items()}
                   for side in ("conda", "pip")}
    pip_doc = doc.get("pip_companions") or {}
    legacy = tuple(
        Legacy(_legacy_names(row, i, need), tuple(row.get("unless_target") or ()),
               tuple(row.get("keep_for_families") or ()),
               str(need(row, "why", f"legacy[{i}]") or ""), srcs(row, f"legacy[{i}]"),
               channels=tuple(row.get("channels") or ()))
        for i, row in enumerate(doc.get("legacy") or []))
    resets = tuple(_reset(row, i, need, srcs, problems, place) for i, row in enumerate(doc.get("resets") or []))
    mkl_doc = doc.get("mkl") or {}
    mkl = MklRule(tuple(need(mkl_doc, "packages", "mkl") or ()), dict(need(mkl_doc, "channel_for_family", "mkl") or {}),
                  str(need(mkl_doc, "why", "mkl") or ""), srcs(mkl_doc, "mkl"))
    return MigrateData(tuple(rules), {str(k): str(v) for k, v in (doc.get("channel_aliases") or {}).items()},
                       torch_names, _patterns(need(pip_doc, "patterns", "pip_companions") or (), problems),
                       str(pip_doc.get("why", "")), legacy, resets, mkl,
                       tuple(doc.get("torch_channels") or ()))


def _patterns(items: Any, problems: list[str]) -> tuple[re.Pattern[str], ...]:
    out = []
    for i, text in enumerate(items):
        try:
            out.append(re.compile(str(text)))
        except re.error as exc:
            problems.append(f"matrices/{FILE}: pip_companions.patterns[{i}]: bad pattern: {exc}")
    return tuple(out)


def _reset(row: dict[str, Any], i: int, need: Callable[[dict[str, Any], str, str], Any],
           srcs: Callable[[dict[str, Any], str], tuple[str, ...]], problems: list[str],
           place: Callable[[str], str]) -> Reset:
    where = f"resets[{i}]"
    try:
        spec = SpecifierSet(str(row.get("target_torch", "")))
    except InvalidSpecifier:
        problems.append(place(f"{where}: bad target_torch {row.get('target_torch')!r}"))
        spec = SpecifierSet()
    return Reset(str(need(row, "id", where)), tuple(need(row, "packages", where) or ()),
                 tuple(row.get("from_channels") or ()), tuple(row.get("platforms") or ()), spec,
                 tuple(row.get("target_installers") or ()), tuple(need(row, "install", where) or ()),
                 str(need(row, "channel", where)), str(need(row, "why", where) or ""), srcs(row, where))
