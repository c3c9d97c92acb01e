"""`envgen completion SHELL`: each shell's script, and the completions envgen answers through it. bash runs the
script for real; zsh, fish and PowerShell are not installed here, so their side of the protocol (the variables
their scripts set) is driven directly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_process

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell", "pwsh"])
def test_each_shell_gets_its_script(shell):
    res = run_process("completion", shell)
    assert res.code == 0 and "_ENVGEN_COMPLETE" in res.out


def test_an_unknown_shell_is_bad_input():
    res = run_process("completion", "tcsh")
    assert res.code == 2 and "error: no completion for the shell 'tcsh'" in res.err and "hint:" in res.err


@pytest.mark.skipif(not shutil.which("bash") or not (BIN / "envgen").exists(), reason="needs bash and the envgen script")
@pytest.mark.parametrize("words,cword,expected", [("envgen lo", 1, "lock"), ("envgen lock --to", 2, "--torch"),
                                                  ("envgen mig", 1, "migrate")], ids=["command", "option", "other"])
def test_bash_completes_through_the_script(words, cword, expected):
    script = run_process("completion", "bash").out
    code = f'{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; _envgen_completion envgen; echo "${{COMPREPLY[@]}}"'
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [expected]


@pytest.mark.parametrize("shell,extra,expected", [
    ("zsh", {}, '"lock":'),
    ("fish", {"_TYPER_COMPLETE_FISH_ACTION": "get-args"}, "lock\t"),
    ("powershell", {"_TYPER_COMPLETE_WORD_TO_COMPLETE": "lo"}, "lock:::"),
])
def test_other_shells_get_answers(shell, extra, expected):
    env = dict(os.environ, _ENVGEN_COMPLETE=f"complete_{shell}", _TYPER_COMPLETE_ARGS="envgen lo", **extra)
    done = subprocess.run([sys.executable, "-m", "envgen"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0 and expected in done.stdout, done.stdout + done.stderr
