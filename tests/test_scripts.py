"""Scenario scripts: goldens in bash, PowerShell and cmd; bash run for real against fake conda/python on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envgen import shell
from envgen.errors import BadInput
from envgen.matrix.migrate import load_migrate_data
from envgen.migrate import plan as planner
from envgen.migrate import scripts
from envgen.migrate.packages import Package, Snapshot
from envgen.migrate.plan import EnvRef, Spec, Target
from tests.support.shelltok import Syntax, command_argv

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "migrate"

SCENARIOS = [
    # id, inputs, selection flags
    ("peterjc123-to-official", ["p123-win.conda-list.txt"], ["--torch", "0.4.0", "--cuda", "9.0", "--channel", "pytorch"]),
    ("cudatoolkit113-to-pytorch-cuda118", ["pt112-cu113.explicit.txt"],
     ["--torch", "2.0.0", "--cuda", "11.8", "--channel", "pytorch"]),
    ("pytorch251-to-conda-forge", ["pt251.conda-json.json"], ["--torch", "2.6.0", "--cuda", "12.6", "--channel", "conda-forge"]),
    ("pytorch251-to-pip-cu124", ["pt251.env-export.yml"], ["--torch", "2.5.1", "--cuda", "12.4", "--installer", "pip",
                                                           "--platform", "linux-64"]),
    ("pip181-beside-conda-to-conda", ["mixed181.conda-list.txt", "mixed181.pip-freeze.txt"],
     ["--torch", "1.8.1", "--cuda", "10.2", "--channel", "pytorch", "--platform", "linux-64"]),
    ("cpu-by-mistake-conda-to-cuda", ["cpu-mistake181.conda-list.txt"], ["--torch", "1.8.1", "--cuda", "10.2"]),
    ("cpu-by-mistake-pip-to-cuda", ["cpu-mistake.pip-list.json"], ["--torch", "2.5.1", "--cuda", "12.4", "--python", "3.11",
                                                                  "--platform", "linux-64"]),
]
EXPECTED_KINDS = {
    "peterjc123-to-official": ["backup", "backup", "remove", "remove", "remove", "reset", "install", "install", "verify"],
    "cudatoolkit113-to-pytorch-cuda118": ["backup", "backup", "remove", "remove", "install", "verify"],
    "pytorch251-to-conda-forge": ["backup", "backup", "remove", "remove", "reset", "install", "verify"],
    "pytorch251-to-pip-cu124": ["backup", "backup", "remove", "remove", "install", "verify"],
    "pip181-beside-conda-to-conda": ["backup", "backup", "remove", "install", "verify"],
    "cpu-by-mistake-conda-to-cuda": ["backup", "backup", "remove", "remove", "install", "verify"],
    "cpu-by-mistake-pip-to-cuda": ["backup", "remove", "install", "verify"],
}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """One matrix cache for this module (parsing the matrix per test would dominate the run time)."""
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(_shared_cache(tmp_path_factory)))
    monkeypatch.delenv("ENVGEN_MATRIX_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    # the machine the driver check compares with: given, so the outcome never depends on the GPU of the test host
    monkeypatch.setenv("ENVGEN_DRIVER", "999.99")
    monkeypatch.setenv("ENVGEN_GPU", "6.1")
    monkeypatch.delenv("ENVGEN_CUDA", raising=False)


_CACHE: list[Path] = []


def _shared_cache(factory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("migrate-cache"))
    return _CACHE[0]


def run_cli(tmp: Path, inputs: list[str], flags: list[str], shell_name: str) -> tuple[int, str, str]:
    """`envgen migrate` in-process, inputs copied to `tmp` so the regenerate line is byte-stable."""
    from typer.testing import CliRunner

    from envgen.cli import app

    for name in inputs:
        shutil.copy(DATA / name, tmp / name)
    out = f"migrate{shell.extension(shell_name)}"
    args = ["migrate", *[w for n in inputs for w in ("--from", n)], *flags, "--shell", shell_name, "-o", out]
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    finally:
        os.chdir(cwd)
    text = (tmp / out).read_bytes().decode("utf-8") if (tmp / out).exists() else ""
    return result.exit_code, text, result.output


@pytest.mark.parametrize("shell_name", shell.SHELLS)
@pytest.mark.parametrize("inputs,flags", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_scenario_golden(tmp_path, golden, inputs, flags, shell_name):
    name = next(s[0] for s in SCENARIOS if s[1] == inputs and s[2] == flags)
    code, text, output = run_cli(tmp_path, inputs, flags, shell_name)
    assert code == 1, output  # steps pending
    if shell_name == "cmd":  # cmd scripts use CRLF; the golden file is compared line by line
        assert "\r\n" in text and text.count("\n") == text.count("\r\n")
        text = text.replace("\r\n", "\n")
    golden.check(f"migrate/{name}{shell.extension(shell_name)}", text)


# --- bash, executed -------------------------------------------------------------------------------
FAKE = r"""#!/bin/sh
# fake {name}: log the argv (NUL-separated, one call per line), print what the real one would, fail on demand
{{ printf '%s\0' "{name}" "$@"; printf '\n'; }} >> "$FAKE_LOG"
case " $* " in *" $FAKE_FAIL "*) [ -n "$FAKE_FAIL" ] && {{ echo "fake {name} failing" >&2; exit 7; }};; esac
case "{name} $*" in
  "conda list"*) echo "@EXPLICIT"; echo "https://conda.example/pkg-1.0-0.tar.bz2";;
  "python -m pip freeze"*) echo "torch==1.0";;
