"""A lock records its inputs (lock-inputs.yml): `--check`, `--update` and a re-lock need only the lock folder, and a
stale lock is explained in words with the commands that fix it."""

from __future__ import annotations

import json
import shutil

import pytest

from envgen.lock.request import LockRequest
from envgen.lock.staleness import env_words, name_of, request_words
from tests.conftest import ROOT
from tests.support.cli import run

ENV = ("channels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
       "  - pip:\n    - -f https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")


def _env(**kw):
    base = {"name": None, "channels": ["conda-forge"], "conda": ["python=3.11", "numpy"], "pip": ["einops"],
            "platforms": [], "index_url": None, "extra_index_urls": [], "find_links": []}
    return base | kw


@pytest.mark.parametrize(("new", "words"), [
    (_env(), []),
    (_env(pip=["einops", "scipy"]), ["environment.yml: pip section adds scipy"]),
    (_env(pip=[]), ["environment.yml: pip section removes einops"]),
    (_env(pip=["einops==0.7"]), ["environment.yml: pip section changes einops -> einops==0.7"]),
    (_env(conda=["python=3.11", "numpy<2"]), ["environment.yml: dependencies change numpy -> numpy<2"]),
    (_env(conda=["numpy", "python=3.11"]), ["environment.yml: dependencies reorder: python=3.11, numpy -> numpy, python=3.11"]),
    (_env(channels=["conda-forge", "nvidia"]), ["environment.yml: channels add nvidia"]),
    (_env(channels=["nvidia"]), ["environment.yml: channels add nvidia", "environment.yml: channels remove conda-forge"]),
    (_env(platforms=["linux-64"]), ["environment.yml: platforms add linux-64"]),
    (_env(index_url="https://download.pytorch.org/whl/cu121"),
     ["environment.yml: pip --index-url (default) -> https://download.pytorch.org/whl/cu121"]),
    (_env(index_url="https://u:SECRET@mirror.example/simple"),
     ["environment.yml: pip --index-url (default) -> https://***@mirror.example/simple"]),
], ids=["same", "pip-adds", "pip-removes", "pip-changes", "dep-changes", "dep-reorder", "channel-adds",
        "channel-swap", "platforms", "index-url", "index-url-secret"])
def test_environment_file_changes_in_words(new, words):
    assert env_words("environment.yml", _env(), new)[0] == words


def test_request_changes_name_the_flag():
    old = LockRequest(torch="1.8.1", cuda="10.2", platforms=("linux-64",))
    new = LockRequest(torch="1.8.1", cuda="11.1", platforms=("linux-64", "win-64"), cpu=False)
    assert request_words(old, new) == ["--cuda: 10.2 -> 11.1", "--platform: linux-64 -> linux-64 win-64"]


@pytest.mark.parametrize(("spec", "pip", "name"), [
    ("https://conda.anaconda.org/pytorch::pytorch=1.8.1", False, "pytorch"),
    ("numpy<2", False, "numpy"), ("python=3.9", False, "python"),
    ("Numpy[extra]>=1; python_version < '4'", True, "numpy"), ("typing_extensions==4", True, "typing-extensions"),
])
def test_the_package_a_spec_is_about(spec, pip, name):
    assert name_of(spec, pip) == name


@pytest.fixture
def repo(capsys, served, tmp_path):
    """A research repo: environment.yml at the top, the lock in locks/, made from the top."""
    (tmp_path / "environment.yml").write_text(ENV)
    return tmp_path


def _lock(capsys, repo, monkeypatch, *args):
    monkeypatch.chdir(repo)
    res = run(capsys, "lock", "--from", "environment.yml", "--platform", "linux-64", "-o", "locks", *args)
    assert res.code == 0, res.err
    return res


def test_check_needs_only_the_lock_folder_from_anywhere(capsys, repo, monkeypatch, tmp_path_factory):
    _lock(capsys, repo, monkeypatch)
    recorded = (repo / "locks" / "lock-inputs.yml").read_text()
    assert "path: ../environment.yml" in recorded and "torchaudio==0.8.1" in recorded
    assert run(capsys, "lock", "--check", "-o", "locks").code == 0
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    res = run(capsys, "lock", "--check", "-o", str(repo / "locks"))
    assert res.code == 0, res.err
    assert "matches its recorded inputs" in res.out


def test_a_stale_lock_says_what_changed_and_update_fixes_it(capsys, repo, monkeypatch):
    _lock(capsys, repo, monkeypatch)
    before = {p.name: p.read_bytes() for p in (repo / "locks").iterdir()}
    env = repo / "environment.yml"
    env.write_text(ENV.replace("  - cpuonly\n", "  - cpuonly\n  - numpy<2\n")
                   .replace("torchaudio==0.8.1\n", "torchaudio==0.8.1\n    - torchvision==0.9.1+cpu\n"))
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code == 1
    assert "environment.yml: dependencies add numpy<2" in res.err
    assert "environment.yml: pip section adds torchvision==0.9.1+cpu" in res.err
    assert "  envgen lock --update numpy --update torchvision -o locks" in res.err
    assert "made from other inputs" not in res.err  # one explanation, not a line per file
    data = json.loads(run(capsys, "lock", "--check", "-o", "locks", "--json").out)
    assert data["up_to_date"] is False and data["inputs"] == "recorded"
    assert data["commands"] == ["envgen lock -o locks", "envgen lock --update numpy --update torchvision -o locks"]
    assert {p.name: p.read_bytes() for p in (repo / "locks").iterdir()} == before  # checking wrote nothing
    res = run(capsys, "lock", "--update", "numpy", "--update", "torchvision", "-o", "locks")
    assert res.code == 0, res.err
    assert "linux-64 pip: torchvision 0.9.1+cpu (added)" in res.out
    assert "linux-64 conda: numpy 2.0.1" in res.out and "-> 1.26.4" in res.out
    assert run(capsys, "lock", "--check", "-o", "locks").code == 0


