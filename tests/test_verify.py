"""`envgen verify`: an installed prefix against its lock; drift exits 1."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run
from tests.support.lockenv import mirror_pairs, server


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One lock and one prefix for the module; each test works on a copy."""
    import os

    root = tmp_path_factory.mktemp("verify")
    old = {k: os.environ.get(k) for k in ("ENVGEN_MIRRORS", "ENVGEN_CACHE_DIR", "ENVGEN_MIRROR_FILE")}
    os.environ.update(ENVGEN_MIRRORS=" ".join(mirror_pairs(server().url)), ENVGEN_CACHE_DIR=str(root / "cache"),
                      ENVGEN_MIRROR_FILE="/nonexistent")
    from envgen.cli import main

    try:
        for argv in (["lock", "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda",
                      "-o", str(root / "locks")],
                     ["install", str(root / "locks"), "--prefix", str(root / "env"), "--platform", "linux-64"]):
            with pytest.raises(SystemExit) as done:
                main(argv)
            assert done.value.code == 0
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return root


@pytest.fixture
def prefix(installed, tmp_path):
    import shutil

    shutil.copytree(installed / "env", tmp_path / "env", symlinks=True)
    return tmp_path / "env"


def _verify(capsys, installed, prefix, *extra):
    return run(capsys, "verify", str(installed / "locks"), "--prefix", str(prefix), "--platform", "linux-64", *extra)


def test_fresh_install_matches(capsys, installed, prefix):
    res = _verify(capsys, installed, prefix)
    assert res.code == 0 and "matches" in res.out


def _edit_version(prefix, name, version):
    path = next((prefix / "conda-meta").glob(f"{name}-*.json"))
    data = json.loads(path.read_text())
    data["version"] = version
    path.write_text(json.dumps(data))


DRIFTS = [
    pytest.param(lambda p: next((p / "conda-meta").glob("zlib-*.json")).unlink(), "missing   conda zlib", id="missing"),
    pytest.param(lambda p: (p / "conda-meta" / "extra-1.0-0.json").write_text(
        json.dumps({"name": "extra", "version": "1.0", "build": "0"})), "extra     conda extra 1.0 0", id="extra"),
    pytest.param(lambda p: _edit_version(p, "numpy", "1.21.2"),
                 "different conda numpy: locked 1.26.4 py39h5f9d8c6_0, installed 1.21.2 py39h5f9d8c6_0", id="different"),
    pytest.param(lambda p: _pip_dist(p, "requests", "2.0"), "extra     pip requests 2.0", id="pip-extra"),
]


def _pip_dist(prefix, name, version):
    dist = prefix / "lib" / "python3.9" / "site-packages" / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "INSTALLER").write_text("pip\n")


@pytest.mark.parametrize("change,line", DRIFTS)
def test_drift_is_reported_and_exits_1(capsys, installed, prefix, change, line):
    change(prefix)
    res = _verify(capsys, installed, prefix)
    assert res.code == 1 and line in res.out


def test_json_output(capsys, installed, prefix):
    next((prefix / "conda-meta").glob("zlib-*.json")).unlink()
    res = _verify(capsys, installed, prefix, "--json")
    data = json.loads(res.out)
    assert res.code == 1 and data["drift"] == [{"kind": "missing", "manager": "conda", "name": "zlib",
                                                "locked": "1.2.13 h5eee18b_0", "installed": ""}]


def test_not_a_conda_prefix_is_bad_input(capsys, installed, tmp_path):
    res = _verify(capsys, installed, tmp_path)
    assert res.code == 2 and "no conda-meta" in res.err
