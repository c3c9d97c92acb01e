"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s bench`, `nox -s pypi-snapshot`."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests"]
BENCHMARKS = sorted(Path(__file__).parent.joinpath("benchmarks").glob("bench_*.py"))


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict) alone; `nox -s tests` runs them too, as tests/test_static.py."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py", "scripts")
    session.run("mypy")


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Benchmarks print figures (ratios against a reference measured in the same run); they assert nothing."""
    for script in BENCHMARKS:
        if session.posargs and not any(arg in script.name for arg in session.posargs):
            continue
        session.log(f"--- {script.name}")
        session.run("python", str(script), external=True)


@nox.session(name="pypi-snapshot")
def pypi_snapshot(session: nox.Session) -> None:
    """Refresh tests/data/pypi_snapshot.json from PyPI's JSON API (the network); then run
    `pytest tests/test_pypi_matrix.py` and fix the matrix rows it names. Extra arguments go to the script
    (`-- --project torchvision` refreshes one project)."""
    session.install("packaging")
    session.run("python", "scripts/pypi_snapshot.py", *session.posargs)
