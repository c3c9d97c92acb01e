"""A user's conda environment.yml as input: its name, channels, conda specs, and the requirements and index
options of its `pip:` section."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from envgen.errors import BadInput
from envgen.fileio import parse_yaml, read_text


class EnvFile(TypedDict):
    """What envgen reads of an environment.yml: `conda` and `pip` are the specs as written."""

    name: Any  # as written (conda itself only needs it to be a scalar)
    channels: list[str]
    conda: list[str]
    pip: list[str]
    platforms: list[str]
    index_url: str | None
    extra_index_urls: list[str]
    find_links: list[str]


def read_environment_yml(path: Path) -> EnvFile:
    """name, channels, conda specs, pip requirements and pip options of a user's environment.yml."""
    data = parse_yaml(read_text(path, hint="check the path given to --from"), str(path),
                      hint="fix the file; `conda env export` writes this format")
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise BadInput(f"{path}: expected a mapping with a `dependencies:` list",
                       hint="see conda's environment.yml format")
    conda: list[str] = []
    pip: list[str] = []
    options: dict[str, Any] = {"index_url": None, "extra_index_urls": [], "find_links": []}
    for i, dep in enumerate(data.get("dependencies") or []):
        if isinstance(dep, str):
            conda.append(dep.strip())
        elif isinstance(dep, dict) and list(dep) == ["pip"] and isinstance(dep["pip"], list):
            for line in dep["pip"]:
                _pip_line(str(line).strip(), pip, options)
        else:
            raise BadInput(f"{path}: dependencies[{i}] is neither a spec nor a `pip:` list", hint="e.g. - numpy<2")
    channels = [str(c) for c in data.get("channels") or []]
    platforms = [str(p) for p in data.get("platforms") or []]
    return EnvFile(name=data.get("name"), channels=channels, conda=conda, pip=pip, platforms=platforms,
                   index_url=options["index_url"], extra_index_urls=options["extra_index_urls"],
                   find_links=options["find_links"])


def _pip_line(line: str, pip: list[str], options: dict[str, Any]) -> None:
    for flag, key in (("--index-url", "index_url"), ("-i", "index_url"), ("--extra-index-url", "extra_index_urls"),
                      ("--find-links", "find_links"), ("-f", "find_links")):
        if line.startswith((flag + " ", flag + "=")):
            value = line[len(flag) + 1:].strip()
            if key == "index_url":
                options[key] = value
            else:
                options[key].append(value)
            return
    if line and not line.startswith("#"):
        pip.append(line)
