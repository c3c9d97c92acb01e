"""Lock engine and formats: conda-lock.yml, explicit, pixi.lock, pylock.toml, requirements; mirrors; cache; faults."""

from __future__ import annotations

import dataclasses
import json

import pytest

from envgen.errors import BadInput, OutsideFailure
from envgen.lock import condalock, explicit, pylock
from envgen.lock import engine as lockfile
from envgen.lock.fetch import Fetcher
from envgen.lock.mirrors import load_mirrors
from envgen.lock.spec import CondaPart, LockSpec, PipPart, PlatformSpec, input_hash, virtual_for
from envgen.redact import strip_credentials as redact
from tests.support.lockenv import mirror_pairs, server

PT, MAIN = "https://conda.anaconda.org/pytorch", "https://repo.anaconda.com/pkgs/main"


def _spec(platforms=("linux-64", "win-64")) -> LockSpec:
    out = []
    for plat in platforms:
        conda = CondaPart(("pytorch==1.8.1", "cudatoolkit=10.2", "numpy<2", "python=3.9"), (PT, MAIN), "strict",
                          virtual_for(plat, "10.2", {}))
        pip = PipPart(("torch==1.8.1+cu102", "torchvision==0.9.1+cu102", "numpy<2"), "3.9", "https://pypi.org/simple",
                      (), ("https://download.pytorch.org/whl/torch_stable.html",))
        out.append(PlatformSpec(plat, conda, pip))
    return LockSpec(tuple(out), "envgen lock --test")


@pytest.fixture
def fetcher(tmp_path):
    srv = server()
    srv.faults.clear()
    yield Fetcher(load_mirrors(mirror_pairs(srv.url)), root=tmp_path / "cache")
    srv.faults.clear()


@pytest.fixture
def files(fetcher):
    return lockfile.render_all(lockfile.solve_all(_spec(), fetcher))


def test_every_file_is_written_with_a_header(files):
    assert sorted(files) == lockfile.expected_files(_spec())
    digest = input_hash(_spec())
    for name, text in files.items():
        assert f"input-hash: sha256:{digest}" in text.splitlines()[1], name
        assert "regenerate: envgen lock --test" in text, name
        assert "127.0.0.1" not in text, name  # canonical URLs, never the mirror


def test_same_inputs_give_byte_identical_files(fetcher, files, tmp_path):
    again = lockfile.render_all(lockfile.solve_all(_spec(), Fetcher(fetcher.mirrors, root=tmp_path / "other")))
    assert again == files


def test_conda_lock_reads_and_renders_our_file(files, tmp_path):
    from conda_lock.conda_lock import render_lockfile_for_platform
    from conda_lock.lockfile import parse_conda_lock_file

    path = tmp_path / "conda-lock.yml"
    path.write_text(files["conda-lock.yml"])
    lock = parse_conda_lock_file(path)
    assert lock.metadata.platforms == ["linux-64", "win-64"]
    torch = [p for p in lock.package if p.name == "pytorch" and p.platform == "linux-64"]
    assert torch[0].build == "py3.9_cuda10.2_cudnn7.6.5_0" and torch[0].hash.sha256
    rendered = render_lockfile_for_platform(lockfile=lock, include_dev_dependencies=True, extras=set(),
                                            kind="explicit", platform="linux-64")
    urls = {line.split("#")[0] for line in rendered if line.startswith("https://")}
    ours = {u for u, _ in explicit.parse(_write(tmp_path, "conda-linux-64.lock", files))[1]}
    assert urls == ours


