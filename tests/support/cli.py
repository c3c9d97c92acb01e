"""Run the envgen CLI in-process, as a user would, and collect exit code, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys, *argv: str) -> Result:
    from envgen.cli import main

    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return Result(code, captured.out, captured.err)


def run_process(*args: str, env: dict[str, str] | None = None, cwd=None) -> Result:
    """As a real process (`python -m envgen`): start-up, entry point and exit codes as users see them."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "envgen", *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=120, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)
