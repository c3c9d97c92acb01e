"""Locks and installs that cannot be turned against their users (issue 10): hostile URLs, unverified files,
credentials, truncated or edited locks, bad fields. Real channels and wheels served on 127.0.0.1.

An attacker who edits a lock can also rewrite its `# records:` line (the digest is no secret), so the tests of
hostile URLs and hashes re-stamp the edited file: the defence there is the reader's, not the digest's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from envgen.errors import BadInput
from envgen.lock.engine import stamp
from envgen.lock.fetch import safe_file_name
from envgen.redact import redact, strip_credentials
from tests.support.cli import run
from tests.support.lockenv import mirror_pairs, world

BASE = ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--installer", "conda"]
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.fixture
def locked(capsys, served, tmp_path):
    res = run(capsys, "lock", *BASE, "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    return tmp_path / "locks"


@pytest.fixture
def pip_locked(capsys, served, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
                   "  - pip:\n    - -f https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "pl"))
    assert res.code == 0, res.err
    return tmp_path / "pl"


def _edit(path: Path, old: str, new: str, restamp: bool = True, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    text = text.replace(old, new, count)
    if restamp:
        text = _restamp(path.name, text)
    path.write_text(text)


def _restamp(name: str, text: str) -> str:
    """What an attacker can do: recompute the records line of an edited file (alone, so no lock-set)."""
    bare = "\n".join(line for line in text.split("\n") if not line.startswith(("# records:", "# lock-set:")))
    return stamp({name: bare})[name]


def _install(capsys, lock: Path, prefix: Path, *extra: str):
    return run(capsys, "install", str(lock), "--prefix", str(prefix), "--platform", "linux-64", *extra)


# -- 1. paths from lock URLs ----------------------------------------------------------------------------------

HOSTILE_NAMES = ["..%2F..%2F..%2Fevil-1-0.tar.bz2", "%2E%2E%2F%2E%2E%2Fevil-1-0.tar.bz2", "%2F.bashrc",
                 "..%2F.profile-1-0.tar.bz2", "evil%5C..%5C..%5Cx-1-0.tar.bz2", ".hidden-1-0.tar.bz2"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_install_refuses_a_url_that_would_write_outside_the_cache(capsys, locked, tmp_path, served, name):
    lock = locked / "conda-lock.yml"
    torch_url = re.search(r"url: (\S*pytorch-1\.8\.1-\S+\.tar\.bz2)", lock.read_text()).group(1)
    _edit(lock, torch_url, torch_url.rsplit("/", 1)[0] + "/" + name)
    (locked / "conda-linux-64.lock").unlink()  # the edited file is installed alone
    before = len(served.requests)
    res = _install(capsys, lock, tmp_path / "env")
    assert res.code == 2, res.err
    assert "refusing the package URL" in res.err and "hint:" in res.err
    assert len(served.requests) == before  # refused before the first download
    assert not (tmp_path / "env").exists()
    written = [p for p in tmp_path.rglob("*") if "evil" in p.name or p.name in (".bashrc", ".profile")]
    assert written == []


@given(st.text(min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_safe_file_name_never_leaves_its_folder(segment):
    from urllib.parse import quote

    url = "https://host/channel/linux-64/" + quote(segment, safe="")
    try:
        name = safe_file_name(url)
    except BadInput:
        return
    assert "/" not in name and "\\" not in name and not name.startswith(".") and ".." not in name
    assert Path("/cache/pkgs", name).parent == Path("/cache/pkgs")


# -- 2. unverified code ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("hashes", ["{}", "{md5: 0123456789abcdef0123456789abcdef}", "abc"],
                         ids=["empty", "md5-only", "not-a-mapping"])
def test_a_pip_entry_without_sha256_is_refused(capsys, pip_locked, tmp_path, hashes):
    lock = pip_locked / "conda-lock.yml"
    text = lock.read_text()
    entry = re.search(r"  manager: pip\n(?:.*\n)*?  hash:\n    sha256: [0-9a-f]{64}\n", text).group(0)
    _edit(lock, entry, re.sub(r"  hash:\n    sha256: [0-9a-f]{64}\n", f"  hash: {hashes}\n", entry), restamp=False)
    res = _install(capsys, lock, tmp_path / "env")
    assert res.code == 2, res.err
    assert ("carries no sha256" in res.err or "hash" in res.err) and "hint:" in res.err
    assert not (tmp_path / "env").exists()


def test_a_modified_wheel_is_refused(capsys, pip_locked, tmp_path, served):
    lock = pip_locked / "conda-lock.yml"
    wheel_url = re.search(r"url: \"?(\S+torchaudio\S+\.whl)", lock.read_text()).group(1)
    path = next(urlsplit(dst + wheel_url[len(src):]).path for src, dst in (m.split("=", 1) for m in
                                                                          mirror_pairs(served.url))
                if wheel_url.startswith(src))
    other = next(p for p in world().rglob("*.whl") if "torchaudio" not in p.name)
    served.faults[path] = f"swap:/{other.relative_to(world()).as_posix()}"
    res = _install(capsys, pip_locked, tmp_path / "env")
    assert res.code == 3 and "hash mismatch for torchaudio" in res.err
    assert not (tmp_path / "env").exists()


def test_a_wrong_md5_is_refused_although_the_sha256_matches(capsys, locked, tmp_path):
    lock = locked / "conda-lock.yml"
    text = lock.read_text()
    entry = re.search(r"- name: pytorch\n(?:.*\n)*?    md5: ([0-9a-f]{32})\n    sha256: [0-9a-f]{64}\n", text)
    assert entry, "the pytorch entry carries md5 and sha256"
    md5 = entry.group(1)
    _edit(lock, f"md5: {md5}", f"md5: {md5[::-1]}")
    (locked / "conda-linux-64.lock").unlink()
    res = _install(capsys, lock, tmp_path / "env")
    assert res.code == 3 and "hash mismatch for pytorch" in res.err and "md5" in res.err, res.err
    assert not (tmp_path / "env").exists()


# -- 3. credentials -------------------------------------------------------------------------------------------

SECRETS = ("s3cretpw", "tok-SECRET9", "pw2secret", "qtokSECRET")


def test_credentials_in_channel_and_index_urls_reach_no_file_and_no_message(capsys, tmp_path, served):
    host = served.url.split("://", 1)[1]
    env = tmp_path / "environment.yml"
    env.write_text(f"channels:\n  - http://alice:s3cretpw@{host}/t/tok-SECRET9/conda/pytorch\n"
                   f"  - http://{host}/conda/pkgs-main\n"
                   "dependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
                   f"  - pip:\n    - -f http://bob:pw2secret@{host}/whl/torch_stable.html?token=qtokSECRET\n"
                   "    - torchaudio==0.8.1\n")
    out = tmp_path / "locks"
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(out), "--json")
    assert res.code == 0, res.err
    assert "tok-SECRET9" in served.credentials  # the credentials were used to download...
    texts = {p: p.read_text(errors="replace") for p in [*out.iterdir(), *Path(os.environ["ENVGEN_CACHE_DIR"]).rglob("*.json")]}
    texts[Path("stdout")], texts[Path("stderr")] = res.out, res.err
    for where, text in texts.items():  # ...and went nowhere else
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {where}"
    assert f"http://{host}/conda/pytorch/linux-64/pytorch-1.8.1" in (out / "conda-lock.yml").read_text()
    assert run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(out), "--check").code == 0
    assert run(capsys, "lock", "--check", "-o", str(out)).code == 0  # the recorded inputs, read back, agree
    assert "***" in (out / "lock-inputs.yml").read_text()  # what was read of the file is recorded, masked


def test_credentials_stay_out_of_network_errors(capsys, tmp_path, served):
    env = tmp_path / "environment.yml"
    env.write_text("channels:\n  - http://alice:s3cretpw@127.0.0.1:9/t/tok-SECRET9/conda/pytorch\n"
                   "dependencies:\n  - pytorch=1.8.1\n")
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 3, res.err
    assert "127.0.0.1:9" in res.err and not any(s in res.err + res.out for s in SECRETS)


URL_PART = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122, categories=["Ll", "Lu", "Nd"]),
                   min_size=6, max_size=20)


def _secret_url(user: str, password: str, token: str, query: str, where: str) -> tuple[str, str]:
    url = f"https://{user}:{password}@mirror.example/t/{token}/conda-forge/linux-64/x-1-0.conda?token={query}&a=1"
    text = (f"cannot reach {url}: HTTPSConnectionPool(host='mirror.example', port=443): Max retries exceeded "
            f"with url: /t/{token}/conda-forge/linux-64/x-1-0.conda") if where == "message" else url
    return url, text


@given(user=URL_PART, password=URL_PART, token=URL_PART, query=URL_PART,
       where=st.sampled_from(["message", "url"]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_redaction_removes_every_kind_of_url_secret(user, password, token, query, where):
    url, text = _secret_url(user, password, token, query, where)
    # a secret that is also a word of the text around it (query='mirror') cannot be told apart from that word
    around = _secret_url("", "", "", "", where)[1] + "***"
    assume(not any(secret in around for secret in (password, token, query)))
    for out in (redact(text), strip_credentials(url)):
        assert password not in out and token not in out and query not in out
        assert "mirror.example" in out and "conda-forge" in out
    assert strip_credentials(url) == "https://mirror.example/conda-forge/linux-64/x-1-0.conda?a=1"


# -- 5. truncated or edited locks -------------------------------------------------------------------------------

def _entries(text: str) -> list[int]:
    return [m.start() for m in re.finditer(r"^- name: ", text, re.M)]


def test_a_lock_cut_at_a_package_boundary_is_refused(capsys, locked, tmp_path):
    lock = locked / "conda-lock.yml"
    text = lock.read_text()
    starts = _entries(text)
    lock.write_text(text[: starts[len(starts) // 2]])
    res = _install(capsys, locked, tmp_path / "env")
    assert res.code == 2 and "was cut or edited" in res.err and "hint:" in res.err, res.err
    assert not (tmp_path / "env").exists()


def test_a_lock_without_its_torch_entry_is_refused(capsys, locked, tmp_path):
    lock = locked / "conda-lock.yml"
    text = lock.read_text()
    starts = _entries(text) + [len(text)]
    i = next(i for i, s in enumerate(starts) if text.startswith("- name: pytorch\n", s))
    lock.write_text(text[: starts[i]] + text[starts[i + 1]:])
    for cmd in (["install", str(lock), "--prefix", str(tmp_path / "env")], ["verify", str(lock), "--prefix",
                                                                              str(tmp_path)]):
        res = run(capsys, *cmd, "--platform", "linux-64")
        assert res.code == 2 and "package records" in res.err, res.err
    assert not (tmp_path / "env").exists()


def _cut_third(text: str) -> str:
    return text[: len(text) // 3]


TAMPER = {
    "changed-md5": lambda t: HEX32.sub(lambda m: m.group(0)[::-1], t, count=1),
    "swapped-url": lambda t: t.replace("linux-64/numpy-", "linux-64/numpy-x", 1),
    "extra-package": lambda t: t + t[_entries(t)[0]:_entries(t)[1]],
    "cut-to-a-third": _cut_third,
    "version-2": lambda t: t.replace("version: 1\n", "version: 2\n", 1),
}


@pytest.mark.parametrize("how", sorted(TAMPER))
def test_lock_check_catches_an_edited_lock(capsys, locked, how):
    lock = locked / "conda-lock.yml"
    lock.write_text(TAMPER[how](lock.read_text()))
    res = run(capsys, "lock", *BASE, "-o", str(locked), "--check")
    assert res.code == 1 and "conda-lock.yml" in res.err, res.err


def test_update_refuses_to_start_from_a_tampered_lock(capsys, locked):
    lock = locked / "conda-lock.yml"
    lock.write_text(TAMPER["changed-md5"](lock.read_text()))
    before = {p.name: p.read_bytes() for p in locked.iterdir()}
    res = run(capsys, "lock", *BASE, "-o", str(locked), "--update", "numpy")
    assert res.code == 2 and "fails its check" in res.err, res.err
    assert {p.name: p.read_bytes() for p in locked.iterdir()} == before


def test_files_of_two_runs_in_one_folder_are_caught(capsys, locked, tmp_path):
    other = tmp_path / "other"
    res = run(capsys, "lock", "--torch", "1.8.1", "--cpu", "--platform", "linux-64", "--installer", "conda",
              "-o", str(other))
    assert res.code == 0, res.err
    (locked / "conda-linux-64.lock").write_bytes((other / "conda-linux-64.lock").read_bytes())
    res = _install(capsys, locked, tmp_path / "env")
    assert res.code == 2 and "not written together" in res.err, res.err


# -- 7 and 8. other outputs, malformed fields -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "a/b", "x\ny", "..", "a b"])
def test_install_name_is_one_folder_under_envs(capsys, locked, tmp_path, monkeypatch, name):
    monkeypatch.setenv("CONDA_ENVS_PATH", str(tmp_path / "envs"))
    res = run(capsys, "install", str(locked), "--name", name, "--platform", "linux-64")
    assert res.code == 2 and "invalid conda environment name" in res.err and "hint:" in res.err
    assert not (tmp_path / "envs").exists() and not (tmp_path / "x").exists()


FIELDS = {
    "hash-abc": ("  hash:\n    md5:", "  hash: abc\n    md5:"),
    "dependencies-5": ("  dependencies:\n", "  dependencies: 5\n  x:\n"),
    "manager-brew": ("  manager: conda\n", "  manager: brew\n"),
    "version-list": ("  version: ", "  version: [1]\n  v: "),
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_malformed_lock_fields_are_bad_input(capsys, locked, tmp_path, field):
    old, new = FIELDS[field]
    lock = locked / "conda-lock.yml"
    _edit(lock, old, new, restamp=False)  # the reader refuses the field before any digest is computed
    res = _install(capsys, lock, tmp_path / "env")
    assert res.code == 2 and "error:" in res.err and "hint:" in res.err and "Traceback" not in res.err, res.err


@pytest.mark.parametrize("name", ["conda-linux-64.lock", "pylock.linux-64.toml"])
def test_invalid_utf8_in_a_lock_is_bad_input(capsys, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"# generated\n@EXPLICIT\nhttps://h/c/linux-64/x-1-0.tar.bz2#" + b"\xff\xfe" * 16 + b"\n")
    res = _install(capsys, path, tmp_path / "env")
    assert res.code == 2 and "error:" in res.err and "hint:" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_timeout_must_be_a_positive_number(capsys, tmp_path, value):
    res = run(capsys, "lock", *BASE, "-o", str(tmp_path / "l"), "--timeout", value)
    assert res.code == 2 and "--timeout" in res.err and "hint:" in res.err
    assert not (tmp_path / "l").exists()


# -- fuzz: every lock reader, driven as a user drives it -------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "locks" / "example-2.5.1-cu118"


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A committed lockfile with random damage: cut, lines dropped or repeated, bytes overwritten or inserted."""
    name = draw(st.sampled_from(["conda-lock.yml", "conda-linux-64.lock", "pixi.lock"]))
    data = bytearray((EXAMPLE / name).read_bytes())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cut", "drop", "repeat", "overwrite", "insert"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "cut":
            del data[at:]
        elif kind in ("drop", "repeat"):
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at) + 1 or len(data)
            data[start:end] = b"" if kind == "drop" else data[start:end] * 2
        else:
            blob = draw(st.binary(min_size=1, max_size=12) | st.sampled_from(
                [b"\n- name: x\n", b": [", b"\xff\xfe", b"*a", b"&a [*a, *a]", b"\x00", b"version: 2\n"]))
            data[at:at + (len(blob) if kind == "overwrite" else 0)] = blob
    return name, bytes(data)