def test_conda_lock_cli_renders_explicit(files, tmp_path):
    import subprocess
    import sys

    (tmp_path / "conda-lock.yml").write_text(files["conda-lock.yml"])
    done = subprocess.run([sys.executable, "-m", "conda_lock", "render", "--kind", "explicit", "-p", "win-64",
                           "conda-lock.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "conda-win-64.lock").read_text()
    assert "@EXPLICIT" in text and "pytorch-1.8.1-py3.9_cuda10.2_cudnn7_0.tar.bz2#" in text


def _write(tmp_path, name, files):
    (tmp_path / name).write_text(files[name])
    return tmp_path / name


def test_our_parser_reads_our_conda_lock(files, tmp_path):
    lock = condalock.parse(_write(tmp_path, "conda-lock.yml", files))
    assert set(lock.conda) == {"linux-64", "win-64"}
    names = {p.name for p in lock.conda["linux-64"]}
    assert {"pytorch", "cudatoolkit", "python", "pytorch-mutex", "blas"} <= names
    assert all(p.md5 and p.sha256 for p in lock.conda["win-64"])


@pytest.mark.parametrize("md5", ["0" * 32, "1" * 20 + "e" + "2" * 11, "0b" + "1" * 30], ids=["digits", "float", "binary"])
def test_a_hash_yaml_would_read_as_a_number_round_trips(files, tmp_path, md5):
    lock = condalock.parse(_write(tmp_path, "conda-lock.yml", files))
    odd = dataclasses.replace(lock.conda["linux-64"][0], md5=md5)
    text = condalock.render("# h\n", ("linux-64",), lock.channels, {"linux-64": "0"}, ("envgen",),
                            {"linux-64": (odd,)}, {})
    (tmp_path / "odd.yml").write_text(text)
    assert condalock.parse(tmp_path / "odd.yml").conda["linux-64"][0].md5 == md5


def test_pixi_lock_is_read_by_rattler(files, tmp_path):
    from envgen.lock.conda import read_pixi

    back = read_pixi(_write(tmp_path, "pixi.lock", files))
    assert {p.name for p in back["win-64"]} == {p.name for p in condalock.parse(
        _write(tmp_path, "conda-lock.yml", files)).conda["win-64"]}


@pytest.mark.parametrize("plat,tag", [("linux-64", "linux_x86_64"), ("win-64", "win_amd64")])
def test_pylock_validates_and_matches_requirements(files, plat, tag):
    from packaging.pylock import Pylock

    from envgen.compat import tomllib

    lock = Pylock.from_dict(tomllib.loads(files[f"pylock.{plat}.toml"]))
    lock.validate()
    by_name = {str(p.name): p for p in lock.packages}
    assert str(by_name["torch"].version) == "1.8.1+cu102"
    assert tag in by_name["torch"].wheels[0].url
    assert by_name["numpy"].version.major == 1  # numpy<2 held
    req = files[f"requirements-{plat}.txt"]
    for p in lock.packages:
        assert f"{p.name}=={p.version} \\\n    --hash=sha256:{p.wheels[0].hashes['sha256']}" in req
    assert "--find-links https://download.pytorch.org/whl/torch_stable.html" in req


def test_check_without_solving(files, tmp_path):
    lockfile.write_all(files, tmp_path)
    assert lockfile.check(_spec(), tmp_path) == []
    changed = dataclasses.replace(_spec(), platforms=_spec().platforms[:1])
    problems = lockfile.check(changed, tmp_path)
    assert problems and all("other inputs" in p for p in problems)
    (tmp_path / "pixi.lock").unlink()
    assert "pixi.lock: missing" in lockfile.check(_spec(), tmp_path)


BAD_LOCKS = [
    pytest.param("version: 1\nmetadata: [\n", "not valid YAML", id="broken-yaml"),
    pytest.param("version: 2\nmetadata: {}\npackage: []\n", "format version", id="wrong-version"),
    pytest.param("- a\n- b\n", "should be a dict", id="not-a-mapping"),
    pytest.param("version: 1\nmetadata: {platforms: [linux-64]}\npackage:\n- {name: x, version: '1', manager: conda,"
                 " platform: linux-64, hash: {md5: 0123456789abcdef0123456789abcdef}}\n", "package[0] lacks url",
                 id="missing-url"),
    pytest.param("version: 1\nmetadata: {platforms: [linux-64]}\npackage:\n- {name: x, version: '1', manager: conda,"
                 " platform: linux-64, url: 'https://h/c/linux-64/x-1-0.tar.bz2', hash: {md5: zz}}\n",
                 "malformed md5", id="bad-md5"),
    pytest.param("version: 1\nmetadata: {platforms: [linux-64]}\npackage:\n- {name: x, version: '1', manager: conda,"
                 " platform: win-64, url: 'https://h/c/win-64/x-1-0.tar.bz2', hash: {md5: 0123456789abcdef0123456789abcdef}}\n",
                 "not in metadata.platforms", id="unknown-platform"),
]


@pytest.mark.parametrize("text,expected", BAD_LOCKS)
def test_malformed_conda_lock_is_bad_input_saying_where(tmp_path, text, expected):
    path = tmp_path / "conda-lock.yml"
    path.write_text(text)
    with pytest.raises(BadInput) as err:
        condalock.parse(path)
    assert expected in err.value.message and str(path) in err.value.message


def test_malformed_explicit_names_the_line(tmp_path):
    path = tmp_path / "conda-linux-64.lock"
    path.write_text("# platform: linux-64\n@EXPLICIT\nhttps://h/c/linux-64/a-1-0.tar.bz2#0123456789abcdef0123456789abcdef\n"
                    "https://h/c/linux-64/b-1-0.tar.bz2\n")
    with pytest.raises(BadInput) as err:
        explicit.parse(path)
    assert ":4:" in err.value.message


def test_invalid_pylock_is_refused():
    with pytest.raises(BadInput):
        pylock.validate('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
                        'wheels = [{ url = "https://h/a-1-py3-none-any.whl", hashes = {} }]\n', "pylock.toml")


# -- mirrors --------------------------------------------------------------------------------------------------

MIRROR_CASES = [
    ("https://conda.anaconda.org/pytorch/linux-64/x.tar.bz2", "https://mirror.example/anaconda/cloud/pytorch/linux-64/x.tar.bz2"),
    ("https://repo.anaconda.com/pkgs/main/noarch/repodata.json", "https://mirror.example/anaconda/pkgs/main/noarch/repodata.json"),
    ("https://conda.anaconda.org.evil/x", "https://conda.anaconda.org.evil/x"),
]


@pytest.mark.parametrize("canonical,mirrored", MIRROR_CASES, ids=["channel", "longest-prefix", "no-partial-host"])
def test_mirror_apply_and_unapply(canonical, mirrored):
    m = load_mirrors(["https://conda.anaconda.org=https://user:secret@mirror.example/anaconda/cloud",
                      "https://repo.anaconda.com=https://mirror.example/anaconda",
                      "https://repo.anaconda.com/pkgs/main=https://mirror.example/anaconda/pkgs/main"])
    applied = m.apply(canonical)
    assert redact(applied) == mirrored
    assert m.unapply(applied) == canonical


@pytest.mark.parametrize("canonical", ["https://pypi.org/files/numpy-1.26.4-py3-none-any.whl",
                                       "https://download.pytorch.org/whl/cu118/torch-2.5.1%2Bcu118-cp312-linux.whl"],
                         ids=["nested-mirror", "outer-mirror"])
def test_mirror_unapply_takes_the_longest_mirror_prefix(canonical):
    # one mirror host for both: the pip index under /pypi, the torch wheels at its root
    m = load_mirrors(["https://download.pytorch.org=https://mirror.example", "https://pypi.org=https://mirror.example/pypi"])
    assert m.unapply(m.apply(canonical)) == canonical


def test_mirror_precedence_flag_env_file(tmp_path, monkeypatch):
    conf = tmp_path / "mirrors.toml"
    conf.write_text('[mirrors]\n"https://a.example" = "https://file.example"\n"https://b.example" = "https://fileb.example"\n')
    monkeypatch.setenv("ENVGEN_MIRROR_FILE", str(conf))
    monkeypatch.setenv("ENVGEN_MIRRORS", "https://a.example=https://env.example;https://c.example=https://envc.example")
    m = load_mirrors(["https://a.example=https://flag.example"])
    assert dict(m.pairs) == {"https://a.example": "https://flag.example", "https://b.example": "https://fileb.example",
                             "https://c.example": "https://envc.example"}


@pytest.mark.parametrize("bad", ["nonsense", "https://a=", "=https://b"], ids=["no-equals", "no-target", "no-source"])
def test_bad_mirror_is_bad_input(bad):
    with pytest.raises(BadInput):
        load_mirrors([bad])


@pytest.mark.parametrize("url,clean", [("https://u:p@h.example/c", "https://h.example/c"),
                                       ("https://h.example/t/tk-123/c/x", "https://h.example/c/x")],
                         ids=["userinfo", "conda-token"])
def test_redact(url, clean):
    assert redact(url) == clean


def test_credentials_in_a_mirror_never_reach_the_lock(tmp_path):
    srv = server()
    base = srv.url.replace("http://", "http://alice:s3cret@")
    fetcher = Fetcher(load_mirrors(mirror_pairs(base)), root=tmp_path / "c")
    files = lockfile.render_all(lockfile.solve_all(_spec(("linux-64",)), fetcher))
    assert not any("s3cret" in t or "alice" in t for t in files.values())


# -- cache and faults -----------------------------------------------------------------------------------------

def test_offline_uses_the_cache_and_makes_no_request(fetcher):
    lockfile.solve_all(_spec(("linux-64",)), fetcher)
    srv = server()
    before = len(srv.requests)
    offline = Fetcher(fetcher.mirrors, offline=True, root=fetcher.root)
    lockfile.solve_all(_spec(("linux-64",)), offline)
    assert len(srv.requests) == before


def test_offline_without_cache_is_an_outside_failure(tmp_path, fetcher):
    offline = Fetcher(fetcher.mirrors, offline=True, root=tmp_path / "empty")
    with pytest.raises(OutsideFailure) as err:
        offline.repodata(PT, "noarch")
    assert "https://conda.anaconda.org/pytorch/noarch/repodata.json" in err.value.message


@pytest.mark.parametrize("fault,words", [("truncate", "damaged"), ("corrupt", "damaged"), ("drop", "broke off"),
                                         ("status:503", "HTTP 503")])
def test_repodata_faults_fail_cleanly_and_cache_nothing(fetcher, fault, words):
    srv = server()
    srv.faults["/conda/pytorch/linux-64/repodata.json"] = fault
    with pytest.raises(OutsideFailure) as err:
        fetcher.repodata(PT, "linux-64")
    assert words in err.value.message and "pytorch/linux-64/repodata.json" in err.value.message
    assert err.value.exit_code == 3 and "--offline" in err.value.hint
    assert not (fetcher.root / "repodata").exists() or not list((fetcher.root / "repodata").iterdir())
    srv.faults.clear()
    assert json.loads(fetcher.repodata(PT, "linux-64").read_text())["packages"]


def test_revalidation_uses_etag_and_keeps_the_cached_file(fetcher):
    first = fetcher.repodata(PT, "noarch")
    stamp = first.stat().st_mtime_ns
    assert fetcher.repodata(PT, "noarch") == first and first.stat().st_mtime_ns == stamp


def test_missing_platform_subdir_is_empty_but_missing_noarch_fails(fetcher):
    srv = server()
    srv.faults["/conda/pytorch/osx-arm64/repodata.json"] = "status:404"
    assert fetcher.repodata(PT, "osx-arm64") is None
    srv.faults["/conda/pytorch/noarch/repodata.json"] = "status:404"
    with pytest.raises(OutsideFailure):
        fetcher.repodata(PT, "noarch")


def test_unreachable_host_names_the_url_and_what_to_try(tmp_path):
    dead = Fetcher(load_mirrors(["https://conda.anaconda.org=http://127.0.0.1:9"]), root=tmp_path, timeout_s=5)
    with pytest.raises(OutsideFailure) as err:
        dead.repodata(PT, "noarch")
    assert "http://127.0.0.1:9/pytorch/noarch/repodata.json" in err.value.message
    assert "proxy" in err.value.hint and "--mirror" in err.value.hint and "--offline" in err.value.hint


def test_slow_downloads_show_progress(tmp_path):
    """A download that takes over a second reports progress lines (the CLI prints them on stderr), then done."""
    srv = server()
    srv.faults["/conda/pytorch/noarch/repodata.json"] = "slow"
    lines: list[str] = []
    slow = Fetcher(load_mirrors(mirror_pairs(srv.url)), root=tmp_path, report=lines.append)
    try:
        path = slow.repodata(PT, "noarch")
    finally:
        srv.faults.pop("/conda/pytorch/noarch/repodata.json")
    assert path is not None and path.read_bytes()
    assert any(line.startswith("downloading noarch/repodata.json: ") and "%" in line for line in lines), lines
    assert lines[-1].endswith(" done")


def test_every_file_states_what_its_reader_finds(fetcher):
    """conda-lock.yml's records line is computed from the solved records, not by parsing it back: the reader must
    find exactly those (the other formats are read back when stamped). The pip part goes into the conda env here,
    so conda-lock.yml holds both managers."""
    from envgen.lock import integrity, read

    spec = dataclasses.replace(_spec(), platforms=tuple(dataclasses.replace(p, pip_in_conda=True)
                                                         for p in _spec().platforms))
    files = lockfile.render_all(lockfile.solve_all(spec, fetcher))
    assert "manager: pip" in files["conda-lock.yml"] and "manager: conda" in files["conda-lock.yml"]
    for name, text in files.items():
        records, names = read.records_of(name, text, name)
        assert integrity.verify(name, text, records, names) == integrity.stated(text).records, name