esac
exit 0
"""


def fake_bin(tmp: Path) -> Path:
    bindir = tmp / "bin"
    bindir.mkdir()
    for name in ("conda", "python"):
        path = bindir / name
        path.write_text(FAKE.format(name=name))
        path.chmod(0o755)
    return bindir


def run_bash(script: str, tmp: Path, fail: str = "") -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bindir = fake_bin(tmp)
    (tmp / "migrate.sh").write_text(script)
    log = tmp / "calls.log"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_LOG": str(log), "FAKE_FAIL": fail, "HOME": str(tmp)}
    proc = subprocess.run(["bash", str(tmp / "migrate.sh")], cwd=tmp, env=env, capture_output=True, text=True, check=False)
    calls = [line.split("\0")[:-1] for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


@pytest.mark.parametrize("inputs,flags", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_bash_runs_the_steps_in_order(tmp_path, inputs, flags):
    code, text, output = run_cli(tmp_path, inputs, flags, "bash")
    assert code == 1, output
    proc, calls = run_bash(text, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("envgen: migration finished")
    result = plan_for(tmp_path, inputs, flags)
    assert [s.kind for s in result.steps] == EXPECTED_KINDS[next(s[0] for s in SCENARIOS if s[1] == inputs)]
    expected = [[s.argv[0], "-", *s.argv[3:]] if s.kind == "verify" else list(s.argv) for s in result.steps]
    setup = 2 if calls[:1] == [["conda", "shell.bash", "hook"]] else 0
    if setup:
        assert calls[1][:2] == ["conda", "activate"]  # the env is activated before anything else
    assert calls[setup:] == expected  # every step, exactly these words, in this order
    assert "--explicit" in calls[setup] or "freeze" in calls[setup]  # the backup runs before any change
    for step in result.steps:
        if step.stdout:
            assert (tmp_path / step.stdout).read_text().strip()  # the backup really holds the listing


@pytest.mark.parametrize("fail", ["remove", "install"])
def test_bash_stops_at_the_first_failure(tmp_path, fail):
    inputs, flags = SCENARIOS[0][1], SCENARIOS[0][2]
    _, text, _ = run_cli(tmp_path, inputs, flags, "bash")
    proc, calls = run_bash(text, tmp_path, fail=fail)
    assert proc.returncode == 7
    assert fail in calls[-1]  # the failing call is the last one made
    assert not any(c[:2] == ["python", "-"] for c in calls)  # verify never ran
    assert "migration finished" not in proc.stdout


def plan_for(tmp: Path, inputs: list[str], flags: list[str]):
    """The plan the CLI would make (via `--json`)."""
    import json

    from typer.testing import CliRunner

    from envgen.cli import app

    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(app, ["migrate", *[w for n in inputs for w in ("--from", n)], *flags, "--json"])
    finally:
        os.chdir(cwd)
    data = json.loads(result.stdout)

    class Step:  # the JSON steps, read back as the plan's fields
        def __init__(self, d):
            self.kind, self.argv, self.stdout = d["kind"], d["command"], d.get("output_file")

    class P:
        steps: ClassVar[list[Step]] = [Step(d) for d in data["steps"]]

    return P


# --- hostile values never become commands --------------------------------------------------------
TEXT = st.text(alphabet=st.sampled_from(list("ab1. ;&|<>()$`'\"%^!\\/=*?#~-\n")), min_size=1, max_size=16)


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(st.sampled_from(["torch", "torchvision", "cuda90", "numpy"]), TEXT),
       version=st.one_of(st.sampled_from(["1.0", "2.5.1+cpu"]), TEXT), prefix=TEXT, sh=st.sampled_from(shell.SHELLS))
def test_hostile_plans_render_inert_or_are_refused(name, version, prefix, sh):
    """Package names go through the snapshot's grammar check; whatever passes renders as single words."""
    from envgen.migrate.packages import conda_package, pip_package

    mdata = load_migrate_data(ROOT / "matrices")
    try:
        pkgs = (conda_package(name, version, "0", "pytorch", "x"), pip_package(name, version, "x"))
    except BadInput:
        return  # refused before it could reach a script
    current = Snapshot(pkgs, digest="cd" * 32)
    spec = Spec("torch", "torch==2.5.1", "torch", version="2.5.1")
    from packaging.version import Version

    from envgen.models import Accel

    target = Target("pip", "linux-64", Version("2.5.1"), Accel.parse("cu124"), "pytorch-index", (spec,),
                    ("pip", "install", "torch==2.5.1"), "torch 2.5.1")
    try:
        text = scripts.render(planner.plan(current, target, mdata, EnvRef(prefix=prefix)), sh, regenerate="envgen x")
    except shell.UnsafeValue:
        return  # a prefix this shell cannot carry is refused, not quoted half-way
    check_inert(text, sh)


