"""The light path (`envgen.cli._light`): the same calls and the same bytes as typer, without typer's start-up.

Three promises: `parse` reads an argument list exactly as typer does, or declines it; the output (stdout, stderr,
exit code) is byte-identical to the typer path; and the light path leaves the heavy modules unimported, checked in
a real process through `-X importtime` (names only, no timing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINI

M = ["--matrix-dir", str(MINI)]

PLAIN = [
    ("command", ["command", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64"]),
    ("command-json", ["command", "--torch", "2.5.1", "--cuda", "cu121", "--platform", "linux-64", "--json"]),
    ("command-equals", ["command", "--torch=2.5.1", "--cpu", "--platform=linux-64", "--installer=pip"]),
    ("command-every-option", ["command", "--torch", "2.5.1", "--rocm", "6.1", "--xpu", "--platform", "linux-64",
                              "--installer", "pip", "--channel", "pytorch-index", "--python", "3.11",
                              "--with", "torchvision", "--json"]),
    ("command-no-options", ["command"]),
    ("env-dry-run", ["env", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--dry-run"]),
    ("env-platforms", ["env", "--torch", "2.5.1", "--cpu", "--platform", "linux-64", "--platform", "osx-arm64",
                       "-n", "demo", "-o", "out/dir/", "--dry-run", "--json"]),
    ("env-output-long", ["env", "--torch", "2.5.1", "--cpu", "--output", "./x", "--name=n1", "--dry-run"]),
    ("matrix-torch", ["matrix", "--torch", "2.5.1"]),
    ("matrix-cuda", ["matrix", "--cuda", "10.2", "--json"]),
    ("matrix-filters", ["matrix", "--cpu", "--python", "3.9", "--platform", "linux-64", "--installer", "conda"]),
    ("matrix-unicode", ["matrix", "--torch", "2.5.1", "--platform", "línux-64"]),
]
# lock's calls are compared as parsed (the recorder stands in for the solve); its refusals below, byte for byte
LOCK_PLAIN = [
    ("lock-flags", ["lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--platform", "win-64",
                    "-o", "locks"]),
    ("lock-every-option", ["lock", "--from", "environment.yml", "--group", "dev", "--group", "test", "--timeout",
                           "300", "--channel-priority", "flexible", "--virtual", "__glibc=2.28", "--mirror",
                           "https://a=https://b", "--offline", "--json", "--installer", "conda", "--channel",
                           "conda-forge", "--python", "3.11", "--with", "torchvision", "--rocm", "6.1",
                           "--exclude-newer", "release+30d", "--output=out"]),
    ("lock-check", ["lock", "--check", "-o", "locks"]),
    ("lock-nothing", ["lock"]),
    ("lock-several", ["lock", "--torch", "2.4.1", "--torch=2.5.1", "--cpu", "-o", "locks/{torch}"]),
    ("lock-update", ["lock", "--update", "numpy", "--update", "scipy", "--timeout", "1.5"]),
    ("lock-packages", ["lock", "numpy<2", "--cpu", "scipy>=1", "--torch", "2.5.1"]),
]
DECLINED = [
    ("help", ["command", "--help"]),
    ("root-help", ["--help"]),
    ("nothing", []),
    ("version-and-more", ["--version", "command"]),
    ("other-command", ["migrate", "--torch", "2.5.1"]),
    ("unknown-option", ["command", "-z"]),
    ("prefix-of-an-option", ["env", "--torc", "2.5.1"]),
    ("missing-value", ["env", "--torch"]),
    ("empty-value", ["command", "--torch", ""]),
    ("value-like-an-option", ["command", "--python", "-3"]),
    ("repeated", ["command", "--torch", "2.5.1", "--torch", "1.8.1"]),
    ("repeated-flag", ["command", "--cpu", "--cpu"]),
    ("flag-with-value", ["env", "--cpu=3"]),
    ("argument", ["env", "extra"]),
    ("double-dash", ["command", "--", "--torch"]),
    ("short-attached", ["env", "-ndemo"]),
    ("option-of-another-command", ["matrix", "--xpu"]),
    ("platform-twice-for-command", ["command", "--platform", "linux-64", "--platform", "win-64"]),
    ("surrogate", ["command", "--torch", "2.5.1\udcff"]),
    ("lock-timeout-exponent", ["lock", "--timeout", "1e3"]),
    ("lock-timeout-negative", ["lock", "--timeout", "-1"]),
    ("lock-output-twice", ["lock", "-o", "a", "--output", "b"]),
    ("lock-xpu", ["lock", "--xpu"]),
    ("lock-dash-package", ["lock", "-numpy"]),
]


@pytest.fixture
def calls(monkeypatch):
    """What typer passes to each plain command function: they are replaced by recorders."""
    from envgen.cli import command, env, lock, matrix

    seen: list[tuple[str, dict]] = []
    for module, attr, name in ((command, "command", "command"), (env, "env", "env"), (matrix, "matrix_cmd", "matrix"),
                               (lock, "lock", "lock")):
        monkeypatch.setattr(module, attr, lambda _n=name, **kw: seen.append((_n, kw)))
    return seen


@pytest.mark.parametrize("args", [p[1] for p in PLAIN + LOCK_PLAIN], ids=[p[0] for p in PLAIN + LOCK_PLAIN])
def test_parse_is_typers_parse(calls, args):
    from envgen.cli import _app, _light

    assert _app.run([*args, *M]) == 0
    assert _light.parse([*args, *M]) == calls[-1]


def test_matrix_dir_from_the_environment_as_typer_reads_it(calls, monkeypatch):
    from envgen.cli import _app, _light

    args = ["command", "--torch", "2.5.1"]
    for value in (str(MINI), ""):
        monkeypatch.setenv("ENVGEN_MATRIX_DIR", value)
        _app.run(args)
        assert _light.parse(args) == calls[-1]


@pytest.mark.parametrize("args", [d[1] for d in DECLINED], ids=[d[0] for d in DECLINED])
def test_what_the_light_path_declines_goes_to_typer(args):
    from envgen.cli import _light

    assert _light.parse(args) is None


def test_completion_always_goes_to_typer():
    from envgen.cli import _light

    assert _light.parse(["--version"], environ={"_ENVGEN_COMPLETE": "bash_complete"}) is None


def _both(capsys, args):
    """(code, stdout, stderr) of the light path and of typer for the same arguments."""
    from envgen.cli import _app, _light, _release

    out = []
    for runner in (_light.run, _app.run):
        capsys.readouterr()
        code = runner(list(args))
        _release()
        captured = capsys.readouterr()
        out.append((code, captured.out, captured.err))
    return out


SAME = [
    *PLAIN,
    ("refusal", ["command", "--torch", "1.8.1", "--cuda", "11.3", "--platform", "linux-64"]),
    ("bad-variant", ["command", "--torch", "1.8.1", "--cuda", "banana"]),
    ("bad-version", ["command", "--torch", "one.eight"]),
    ("bad-platform", ["env", "--torch", "2.5.1", "--platform", "amiga-68k", "--dry-run"]),
    ("two-variants", ["command", "--cuda", "10.2", "--cpu"]),
    ("unknown-torch", ["matrix", "--torch", "9.9"]),
    ("matrix-cuda-auto", ["matrix", "--cuda", "auto"]),
    ("bad-env-name", ["env", "--torch", "1.8.1", "--cuda", "10.2", "--name", "a/b", "--dry-run"]),
    ("no-python", ["env", "--torch", "1.8.1", "--python", "3.12", "--platform", "linux-64", "--dry-run"]),
    ("lock-timeout", ["lock", "--timeout", "0"]),
    ("lock-priority", ["lock", "--channel-priority", "loose"]),
    ("lock-virtual", ["lock", "--virtual", "glibc"]),
    ("lock-several-update", ["lock", "--torch", "1.8.1", "--torch", "2.5.1", "--update", "numpy"]),
    ("lock-slot-without-torch", ["lock", "--cpu", "-o", "x/{torch}"]),
    ("lock-bad-mirror", ["lock", "--mirror", "nowhere"]),
]


@pytest.mark.parametrize("args", [s[1] for s in SAME], ids=[s[0] for s in SAME])
def test_same_bytes_as_typer(capsys, args):
    light, typer = _both(capsys, [*args, *M])
    assert light[0] is not None, "the light path declined these arguments"
    assert light == typer


def test_env_writes_the_same_files(capsys, tmp_path):
    from envgen.cli import _app, _light

    texts = []
    out = tmp_path / "out"
    args = ["env", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "-o", str(out), *M]
    for runner in (_light.run, _app.run):
        assert runner(args) == 0
        texts.append({p.name: p.read_bytes() for p in out.iterdir()})
        for p in out.iterdir():
            p.unlink()
    assert texts[0] == texts[1] and len(texts[0]) == 2
    assert capsys.readouterr().err.count("wrote ") == 4


def test_version_is_typers(capsys):
    light, typer = _both(capsys, ["--version"])
    assert light == typer == (0, f"envgen {__import__('envgen').__version__}\n", "")


# --- the modules the light path leaves alone, seen in a real process ---------------------------------------------
HEAVY = ("typer", "click", "pydantic", "rich", "ruamel", "requests", "rattler", "uv", "yaml")


def _imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "envgen", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})}, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rpartition("|")[2].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("args", [
    ["--version"],
    ["command", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", *M],
    ["command", "--torch", "2.5.1", "--cpu", "--platform", "linux-64", "--json", *M],
    ["env", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--dry-run", *M],
], ids=["version", "command", "command-json", "env-dry-run"])
def test_light_path_leaves_heavy_modules_unimported(args):
    imported = _imported(*args)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version_imports_almost_nothing():
    assert not _imported("--version") & {"typing", "dataclasses", "pathlib", "json", "packaging"}


def test_help_still_goes_through_typer():
    assert "typer" in _imported("command", "--help")


def test_lock_leaves_typer_unimported(capsys, served, tmp_path: Path):
    """`envgen lock --check` is what a pre-commit hook runs on every commit; `lock` itself needs rattler and uv."""
    from tests.support.cli import run

    out = tmp_path / "locks"
    args = ["lock", "--torch", "1.8.1", "--cpu", "--platform", "linux-64", "--installer", "conda", "-o", str(out)]
    assert run(capsys, *args).code == 0
    for argv in (["lock", "--check", "-o", str(out)], args):
        imported = _imported(*argv)
        assert not imported & {"typer", "click", "pydantic"}, argv
    assert "rattler" in imported


def test_the_checker_sees_a_heavy_import(tmp_path: Path):
    """The test above would be worthless if the importtime lines were misread."""
    assert "typer" in _imported("completion", "bash")


# --- tables without rich: the same bytes as rich ------------------------------------------------------------------
def _matrix_views(matrix):
    yield from ({"torch": str(rel.torch)} for rel in matrix.releases)
    yield from ({"cuda": c} for c in ("10.2", "11.8", "12.4"))
    yield from ({"rocm": "6.1"}, {}, {"cpu": True, "platform": "linux-64"}, {"installer": "pip", "python": "3.9"})


def test_matrix_views_print_as_rich_prints_them(matrix, monkeypatch, capsys):
    """Every release of the shipped matrix and the filtered views: the hand-drawn text equals rich's, and only
    rich's wrapping of a line wider than the console is ever left to rich (none in the shipped matrix)."""
    from envgen.cli import _tables
    from envgen.cli.matrix import matrix_cmd

    monkeypatch.setattr("envgen.cli._common.load", lambda _dir: matrix)
    plain = _tables.plain
    declined = []
    for view in _matrix_views(matrix):
        matrix_cmd(**view)
        by_hand = capsys.readouterr().out
        monkeypatch.setattr(_tables, "plain", lambda blocks, width=200: None)
        matrix_cmd(**view)
        assert by_hand == capsys.readouterr().out, view
        monkeypatch.setattr(_tables, "plain", lambda blocks, width=200, v=view: plain(blocks, width) or
                            declined.append(v))
        matrix_cmd(**view)
        capsys.readouterr()
        monkeypatch.setattr(_tables, "plain", plain)
    assert declined == []


