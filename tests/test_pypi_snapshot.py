"""scripts/pypi_snapshot.py, offline: its derivation from a recorded sample of PyPI's JSON API
(tests/data/pypi_sample.json), its metadata reading (a wheel built here, read through range requests answered
from memory) and the shape of the committed snapshot."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "tests" / "data" / "pypi_sample.json").read_text(encoding="utf-8"))


def _load_script():
    spec = importlib.util.spec_from_file_location("pypi_snapshot", ROOT / "scripts" / "pypi_snapshot.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


snap = _load_script()


@pytest.mark.parametrize(("filename", "tags"), [
    ("torchvision-0.2.0-py2.py3-none-any.whl", ["py2-none-any", "py3-none-any"]),
    ("torchvision-0.20.0-1-cp39-cp39-manylinux2014_aarch64.whl", ["cp39-cp39-manylinux2014_aarch64"]),
    ("torch-2.9.0-cp313-cp313t-macosx_14_0_arm64.whl", ["cp313-cp313t-macosx_14_0_arm64"]),
    ("torch-2.15.0-cp310-abi3-win_amd64.whl", ["cp310-abi3-win_amd64"]),
    ("torch-0.4.1-cp27-none-macosx_10_6_x86_64.whl", ["cp27-none-macosx_10_6_x86_64"]),
], ids=["compressed-set", "build-tag", "free-threaded", "abi3", "none-abi"])
def test_wheel_tags(filename, tags):
    assert snap.wheel_tags(filename) == tags


@pytest.mark.parametrize(("requires", "expected"), [
    (None, None),
    ([], []),
    (["numpy", "torch (==2.5.0)", "pillow (!=8.3.*,>=5.3.0)"], ["torch==2.5.0"]),
    (["torch"], ["torch"]),
    (["Torch>=2.14.0", "scipy ; extra == 'scipy'"], ["Torch>=2.14.0"]),
    (["torch==1.0.0; python_version < '3'", "torch>=1.0"], ["torch==1.0.0; python_version < \"3\"", "torch>=1.0"]),
    (["not a requirement ((", "torch==1.2.0"], ["torch==1.2.0"]),
], ids=["unknown", "none", "exact", "bare", "name-case", "markers", "bad-line"])
def test_torch_requirements(requires, expected):
    assert snap.torch_requirements(requires) == expected


def test_metadata_requires_reads_headers_only():
    requires = snap.metadata_requires(SAMPLE["metadata"])
    assert "torch (==2.5.0)" in requires and "not-a-header" not in requires
    assert snap.torch_requirements(requires) == ["torch==2.5.0"]


def test_summarize_a_yanked_pure_python_version():
    files = SAMPLE["torchvision"]["releases"]["0.2.0"]
    entry = snap.summarize_version(files, ["torch"], companion=True)
    assert entry == {
        "date": "2017-12-05", "sdist": False, "tags": ["py2-none-any", "py3-none-any"], "yanked": True,
        "yank_reason": "So that users won't accidentally install this when using python 3.11", "torch": ["torch"],
    }


def test_summarize_takes_the_earliest_upload_and_every_wheel():
    files = SAMPLE["torchvision"]["releases"]["0.20.0"]
    entry = snap.summarize_version(files, ["torch==2.5.0"], companion=True)
    assert entry["date"] == min(f["upload_time_iso_8601"][:10] for f in files)
    assert entry["yanked"] is False and entry["yank_reason"] is None
    assert len(entry["tags"]) == len({f["filename"] for f in files})
    assert all(t.count("-") == 2 for t in entry["tags"])


def test_summarize_counts_sdists_and_ignores_eggs():
    files = SAMPLE["torchtext"]["releases"]["0.1.1"]
    entry = snap.summarize_version(files, None, companion=False)
    assert entry["sdist"] is True and entry["tags"] == ["py3-none-any"] and "torch" not in entry


def test_metadata_source_prefers_pep658_then_the_smallest_wheel():
    files = SAMPLE["torchtext"]["releases"]["0.1.1"]
    assert snap.metadata_source(files)["filename"] == "torchtext-0.1.1-py3-none-any.whl"
    files = SAMPLE["torchvision"]["releases"]["0.20.0"]
    smallest = min((f for f in files if f["packagetype"] == "bdist_wheel"), key=lambda f: f["size"])
    assert snap.metadata_source(files) is smallest
    assert snap.metadata_source([f for f in files if f["packagetype"] == "sdist"]) is None


def _wheel(metadata: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("torchvision/_big.bin"), random.Random(0).randbytes(2_000_000))
        zf.writestr("torchvision-0.20.0.dist-info/METADATA", metadata)
        zf.writestr("torchvision-0.20.0.dist-info/RECORD", "")
    return buf.getvalue()


def test_wheel_metadata_reads_only_the_directory_and_one_member(monkeypatch):
    blob = _wheel(SAMPLE["metadata"])
    asked: list[int] = []

    def fake_get(url, limit, headers=None):
        first, last = (int(x) for x in headers["Range"].removeprefix("bytes=").split("-"))
        asked.append(last - first + 1)
        return blob[first:last + 1]

    monkeypatch.setattr(snap, "_get", fake_get)
    text = snap.wheel_metadata("https://example.invalid/w.whl", len(blob))
    assert snap.torch_requirements(snap.metadata_requires(text)) == ["torch==2.5.0"]
    assert sum(asked) < len(blob) // 4  # the 2 MB member is never read


def test_render_is_byte_stable_and_has_no_urls():
    projects = {"torchvision": {"versions": {
        v: snap.summarize_version(files, None, companion=True)
        for v, files in SAMPLE["torchvision"]["releases"].items()}}}
    text = snap.render(projects)
    assert text == snap.render(json.loads(json.dumps(projects)))
    assert "://" not in text and text.endswith("}\n")
    assert json.loads(text)["projects"]["torchvision"]["versions"]["0.29.2"]["tags"][0].startswith("py3-none-")


def test_committed_snapshot_has_every_project_and_no_urls():
    text = (ROOT / "tests" / "data" / "pypi_snapshot.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["format"] == snap.FORMAT and set(doc["projects"]) == set(snap.PROJECTS)
    assert "://" not in text
    assert text == snap.render(doc["projects"])  # as the script writes it: sorted, stable
    for name in snap.COMPANIONS:
        assert all("torch" in e for e in doc["projects"][name]["versions"].values()), name


def _offline_pypi(monkeypatch, asked: list[str]):
    """PyPI as the recorded sample: project JSON, no per-version JSON (404), the sample METADATA for any wheel."""
    def fetch_json(url):
        asked.append(url)
        parts = url.removeprefix(snap.API + "/").split("/")
        return SAMPLE.get(parts[0]) if len(parts) == 2 else None

    monkeypatch.setattr(snap, "fetch_json", fetch_json)
    monkeypatch.setattr(snap, "wheel_metadata", lambda url, size: SAMPLE["metadata"])
    monkeypatch.setattr(snap, "_get", lambda url, limit, headers=None: SAMPLE["metadata"].encode())


def test_main_writes_the_snapshot_and_refreshes_one_project(tmp_path, monkeypatch, capsys):
    asked: list[str] = []
    _offline_pypi(monkeypatch, asked)
    out = tmp_path / "snapshot.json"
    out.write_text(snap.render({"torch": {"versions": {}}}))
    assert snap.main(["--out", str(out), "--project", "torchvision"]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["projects"]) == {"torch", "torchvision"}  # the other project is kept
    assert doc["projects"]["torchvision"]["versions"]["0.20.0"]["torch"] == ["torch==2.5.0"]
    assert all(u.startswith(snap.API) for u in asked) and not any("torch/" in u for u in asked)
    assert out.read_text() == snap.render(doc["projects"])


def test_main_reports_a_network_failure_without_a_traceback(tmp_path, monkeypatch, capsys):
    def down(url):
        raise OSError("network unreachable")

    monkeypatch.setattr(snap, "fetch_json", down)
    out = tmp_path / "snapshot.json"
    assert snap.main(["--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: network unreachable") and "hint:" in err and "Traceback" not in err
    assert not out.exists()
