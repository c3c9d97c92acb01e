"""The files `--from` reads, dispatched by name: `read_inputs(path, group) -> EnvFile`.

| file | reader |
| --- | --- |
| `*.yml`, `*.yaml` (environment.yml) | `envfile.read_environment_yml` |
| `*.txt`, `*.in` (requirements*.txt) | `requirements.read_requirements`: pip part only |
| `pixi.toml`, `pyproject.toml` with `[tool.pixi]` | `pixi.read_pixi`: channels, platforms, conda and PyPI parts |
| `pyproject.toml` | `pyproject.read_pyproject`: pip part only |

`group` selects pyproject extras / dependency groups and pixi environments / features; it is refused for the
formats that have none, so a selection is never silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from envgen.compile.envfile import EnvFile, read_environment_yml
from envgen.compile.pixi import read_pixi
from envgen.compile.pyproject import read_pyproject
from envgen.compile.requirements import read_requirements
from envgen.compile.tomlfile import read_toml
from envgen.errors import BadInput
from envgen.fileio import read_text

KINDS = "environment.yml, requirements*.txt / *.in, pyproject.toml, pixi.toml"
# a top-level `dependencies:` key: `conda env export > env.txt` writes an environment file under any name
_ENV_KEY = re.compile(r"^(?:dependencies|channels)[ \t]*:", re.MULTILINE)


def _looks_like_environment(path: Path) -> bool:
    return bool(_ENV_KEY.search(read_text(path, hint="check the path given to --from")))


def kind_of(path: Path) -> str:
    """`environment`, `requirements`, `pyproject` or `pixi`, from the file name (and pyproject's tables)."""
    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "environment"
    if name.endswith((".txt", ".in")):
        return "environment" if _looks_like_environment(path) else "requirements"
    if name == "pixi.toml":
        return "pixi"
    if name == "pyproject.toml":
        tool = read_toml(path, hint="fix the TOML").get("tool")
        return "pixi" if isinstance(tool, dict) and "pixi" in tool else "pyproject"
    if _looks_like_environment(path):
        return "environment"
    raise BadInput(f"{path}: not a file --from reads", hint=f"--from reads {KINDS}")


def read_inputs(path: Path, group: tuple[str, ...] = ()) -> EnvFile:
    """What an input file asks for, as an `EnvFile` (conda part empty for requirements and plain pyproject)."""
    kind = kind_of(path)
    if kind == "pixi":
        return read_pixi(path, group)
    if kind == "pyproject":
        return read_pyproject(path, group)
    if group:
        raise BadInput(f"{path}: --group {', '.join(group)}: {kind} files have no groups",
                       hint="groups select pyproject.toml extras/dependency groups and pixi environments/features")
    return read_environment_yml(path) if kind == "environment" else read_requirements(path)