def test_relock_from_the_recorded_inputs_is_byte_identical(capsys, repo, monkeypatch):
    _lock(capsys, repo, monkeypatch)
    before = {p.name: p.read_bytes() for p in (repo / "locks").iterdir()}
    res = run(capsys, "lock", "-o", "locks")
    assert res.code == 0, res.err
    assert "using the inputs recorded in locks/lock-inputs.yml" in res.err
    assert "no changes" in res.out
    assert {p.name: p.read_bytes() for p in (repo / "locks").iterdir()} == before


def test_flags_that_differ_from_the_recorded_ones_are_named(capsys, repo, monkeypatch):
    _lock(capsys, repo, monkeypatch)
    res = run(capsys, "lock", "--check", "--from", "environment.yml", "--platform", "linux-64", "--platform", "win-64",
              "-o", "locks")
    assert res.code == 1
    assert "--platform: linux-64 -> linux-64 win-64" in res.err
    assert "envgen lock --from environment.yml --platform linux-64 --platform win-64 -o locks" in res.err


def test_a_matrix_change_is_named(capsys, served, tmp_path, monkeypatch):
    matrix = tmp_path / "matrix"
    shutil.copytree(ROOT / "matrices", matrix)
    monkeypatch.chdir(tmp_path)
    args = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda"]
    assert run(capsys, "lock", *args, "-o", "locks", "--matrix-dir", str(matrix)).code == 0
    torch = matrix / "torch.yaml"
    text = torch.read_text()
    at = text.index("  - torch: 1.8.1\n")
    torch.write_text(text[:at] + text[at:].replace('torchvision: "0.9.1"', 'torchvision: "0.9.0"', 1))
    res = run(capsys, "lock", "--check", "-o", "locks", "--matrix-dir", str(matrix))
    assert res.code == 1
    assert "matrix: linux-64 conda specs change torchvision==0.9.1 -> torchvision==0.9.0" in res.err, res.err
    assert "envgen lock --update torchvision -o locks" in res.err


def test_an_edited_recipe_is_refused(capsys, repo, monkeypatch):
    _lock(capsys, repo, monkeypatch)
    recipe = repo / "locks" / "lock-inputs.yml"
    recipe.write_text(recipe.read_text().replace("torchaudio==0.8.1", "torchaudio==0.8.0"))
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code == 2 and "lock-inputs.yml" in res.err and "digest does not match" in res.err
    assert run(capsys, "lock", "--update", "numpy", "-o", "locks").code == 2
    res = run(capsys, "lock", "--check", "--from", "environment.yml", "--platform", "linux-64", "-o", "locks")
    assert res.code == 1 and "lock-inputs.yml" in res.err


def test_without_recorded_inputs_the_flags_are_asked_for(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code == 2 and "no recorded inputs" in res.err and "hint:" in res.err
    assert run(capsys, "lock", "--update", "numpy", "-o", "locks").code == 2


def test_a_missing_environment_file_is_a_clear_error(capsys, repo, monkeypatch):
    _lock(capsys, repo, monkeypatch)
    (repo / "environment.yml").unlink()
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code == 2 and "environment.yml" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("body", [
    "format: 1\nrequest: {cpu: 'yes'}\nplatforms: {}\n",
    "format: 1\nrequest: {platforms: linux-64}\nplatforms: {}\n",
    "format: 1\nrequest: {torch: 1.8}\nplatforms: {}\n",
    "format: 1\nrequest: {}\nplatforms: [1]\n",
    "format: 1\nrequest: {}\nplatforms: {}\nfiles: [{path: \"a\\nb\", read: {}}]\n",
    "format: 1\nrequest: {platforms: [linux-64; rm -rf]}\nplatforms: {linux-64: {conda: 3}}\n",
    "format: 2\n", "[]\n", "format: 1\nrequest: {from: /dev/zero}\nplatforms: {}\nfiles: [{path: /dev/zero, read: {}}]\n",
], ids=["bool-as-text", "list-as-text", "number", "platforms-list", "path-newline", "bad-platform", "format", "not-a-map",
        "dev-zero"])
def test_a_hostile_recipe_is_bad_input(capsys, tmp_path, monkeypatch, body):
    """A recipe written by someone else, with its stamps recomputed (anyone can): bad input, never a traceback."""
    from envgen.lock.engine import stamp

    monkeypatch.chdir(tmp_path)
    (tmp_path / "locks").mkdir()
    text = stamp({"lock-inputs.yml": "# generated by envgen 0.1.0; do not edit by hand\n" + body})["lock-inputs.yml"]
    (tmp_path / "locks" / "lock-inputs.yml").write_text(text)
    res = run(capsys, "lock", "--check", "-o", "locks")
    assert res.code in (1, 2), res.err
    assert "Traceback" not in res.err and (res.code == 1 or "hint:" in res.err)