def check_inert(text: str, sh: str) -> None:
    """Each line is a comment, a known fixed line, or a command whose words the tokenizer accepts."""
    fixed = set(shell.prologue(sh)) | {"#!/usr/bin/env bash", "@echo off", "", 'eval "$(conda shell.bash hook)"',
                                       "(& conda 'shell.powershell' 'hook') | Out-String | Invoke-Expression"}
    newline = shell.NEWLINE[sh]
    lines = _without_verify_program(text.split(newline)[:-1], sh)
    for line in lines:
        if line in fixed or line.startswith("rem " if sh == "cmd" else "#") or line == "rem":
            assert "\n" not in line and "\r" not in line
            continue
        if line.startswith(("printf '%s\\n' ", "Write-Output '", "echo(")):
            continue
        for redirect in (" | Out-File -Encoding ascii -FilePath ", " > "):
            if (redirect in line and sh != "powershell") or (sh == "powershell" and redirect in line):
                head, _, tail = line.partition(redirect)
                suffix = {"bash": "", "powershell": "; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }",
                          "cmd": " || exit /b 1"}[sh]
                command_argv(sh, tail[: len(tail) - len(suffix)] and f"{_wrap(sh, tail[: len(tail) - len(suffix)])}")
                line = head + suffix
                break
        command_argv(sh, line)  # raises Syntax if anything is not a plain word
    if sh == "bash":
        proc = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


def _without_verify_program(lines: list[str], sh: str) -> list[str]:
    """The lines with the verify here-document (bash, PowerShell) replaced by the command that reads it; its body
    must be exactly the program envgen ships, so nothing else can hide inside."""
    opener = {"bash": lambda s: s.endswith(f" <<'{scripts.HEREDOC}'"), "powershell": lambda s: s == "@'"}.get(sh)
    if opener is None:
        return lines
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if opener(line):
            body = lines[i + 1: i + 1 + len(planner.VERIFY_LINES)]
            assert tuple(body) == planner.VERIFY_LINES
            closing = lines[i + 1 + len(planner.VERIFY_LINES)]
            if sh == "bash":
                assert closing == scripts.HEREDOC
                out.append(line[: -len(f" <<'{scripts.HEREDOC}'")])
            else:
                assert closing.startswith("'@ | ")
                out.append(closing[len("'@ | "):])
            i += len(planner.VERIFY_LINES) + 2
            continue
        out.append(line)
        i += 1
    return out


def _wrap(sh: str, words: str) -> str:
    """Make a bare redirect target look like a command line for `command_argv`."""
    if sh == "powershell":
        return f"x {words}; if ($LASTEXITCODE -ne 0) {{ exit $LASTEXITCODE }}"
    if sh == "cmd":
        return f"call x {words} || exit /b 1"
    return f"x {words}"


def test_check_inert_catches_an_injected_line():
    with pytest.raises(Syntax):
        check_inert("#!/usr/bin/env bash\nset -euo pipefail\nconda install x; rm -rf ~\n", "bash")
    with pytest.raises(Syntax):
        check_inert("@echo off\r\ncall conda install \"a\" & calc || exit /b 1\r\n", "cmd")


def test_empty_plan_script_says_nothing_to_do():
    mdata = load_migrate_data(ROOT / "matrices")
    from packaging.version import Version

    from envgen.models import Accel

    spec = Spec("torch", "torch==2.5.1", "torch", version="2.5.1")
    target = Target("pip", "linux-64", Version("2.5.1"), Accel.parse("cu124"), "pytorch-index", (spec,),
                    ("pip", "install", "torch==2.5.1"), "torch 2.5.1")
    result = planner.plan(Snapshot((Package("torch", "2.5.1+cu124", "pip"),)), target, mdata)
    text = scripts.render(result, "bash", regenerate="envgen migrate")
    assert "nothing to do" in text and "pip install" not in text
