"""`--exclude-newer`: both sides solve as of a date (conda by record timestamp, pip by upload time), `release` is
the torch release date from the matrix, and the cut-off is recorded so `--check` and `--update` keep it."""

from __future__ import annotations

import pytest

from envgen.errors import BadInput
from envgen.lock import cutoff
from tests.support.cli import run


@pytest.mark.parametrize(("value", "release", "expected"), [
    ("2024-01-01", None, "2024-01-01T23:59:59Z"),
    ("2024-01-01T12:00:00Z", None, "2024-01-01T12:00:00Z"),
    ("2024-01-01T12:00:00+02:00", None, "2024-01-01T10:00:00Z"),
    ("2024-01-01T12:00:00", None, "2024-01-01T12:00:00Z"),
    ("release", "2021-03-25", "2021-03-25T23:59:59Z"),
    ("release+90d", "2021-03-25", "2021-06-23T23:59:59Z"),
])
def test_cut_off_values(value, release, expected):
    assert cutoff.resolve(value, release) == expected


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "release+d", "release-5d", ""])
def test_bad_cut_off_is_bad_input(value):
    with pytest.raises(BadInput):
        cutoff.resolve(value, "2021-03-25")


def test_release_without_a_torch_is_bad_input():
    with pytest.raises(BadInput, match="needs the torch release"):
        cutoff.resolve("release", None)


def _names(path, word):
    return [line.split()[0] for line in path.read_text().splitlines() if word in line and not line.startswith("#")]


@pytest.mark.parametrize(("flag", "conda", "pip"), [
    ((), "einops-0.8.0", "einops==0.8.0"),
    (("--exclude-newer", "2024-01-01"), "einops-0.6.1", "einops==0.7.0"),
], ids=["no-cut-off", "2024-01-01"])
def test_both_sides_are_cut_off(capsys, served, tmp_path, flag, conda, pip):
    """conda-forge's einops 0.6.1 (2023-04) and 0.8.0 (2024-05); PyPI's 0.7.0 (2023-10) and 0.8.0 (2024-05)."""
    (tmp_path / "conda.yml").write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n  - einops\n")
    (tmp_path / "pip.yml").write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n"
                                      "  - pip:\n    - einops\n")
    for name in ("conda", "pip"):
        res = run(capsys, "lock", "--from", str(tmp_path / f"{name}.yml"), "--platform", "linux-64", *flag,
                  "-o", str(tmp_path / name))
        assert res.code == 0, res.err
    assert conda in (tmp_path / "conda" / "conda-linux-64.lock").read_text()
    assert pip in (tmp_path / "pip" / "requirements-linux-64.txt").read_text()


def test_the_cut_off_is_recorded_and_kept(capsys, served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "environment.yml").write_text("channels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.9\n"
                                              "  - einops\n  - pip:\n    - einops\n")
    args = ["--from", "environment.yml", "--platform", "linux-64", "--exclude-newer", "2024-01-01", "-o", "locks"]
    res = run(capsys, "lock", *args)
    assert res.code == 0, res.err
    assert "nothing newer than 2024-01-01T23:59:59Z" in res.err
    assert "exclude_newer: '2024-01-01'" in (tmp_path / "locks" / "lock-inputs.yml").read_text()
    assert run(capsys, "lock", "--check", "-o", "locks").code == 0
    assert run(capsys, "lock", "--update", "einops", "-o", "locks").code == 0  # re-solved, under the same cut-off
    assert "einops-0.6.1" in (tmp_path / "locks" / "conda-linux-64.lock").read_text()
    res = run(capsys, "lock", "--check", "--from", "environment.yml", "--platform", "linux-64", "-o", "locks")
    assert res.code == 1 and "--exclude-newer: 2024-01-01 -> (none)" in res.err


def test_release_cut_off_of_a_flag_request(capsys, served, tmp_path):
    res = run(capsys, "lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda",
              "--exclude-newer", "release+90d", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    assert "nothing newer than 2021-06-23T23:59:59Z (release+90d)" in res.err
