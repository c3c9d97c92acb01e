"""Fix commands for findings: install commands come from the same compiler as `envgen command`
(resolve -> Stack -> install_command); other fixes are templates from matrices/doctor.yaml.
"""

from __future__ import annotations

import dataclasses

from packaging.version import Version

from envgen.doctor.facts import Facts
from envgen.errors import BadInput, Refusal
from envgen.matrix import Matrix
from envgen.matrix.doctor import DoctorData
from envgen.models import Accel, PyVer

DEFAULT_SUBDIR = {"linux": "linux-64", "windows": "win-64", "macos": "osx-arm64"}


def fix_platform(facts: Facts) -> str | None:
    """The platform fixes are compiled for: the known one, else the usual 64-bit subdir of the known OS."""
    if facts.platform:
        return facts.platform
    return DEFAULT_SUBDIR.get(facts.os or "")


def fix_installer(facts: Facts) -> str:
    if facts.install_method:
        return facts.install_method
    if facts.env and facts.env.get("CONDA_PREFIX"):
        return "conda"
    return "pip"


def install(matrix: Matrix, facts: Facts, *, torch: Version | None = None, accel: Accel | None = None,
            installer: str | None = None, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The install command for this machine's platform and installer, or () when the matrix has none."""
    from envgen.compile.commands import install_command
    from envgen.compile.resolve import resolve_one
    from envgen.compile.stack import Request

    platform = fix_platform(facts)
    if platform is None:
        return ()
    python = _python(facts)
    request = Request(torch=torch, accel=accel, platform=platform, python=python,
                      installer=installer or fix_installer(facts))
    for attempt in (request, dataclasses.replace(request, python=None)):
        try:
            command = install_command(resolve_one(matrix, attempt)).command
        except (Refusal, BadInput):
            continue
        return (command + "".join(f" {flag}" for flag in extra),)
    return ()


def _python(facts: Facts) -> PyVer | None:
    if not facts.python:
        return None
    try:
        return PyVer.parse(facts.python)
    except BadInput:
        return None


def templates(data: DoctorData, cause: str, facts: Facts, **values: str) -> tuple[str, ...]:
    """The data's plain fix commands for this cause, OS and installer, with placeholders filled."""
    out = []
    for template in data.fix_templates(cause, facts.os, facts.install_method):
        try:
            out.append(template.format(**values))
        except (KeyError, IndexError):
            continue  # a template needing a value this finding lacks is left out
    return tuple(out)


def python_minor(facts: Facts) -> str:
    py = _python(facts)
    return str(py.version) if py else "3"
