"""Static checks as tests, so the README's test command (and CI) runs them: ruff on the code and the tests,
mypy (strict, configured in pyproject.toml) on the package. Each failure prints the checker's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="needs the source checkout")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    pytest.importorskip("ruff", reason="ruff is in the test extra")
    proc = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "src", "tests", "benchmarks", "noxfile.py",
                 "scripts"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_finds_nothing(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extra")
    proc = _run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
