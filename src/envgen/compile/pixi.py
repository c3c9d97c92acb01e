"""A pixi manifest as input: pixi.toml, or the `[tool.pixi]` tables of a pyproject.toml.

Read (pixi's manifest reference, pixi.sh/latest/reference/pixi_manifest/):
- `[workspace]` (or the older `[project]`): `name`, `channels` (text, or `{channel, priority}` tables: higher
  priority first, else as written) and `platforms`;
- `[dependencies]`: conda specs, `name = "version spec"` or a table of `version`, `build`, `channel`, written
  as conda match specs (`pytorch = ">=2.1,<2.3"` -> `pytorch>=2.1,<2.3`, `python = "3.11.*"` -> `python 3.11.*`,
  `"*"` -> the bare name, `{version = "2.1.*", build = "cuda*", channel = "pytorch"}` ->
  `pytorch::pytorch 2.1.* cuda*`);
- `[pypi-dependencies]`: `name = "spec"` or a table of `version`, `extras` and `index` (an index becomes an extra
  index URL: envgen's lock has no per-package index); `[pypi-options]`: `index-url`, `extra-index-urls`,
  `find-links` (`{url = ...}` or `{path = ...}`);
- features and environments: with no `group`, the default feature plus the features of the `default`
  environment when `[environments]` names one; a `group` names an environment (its features; the default
  feature unless `no-default-feature`) or a feature. A feature's channels follow the workspace's.
- in a pyproject.toml, `[project].dependencies` are PyPI dependencies too, and extras and dependency groups are
  features by their names, as pixi has it; a `{path = "."}` entry (the project itself) is skipped.
Refused with a hint: `[target.<platform>]` dependency tables (platform-specific specs have no place in envgen's
environment file), git, path, url and editable PyPI sources, conda specs by url, path, git or file name.
Not read: `[system-requirements]` (give `--cuda`), a feature's `platforms`, tasks, activation, solve groups and
`[package]` builds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from envgen.compile.envfile import EnvFile
from envgen.compile.pyproject import group_names, normalize, project_dependencies, selected_groups
from envgen.compile.tomlfile import kind, read_toml, strings, table
from envgen.errors import BadInput

_HINT = "see pixi's manifest reference (pixi.sh/latest/reference/pixi_manifest/)"
_CONDA_KEYS = frozenset({"version", "build", "channel"})
_PYPI_KEYS = frozenset({"version", "extras", "index"})
_OPERATOR = re.compile(r"^(==|!=|>=|<=|~=|>|<|=)")


def read_pixi(path: Path, group: tuple[str, ...] = ()) -> EnvFile:
    """Channels, platforms, conda specs and PyPI requirements of a pixi.toml or a pyproject.toml's [tool.pixi]."""
    data = read_toml(path, hint=f"fix the TOML; {_HINT}")
    where = str(path)
    in_pyproject = path.name == "pyproject.toml"
    root = table(table(data, "tool", where, "tool"), "pixi", where, "tool.pixi") if in_pyproject else data
    prefix = "tool.pixi." if in_pyproject else ""
    workspace = root.get("workspace", root.get("project", {}))
    if not isinstance(workspace, dict):
        raise BadInput(f"{where}: {prefix}workspace: expected a table, got {kind(workspace)}", hint=_HINT)
    features, use_default, py_groups = _selection(root, data if in_pyproject else None, where, prefix, group)
    env = EnvFile(name=workspace.get("name"), channels=[], conda=[], pip=[], platforms=[], index_url=None,
                  extra_index_urls=[], find_links=[])
    if in_pyproject:
        project = table(data, "project", where, "project")
        self_name = project.get("name") if isinstance(project.get("name"), str) else None
        env["name"] = env["name"] or self_name
        env["pip"] = project_dependencies(project, data, path) if use_default else []
        env["pip"] += selected_groups(data, path, py_groups, normalize(self_name) if self_name else None)
    env["channels"] = _channels(workspace.get("channels"), where, f"{prefix}workspace.channels")
    env["platforms"] = strings(workspace.get("platforms"), where, f"{prefix}workspace.platforms")
    feature_table = table(root, "feature", where, f"{prefix}feature")
    parts = [(prefix.rstrip(".") or "(top level)", root)] if use_default else []
    parts += [(f"{prefix}feature.{f}", table(feature_table, f, where, f"{prefix}feature.{f}")) for f in features]
    for at, part in parts:
        _feature(part, at, where, env, in_pyproject)
    env["pip"] = list(dict.fromkeys(env["pip"]))
    env["conda"] = list(dict.fromkeys(env["conda"]))
    return env