@given(case=mutated())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_damaged_lock_is_refused_in_words(capsys, tmp_path, case):
    name, data = case
    folder = tmp_path / "lock"
    folder.mkdir(exist_ok=True)
    for other in EXAMPLE.iterdir():
        (folder / other.name).write_bytes(other.read_bytes())
    (folder / name).write_bytes(data)
    prefix = tmp_path / "prefix"
    prefix.mkdir(exist_ok=True)
    for target in (folder, folder / name):
        res = run(capsys, "verify", str(target), "--prefix", str(prefix), "--platform", "linux-64")
        assert "Traceback" not in res.err
        assert res.code in (1, 2), res.err
        if res.code == 2:
            assert res.err.startswith("error: ") and "\nhint: " in res.err, res.err
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in EXAMPLE.iterdir())


@pytest.mark.parametrize("name", ["conda-lock.yml", "conda-linux-64.lock"])
def test_migrate_to_an_edited_lock_is_refused(capsys, locked, tmp_path, name):
    lock = locked / name
    lock.write_text(TAMPER["changed-md5"](lock.read_text()))
    listing = Path(__file__).resolve().parent / "data" / "migrate" / "pt112-cu113.explicit.txt"
    res = run(capsys, "migrate", "--from", str(listing), "--to", str(lock), "--platform", "linux-64",
              "--name", "old", "--shell", "bash", "-o", "-")
    assert res.code == 2 and "differs from what was written" in res.err, res.err


