"""`envgen verify`: compare an installed environment with its lock (missing, extra, different packages).

A conda environment (conda-meta) is compared package by package, conda and pip; a venv (pyvenv.cfg, no conda-meta)
with the lock's pip part, the seeds venv tools add (pip, setuptools, wheel) not counting as extra unless locked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envgen.errors import BadInput
from envgen.lock.read import LockedEnv
from envgen.lock.records import LockedWheel
from envgen.lock.venv import SEEDS, is_venv


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # missing | extra | different
    manager: str  # conda | pip
    name: str
    locked: str = ""
    installed: str = ""

    def describe(self) -> str:
        if self.kind == "missing":
            return f"missing   {self.manager} {self.name} {self.locked}"
        if self.kind == "extra":
            return f"extra     {self.manager} {self.name} {self.installed}"
        return f"different {self.manager} {self.name}: locked {self.locked}, installed {self.installed}"


def installed_conda(prefix: Path) -> dict[str, dict[str, Any]]:
    meta = prefix / "conda-meta"
    if not meta.is_dir():
        raise BadInput(f"{prefix} is not a conda environment (no conda-meta folder), nor a venv (no pyvenv.cfg)",
                       hint="give the folder that `envgen install` (--prefix or --venv), conda or a venv tool "
                            "created")
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(meta.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise BadInput(f"{path} is damaged",
                           hint="repair the environment, e.g. re-create it from the lock") from None
        if isinstance(data, dict) and "name" in data:
            out[str(data["name"])] = data
    return out


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_pip(prefix: Path) -> dict[str, str]:
    """name -> version of dist-infos not installed by conda."""
    out = {}
    for dist in sorted(prefix.glob("lib/python*/site-packages/*.dist-info")) + sorted(
            prefix.glob("Lib/site-packages/*.dist-info")):
        installer = (dist / "INSTALLER").read_text().strip() if (dist / "INSTALLER").is_file() else ""
        if installer == "conda":
            continue
        fields: dict[str, str] = {}
        for line in (dist / "METADATA").read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "Name" in fields:
            out[_norm(fields["Name"])] = fields.get("Version", "")
    return out


def verify(env: LockedEnv, prefix: Path) -> list[Drift]:
    if not (Path(prefix) / "conda-meta").is_dir() and is_venv(prefix):
        pip = installed_pip(Path(prefix))
        return _pip_drift(env.pip, pip) + [Drift("extra", "pip", name, installed=v)
                                           for name, v in sorted(pip.items()) if name not in SEEDS]
    drift: list[Drift] = []
    have = installed_conda(Path(prefix))
    for p in env.conda:
        got = have.pop(p.name, None)
        if got is None:
            drift.append(Drift("missing", "conda", p.name, f"{p.version} {p.build}"))
            continue
        locked, installed = f"{p.version} {p.build}", f"{got.get('version')} {got.get('build')}"
        if locked != installed or (p.sha256 and got.get("sha256") and got["sha256"] != p.sha256):
            if locked == installed:
                locked, installed = f"sha256 {p.sha256[:12]}", f"sha256 {str(got['sha256'])[:12]}"
            drift.append(Drift("different", "conda", p.name, locked, installed))
    drift += [Drift("extra", "conda", name, installed=f"{d.get('version')} {d.get('build')}")
              for name, d in sorted(have.items())]
    pip = installed_pip(Path(prefix))
    drift += _pip_drift(env.pip, pip)
    conda_names = {_norm(p.name) for p in env.conda}
    drift += [Drift("extra", "pip", name, installed=v) for name, v in sorted(pip.items()) if name not in conda_names]
    return drift


def _pip_drift(wheels: tuple[LockedWheel, ...], pip: dict[str, str]) -> list[Drift]:
    """Missing and different pip packages; what is left in `pip` is not in the lock."""
    drift = []
    for w in wheels:
        got_v = pip.pop(_norm(w.name), None)
        if got_v is None:
            drift.append(Drift("missing", "pip", w.name, w.version))
        elif got_v != w.version:
            drift.append(Drift("different", "pip", w.name, w.version, got_v))
    return drift
