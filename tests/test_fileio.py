"""fileio: atomic writes keep ordinary permissions, and headers stay comments whatever the command holds."""

import os
import stat

import pytest

from envgen.fileio import header, write_atomic

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path, umask_022):
    write_atomic(tmp_path / "environment.yml", "name: x\n")
    assert _mode(tmp_path / "environment.yml") == 0o644  # others on a shared machine can read it


def test_rewritten_file_keeps_its_mode(tmp_path, umask_022):
    script = tmp_path / "migrate.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    write_atomic(script, "new\n")
    assert _mode(script) == 0o750 and script.read_text() == "new\n"


@pytest.mark.parametrize("command", ["envgen env -o 'a\nb'", "envgen env -o 'a\r\nb'", "envgen env -o 'a\rb'"],
                         ids=["lf", "crlf", "cr"])
def test_header_lines_are_all_comments(command):
    text = header("#", input_hash="0" * 64, command=command)
    assert all(line.startswith("# ") for line in text.splitlines()), text