def test_a_renamed_lock_is_still_checked(capsys, locked, tmp_path):
    renamed = tmp_path / "my-env.lock"
    text = (locked / "conda-linux-64.lock").read_text()
    renamed.write_text(text)
    res = run(capsys, "verify", str(renamed), "--prefix", str(tmp_path), "--platform", "linux-64")
    assert res.code == 2 and "not a conda environment" in res.err, res.err  # the lock itself passed
    renamed.write_text(HEX32.sub(lambda m: m.group(0)[::-1], text, count=1))
    res = run(capsys, "verify", str(renamed), "--prefix", str(tmp_path), "--platform", "linux-64")
    assert res.code == 2 and "differs from what was written" in res.err, res.err


def test_the_first_difference_is_named_from_another_file_of_the_set(capsys, locked, tmp_path):
    lock = locked / "conda-lock.yml"
    text = lock.read_text()
    name, md5 = re.search(r"- name: (\S+)\n(?:.*\n)*?    md5: ([0-9a-f]{32})\n", text).groups()
    lock.write_text(text.replace(f"md5: {md5}", f"md5: {md5[::-1]}", 1))
    res = run(capsys, "lock", *BASE, "-o", str(locked), "--check")
    assert res.code == 1
    assert f"first difference: {name} (linux-64): md5 {md5[::-1]} here, {md5} in conda-linux-64.lock" in res.err, res.err


