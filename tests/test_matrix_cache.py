"""The matrix cache is data, never code: a planted, broken, hostile or stale file is ignored and rebuilt."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.matrix import load_matrix
from envgen.matrix.model import Matrix
from envgen.matrix.records import Build, Release, Toolkit
from tests.conftest import ROOT


class _Plant:
    """Unpickling this runs `open(marker, "w")`: the file appearing means the cache executed code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))



@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """$ENVGEN_CACHE_DIR of this test alone (not the session's shared matrix cache)."""
    base = tmp_path / "cache"
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(base))
    monkeypatch.delenv("ENVGEN_MATRIX_CACHE", raising=False)
    monkeypatch.delenv("ENVGEN_NO_CACHE", raising=False)
    return base / "matrix"


@pytest.fixture
def fresh(mdir):
    return load_matrix(mdir, use_cache=False)


def cache_file(folder: Path, matrix: Matrix) -> Path:
    return folder / f"{matrix.digest[:32]}.json"


def assert_same(a: object, b: object, where: str = "matrix") -> None:
    """Equal, and of the same types and text all the way down (a DriverVersion keeps '520.61.05')."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where  # the same keys in the same order (tables print in file order)
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (Version, SpecifierSet)):
        assert a == b and str(a) == str(b), where
    else:
        assert a == b, where


def assert_rebuilt(path: Path, matrix: Matrix) -> None:
    """The file at `path` now holds a good cache of `matrix`, and the next load is served from it."""
    from envgen.matrix import cache

    assert_same(cache.decode(path.read_bytes(), matrix.digest), matrix)


# --- planted code -----------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["old-pickle-path", "new-path", "both"])
def test_a_planted_pickle_never_runs(where, mdir, fresh, cache_dir, tmp_path):
    """A `__reduce__` payload where the pickle cache was read, and where the cache is read now."""
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Plant(marker))
    paths = {"old-pickle-path": [cache_dir / f"{fresh.digest[:32]}.pickle"], "new-path": [cache_file(cache_dir, fresh)]}
    paths["both"] = paths["old-pickle-path"] + paths["new-path"]
    for path in paths[where]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    loaded = load_matrix(mdir)
    assert not marker.exists(), "the cache executed planted code"
    assert_same(loaded, fresh)
    assert_rebuilt(cache_file(cache_dir, fresh), fresh)
    assert load_matrix(mdir) == fresh and not marker.exists()


def test_no_module_unpickles_or_evaluates():
    """Nothing in envgen imports pickle, marshal, shelve or dill, or calls eval/exec."""
    found = []
    for path in sorted((ROOT / "src" / "envgen").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: import {n}" for n in names if n.split(".")[0] in {"pickle", "marshal", "shelve",
                                                                                       "dill", "_pickle"}]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"eval", "exec"}:
                found.append(f"{path.name}:{node.lineno}: {node.func.id}()")
    assert not found


# --- broken and hostile files -------------------------------------------------------------------------
def _index(cls: type, name: str) -> int:
    return [f.name for f in dataclasses.fields(cls)].index(name)


def _tree(matrix: Matrix) -> dict:
    from envgen.matrix import cache

    return json.loads(cache.encode(matrix))


def _first_build(doc: dict) -> list:
    release = doc["matrix"][_index(Matrix, "releases")][0]
    return release[_index(Release, "builds")][0]


def _wrong_python(doc: dict) -> None:
    python = _first_build(doc)[_index(Build, "python")]
    platform = next(iter(python))
    python[platform] = [*python[platform], 3.9]  # a number where a Python version's text belongs


def _wrong_driver(doc: dict) -> None:
    toolkit = next(iter(doc["matrix"][_index(Matrix, "toolkits")].values()))
    toolkit[_index(Toolkit, "driver_linux")] = {"driver": "not-a-version"}


def _bool_for_text(doc: dict) -> None:
    _first_build(doc)[_index(Build, "route")] = True


def _unknown_route(doc: dict) -> None:
    """Well typed, but a build names a route the tables lack: every lookup by route would fail later."""
    _first_build(doc)[_index(Build, "route")] = "no-such-route"


def _override_of_no_field(doc: dict) -> None:
    _first_build(doc)[_index(Build, "overrides")] = {"__class__": "os.system"}


def _extra_field(doc: dict) -> None:
    _first_build(doc).append("one more")


def _accel_kind(doc: dict) -> None:
    _first_build(doc)[_index(Build, "accel")] = "quantum:1.0"


def _deep_inside(doc: dict) -> None:
    doc["matrix"][_index(Matrix, "releases")][0][_index(Release, "notes")] = [[[[["deep"]]]]]


def _int_key(doc: dict) -> None:
    compat = doc["matrix"][_index(Matrix, "minor_compat")]
    compat["eleven"] = next(iter(compat.values()))


def _other_digest(doc: dict) -> None:
    doc["digest"] = doc["matrix"][_index(Matrix, "digest")] = "0" * 64


def _other_format(doc: dict) -> None:
    doc["format"] = "envgen-matrix-cache/0"


MUTATIONS = {
    "a number for a Python version": _wrong_python,
    "an invalid driver version": _wrong_driver,
    "a boolean for text": _bool_for_text,
    "an unknown route": _unknown_route,
    "an override of no route field": _override_of_no_field,
    "a record with an extra field": _extra_field,
    "an unknown accelerator kind": _accel_kind,
    "lists where text belongs": _deep_inside,
    "a text key where a number belongs": _int_key,
    "the cache of other files": _other_digest,
    "another format version": _other_format,
}


DEEP = 200_000


def _header(matrix: Matrix) -> bytes:
    from envgen.matrix import cache

    return b'{"format":"%s","digest":"%s","matrix":' % (cache.FORMAT.encode(), matrix.digest.encode())


def _max() -> int:
    from envgen.matrix import cache

    return cache.MAX_BYTES


BROKEN = {
    "empty": lambda m: b"",
    "garbage": lambda m: os.urandom(4096),
    "truncated JSON": lambda m: json.dumps(_tree(m)).encode()[:200_000],
    "not UTF-8": lambda m: b'{"format": "\xff\xfe"}',
    "a JSON list": lambda m: b"[1, 2, 3]",
    "a JSON string": lambda m: b'"matrix"',
    "a mapping of the wrong keys": lambda m: _header(m)[:-10] + b"}",
    "null matrix": lambda m: _header(m) + b"null}",
    "deeply nested": lambda m: b"[" * DEEP + b"]" * DEEP,
    "deeply nested matrix": lambda m: _header(m) + b"[" * DEEP + b"]" * DEEP + b"}",
    "huge": lambda m: _header(m) + b"[" + b"0," * (_max() // 2) + b"0]}",
    "huge number": lambda m: _header(m) + b"1" * 100_000 + b"}",
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_wrong_field_anywhere_is_rebuilt(name, mdir, fresh, cache_dir):
    path = cache_file(cache_dir, fresh)
    doc = _tree(fresh)
    MUTATIONS[name](doc)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    assert_same(load_matrix(mdir), fresh)
    assert_rebuilt(path, fresh)


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_file_is_rebuilt(name, mdir, fresh, cache_dir):
    path = cache_file(cache_dir, fresh)
    path.parent.mkdir(parents=True)
    path.write_bytes(BROKEN[name](fresh))
    assert_same(load_matrix(mdir), fresh)
    assert_rebuilt(path, fresh)


def test_the_cache_of_other_files_is_not_used(mdir, fresh, cache_dir, tmp_path):
    """A good cache of another matrix, copied to this matrix's name, is stale: its digest says so."""
    shutil.copytree(mdir, tmp_path / "other")
    (tmp_path / "other" / "sources.yaml").write_text((mdir / "sources.yaml").read_text() + "\n# edited\n")
    other = load_matrix(tmp_path / "other")
    assert other.digest != fresh.digest
    path = cache_file(cache_dir, fresh)
    shutil.copy(cache_file(cache_dir, other), path)
    assert_same(load_matrix(mdir), fresh)
    assert_rebuilt(path, fresh)


