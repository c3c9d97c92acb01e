"""`.condarc` as conda reads it reaches `envgen lock`: a channel_alias / default_channels mirror needs no flag and
leaves canonical URLs in the lockfiles; `channels:` is the default list; proxy_servers are used."""

from __future__ import annotations

import pytest

from tests.support.cli import run
from tests.support.lockenv import server

ENV = "dependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"


@pytest.fixture
def condarc(monkeypatch, tmp_path):
    """No ENVGEN mirrors; a private HOME; CONDARC names the file the test writes."""
    srv = server()
    srv.faults.clear()
    monkeypatch.delenv("ENVGEN_MIRRORS", raising=False)
    monkeypatch.setenv("ENVGEN_MIRROR_FILE", "/nonexistent/mirrors.toml")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("CONDA_PREFIX", "CONDA_ROOT", "XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "condarc.yml"
    monkeypatch.setenv("CONDARC", str(path))
    return srv, path


def test_a_mirror_in_condarc_needs_no_flag_and_keeps_canonical_urls(capsys, condarc, tmp_path):
    srv, path = condarc
    main = srv.root / "conda" / "pkgs" / "main"  # defaults' layout (pkgs/main) on the mirror, as TUNA has it
    main.parent.mkdir(exist_ok=True)
    if not main.exists():
        main.symlink_to(srv.root / "conda" / "pkgs-main", target_is_directory=True)
    path.write_text(f"channel_alias: {srv.url}/conda\ndefault_channels:\n  - {srv.url}/conda/pkgs/main\n"
                    "channels:\n  - pytorch\n  - defaults\n")
    env = tmp_path / "environment.yml"
    env.write_text(ENV)  # no channels: .condarc's list
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 0, res.err
    text = (tmp_path / "locks" / "conda-lock.yml").read_text()
    assert "https://conda.anaconda.org/pytorch/linux-64/pytorch-1.8.1-py3.9_cpu_0" in text
    assert "https://repo.anaconda.com/pkgs/main/linux-64/" in text
    assert "127.0.0.1" not in text  # the mirror is where it was fetched from, not what is recorded
    assert any(r.startswith("/conda/pytorch/") for r in srv.requests)


def test_without_condarc_the_same_request_goes_to_the_real_hosts(capsys, condarc, tmp_path, monkeypatch):
    """The contrast: no .condarc written, so the channel's canonical host is what gets asked (mapped by
    ENVGEN_MIRRORS to a dead loopback port, so nothing leaves the machine)."""
    del condarc  # only its clean HOME/CONDARC environment is wanted here
    monkeypatch.setenv("ENVGEN_MIRRORS", "https://conda.anaconda.org=http://127.0.0.1:9/dead")
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch]\n" + ENV)
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 3 and "127.0.0.1:9/dead/pytorch/linux-64/repodata.json" in res.err


def test_proxy_servers_are_used(capsys, condarc, tmp_path):
    srv, path = condarc
    path.write_text(f"channel_alias: {srv.url}/conda\nproxy_servers:\n  http: http://127.0.0.1:9\n")
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch]\n" + ENV)
    before = len(srv.requests)
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 3, res.err  # every request went to the (dead) proxy
    assert srv.requests[before:] == []


def test_a_broken_condarc_is_bad_input(capsys, condarc, tmp_path):
    _, path = condarc
    path.write_text("channels: {not: a list}\n")
    env = tmp_path / "environment.yml"
    env.write_text("channels: [pytorch]\n" + ENV)
    res = run(capsys, "lock", "--from", str(env), "--platform", "linux-64", "-o", str(tmp_path / "locks"))
    assert res.code == 2 and "condarc" in res.err and "hint:" in res.err