def test_a_swapped_url_in_an_explicit_file_is_named(capsys, locked, tmp_path):
    explicit = locked / "conda-linux-64.lock"
    text = explicit.read_text()
    url = re.search(r"^(https?://\S+/numpy-[^#]+)#", text, re.M).group(1)
    explicit.write_text(text.replace(url, url.replace("/numpy-", "/numpy-9"), 1))
    res = run(capsys, "verify", str(explicit), "--prefix", str(tmp_path), "--platform", "linux-64")
    assert res.code == 2 and "first difference: numpy" in res.err and "in conda-lock.yml" in res.err, res.err


@pytest.mark.parametrize("char", ["\u2028", "\x85", "\u2029", "\n"], ids=["ls", "nel", "ps", "lf"])
def test_envgen_reads_back_a_lock_written_under_a_strange_folder_name(capsys, served, tmp_path, char):
    out = tmp_path / f"lock{char}dir"
    assert run(capsys, "lock", *BASE, "-o", str(out)).code == 0
    assert run(capsys, "lock", *BASE, "-o", str(out), "--check").code == 0
    res = run(capsys, "verify", str(out), "--prefix", str(tmp_path), "--platform", "linux-64")
    assert res.code == 2 and "not a conda environment" in res.err, res.err  # the lock itself read fine


def test_credentials_for_a_canonical_url_come_from_netrc(capsys, tmp_path, served, monkeypatch):
    host = served.url.split("://", 1)[1].split(":")[0]
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login alice password s3cretpw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    served.credentials.clear()
    out = tmp_path / "locks"
    assert run(capsys, "lock", *BASE, "-o", str(out)).code == 0
    assert any(c.startswith("Basic ") for c in served.credentials)  # sent with every download...
    assert not [p for p in out.iterdir() if "s3cretpw" in p.read_text()]  # ...and written nowhere
