"""Golden `envgen command` and `envgen env` outputs across eras, from the shipped matrix.

Regenerate with ENVGEN_UPDATE_GOLDEN=1 and review the diff: these files are what users will paste.
"""

import pytest

from tests.support.cli import run

CASES = [
    ("0.3.1-win-64-cu90-peterjc123", ["--torch", "0.3.1", "--cuda", "9.0", "--platform", "win-64"]),
    ("0.4.1-linux-64-cu90", ["--torch", "0.4.1", "--cuda", "9.0", "--platform", "linux-64"]),
    ("1.0.1-linux-64-cu100", ["--torch", "1.0.1", "--cuda", "10.0", "--platform", "linux-64"]),
    ("1.4.0-linux-64-cu101", ["--torch", "1.4.0", "--cuda", "10.1", "--platform", "linux-64"]),
    ("1.8.1-linux-64-cu102", ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64"]),
    ("1.8.1-linux-64-cu111", ["--torch", "1.8.1", "--cuda", "11.1", "--platform", "linux-64"]),
    ("1.8.1-win-64-cpu", ["--torch", "1.8.1", "--cpu", "--platform", "win-64"]),
    ("1.12.1-linux-64-cu116", ["--torch", "1.12.1", "--cuda", "11.6", "--platform", "linux-64"]),
    ("1.13.1-linux-64-cu117", ["--torch", "1.13.1", "--cuda", "11.7", "--platform", "linux-64"]),
    ("2.0.1-linux-64-cu118", ["--torch", "2.0.1", "--cuda", "11.8", "--platform", "linux-64"]),
    ("2.5.1-linux-64-cu124", ["--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64"]),
    ("2.5.1-osx-arm64-cpu", ["--torch", "2.5.1", "--cpu", "--platform", "osx-arm64"]),
    ("2.6.0-linux-64-cu126", ["--torch", "2.6.0", "--cuda", "12.6", "--platform", "linux-64"]),
    ("2.6.0-win-64-cu126", ["--torch", "2.6.0", "--cuda", "12.6", "--platform", "win-64"]),
    ("2.13.0-linux-64-cu130", ["--torch", "2.13.0", "--cuda", "13.0", "--platform", "linux-64"]),
    ("2.15.0-linux-64-default", ["--torch", "2.15.0", "--platform", "linux-64"]),
]


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
def test_era_outputs(capsys, golden, name, args):
    cmd = run(capsys, "command", *args)
    assert cmd.code == 0, cmd.err
    env = run(capsys, "env", *args, "-o", "out", "--dry-run")
    assert env.code == 0, env.err
    text = f"$ envgen command {' '.join(args)}\n{cmd.err}{cmd.out}\n$ envgen env {' '.join(args)} -o out --dry-run\n{env.out}"
    golden.check(f"eras/{name}.txt", text)