def _selection(root: dict[str, Any], pyproject: dict[str, Any] | None, where: str, prefix: str,
               group: tuple[str, ...]) -> tuple[list[str], bool, tuple[str, ...]]:
    """(pixi features, whether the default feature counts, pyproject extras/groups) that `group` selects."""
    features = table(root, "feature", where, f"{prefix}feature")
    environments = table(root, "environments", where, f"{prefix}environments")
    extras, dep_groups = group_names(pyproject, where) if pyproject is not None else ({}, {})
    wanted = list(group) or (["default"] if "default" in environments else [])
    chosen: list[str] = []
    use_default = True
    for name in wanted:
        if name in environments:
            names, no_default = _environment(environments[name], where, f"{prefix}environments.{name}")
            chosen += names
            use_default = use_default and not no_default
        elif name in features or normalize(name) in extras or normalize(name) in dep_groups:
            chosen.append(name)
        else:
            known = sorted({*environments, *features, *extras.values(), *dep_groups.values()})
            raise BadInput(f"{where}: no environment or feature {name!r}",
                           hint=f"known: {', '.join(known)}" if known else "the file defines none")
    in_pyproject = [n for n in chosen if n not in features]
    for name in in_pyproject:
        if normalize(name) not in extras and normalize(name) not in dep_groups:
            raise BadInput(f"{where}: {prefix}environments: unknown feature {name!r}",
                           hint=f"known features: {', '.join(sorted(features)) or 'none'}")
    return list(dict.fromkeys(n for n in chosen if n in features)), use_default, tuple(in_pyproject)


def _environment(value: Any, where: str, at: str) -> tuple[list[str], bool]:
    if isinstance(value, list):
        return strings(value, where, at), False
    if isinstance(value, dict):
        no_default = value.get("no-default-feature", False)
        if not isinstance(no_default, bool):
            raise BadInput(f"{where}: {at}.no-default-feature: expected true/false, got {kind(no_default)}", hint=_HINT)
        return strings(value.get("features"), where, f"{at}.features"), no_default
    raise BadInput(f"{where}: {at}: expected a list of features or a table, got {kind(value)}", hint=_HINT)


def _channels(value: Any, where: str, at: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where}: {at}: expected a list, got {kind(value)}", hint='channels = ["conda-forge"]')
    found: list[tuple[int, str]] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            found.append((0, item.strip()))
        elif (isinstance(item, dict) and isinstance(item.get("channel"), str)
              and isinstance(item.get("priority", 0), int) and not isinstance(item.get("priority", 0), bool)):
            found.append((item.get("priority", 0), item["channel"].strip()))
        else:
            raise BadInput(f"{where}: {at}[{i}]: expected a channel name or {{channel = ..., priority = n}}, "
                           f"got {kind(item)}", hint=_HINT)
    return [name for _, name in sorted(found, key=lambda p: -p[0])]


def _feature(part: dict[str, Any], at: str, where: str, env: EnvFile, in_pyproject: bool) -> None:
    """Add one feature's (or the top level's) channels, specs and PyPI options to `env`."""
    sep = "" if at == "(top level)" else f"{at}."
    if part is not None and "channels" in part and sep:
        env["channels"] += [c for c in _channels(part["channels"], where, f"{sep}channels") if c not in env["channels"]]
    targets = table(part, "target", where, f"{sep}target")
    for platform, target in targets.items():
        if isinstance(target, dict) and ({"dependencies", "pypi-dependencies"} & set(target)):
            raise BadInput(f"{where}: {sep}target.{platform}: platform-specific dependencies are not supported",
                           hint="move them to [dependencies] / [pypi-dependencies], or lock each platform alone")
    for name, value in table(part, "dependencies", where, f"{sep}dependencies").items():
        env["conda"].append(conda_spec(name, value, where, f"{sep}dependencies.{name}"))
    for name, value in table(part, "pypi-dependencies", where, f"{sep}pypi-dependencies").items():
        spec = _pypi_spec(name, value, where, f"{sep}pypi-dependencies.{name}", env, in_pyproject)
        if spec is not None:
            env["pip"].append(spec)
    options = table(part, "pypi-options", where, f"{sep}pypi-options")
    if isinstance(options.get("index-url"), str):
        env["index_url"] = options["index-url"]
    env["extra_index_urls"] += strings(options.get("extra-index-urls"), where, f"{sep}pypi-options.extra-index-urls")
    for i, link in enumerate(options.get("find-links", []) if isinstance(options.get("find-links"), list) else []):
        target = link.get("url", link.get("path")) if isinstance(link, dict) else None
        if not isinstance(target, str):
            raise BadInput(f"{where}: {sep}pypi-options.find-links[{i}]: expected {{url = ...}} or {{path = ...}}",
                           hint=_HINT)
        env["find_links"].append(target)
    env["extra_index_urls"] = list(dict.fromkeys(env["extra_index_urls"]))


