"""A pyproject.toml as input: `[project]` dependencies, the selected groups, and uv's index settings.

- `[project].dependencies`; with `dynamic = ["dependencies"]`, the requirements files that setuptools reads
  for them (`[tool.setuptools.dynamic] dependencies = {file = [...]}`), else a refusal.
- `group` selects `[project.optional-dependencies]` extras and PEP 735 `[dependency-groups]` by name (names
  compared normalized, PEP 685/735; a name found in both selects both); an extra naming the project itself
  (`all = ["proj[cpu,dev]"]`) is expanded, `{include-group = "..."}` entries too (a cycle is refused); an unknown
  group is refused listing the known ones.
- `[tool.uv]`: `[[tool.uv.index]]` with `default = true` is the index URL, the other non-`explicit` ones extra
  index URLs (in their order; pip gives extra indexes no priority, uv does); the legacy `index-url`,
  `extra-index-url` and `find-links` keys likewise. `[tool.uv.sources]` pins of a selected requirement to an
  index (`torch = { index = "pytorch-cu121" }`, or a list whose `extra`/`group` choose by the selected groups)
  add that index as an extra index URL: envgen's lock has no per-package index. Pins it cannot honour are
  refused: different indexes by `marker` (choose the build with --cuda/--cpu instead), and git, path, url and
  workspace sources.
- `requires-python` and the build system are not read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from envgen.compile.envfile import EnvFile
from envgen.compile.requirements import read_requirements
from envgen.compile.tomlfile import kind, read_toml, strings, table
from envgen.errors import BadInput

_HINT = "see the pyproject.toml specification (packaging.python.org, 'pyproject.toml specification')"
_SOURCE_KEYS = frozenset({"index", "marker", "extra", "group"})


def normalize(name: str) -> str:
    """A project, extra or group name compared as PEP 503/685/735 compare them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pyproject(path: Path, group: tuple[str, ...] = ()) -> EnvFile:
    """The pip requirements (project dependencies + selected groups) and index options of a pyproject.toml."""
    data = read_toml(path, hint=f"fix the TOML; {_HINT}")
    return from_data(data, path, group)


def from_data(data: dict[str, Any], path: Path, group: tuple[str, ...]) -> EnvFile:
    """`read_pyproject` on already-read tables (pixi reads pyproject.toml's `[project]` through this)."""
    where = str(path)
    project = table(data, "project", where, "project")
    name = project.get("name")
    if name is not None and not isinstance(name, str):
        raise BadInput(f"{where}: project.name: expected text, got {kind(name)}", hint=_HINT)
    pip = project_dependencies(project, data, path)
    pip += selected_groups(data, path, group, normalize(name) if name else None)
    pip = list(dict.fromkeys(pip))
    index_url, extra, find_links = uv_indexes(data, where, pip, group)
    return EnvFile(name=name, channels=[], conda=[], pip=pip, platforms=[], index_url=index_url,
                   extra_index_urls=extra, find_links=find_links)


def project_dependencies(project: dict[str, Any], data: dict[str, Any], path: Path) -> list[str]:
    where = str(path)
    dynamic = strings(project.get("dynamic"), where, "project.dynamic")
    if "dependencies" not in dynamic:
        return _requirements(project.get("dependencies"), where, "project.dependencies")
    spec = table(table(table(data, "tool", where, "tool"), "setuptools", where, "tool.setuptools"),
                 "dynamic", where, "tool.setuptools.dynamic").get("dependencies")
    files = spec.get("file") if isinstance(spec, dict) else None
    files = [files] if isinstance(files, str) else files
    if not files:
        raise BadInput(f"{where}: project.dependencies is dynamic (the build backend computes it)",
                       hint="pass the requirements file the backend reads to --from, or list the dependencies")
    out: list[str] = []
    for i, name in enumerate(strings(files, where, "tool.setuptools.dynamic.dependencies.file")):
        if "://" in name or Path(name).is_absolute():
            raise BadInput(f"{where}: tool.setuptools.dynamic.dependencies.file[{i}]: expected a relative path",
                           hint="setuptools reads these files relative to pyproject.toml")
        out += read_requirements(path.parent / name)["pip"]
    return out


def _requirements(value: Any, where: str, at: str) -> list[str]:
    out = strings(value, where, at)
    for i, spec in enumerate(out):
        try:
            Requirement(spec)
        except InvalidRequirement as exc:
            raise BadInput(f"{where}: {at}[{i}]: not a requirement: {spec!r} ({exc})",
                           hint="write PEP 508 requirements (`name[extras] specifier ; marker`)") from None
    return out


def group_names(data: dict[str, Any], where: str) -> tuple[dict[str, str], dict[str, str]]:
    """Normalized name -> name as written, of the extras and of the dependency groups."""
    project = table(data, "project", where, "project")
    extras = table(project, "optional-dependencies", where, "project.optional-dependencies")
    groups = table(data, "dependency-groups", where, "dependency-groups")
    return {normalize(k): k for k in extras}, {normalize(k): k for k in groups}


def selected_groups(data: dict[str, Any], path: Path, group: tuple[str, ...], self_name: str | None) -> list[str]:
    where = str(path)
    extras, groups = group_names(data, where)
    out: list[str] = []
    for wanted in group:
        key = normalize(wanted)
        if key not in extras and key not in groups:
            known = sorted({*extras.values(), *groups.values()})
            raise BadInput(f"{where}: no group {wanted!r}",
                           hint=f"known groups: {', '.join(known)}" if known else "the file defines no groups")
        if key in extras:
            out += _extra(data, where, extras[key], self_name, set())
        if key in groups:
            out += _group(data, where, groups[key], [])
    return out


