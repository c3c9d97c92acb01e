"""`envgen migrate` as a user runs it: through the CLI's error boundary, exit codes, files, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.cli import main

DATA = Path(__file__).resolve().parent / "data" / "migrate"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """One matrix cache for this module (parsing the matrix per test would dominate the run time)."""
    from tests.test_scripts import _shared_cache

    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(_shared_cache(tmp_path_factory)))
    monkeypatch.delenv("ENVGEN_MATRIX_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("ENVGEN_DRIVER", "999.99")  # the machine's driver, given: no test depends on the host's GPU
    monkeypatch.setenv("ENVGEN_GPU", "6.1")
    monkeypatch.delenv("ENVGEN_CUDA", raising=False)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["migrate", *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["migrate", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--from", "--current", "--to", "--shell", "--prefix", "--json"):
        assert flag in out


BAD = [
    ("no-input", [], "no current environment given"),
    ("both-inputs", ["--current", "--from", str(DATA / "pt251.env-export.yml")], "not both"),
    ("to-and-flags", ["--from", str(DATA / "pt251.env-export.yml"), "--to", "x.yml", "--torch", "2.0.0"], "--to gives"),
    ("bad-shell", ["--from", str(DATA / "pt251.env-export.yml"), "--shell", "fish"], "unknown shell"),
    ("bad-format", ["--from", str(DATA / "pt251.env-export.yml"), "--format", "xml"], "unknown format"),
    ("bad-name", ["--from", str(DATA / "pt251.env-export.yml"), "--name", "a;b", "--torch", "2.5.1",
                  "--installer", "pip", "--cuda", "12.4"], "invalid conda env name"),
    ("missing-file", ["--from", "/nonexistent/list.txt"], "cannot read"),
    ("unknown-torch", ["--from", str(DATA / "pt251.env-export.yml"), "--torch", "9.9.9"], "9.9.9"),
]


@pytest.mark.parametrize("args,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_error_and_hint(capsys, args, message):
    code, _out, err = run(capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and message in err and "\nhint: " in err
    assert "Traceback" not in err


def test_unrecognised_listing_names_the_formats_tried(capsys, tmp_path):
    path = tmp_path / "env.txt"
    path.write_text("<html><body>not a listing</body></html>\n")
    code, _, err = run(capsys, "--from", str(path))
    assert code == 2 and "conda-list" in err and "pip-freeze" in err and "pip-json" in err


def test_hostile_package_name_is_refused_and_nothing_written(capsys, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("torch==2.5.1\n$(curl${IFS}evil)==1.0\n")
    out = tmp_path / "migrate.sh"
    code, _, err = run(capsys, "--from", str(path), "--torch", "2.5.1", "--cpu", "--platform", "linux-64",
                       "--python", "3.11", "-o", str(out))
    assert code == 2 and "list.txt:2" in err and not out.exists()


def test_cmd_refuses_a_prefix_it_cannot_quote(capsys, tmp_path):
    out = tmp_path / "m.cmd"
    code, _, err = run(capsys, "--from", str(DATA / "cpu-mistake181.conda-list.txt"), "--torch", "1.8.1", "--cuda",
                       "10.2", "--shell", "cmd", "--prefix", "C:\\envs\\100%", "-o", str(out))
    assert code == 2 and "'%'" in err and not out.exists()


def test_json_plan_and_pending_exit_1(capsys):
    code, out, _ = run(capsys, "--from", str(DATA / "cpu-mistake.pip-list.json"), "--torch", "2.5.1", "--cuda", "12.4",
                       "--platform", "linux-64", "--python", "3.11", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["pending"] is True and data["shell"] == "bash" and data["target"]["variant"] == "cu124"
    assert [s["kind"] for s in data["steps"]] == ["backup", "remove", "install", "verify"]
    assert all({"kind", "packages", "command", "reason"} <= set(s) for s in data["steps"])
    assert data["current"][0] == {"name": "torch", "version": "2.5.1+cpu", "installer": "pip"}


def test_already_on_target_exits_0(capsys, tmp_path):
    path = tmp_path / "freeze.txt"
    path.write_text("torch==2.5.1+cu124\nfilelock==3.16.1\n")
    code, out, _ = run(capsys, "--from", str(path), "--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64",
                       "--python", "3.11")
    assert code == 0 and "already on the target" in out


def test_human_table_and_written_script(capsys, tmp_path):
    out = tmp_path / "sub" / "migrate.ps1"
    code, stdout, err = run(capsys, "--from", str(DATA / "p123-win.conda-list.txt"), "--torch", "0.4.0", "--cuda",
                            "9.0", "--channel", "pytorch", "-o", str(out))
    assert code == 1
    assert "backup" in stdout and "reset" in stdout and "defaults::vc=14" in stdout  # the table
    text = out.read_text()
    assert "$ErrorActionPreference = 'Stop'" in text  # Windows input -> PowerShell by default
    assert f"wrote {out}" in err
    assert "pass -o FILE" not in err  # it was passed: no advice to pass it
    assert [p.name for p in out.parent.iterdir()] == ["migrate.ps1"]  # atomic: no temporary file left


def test_regenerate_line_quotes_a_path_with_spaces(capsys, tmp_path):
    listing = tmp_path / "my env" / "freeze.txt"
    listing.parent.mkdir()
    listing.write_text("torch==1.8.1+cu102\n")
    code, out, _ = run(capsys, "--from", str(listing), "--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64",
                       "-o", "-")
    assert code == 1 and f"# regenerate: envgen migrate --from '{listing}' --torch 2.5.1" in out


def test_print_script_to_stdout(capsys):
    code, out, _ = run(capsys, "--from", str(DATA / "mixed181.conda-list.txt"), "--from",
                       str(DATA / "mixed181.pip-freeze.txt"), "--torch", "1.8.1", "--cuda", "10.2", "--channel",
                       "pytorch", "--platform", "linux-64", "--name", "clean", "-o", "-")
    assert code == 1 and out.startswith("#!/usr/bin/env bash\n")
    assert "conda activate clean" in out and "python -m pip uninstall --yes torch torchvision" in out


def test_to_environment_yml(capsys, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("name: cf\nchannels:\n  - conda-forge\n  - nodefaults\ndependencies:\n  - python=3.11\n"
                   "  - pytorch=2.6.0=cuda*\n  - cuda-version=12.6\n")
    code, out, _ = run(capsys, "--from", str(DATA / "pt251.conda-json.json"), "--to", str(env), "--json")
    data = json.loads(out)
    assert code == 1 and data["target"]["torch"] == "2.6.0" and data["target"]["variant"] == "cu126"
    install = next(s for s in data["steps"] if s["kind"] == "install")
    assert install["command"][-3:] == ["-c", "conda-forge", "--override-channels"]
    removed = [p for s in data["steps"] if s["kind"] == "remove" for p in s["packages"]]
    assert "pytorch-cuda" in removed and "pytorch" in removed


def test_to_explicit_lock(capsys, tmp_path):
    lock = tmp_path / "explicit-linux-64.txt"
    lock.write_text("# platform: linux-64\n@EXPLICIT\n"
                    "https://conda.anaconda.org/conda-forge/linux-64/pytorch-2.6.0-cuda126_mkl_py311_h1234567_300.conda"
                    "#0123456789abcdef0123456789abcdef\n")
    code, out, _ = run(capsys, "--from", str(DATA / "pt251.conda-json.json"), "--to", str(lock), "--json")
    data = json.loads(out)
    assert code == 1 and data["target"]["torch"] == "2.6.0" and data["target"]["variant"] == "cu126"
    install = next(s for s in data["steps"] if s["kind"] == "install")
    assert install["command"][:3] == ["conda", "install", "--yes"] and install["command"][-2:] == ["--file", str(lock)]


def test_to_hashed_requirements(capsys, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.5.1+cu124 \\\n    --hash=sha256:" + "a" * 64 + "\nfilelock==3.16.1 \\\n"
                   "    --hash=sha256:" + "b" * 64 + "\n")
    code, out, _ = run(capsys, "--from", str(DATA / "pt251.env-export.yml"), "--to", str(req), "--platform",
                       "linux-64", "--json")
    data = json.loads(out)
    assert code == 1 and data["target"]["installer"] == "pip" and data["target"]["variant"] == "cu124"
    install = next(s for s in data["steps"] if s["kind"] == "install")
    assert install["command"] == ["python", "-m", "pip", "install", "--require-hashes", "--no-deps", "-r", str(req)]


def test_current_environment(capsys):
    code, out, err = run(capsys, "--current", "--torch", "2.5.1", "--cpu", "--installer", "pip", "--platform",
                         "linux-64", "--python", "3.11", "--json")
    assert code in (0, 1), err
    data = json.loads(out)
    assert data["inputs"] == ["current"]


def test_to_conda_lock_installs_its_explicit_file(tmp_path):
    """A conda-lock.yml target installs the exact locked packages (the explicit file envgen writes beside it)."""
    import shutil

    from tests.conftest import ROOT
    from tests.support.cli import run_process

    lock = tmp_path / "lock"
    shutil.copytree(ROOT / "locks" / "example-2.5.1-cu118", lock)
    src = ROOT / "tests" / "data" / "migrate" / "pt112-cu113.explicit.txt"
    res = run_process("migrate", "--from", str(src), "--to", str(lock / "conda-lock.yml"), "--platform", "linux-64",
                      "--shell", "bash", "--name", "old", "-o", "-")
    assert res.code == 1, res.err
    assert f"conda install --yes --name old --file {lock / 'conda-linux-64.lock'}" in res.out
    (lock / "conda-linux-64.lock").unlink()  # without it: conda-lock rebuilds the named env from the lock
    res = run_process("migrate", "--from", str(src), "--to", str(lock / "conda-lock.yml"), "--platform", "linux-64",
                      "--shell", "bash", "--name", "old", "-o", "-")
    assert f"conda-lock install --name old --platform linux-64 {lock / 'conda-lock.yml'}" in res.out
    res = run_process("migrate", "--from", str(src), "--to", str(lock / "conda-lock.yml"), "--platform", "linux-64",
                      "--shell", "bash", "-o", "-")
    assert res.code == 2 and "--name or --prefix" in res.err


def test_to_pylock_installs_with_pip_and_hashes(tmp_path):
    """A pylock target installs its hashed requirements file (written beside it) with the env's own pip;
    without that file the script names uv, which can read a pylock."""
    from envgen.lock import engine as lockfile
    from envgen.lock.fetch import Fetcher
    from envgen.lock.mirrors import load_mirrors
    from tests.support.cli import run_process
    from tests.support.lockenv import mirror_pairs, server
    from tests.test_lockfile import _spec

    fetcher = Fetcher(load_mirrors(mirror_pairs(server().url)), root=tmp_path / "cache")
    lock = tmp_path / "lock"
    lockfile.write_all(lockfile.render_all(lockfile.solve_all(_spec(("linux-64",)), fetcher)), lock)
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("torch==1.7.1+cu101\nnumpy==1.19.5\n")
    pylock = lock / "pylock.linux-64.toml"
    res = run_process("migrate", "--from", str(freeze), "--to", str(pylock), "--platform", "linux-64",
                      "--shell", "bash", "-o", "-")
    assert res.code == 1, res.err
    hashed = lock / "requirements-linux-64.txt"
    assert f"python -m pip install --no-deps --require-hashes -r {hashed}" in res.out
    hashed.unlink()
    res = run_process("migrate", "--from", str(freeze), "--to", str(pylock), "--platform", "linux-64",
                      "--shell", "bash", "-o", "-")
    assert f"uv pip install --no-deps -r {pylock}" in res.out
