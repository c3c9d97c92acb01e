"""conda-lock.yml read line by line when it is exactly what envgen writes, through the YAML reader otherwise; the
two readers agree on every file the first accepts (issue 16: a 4-platform lock took 2.4 s in ruamel.yaml)."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest

from envgen.errors import BadInput
from envgen.fileio import parse_yaml
from envgen.lock import condalock
from envgen.lock import engine as lockfile
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PipPart, PlatformSpec, virtual_for
from tests.support.lockenv import mirror_pairs, server

PT, MAIN = "https://conda.anaconda.org/pytorch", "https://repo.anaconda.com/pkgs/main"


@pytest.fixture(scope="module")
def text(tmp_path_factory) -> str:
    """A real conda-lock.yml of the test world: two platforms, conda and pip packages."""
    platforms = []
    for plat in ("linux-64", "win-64"):
        conda = CondaPart(("pytorch==1.8.1", "cudatoolkit=10.2", "numpy<2", "python=3.9"), (PT, MAIN), "strict",
                          virtual_for(plat, "10.2", {}))
        pip = PipPart(("torch==1.8.1+cu102", "torchvision==0.9.1+cu102", "numpy<2"), "3.9", "https://pypi.org/simple", (),
                      ("https://download.pytorch.org/whl/torch_stable.html",))
        platforms.append(PlatformSpec(plat, conda, pip, pip_in_conda=True))  # conda-lock.yml holds both managers
    fetcher = Fetcher(load_mirrors(mirror_pairs(server().url)), root=tmp_path_factory.mktemp("cache"))
    return lockfile.render_all(lockfile.solve_all(LockSpec(tuple(platforms), "envgen lock --test"),
                                                  fetcher))["conda-lock.yml"]


def _yaml(text: str) -> condalock.CondaLock:
    return condalock._from_data(parse_yaml(text, "x", hint=""), "x")


def test_envgens_own_file_is_read_without_the_yaml_reader(text, monkeypatch):
    lock = condalock._read_own(text, "x")
    assert lock is not None and lock == _yaml(text)
    assert lock.pip["linux-64"] and any(p.depends for p in lock.conda["linux-64"])  # both managers, dependencies

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML reader was used")

    monkeypatch.setattr("envgen.fileio.parse_yaml", refuse)
    condalock.parse_text.cache_clear()
    assert condalock.parse_text(text, "y") == lock


@pytest.mark.parametrize("edit", [
    (r'(?m)^  version: "[^"]*"$', "  version: 11.10"),  # YAML reads a number: the writer would have quoted it
    (r"(?m)^  category: main$", "  category: main  # a comment"),
    (r"manager: conda", "manager: 'conda'"),
    (r"(?m)^  optional: false$", "  optional: no"),
    (r"\n  dependencies: \{\}\n", "\n  dependencies:\n  # none\n"),
], ids=["number", "comment", "single-quoted", "yaml-1.1-bool", "comment-line"])
def test_any_other_text_goes_to_the_yaml_reader(text, edit):
    edited = re.sub(*edit, text, count=1)
    assert edited != text
    assert condalock._read_own(edited, "x") is None
    try:
        expected: object = _yaml(edited)
    except BadInput as exc:
        expected = exc.message
    try:
        got: object = condalock.parse_text(edited, "x")
    except BadInput as exc:
        got = exc.message
    assert got == expected


def test_a_file_conda_lock_wrote_is_read_through_yaml(text, tmp_path):
    from conda_lock.lockfile import parse_conda_lock_file, write_conda_lock_file

    (tmp_path / "ours.yml").write_text(text)
    theirs = tmp_path / "conda-lock.yml"
    write_conda_lock_file(parse_conda_lock_file(tmp_path / "ours.yml"), theirs, metadata_choices=set())
    written = theirs.read_text()
    assert condalock._read_own(written, "x") is None
    lock = condalock.parse_text(written, "x")
    ours = _yaml(text)
    for plat in ours.platforms:
        assert {(p.name, p.version, p.url, p.md5) for p in lock.conda[plat]} == \
            {(p.name, p.version, p.url, p.md5) for p in ours.conda[plat]}


def test_the_readers_agree_on_every_accepted_edit(text):
    """Random line edits (deleted, doubled, indented, quoted, swapped, retyped): whatever the line reader accepts,
    the YAML reader reads the same; most edits are declined."""
    rng = random.Random(16)
    lines = text.split("\n")
    accepted = 0
    for _ in range(400):
        edit = list(lines)
        j = rng.randrange(len(edit) - 1)
        op = rng.choice(("del", "dup", "indent", "quote", "swap", "retype"))
        if op == "del":
            del edit[j]
        elif op == "dup":
            edit.insert(j, edit[j])
        elif op == "indent":
            edit[j] = " " + edit[j]
        elif op == "quote" and ": " in edit[j]:
            key, _, value = edit[j].partition(": ")
            edit[j] = f'{key}: "{value.strip(chr(34))}"'
        elif op == "swap":
            k = rng.randrange(len(edit) - 1)
            edit[j], edit[k] = edit[k], edit[j]
        elif op == "retype" and ": " in edit[j]:
            key, _, _ = edit[j].partition(": ")
            edit[j] = f"{key}: {rng.choice(['1.10', 'true', 'null', '~', '0x1F', '1e3', 'abc'])}"
        edited = "\n".join(edit)
        quick = condalock._read_own(edited, "x")
        if quick is None:
            continue
        accepted += 1
        assert quick == _yaml(edited), (op, edit[j])
    assert accepted >= 1  # swapping two equal lines, doubling nothing: the same file


@pytest.mark.parametrize("value", ["0" * 64, "1e" + "5" * 62, "linux-64"])
def test_the_writer_quotes_what_yaml_would_not_read_as_text(text, value):
    lock = _yaml(text)
    odd = dataclasses.replace(lock.conda["linux-64"][0], version=value)
    written = condalock.render("# h\n", ("linux-64",), lock.channels, {"linux-64": value}, ("envgen",),
                               {"linux-64": (odd,)}, {})
    for reader in (condalock._read_own, lambda t, w: _yaml(t)):
        back = reader(written, "x")
        assert back is not None
        assert back.content_hash == {"linux-64": value} and back.conda["linux-64"][0].version == value