@pytest.mark.parametrize("text", [
    "plain words", "x" * 199, "x" * 200, "x" * 201, "a " * 150, ("word " * 60).strip(), "two  spaces " * 30,
    "[bold]markup[/bold]", "an :emoji: here", "tab\there", "naïve", "ends with space " * 20, " lead" * 50,
], ids=lambda t: repr(t[:20]))
@pytest.mark.parametrize("width", [200, 37])
def test_lines_print_as_rich_prints_them(text, width):
    import io

    from rich.console import Console

    from envgen.cli import _tables

    buf = io.StringIO()
    Console(file=buf, no_color=True, highlight=False, soft_wrap=False, width=width).print(text)
    mine = _tables.plain([text], width)
    assert mine is None or mine == buf.getvalue()


def test_matrix_torch_leaves_rich_unimported():
    assert not _imported("matrix", "--torch", "1.8.1", *M) & {"rich", "typer", "pydantic"}


def test_random_lines_print_as_rich_prints_them():
    import io
    import random

    from rich.console import Console

    from envgen.cli import _tables

    rng = random.Random(16)
    for _ in range(1500):
        text = " ".join("".join(rng.choice("abcdefghij.,-") for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 30, 60])))
                        for _ in range(rng.randint(1, 60)))
        for width in (200, 41):
            buf = io.StringIO()
            Console(file=buf, no_color=True, highlight=False, soft_wrap=False, width=width).print(text)
            mine = _tables.plain([text], width)
            assert mine is None or mine == buf.getvalue(), (text, width)
