"""Hostile and careless inputs, as users hand them to the CLI: every one ends in `error:` / `hint:` and exit 2 (or
a correct answer), never a traceback, a hang, a memory blow-up, a restyled table or a secret on the screen."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envgen.fileio import header, parse_yaml
from tests.support.cli import run

DATA = Path(__file__).resolve().parent / "data" / "migrate"
TORCH_PIP = ("--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64", "--python", "3.11")


def _refused(result, *words: str) -> None:
    """Exit 2 with an `error:` line and a `hint:` line, the error naming every word."""
    assert result.code == 2, (result.code, result.err)
    lines = result.err.splitlines()
    assert lines and lines[0].startswith("error: "), result.err
    assert any(line.startswith("hint: ") for line in lines), result.err
    for word in words:
        assert word in result.err, (word, result.err)


def _limited_process(*args: str, cwd: Path, stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m envgen ...` under a 4 GiB address-space limit: a reader without a bound fails fast instead of
    eating the machine's memory."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    with open(stdin or os.devnull, "rb") as source:
        return subprocess.run([sys.executable, "-m", "envgen", *args], capture_output=True, text=True, cwd=cwd,
                              env={**os.environ, "NO_COLOR": "1"}, timeout=60, preexec_fn=limit, check=False,
                              stdin=source)


# --- 1. readers with limits ------------------------------------------------------------------------------
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("args,where", [
    (["migrate", "--from", "/dev/zero"], "/dev/zero"),
    (["doctor", "--from", "/dev/zero"], "/dev/zero"),
    (["doctor", "--from", "-"], "<stdin>"),
    (["migrate", "--from", str(DATA / "pt251.conda-json.json"), "--to", "/dev/zero"], "/dev/zero"),
    (["lock", "--from", "/dev/zero", "--check", "-o", "locks"], "/dev/zero"),
], ids=["migrate-from", "doctor-from", "doctor-stdin", "migrate-to", "lock-from"])
def test_dev_zero_is_refused_quickly_by_size(tmp_path, args, where):
    proc = _limited_process(*args, cwd=tmp_path, stdin=Path("/dev/zero"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"error: {where}: larger than 64 MiB") and "\nhint: " in proc.stderr
    assert "Traceback" not in proc.stderr and list(tmp_path.iterdir()) == []


def test_file_over_the_cap_is_refused_naming_it(capsys, tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: 64 MiB + 1 byte of zeros costs no disk
        handle.truncate(64 * 1024 * 1024 + 1)
    _refused(run(capsys, "doctor", "--from", str(big)), "big.txt", "larger than 64 MiB")


@pytest.mark.parametrize("command", ["doctor", "migrate", "lock"])
def test_invalid_utf8_names_the_file_and_the_byte(capsys, tmp_path, command):
    path = tmp_path / "report.txt"
    path.write_bytes(b"PyTorch version: 2.1.0\n\xff\xfe broken\n")
    args = [command, "--from", str(path)] + (["--check", "-o", str(tmp_path / "locks")] if command == "lock" else [])
    _refused(run(capsys, *args), "report.txt", "not UTF-8", "0xff")


DEEP = {
    "yaml-flow": "dependencies: " + "[" * 100_000,
    "yaml-block": "dependencies:\n" + "- " * 100_000 + "x\n",
    "json": "[" * 100_000,
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_refused_not_a_recursion_error(capsys, tmp_path, text):
    path = tmp_path / "deep.txt"
    path.write_text(text)
    _refused(run(capsys, "migrate", "--from", str(path)), "deep.txt", "nested deeper than 100 levels")
    _refused(run(capsys, "doctor", "--from", str(path)), "deep.txt")


BOMB = "".join(f"{b}: &{b} [" + ", ".join([f"*{a}"] * 9 if a else ['"lol"'] * 9) + "]\n"
               for a, b in zip(["", *"abcdefgh"], "abcdefghi", strict=True)) + "dependencies: *i\n"


def test_alias_bomb_is_refused_at_once(capsys, tmp_path):
    """9^9 values once expanded: reading it used to hang (over 40 s) and grow without bound."""
    bomb = tmp_path / "environment.yml"
    bomb.write_text(BOMB)
    _refused(run(capsys, "lock", "--from", str(bomb), "--check", "-o", str(tmp_path / "locks")),
             "environment.yml", "aliases expand to more than")
    _refused(run(capsys, "migrate", "--from", str(DATA / "pt251.conda-json.json"), "--to", str(bomb)), "aliases")


def test_recursive_alias_is_refused(capsys, tmp_path):
    path = tmp_path / "environment.yml"
    path.write_text("dependencies: &d [python=3.11, *d]\n")
    _refused(run(capsys, "lock", "--from", str(path), "--check", "-o", str(tmp_path / "locks")),
             "alias refers to a collection that contains it")


@pytest.mark.parametrize("text,args", [
    ("name: " + "9" * 5000 + "\ndependencies: [python=3.11]\n", ["lock", "--check"]),
    ('[{"name": "torch", "version": "2.5.1", "size": ' + "9" * 5000 + "}]", ["migrate"]),
    ("dependencies:\n  - python=3.11\nprefix: 0x" + "f" * 4000 + "\n", ["migrate"]),
], ids=["yaml-decimal", "json", "yaml-hex"])
def test_huge_integers_are_refused(capsys, tmp_path, text, args):
    path = tmp_path / "input.txt"
    path.write_text(text)
    extra = ["-o", str(tmp_path / "locks")] if args[0] == "lock" else []
    _refused(run(capsys, args[0], "--from", str(path), *args[1:], *extra), "input.txt", "a number of")


def test_an_impossible_date_is_bad_yaml_not_a_traceback(capsys, tmp_path):
    path = tmp_path / "environment.yml"
    path.write_text("name: x\ncreated: 2020-13-45\ndependencies: [python=3.11]\n")
    _refused(run(capsys, "lock", "--from", str(path), "--check", "-o", str(tmp_path / "locks")),
             "environment.yml", "not valid YAML")


# --- 2. every usage error goes through envgen's boundary -----------------------------------------------
USAGE = [
    ("unknown-option-root", ["--bogus"], "envgen"),
    ("unknown-option", ["lock", "--bogus"], "envgen lock"),
    ("unknown-option-suggestion", ["env", "--torc", "2.5.1"], "envgen env"),
    ("missing-value", ["env", "--torch"], "envgen env"),
    ("missing-value-repeatable", ["lock", "--platform"], "envgen lock"),
    ("missing-value-short", ["migrate", "-o"], "envgen migrate"),
    ("missing-value-doctor", ["doctor", "--from"], "envgen doctor"),
    ("missing-value-matrix-dir", ["matrix", "--matrix-dir"], "envgen matrix"),
    ("flag-with-value", ["env", "--cpu=3"], "envgen env"),
    ("json-with-value", ["doctor", "--json=yes"], "envgen doctor"),
    ("not-a-number", ["lock", "--timeout", "soon"], "envgen lock"),
    ("extra-argument", ["env", "extra"], "envgen env"),
    ("extra-arguments", ["doctor", "a", "b"], "envgen doctor"),
    ("extra-argument-detect", ["detect", "x"], "envgen detect"),
    ("extra-argument-migrate", ["migrate", "x"], "envgen migrate"),
    ("missing-argument", ["install"], "envgen install"),
    ("missing-argument-verify", ["verify"], "envgen verify"),
    ("no-such-command", ["nosuch"], "envgen"),
    ("no-command", [], "envgen"),
    ("unknown-option-build-env", ["build-env", "--nope"], "envgen build-env"),
    ("unknown-option-command", ["command", "-z"], "envgen command"),
]


@pytest.mark.parametrize("args,command", [u[1:] for u in USAGE], ids=[u[0] for u in USAGE])
def test_usage_errors_print_error_and_hint_not_clicks_block(capsys, args, command):
    result = run(capsys, *args)
    _refused(result, f"hint: see '{command} --help'")
    assert "Usage:" not in result.err and "Error:" not in result.err and "Try '" not in result.err
    assert result.out == ""


def test_usage_error_as_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "envgen", "lock", "--no-such-flag"], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "error: No such option: --no-such-flag\nhint: see 'envgen lock --help'\n"


def test_error_messages_never_show_url_secrets(capsys):
    path = "https://alice:SECRETPW@files.example.com/t/SECRETTOKEN/list.txt?token=SECRETQ"
    result = run(capsys, "doctor", "--from", path)
    _refused(result, "files.example.com")
    assert "SECRET" not in result.err + result.out


def test_error_messages_escape_terminal_control_characters(capsys, tmp_path):
    result = run(capsys, "doctor", "--from", str(tmp_path / "\x1b[31mred\x1b[0m.txt"))
    _refused(result, "\\x1b[31mred")
    assert "\x1b" not in result.err


# --- 3. environment.yml types ------------------------------------------------------------------------------
ENV_BAD = [
    ("channels-string", "channels: conda-forge\ndependencies: [python=3.11]\n", "channels: expected a list"),
    ("dependencies-string", "dependencies: python=3.11\n", "dependencies"),
    ("platforms-string", "platforms: linux-64\ndependencies: [python=3.11]\n", "platforms: expected a list"),
    ("channel-not-text", "channels: [conda-forge, {a: b}]\ndependencies: [python=3.11]\n", "channels[1]"),
    ("channel-number", "channels: [1]\ndependencies: [python=3.11]\n", "channels[0]"),
    ("platform-not-text", "platforms: [[linux-64]]\ndependencies: [python=3.11]\n", "platforms[0]"),
    ("dependency-number", "dependencies: [python=3.11, 3]\n", "dependencies[1]"),
    ("pip-string", "dependencies: [python=3.11, {pip: numpy}]\n", "dependencies[1].pip"),
    ("pip-not-text", "dependencies: [python=3.11, {pip: [numpy, {a: b}]}]\n", "dependencies[1].pip"),
    ("pip-mapping", "dependencies: [python=3.11, {pip: {numpy: 1}}]\n", "dependencies[1].pip"),
    ("name-mapping", "name: {a: b}\ndependencies: [python=3.11]\n", "name"),
]


@pytest.mark.parametrize("text,where", [e[1:] for e in ENV_BAD], ids=[e[0] for e in ENV_BAD])
def test_environment_yml_with_wrong_types_is_refused_naming_the_key(capsys, tmp_path, text, where):
    path = tmp_path / "environment.yml"
    path.write_text(text)
    _refused(run(capsys, "lock", "--from", str(path), "--check", "-o", str(tmp_path / "locks")), where)
    _refused(run(capsys, "migrate", "--from", str(DATA / "pt251.conda-json.json"), "--to", str(path)), where)


# --- 4. names and headers that would break the YAML -------------------------------------------------------
ENV_ARGS = ("env", "--torch", "2.5.1", "--cpu", "--platform", "linux-64", "--installer", "conda")


@pytest.mark.parametrize("name", ["x\nchannels: [evil]", "a/b", "a b", "a:b", "a#b", "a\\b", "a\u2028b", "a\x85b",
                                  "tab\there", "", "..", "-x", "base"],
                         ids=["newline", "slash", "space", "colon", "hash", "backslash", "u2028", "nel", "tab",
                              "empty", "dotdot", "dash", "reserved"])
def test_env_name_conda_would_refuse_is_refused_and_nothing_written(capsys, tmp_path, name):
    _refused(run(capsys, *ENV_ARGS, "--name", name, "-o", str(tmp_path)), "invalid conda environment name")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["yes", "1.10", "null", "on", "!bang", "&amp", "@at", "it's", "[x]", "ü-env", "%x"])
def test_env_name_reads_back_as_written(capsys, tmp_path, name):
    result = run(capsys, *ENV_ARGS, "--name", name, "-o", str(tmp_path))
    assert result.code == 0, result.err
    text = (tmp_path / "environment.yml").read_text(encoding="utf-8")
    assert parse_yaml(text, "environment.yml", hint="")["name"] == name  # YAML 1.2, as conda reads it
    assert yaml.safe_load(text)["name"] == name  # YAML 1.1 (PyYAML): yes/on/null would be true/None


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\r", "\n", "\x1b"],
                         ids=["nel", "ls", "ps", "vt", "ff", "fs", "cr", "lf", "esc"])
def test_header_escapes_every_line_breaking_character(capsys, tmp_path, char):
    out = tmp_path / f"a{char}b"
    result = run(capsys, *ENV_ARGS, "-o", str(out))
    assert result.code == 0, result.err
    text = (out / "environment.yml").read_text(encoding="utf-8")
    head = text.split("\nname:", 1)[0].split("\n")
    assert len(head) == 4 and all(line.startswith("# ") and char not in line for line in head)
    assert parse_yaml(text, "environment.yml", hint="")["channels"]  # envgen reads its own file back


def test_header_function_keeps_one_line_per_field():
    text = header("#", input_hash="0" * 64, command="envgen env -o 'a\u2028b\x85c\u2029d'")
    assert len(text.splitlines()) == 3 and "\\u2028" in text and "\\x85" in text


# --- 5. malformed listings and reports ------------------------------------------------------------------
LISTINGS = [
    ("conda-json-not-object", '[{"name": "torch", "version": "1", "channel": "pypi"}, 7]', "entry 1"),
    ("conda-json-name-number", '[{"name": 5, "version": "1", "build_string": "0", "channel": "x"}]', "entry 0: name"),
    ("conda-json-build-list", '[{"name": "a", "version": "1", "build_string": [1], "channel": "x"}]',
     "entry 0: build_string"),
    ("conda-json-channel-object", '[{"name": "a", "version": "1", "build_string": "0", "channel": {}}]',
     "entry 0: channel"),
    ("pip-json-version-number", '[{"name": "torch", "version": 2}]', "entry 0: version"),
    ("explicit-bad-url", "@EXPLICIT\nhttp://[::1/linux-64/a-1-0.conda\n", "input.txt:2"),
    ("env-export-pip-string", "name: x\ndependencies:\n  - python=3.11\n  - pip: torch==2.5.1\n",
     "dependencies[1].pip"),
    ("env-export-name-list", "name: [a]\ndependencies:\n  - python=3.11\n", "name"),
    ("env-export-channels-string", "channels: conda-forge\ndependencies:\n  - python=3.11\n", "channels"),
    ("env-export-dep-mapping", "dependencies:\n  - {a: b}\n", "dependencies[0]"),
]


@pytest.mark.parametrize("text,where", [x[1:] for x in LISTINGS], ids=[x[0] for x in LISTINGS])
def test_malformed_listing_fields_are_refused_naming_the_entry(capsys, tmp_path, text, where):
    path = tmp_path / "input.txt"
    path.write_text(text)
    _refused(run(capsys, "migrate", "--from", str(path), *TORCH_PIP), where)


REPORTS = [
    ("facts-unicode-digit", "gpus:\n  - name: A100\n    memory_mib: '²'\n", "memory_mib"),
    ("facts-huge-memory", "gpus:\n  - name: A100\n    memory_mib: '" + "9" * 5000 + "'\n", "memory_mib"),
    ("facts-package-channel-list", "packages:\n  torch: {version: '2.1', channel: [a]}\n", "packages.torch.channel"),
    ("smi-csv-huge-memory", "name, driver_version, memory.total [MiB]\nA100, 535.1, " + "9" * 5000 + " MiB\n", None),
]


@pytest.mark.parametrize("text,where", [r[1:] for r in REPORTS], ids=[r[0] for r in REPORTS])
def test_malformed_report_is_refused_or_read_never_a_traceback(capsys, tmp_path, text, where):
    path = tmp_path / "report.txt"
    path.write_text(text)
    result = run(capsys, "doctor", "--from", str(path))
    if where is None:
        assert result.code in (0, 1), result.err
    else:
        _refused(result, "report.txt", where)


CONDA_LIST = ("# packages in environment at /opt/conda/envs/x:\n#\n# Name  Version  Build  Channel\n"
              "python  3.11.9  h955ad1f_0  defaults\n"
              "pytorch  2.1.0  py3.11_cuda12.1_cudnn8.9.2_0  {channel}\n")


@pytest.mark.parametrize("channel", ["[red]x", "[/bold]x", "[bold]x"])
def test_rich_markup_in_a_listing_is_shown_as_text(capsys, tmp_path, channel):
    path = tmp_path / "list.txt"
    path.write_text(CONDA_LIST.format(channel=channel))
    result = run(capsys, "migrate", "--from", str(path), *TORCH_PIP, "--installer", "pip")
    assert result.code == 1, result.err
    assert f"({channel})" in result.out  # the reason names the channel as written, unstyled


def test_rich_markup_in_a_target_file_name_is_shown_as_text(capsys, tmp_path):
    target = tmp_path / "[red]env.yml"
    target.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pytorch=2.6.0\n")
    result = run(capsys, "migrate", "--from", str(DATA / "pt251.conda-json.json"), "--to", str(target))
    assert result.code == 1, result.err
    assert "[red]env.yml" in result.out


# --- 6. no secret in migrate's or doctor's outputs --------------------------------------------------------
SECRET_EXPLICIT = "\n".join(
    line.replace("https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch",
                 "https://conda.anaconda.org/t/SECRETTOKEN/pytorch")
        .replace("https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
                 "https://alice:SECRETPW@repo.example.com/pkgs/main")
    for line in (DATA / "pt112-cu113.explicit.txt").read_text().splitlines()) + "\n"
SECRET_FREEZE = ("torch @ https://bob:SECRETPW@download.example.com/whl/torch-1.8.1%2Bcu102-cp38-cp38-linux_x86_64.whl"
                 "\n--index-url https://u:SECRETPW@pypi.example.com/simple\n"
                 "numpy @ https://files.example.com/numpy-1.21.0-cp38-none-any.whl?token=SECRETQ\n")
SECRET_ENV = ("name: x\nchannels:\n  - https://conda.anaconda.org/t/SECRETTOKEN/pytorch\n"
              "  - https://carol:SECRETPW@conda.example.com/forge\n"
              "dependencies:\n  - python=3.11\n  - pytorch=2.5.1\n  - pip:\n"
              "    - --index-url https://u:SECRETPW@pypi.example.com/simple\n    - numpy==2.0\n")


@pytest.mark.parametrize("listing", ["explicit", "freeze"])
@pytest.mark.parametrize("target", ["flags", "environment.yml", "explicit"])
def test_migrate_never_writes_or_prints_a_url_secret(capsys, tmp_path, listing, target):
    (tmp_path / "explicit.txt").write_text(SECRET_EXPLICIT)
    (tmp_path / "freeze.txt").write_text(SECRET_FREEZE)
    (tmp_path / "environment.yml").write_text(SECRET_ENV)
    src = ["--from", str(tmp_path / f"{listing}.txt")]
    to = list(TORCH_PIP) if target == "flags" else ["--to", str(tmp_path / ("explicit.txt" if target == "explicit"
                                                                            else target))]
    seen = []
    for extra in (["-o", str(tmp_path / "out" / "migrate.sh")], ["--json"], []):
        result = run(capsys, "migrate", *src, *to, *extra)
        assert result.code == 1, result.err
        seen += [result.out, result.err]
    seen.append((tmp_path / "out" / "migrate.sh").read_text())
    assert not [text for text in seen if "SECRET" in text]


def test_migrate_reads_a_token_channel_as_its_channel(capsys, tmp_path):
    (tmp_path / "freeze.txt").write_text("torch==1.8.1+cu102\n")
    (tmp_path / "environment.yml").write_text(SECRET_ENV)
    result = run(capsys, "migrate", "--from", str(tmp_path / "freeze.txt"), "--to", str(tmp_path / "environment.yml"),
                 "--json")
    install = next(s for s in json.loads(result.out)["steps"] if s["kind"] == "install")
    channels = [install["command"][i + 1] for i, w in enumerate(install["command"]) if w == "-c"]
    assert channels == ["pytorch", "https://conda.example.com/forge"]  # not "t" (the token path's first segment)


def test_doctor_json_and_text_never_show_a_secret(capsys, tmp_path):
    facts = tmp_path / "facts.yml"
    facts.write_text("platform: linux-64\nos: linux\ntorch: 2.1.0\ninstall_method: conda\n"
                     "channel: https://conda.anaconda.org/t/SECRETTOKEN/pytorch\n"
                     "error: 'GET https://dave:SECRETPW@pypi.example.com/simple/torch/ failed'\n"
                     "env:\n  PIP_INDEX_URL: https://u:SECRETPW@pypi.example.com/simple\n"
                     "  PIP_EXTRA_INDEX_URL: https://pypi.example.com/simple?access_token=SECRETQ\n"
                     "  MY_PASSWORD: SECRETVALUE\n  ANACONDA_API_TOKEN: SECRETVALUE2\n")
    for extra in (["--json"], []):
        result = run(capsys, "doctor", "--from", str(facts), *extra)
        assert result.code in (0, 1), result.err
        assert "SECRET" not in result.out + result.err
    data = json.loads(run(capsys, "doctor", "--from", str(facts), "--json").out)
    assert data["facts"]["env"]["PIP_INDEX_URL"] == "https://***@pypi.example.com/simple"


# --- 7. an interpreter that cannot be examined is said so -----------------------------------------------------
def test_doctor_python_that_fails_is_bad_input(capsys):
    _refused(run(capsys, "doctor", "--python", "/bin/false"), "cannot examine /bin/false", "exited with code 1")


def test_doctor_python_that_is_not_python_is_bad_input(capsys, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    _refused(run(capsys, "doctor", "--python", str(fake)), "cannot examine", "did not answer like a Python")


def test_doctor_names_a_torch_import_that_crashes(capsys, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "torch").mkdir(parents=True)
    (site / "torch" / "__init__.py").write_text("import os\nos.abort()\n")
    (site / "torch" / "version.py").write_text("__version__ = '2.1.0'\n")  # an installed package, not a stray folder
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.chdir(tmp_path)
    result = run(capsys, "doctor", "--python", sys.executable)
    assert result.code == 1, result.err
    assert "no problems found" not in result.out and "importing torch failed" in result.out + result.err
    assert "SIGABRT" in result.out


@pytest.mark.parametrize("channel", ["https://[::1/pytorch", "https://u:SECRET@[::1/pytorch"], ids=["ipv6", "ipv6-creds"])
def test_a_channel_url_urllib_cannot_split_is_still_a_channel(capsys, tmp_path, channel):
    listing = tmp_path / "list.txt"
    listing.write_text("# packages in environment at /opt/env:\n#\n# Name  Version  Build  Channel\n"
                       f"pytorch 1.8.1 py3.9_cuda10.2_cudnn7.6.5_0 {channel}\n")
    result = run(capsys, "migrate", "--from", str(listing), "--torch", "2.5.1", "--cuda", "12.4", "--json")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert "SECRET" not in result.out + result.err


def test_doctor_matches_a_huge_adversarial_error_without_backtracking(tmp_path):
    """Error text built from the very tokens doctor's patterns start with, each repeated along one long line (a
    pattern with an unbounded span after such a token rescans the rest of the line from every occurrence: minutes
    for a few hundred KB). Spans are bounded and only the ends of a long paste are read, so this stays quick; the
    subprocess's 60 s limit is the hang guard, not a benchmark."""
    units = ["Found GPU0 x ", "libmkl_", "[cuda90] ", "mkl_", "satisfies the requirement torch (from ",
             'Error loading "a\\', "undefined symbol: a", "/a", "conflict cuda "]
    error = "\n".join(unit * (300_000 // len(unit)) for unit in units)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"os": "linux", "error": error}))
    proc = _limited_process("doctor", "--from", str(path), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