def conda_spec(name: str, value: Any, where: str, at: str) -> str:
    """A pixi conda dependency as a conda match spec."""
    if isinstance(value, str):
        version, build = _split_spec(value, where, at)
        channel = None
    elif isinstance(value, dict):
        unknown = sorted(set(value) - _CONDA_KEYS)
        if unknown:
            raise BadInput(f"{where}: {at}: {', '.join(unknown)} not supported",
                           hint="envgen reads `version`, `build` and `channel` of a conda dependency")
        for key in _CONDA_KEYS & set(value):
            if not isinstance(value[key], str):
                raise BadInput(f"{where}: {at}.{key}: expected text, got {kind(value[key])}", hint=_HINT)
        version, build = _split_spec(value.get("version", "*"), where, at)
        build = value.get("build", build)
        channel = value.get("channel")
    else:
        raise BadInput(f"{where}: {at}: expected a version spec or a table, got {kind(value)}",
                       hint=f'e.g. {name} = ">=1.2,<2" or {name} = {{ version = "1.2.*", channel = "conda-forge" }}')
    if build:
        spec = f"{name} {version or '*'} {build.strip()}"
    elif not version:
        spec = name
    else:
        spec = f"{name}{version}" if _OPERATOR.match(version) else f"{name} {version}"
    return f"{channel.strip()}::{spec}" if channel else spec


def _split_spec(text: str, where: str, at: str) -> tuple[str, str | None]:
    """A version spec (whitespace around operators and commas dropped) and an optional build string."""
    text = re.sub(r"\s*([,|])\s*", r"\1", text.strip())
    text = re.sub(r"(==|!=|>=|<=|~=|>|<|=)\s+", r"\1", text)
    parts = text.split()
    if len(parts) > 2:
        raise BadInput(f"{where}: {at}: {text!r} is not a version spec", hint='write e.g. ">=2.1,<2.3" or "3.11.*"')
    version = "" if not parts or parts[0] == "*" else parts[0]
    return version, parts[1] if len(parts) == 2 else None


def _pypi_spec(name: str, value: Any, where: str, at: str, env: EnvFile, in_pyproject: bool) -> str | None:
    extras: list[str] = []
    if isinstance(value, str):
        version = value.strip()
    elif isinstance(value, dict):
        if in_pyproject and value.get("path") == "." and set(value) <= {"path", "editable"}:
            return None  # the project itself: its dependencies are read from [project]
        unknown = sorted(set(value) - _PYPI_KEYS)
        if unknown:
            raise BadInput(f"{where}: {at}: {', '.join(unknown)} not supported",
                           hint="envgen locks PyPI packages from indexes: `version`, `extras` and `index`")
        version = value.get("version", "*")
        extras = strings(value.get("extras"), where, f"{at}.extras")
        index = value.get("index")
        if not isinstance(version, str) or (index is not None and not isinstance(index, str)):
            raise BadInput(f"{where}: {at}: `version` and `index` must be text", hint=_HINT)
        if index:
            env["extra_index_urls"].append(index)
    else:
        raise BadInput(f"{where}: {at}: expected a version spec or a table, got {kind(value)}",
                       hint=f'e.g. {name} = ">=1.2" or {name} = {{ version = ">=1.2", extras = ["x"] }}')
    version = "" if version.strip() in ("", "*") else version.strip()
    spec = name + (f"[{','.join(extras)}]" if extras else "") + version
    try:
        Requirement(spec)
    except InvalidRequirement as exc:
        raise BadInput(f"{where}: {at}: not a PyPI requirement: {spec!r} ({exc})",
                       hint='write a PEP 440 specifier such as ">=1.2,<2" or "==1.2.3"') from None
    return spec
