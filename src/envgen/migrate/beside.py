"""Building the target beside the old environment: `--new-env NAME` (conda) or `--new-venv DIR` (pip).

The old environment is left as it is, so there is nothing to back up, remove or reset: create the new one, install
the target into it, verify it with its own Python. Pure, like `plan.plan`; `scripts.render` writes the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envgen.errors import BadInput
from envgen.matrix.migrate import MigrateData
from envgen.migrate.packages import Snapshot
from envgen.migrate.plan import EnvRef, Plan, Step, Target, install_step, installed_torch, verify_step
from envgen.models import os_of


@dataclass(frozen=True, slots=True)
class Beside:
    kind: Literal["conda", "venv"]
    where: str  # the conda env name, or the venv folder


def venv_python(folder: str, platform: str) -> str:
    """The interpreter of a venv at `folder` on `platform`."""
    if os_of(platform) == "windows":
        return folder.rstrip("\\/") + "\\Scripts\\python.exe"
    return folder.rstrip("/") + "/bin/python"


def plan_beside(snapshot: Snapshot, target: Target, data: MigrateData, beside: Beside,
                python: str | None = None) -> Plan:
    """The steps that build `target` in a new conda env or venv, the old environment untouched."""
    current = installed_torch(snapshot, data)
    if beside.kind == "conda":
        return Plan(tuple(_conda(target, beside.where, python)), target, EnvRef(), target.platform, current)
    if target.installer != "pip":
        raise BadInput(f"--new-venv builds a pip environment, but the target ({target.description}) installs with "
                       f"{target.installer}", hint="use --new-env NAME for a conda target, or --installer pip")
    py = venv_python(beside.where, target.platform)
    made = Step("create", (beside.where,), ("python", "-m", "venv", beside.where),
                f"create the venv {beside.where} beside the current environment, which stays as it is"
                + (f"; run it with Python {python}, the target's" if python else ""))
    install = install_step(target, EnvRef())
    argv = install.argv[2:] if install.argv[:2] == ("python", "-m") else install.argv
    steps = [made, Step("install", install.packages, (py, "-m", *argv), install.reason + f" into {beside.where}"),
             verify_step(target, python=py)]
    return Plan(tuple(steps), target, EnvRef(), target.platform, current)


def _conda(target: Target, name: str, python: str | None) -> list[Step]:
    if target.installer != "conda":
        raise BadInput(f"--new-env builds a conda environment, but the target ({target.description}) installs with "
                       f"pip", hint="use --new-venv DIR for a pip target, or --installer conda")
    env = EnvRef(name)
    steps = []
    if target.install[:1] != ("conda-lock",):  # conda-lock install creates the environment itself
        channels = [w for ch in target.channels for w in ("-c", ch)] if target.override_channels else []
        create = ("conda", "create", "--yes", "--name", name, f"python={python}" if python else "python",
                  *channels, *(("--override-channels",) if target.override_channels else ()))
        steps.append(Step("create", (name,), create, f"create the conda environment {name} beside the current "
                                                     "one, which stays as it is"))
    steps.append(install_step(target, env))
    if target.pip_install:
        specs = tuple(a for a in target.pip_install[2:] if not a.startswith("-"))
        steps.append(Step("activate", (name,), ("conda", "activate", name), f"use {name} for the pip step"))
        steps.append(Step("install", specs, ("python", "-m", *target.pip_install),
                          "this era installed these companions with pip inside the conda environment"))
    else:
        steps.append(Step("activate", (name,), ("conda", "activate", name), f"verify inside {name}"))
    steps.append(verify_step(target))
    return steps
