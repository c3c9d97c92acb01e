"""The command line as a user meets it: exit codes, error/hint, JSON, files written atomically."""

import json

import pytest

from tests.conftest import MINI
from tests.support.cli import run, run_process

M = ["--matrix-dir", str(MINI)]


def test_command_prints_both_installers(capsys):
    r = run(capsys, "command", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", *M)
    assert r.code == 0
    lines = r.out.strip().splitlines()
    assert lines == [
        'conda install pytorch==1.8.1 torchvision==0.9.1 torchaudio==0.8.1 cudatoolkit=10.2 "numpy<2" -c pytorch',
        ('pip install torch==1.8.1+cu102 torchvision==0.9.1+cu102 torchaudio==0.8.1 "numpy<2" '
         "-f https://download.pytorch.org/whl/torch_stable.html"),
    ]
    assert "Python 3.9" in r.err  # diagnostics go to stderr


def test_command_json_shape(capsys):
    r = run(capsys, "command", "--torch", "2.5.1", "--cuda", "cu121", "--platform", "linux-64", "--json", *M)
    data = json.loads(r.out)
    conda, pip = data
    assert set(conda) >= {"installer", "platform", "variant", "command", "packages", "channels",
                          "extra_index_urls", "find_links", "notes"}
    assert conda["channels"] == ["pytorch", "nvidia"]
    assert {"name": "pytorch-cuda", "version": "12.1", "role": "selector"} in conda["packages"]
    assert pip["index_url"] == "https://download.pytorch.org/whl/cu121"
    assert pip["packages"][0] == {"name": "torch", "version": "2.5.1", "role": "torch"}
    assert set(conda) == set(pip) and conda["index_url"] is None  # one schema for both installers


@pytest.mark.parametrize("args,message,code", [
    (["command", "--torch", "1.8.1", "--cuda", "11.3", "--platform", "linux-64"], "no build of torch 1.8.1", 2),
    (["command", "--torch", "1.8.1", "--cuda", "banana"], "unknown variant 'banana'", 2),
    (["command", "--torch", "one.eight"], "invalid torch version", 2),
    (["command", "--torch", "2.5.1", "--platform", "win-32"], "32-bit Windows", 2),
    (["command", "--torch", "2.5.1", "--platform", "amiga-68k"], "unknown platform", 2),
    (["command", "--cuda", "10.2", "--cpu"], "choose one variant", 2),  # and a hint (checked below)
    (["command", "--installer", "apt"], "unknown installer", 2),
    (["matrix", "--torch", "9.9"], "unknown torch version 9.9", 2),
    (["env", "--torch", "1.8.1", "--python", "3.12", "--platform", "linux-64", "--dry-run"],
     "Python 3.12 has no binaries", 2),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_is_explained(capsys, args, message, code):
    r = run(capsys, *args, *M)
    assert r.code == code
    assert r.err.startswith("error: ") and message in r.err
    assert "Traceback" not in r.err
    assert r.out == ""


def test_refusal_offers_nearest(capsys):
    r = run(capsys, "command", "--torch", "1.8.1", "--cuda", "11.3", "--platform", "linux-64", *M)
    assert "hint: nearest valid: CUDA 11.1 (conda, pip); CUDA 10.2" in r.err


def test_env_writes_manifests_atomically_and_stably(capsys, tmp_path):
    out = tmp_path / "out"
    args = ["env", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "-o", str(out), *M]
    assert run(capsys, *args).code == 0
    env_yml = (out / "environment.yml").read_text()
    reqs = (out / "requirements.txt").read_text()
    assert "regenerate: envgen env --torch 1.8.1 --cuda 10.2 --platform linux-64" in env_yml
    assert "  - cudatoolkit=10.2" in env_yml and "torch==1.8.1+cu102" in reqs
    assert sorted(p.name for p in out.iterdir()) == ["environment.yml", "requirements.txt"]  # no temp files left
    assert run(capsys, *args).code == 0
    assert (out / "environment.yml").read_text() == env_yml  # byte-stable


def test_env_regenerate_line_quotes_an_output_folder_with_spaces(capsys, tmp_path):
    out = tmp_path / "John Smith" / "envs"
    assert run(capsys, "env", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "-o", str(out), *M).code == 0
    assert f"# regenerate: envgen env --torch 1.8.1 --cuda 10.2 --platform linux-64 -o '{out}'\n" in \
        (out / "environment.yml").read_text()


def test_env_yml_is_valid_yaml_for_conda(capsys, tmp_path):
    from ruamel.yaml import YAML

    run(capsys, "env", "--torch", "2.5.1", "--cuda", "12.4", "--channel", "conda-forge", "--platform", "linux-64",
        "-o", str(tmp_path), *M)
    doc = YAML(typ="safe").load((tmp_path / "environment.yml").read_text())
    assert doc["channels"] == ["conda-forge", "nodefaults"]
    assert "pytorch=2.5.1=cuda*" in doc["dependencies"]


def test_env_several_platforms_markers_or_split(capsys, tmp_path):
    r = run(capsys, "env", "--torch", "2.5.1", "--installer", "pip", "--platform", "linux-64", "--platform",
            "osx-arm64", "-o", str(tmp_path), *M)
    assert r.code == 0
    # different indexes per platform cannot share one requirements file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements-linux-64.txt", "requirements-osx-arm64.txt"]


def test_env_dry_run_writes_nothing(capsys, tmp_path):
    r = run(capsys, "env", "--torch", "1.8.1", "--cpu", "--platform", "win-64", "-o", str(tmp_path), "--dry-run", *M)
    assert r.code == 0 and "--- " in r.out and "cpuonly" in r.out
    assert list(tmp_path.iterdir()) == []


def test_env_unwritable_target_is_an_outside_failure(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run(capsys, "env", "--torch", "1.8.1", "--cpu", "--platform", "linux-64", "-o", str(blocker / "sub"), *M)
    assert r.code == 3 and r.err.startswith("error: cannot write")


def test_matrix_views(capsys):
    r = run(capsys, "matrix", "--torch", "1.8.1", "--json", *M)
    d = json.loads(r.out)
    assert d["companions"]["torchvision"] == "0.9.1"
    cu102 = next(v for v in d["variants"] if v["variant"] == "cu102")
    assert cu102["driver_min"] == {"linux": "440.33", "windows": "441.22"} and cu102["cudnn"] == {"default": "7.6.5"}
    r = run(capsys, "matrix", "--cuda", "10.2", "--json", *M)
    assert {row["torch"] for row in json.loads(r.out)} == {"1.8.1"}
    r = run(capsys, "matrix", *M)
    assert r.code == 0 and "2.5.1" in r.out


def test_malformed_matrix_exits_2_with_every_problem(capsys, tmp_path):
    import shutil

    bad = tmp_path / "m"
    shutil.copytree(MINI, bad)
    text = (bad / "torch.yaml").read_text().replace("accel: [cu102, cpu]", "accel: [cu1x, cpu]")
    (bad / "torch.yaml").write_text(text.replace("route: pypi", "route: nope"))
    r = run(capsys, "matrix", "--matrix-dir", str(bad))
    assert r.code == 2 and "problem(s)" in r.err and "cu1x" in r.err and "nope" in r.err


def test_python_dash_m_and_version():
    r = run_process("--version")
    assert r.code == 0 and r.out.startswith("envgen ")
    r = run_process("command", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda",
                    *M)
    assert r.code == 0 and "cudatoolkit=10.2" in r.out


def test_no_color_means_plain_output():
    r = run_process("matrix", "--torch", "1.8.1", *M, env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.out


@pytest.mark.parametrize("args,message", [
    (["command", "--torhc", "1.8.1"], "No such option: --torhc"),
    (["nosuchcommand"], "No such command"),
    (["install"], "Missing argument"),
    (["command", "--torch"], "requires an argument"),
], ids=["misspelt-option", "unknown-command", "missing-argument", "option-without-value"])
def test_usage_errors_exit_2_without_a_traceback(capsys, args, message):
    r = run(capsys, *args)  # run() fails on a traceback; an exception escaping main() fails the test too
    assert r.code == 2 and message in r.err and r.out == ""


def test_every_refusal_has_a_hint(capsys):
    for args in (["command", "--cuda", "10.2", "--cpu"], ["command", "--torch", "1.8.1", "--cuda", "11.3",
                                                         "--platform", "linux-64"],
                 ["command", "--channel", "pypi", "--installer", "conda"]):
        r = run(capsys, *args, *M)
        assert r.code == 2 and "\nhint: " in r.err, r.err