def test_a_folder_in_the_cache_s_place_is_no_error(mdir, fresh, cache_dir):
    cache_file(cache_dir, fresh).mkdir(parents=True)
    assert_same(load_matrix(mdir), fresh)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_the_cache_s_place_does_not_hang(mdir, fresh, cache_dir):
    path = cache_file(cache_dir, fresh)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert_same(load_matrix(mdir), fresh)
    assert_rebuilt(path, fresh)


# --- what a good cache gives back ---------------------------------------------------------------------
def test_the_shipped_matrix_survives_the_round_trip(matrix):
    """Every record, version (and its text), range, accelerator and Python comes back equal and of its type."""
    from envgen.matrix import cache

    data = cache.encode(matrix)
    assert_same(cache.decode(data, matrix.digest), matrix)
    assert cache.encode(cache.decode(data, matrix.digest)) == data  # byte-stable
    assert b"DriverVersion" not in data
    assert re.search(rb'"__\w+', data) is None  # no dunder keys or values (a URL may hold __init__.py)


def test_the_cache_serves_the_next_load(mdir, fresh, cache_dir, monkeypatch):
    from envgen.matrix import loader

    first = load_matrix(mdir)
    assert [p.name for p in cache_dir.iterdir()] == [cache_file(cache_dir, fresh).name]

    def no_parse(*args: object) -> None:
        raise AssertionError("parsed the YAML although a good cache exists")

    monkeypatch.setattr(loader, "_parse", no_parse)
    again = load_matrix(mdir)
    assert_same(again, first)
    assert_same(again, fresh)


def test_the_shipped_matrix_loads_from_its_cache(matrix, monkeypatch):
    """Through the session's shared cache folder ($ENVGEN_MATRIX_CACHE, see conftest)."""
    from envgen.matrix import loader

    load_matrix(ROOT / "matrices")
    monkeypatch.setattr(loader, "_parse", None)  # a parse now would be a TypeError
    assert_same(load_matrix(ROOT / "matrices"), matrix)


def test_no_cache_writes_nothing(mdir, fresh, cache_dir, monkeypatch):
    monkeypatch.setenv("ENVGEN_NO_CACHE", "1")
    assert_same(load_matrix(mdir), fresh)
    assert not cache_dir.exists()


def test_the_shared_cache_folder_is_used(mdir, fresh, tmp_path, monkeypatch):
    monkeypatch.setenv("ENVGEN_MATRIX_CACHE", str(tmp_path / "shared"))
    load_matrix(mdir)
    assert_rebuilt(cache_file(tmp_path / "shared", fresh), fresh)
