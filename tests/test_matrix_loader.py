"""The loader reports every problem with its place, finds the matrix, and never trusts a stale cache."""

import shutil

import pytest

from envgen.errors import MatrixError
from envgen.matrix import find_matrix_dir, load_matrix
from tests.conftest import replace_once


def test_every_problem_is_listed_with_its_place(mdir):
    replace_once(mdir / "torch.yaml", "accel: [cu102, cpu]", "accel: [cu102, cu1x, cpu]")
    replace_once(mdir / "torch.yaml", "route: pypi", "route: pypy")
    replace_once(mdir / "cuda.yaml", 'linux: "440.33"', 'linux: "not-a-version"')
    replace_once(mdir / "channels.yaml", "kind: conda", "kind: mamba")
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    problems = exc.value.problems
    text = "\n".join(problems)
    assert "matrices/torch.yaml:" in text and "unknown variant 'cu1x'" in text
    assert "matrices/cuda.yaml:" in text and "invalid driver version 'not-a-version'" in text
    assert "matrices/channels.yaml:" in text and "kind must be conda or pip" in text
    assert len(problems) >= 3


def test_cross_table_problems(mdir):
    """References that do not resolve are reported after the files parse."""
    replace_once(mdir / "torch.yaml", "route: pypi", "route: pypy")
    replace_once(mdir / "torch.yaml", "source: [prev-versions]", "source: [no-such-source]")
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    text = "\n".join(exc.value.problems)
    assert "unknown route 'pypy'" in text
    assert "unknown source 'no-such-source'" in text


def test_unknown_cuda_version_is_named(mdir):
    replace_once(mdir / "cuda.yaml", '  - {cuda: "10.2"', '  - {cuda: "10.3"')
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert any("unknown CUDA version '10.2'" in p for p in exc.value.problems)


def test_yaml_syntax_error_names_the_file(mdir):
    (mdir / "gpus.yaml").write_text("architectures: [\n")
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert exc.value.problems[0].startswith("matrices/gpus.yaml: not valid YAML")


def test_missing_file(mdir):
    (mdir / "cuda.yaml").unlink()
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert "cuda.yaml" in exc.value.problems[0]


def test_unknown_field_is_reported(mdir):
    replace_once(mdir / "torch.yaml", "    date: 2021-03-25", "    date: 2021-03-25\n    dtae: 2021-03-25")
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert any("unknown field 'dtae'" in p for p in exc.value.problems)


def test_cache_follows_the_files(mdir, tmp_path, monkeypatch):
    """A cached matrix is reused only while the files are unchanged."""
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVGEN_MATRIX_CACHE")
    first = load_matrix(mdir)
    assert list((tmp_path / "cache" / "matrix").glob("*.json"))
    again = load_matrix(mdir)
    assert again.digest == first.digest
    replace_once(mdir / "cuda.yaml", 'linux: "440.33"', 'linux: "440.34"')
    changed = load_matrix(mdir)
    assert changed.digest != first.digest
    assert str(changed.toolkits["10.2"].driver_linux) == "440.34"


def test_corrupt_cache_is_rebuilt(mdir, tmp_path, monkeypatch):
    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVGEN_MATRIX_CACHE")
    m = load_matrix(mdir)
    for f in (tmp_path / "cache" / "matrix").glob("*.json"):
        f.write_bytes(b"garbage")
    assert load_matrix(mdir).digest == m.digest


def test_find_matrix_dir_precedence(mdir, monkeypatch):
    assert find_matrix_dir(mdir) == mdir
    monkeypatch.setenv("ENVGEN_MATRIX_DIR", str(mdir))
    assert find_matrix_dir() == mdir
    monkeypatch.delenv("ENVGEN_MATRIX_DIR")
    assert (find_matrix_dir() / "torch.yaml").is_file()


def test_find_matrix_dir_explains(tmp_path):
    from envgen.errors import BadInput

    with pytest.raises(BadInput) as exc:
        find_matrix_dir(tmp_path)
    assert "--matrix-dir" in exc.value.hint


def test_cached_matrix_knows_where_it_was_loaded_from(mdir, tmp_path, monkeypatch):
    """Two copies of the same files share a cache entry; each load reports its own folder (data files beside it)."""
    other = tmp_path / "elsewhere"
    shutil.copytree(mdir, other)
    monkeypatch.chdir(tmp_path)
    first = load_matrix("matrices" if (tmp_path / "matrices").exists() else mdir)
    second = load_matrix(other)
    assert first.digest == second.digest
    assert second.directory == str(other.resolve())
    assert first.directory == str(mdir.resolve())


def test_driver_versions_print_as_nvidia_writes_them(mini):
    """520.61.05 must not become 520.61.5 (packaging normalises leading zeros); order is still numeric."""
    from envgen.models import DriverVersion

    floor = DriverVersion("520.61.05")
    assert str(floor) == "520.61.05" and floor < DriverVersion("520.61.10") and floor == DriverVersion("520.61.5")
    assert str(mini.toolkits["10.2"].driver_linux) == "440.33"
    compat = mini.minor_compat[11]
    assert str(compat.driver_linux) == "450.80.02"


def test_a_pip_build_without_a_wheel_source_is_reported(mdir):
    """A pip build must say where its wheels are: an index, find-links or its own wheel_url."""
    replace_once(mdir / "channels.yaml", "    find_links: [https://download.pytorch.org/whl/torch_stable.html]\n", "")
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert any("route pip-find-links" in p and "needs a wheel_url, index_url" in p for p in exc.value.problems)


def test_families_come_from_the_routes(mini):
    from envgen.compile.selection import parse_family
    from envgen.errors import BadInput

    assert parse_family(mini, "peterjc123", None) == ("peterjc123", "conda")
    with pytest.raises(BadInput) as exc:
        parse_family(mini, "pypi", "conda")
    assert "drop --installer" in exc.value.hint and "conda-forge" in exc.value.hint
