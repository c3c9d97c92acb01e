"""The README's Quickstart holds exactly two commands, and CI runs the second one."""

import re

from tests.conftest import ROOT


def quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_two_commands():
    cmds = quickstart_commands()
    assert len(cmds) == 2
    assert "envgen env --torch 1.8.1 --cuda 10.2" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_second_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert quickstart_commands()[1] in ci
