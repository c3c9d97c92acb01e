"""Shared fixtures: golden files, an isolated cache, the shipped matrix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("ENVGEN_UPDATE_GOLDEN"))


@pytest.fixture(scope="session")
def _matrix_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("matrix-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch, _matrix_cache):
    """Every test gets its own envgen cache dir so no test reads another's cache or the user's.

    The parsed-matrix cache is keyed by the files' content, so one per session is shared (parsing costs ~1 s).
    """
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(tmp_path_factory.mktemp("envgen-cache")))
    monkeypatch.setenv("ENVGEN_MATRIX_CACHE", str(_matrix_cache))
    monkeypatch.delenv("ENVGEN_MATRIX_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def served(monkeypatch):
    """The lock tests' world (real channels and wheels on 127.0.0.1, `tests.support.lockenv`) with the real hosts
    mirrored onto it and no user mirror file (the cache is the test's own, see `_isolated_cache`); yields the server
    (faults, requests, credentials)."""
    from tests.support.lockenv import mirror_pairs, server

    srv = server()
    srv.faults.clear()
    monkeypatch.setenv("ENVGEN_MIRRORS", " ".join(mirror_pairs(srv.url)))
    monkeypatch.setenv("ENVGEN_MIRROR_FILE", "/nonexistent/mirrors.toml")
    yield srv
    srv.faults.clear()


@pytest.fixture(scope="session")
def matrix():
    from envgen.matrix import load_matrix

    return load_matrix(ROOT / "matrices", use_cache=False)


class Golden:
    """Compare text against tests/golden/<name>; ENVGEN_UPDATE_GOLDEN=1 rewrites the file instead."""

    def check(self, name: str, text: str) -> None:
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run with ENVGEN_UPDATE_GOLDEN=1 to create it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path} (ENVGEN_UPDATE_GOLDEN=1 to accept)"


@pytest.fixture
def golden() -> Golden:
    return Golden()


MINI = ROOT / "tests" / "data" / "mini-matrix"


@pytest.fixture
def mdir(tmp_path: Path) -> Path:
    """A copy of the mini matrix to edit (`replace_once`)."""
    import shutil

    dest = tmp_path / "matrices"
    shutil.copytree(MINI, dest)
    return dest


def replace_once(path: Path, old: str, new: str) -> None:
    """Edit a test's copy of a file, failing loudly when the text to replace is not there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="session")
def mini():
    """A small frozen matrix: unit tests of the engine do not move when the shipped data grows."""
    from envgen.matrix import load_matrix

    return load_matrix(MINI, use_cache=False)