def _extra(data: dict[str, Any], where: str, name: str, self_name: str | None, seen: set[str]) -> list[str]:
    seen.add(normalize(name))
    extras = table(data["project"], "optional-dependencies", where, "project.optional-dependencies")
    known = {normalize(k): k for k in extras}
    out: list[str] = []
    for spec in _requirements(extras[name], where, f"project.optional-dependencies.{name}"):
        req = Requirement(spec)
        if self_name is None or normalize(req.name) != self_name:
            out.append(spec)
            continue
        for sub in sorted(req.extras):
            if normalize(sub) not in known:
                raise BadInput(f"{where}: project.optional-dependencies.{name}: {spec!r}: unknown extra {sub!r}",
                               hint=f"known extras: {', '.join(sorted(known.values()))}")
            if normalize(sub) not in seen:
                out += _extra(data, where, known[normalize(sub)], self_name, seen)
    return out


def _group(data: dict[str, Any], where: str, name: str, chain: list[str]) -> list[str]:
    if name in chain:
        raise BadInput(f"{where}: dependency-groups: include cycle {' -> '.join([*chain, name])}",
                       hint="remove one of the `include-group` entries")
    groups = data["dependency-groups"]
    known = {normalize(k): k for k in groups}
    entries = groups[name]
    at = f"dependency-groups.{name}"
    if not isinstance(entries, list):
        raise BadInput(f"{where}: {at}: expected a list, got {kind(entries)}", hint="see PEP 735")
    out: list[str] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            out += _requirements([entry], where, f"{at}[{i}]")
        elif isinstance(entry, dict) and set(entry) == {"include-group"} and isinstance(entry["include-group"], str):
            target = known.get(normalize(entry["include-group"]))
            if target is None:
                raise BadInput(f"{where}: {at}[{i}]: include-group {entry['include-group']!r} is not a group",
                               hint=f"known groups: {', '.join(sorted(groups))}")
            out += _group(data, where, target, [*chain, name])
        else:
            raise BadInput(f"{where}: {at}[{i}]: expected a requirement or an include-group table, got {kind(entry)}",
                           hint="see PEP 735")
    return out


def uv_indexes(data: dict[str, Any], where: str, pip: list[str],
               group: tuple[str, ...]) -> tuple[str | None, list[str], list[str]]:
    """The index URL, extra index URLs and find-links that `[tool.uv]` gives the selected requirements."""
    uv = table(table(data, "tool", where, "tool"), "uv", where, "tool.uv")
    index_url = uv.get("index-url")
    if index_url is not None and not isinstance(index_url, str):
        raise BadInput(f"{where}: tool.uv.index-url: expected text, got {kind(index_url)}", hint="write a URL")
    extra = strings(uv.get("extra-index-url"), where, "tool.uv.extra-index-url")
    find_links = strings(uv.get("find-links"), where, "tool.uv.find-links")
    named: dict[str, str] = {}
    indexes = uv.get("index", [])
    if not isinstance(indexes, list):
        raise BadInput(f"{where}: tool.uv.index: expected [[tool.uv.index]] tables, got {kind(indexes)}", hint=_HINT)
    for i, entry in enumerate(indexes):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str):
            raise BadInput(f"{where}: tool.uv.index[{i}]: expected a table with a `url`", hint='url = "https://..."')
        if isinstance(entry.get("name"), str):
            named[entry["name"]] = url
        if entry.get("default") is True:
            index_url = url
        elif entry.get("explicit") is not True:
            extra.append(url)
    extra += _source_indexes(uv, where, pip, group, named)
    return index_url, list(dict.fromkeys(extra)), find_links


def _source_indexes(uv: dict[str, Any], where: str, pip: list[str], group: tuple[str, ...],
                    named: dict[str, str]) -> list[str]:
    sources = table(uv, "sources", where, "tool.uv.sources")
    wanted = {normalize(Requirement(s).name) for s in pip if not s.startswith(("-", ".", "/", "~"))}
    chosen = {normalize(g) for g in group}
    out: list[str] = []
    for package, value in sources.items():
        if normalize(package) not in wanted:
            continue
        at = f"tool.uv.sources.{package}"
        entries = value if isinstance(value, list) else [value]
        found: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict) or not set(entry) <= _SOURCE_KEYS or "index" not in entry:
                what = ", ".join(sorted(set(entry) - _SOURCE_KEYS)) if isinstance(entry, dict) else kind(entry)
                raise BadInput(f"{where}: {at}: this source ({what}) is not supported",
                               hint="envgen locks packages from indexes; remove the source or the package")
            selector = entry.get("extra", entry.get("group"))
            if selector is not None and normalize(str(selector)) not in chosen:
                continue
            if entry["index"] not in named:
                raise BadInput(f"{where}: {at}: index {entry['index']!r} is not a [[tool.uv.index]] name",
                               hint=f"known: {', '.join(sorted(named)) or 'none'}")
            found.add(named[entry["index"]])
        if len(found) > 1:
            raise BadInput(f"{where}: {at}: different indexes by marker ({', '.join(sorted(found))}) are not supported",
                           hint="choose the build with --cuda/--cpu and drop the per-platform pins")
        out += sorted(found)
    return out
