"""conda's configuration files read as conda reads them: search order, merging, variables, channel resolution,
mirrors, and hostile files refused as BadInput. Every test builds its own HOME and CONDARC under tmp_path and
passes its own system paths, so the machine's /etc and ~ are never read."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.compile.condarc import (
    DEFAULT_CHANNELS,
    CondaConfig,
    load_condarc,
    mirror_pairs,
    search_path,
)
from envgen.errors import BadInput

TUNA = "https://mirrors.tuna.tsinghua.edu.cn/anaconda"
# the configuration TUNA's help page (mirrors.tuna.tsinghua.edu.cn/help/anaconda/) gives, plus a channel_alias
TUNA_RC = f"""\
channels:
  - defaults
show_channel_urls: true
channel_alias: {TUNA}/cloud
default_channels:
  - {TUNA}/pkgs/main
  - {TUNA}/pkgs/r
  - {TUNA}/pkgs/msys2
custom_channels:
  conda-forge: {TUNA}/cloud
  pytorch: {TUNA}/cloud
"""


def _load(tmp_path: Path, files: dict[str, str], env: dict[str, str] | None = None,
          prefix: Path | None = None) -> CondaConfig:
    """Write `files` (paths relative to tmp_path) and load with HOME=tmp_path/home, system=tmp_path/etc."""
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "home").mkdir(exist_ok=True)
    base = {"HOME": str(tmp_path / "home")}
    system = (str(tmp_path / "etc/.condarc"), str(tmp_path / "etc/condarc"), str(tmp_path / "etc/condarc.d/"))
    return load_condarc({**base, **(env or {})}, prefix, system=system)


def test_no_files_gives_condas_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, {})
    assert config == CondaConfig()
    assert config.channels == ()  # no implicit `defaults` since conda 25.3
    assert config.expand("defaults") == DEFAULT_CHANNELS
    assert config.expand("defaults", "win-64")[-1] == "https://repo.anaconda.com/pkgs/msys2"
    assert config.channel_url("conda-forge") == "https://conda.anaconda.org/conda-forge"
    assert config.channel_url("pkgs/main") == "https://repo.anaconda.com/pkgs/main"
    assert config.channel_url("pkgs/pro") == "https://repo.anaconda.com/pkgs/pro"
    assert mirror_pairs(config) == ()


@pytest.mark.parametrize(("rc", "name", "expected"), [
    ("", "https://example.org/ch/", ("https://example.org/ch",)),
    ("", "conda-forge/linux-64", ("https://conda.anaconda.org/conda-forge",)),
    ("", "pytorch/label/nightly", ("https://conda.anaconda.org/pytorch/label/nightly",)),
    ("", "nodefaults", ()),
    ("channel_alias: https://alias.example/conda/\n", "nvidia", ("https://alias.example/conda/nvidia",)),
    ("custom_channels: {pytorch: 'https://m.example/cloud'}\n", "pytorch/label/nightly", ("https://m.example/cloud/pytorch/label/nightly",)),
    ("custom_channels: {pytorch: 'https://m.example/cloud'}\n", "pytorch-nightly", ("https://conda.anaconda.org/pytorch-nightly",)),
    ("default_channels: [https://m.example/pkgs/main, extra]\n", "defaults", ("https://m.example/pkgs/main", "https://conda.anaconda.org/extra")),
    ("custom_multichannels: {torchy: [pytorch, nvidia, 'https://x.example/ch']}\n", "torchy",
     ("https://conda.anaconda.org/pytorch", "https://conda.anaconda.org/nvidia", "https://x.example/ch")),
    ("custom_multichannels: {defaults: [conda-forge]}\ndefault_channels: [https://ignored.example/pkgs/main]\n", "defaults",
     ("https://conda.anaconda.org/conda-forge",)),
], ids=["url", "platform-dropped", "label", "nodefaults", "alias", "custom-prefix", "custom-exact-only", "default-channels", "multichannel", "multichannel-defaults-wins"])
def test_channel_resolution(tmp_path: Path, rc: str, name: str, expected: tuple[str, ...]) -> None:
    config = _load(tmp_path, {"rc/.condarc": rc}, {"CONDARC": str(tmp_path / "rc/.condarc")})
    assert config.expand(name) == expected


def test_local_path_is_a_file_url(tmp_path: Path) -> None:
    config = _load(tmp_path, {})
    assert config.channel_url(str(tmp_path / "chan")) == (tmp_path / "chan").resolve().as_uri()


def test_multichannel_is_not_one_url(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        _load(tmp_path, {}).channel_url("defaults")
    assert "expand" in (err.value.hint or "")


def test_search_order_later_files_win_and_sequences_merge(tmp_path: Path) -> None:
    files = {
        "etc/.condarc": "channels: [defaults]\nchannel_alias: https://sys.example\nssl_verify: false\n",
        "etc/condarc.d/b.yml": "channels: [b]\n",
        "etc/condarc.d/a.yaml": "channels: [a]\n",
        "etc/condarc.d/notes.txt": "channels: [ignored]\n",
        "home/.config/conda/.condarc": "channels: [xdg-free]\n",
        "home/.conda/condarc": "channels: [dotconda]\n",
        "home/.condarc": "channels: [conda-forge, defaults]\nproxy_servers: {http: 'http://p:1'}\n",
        "env/.condarc": "channel_alias: https://env.example\nproxy_servers: {https: 'http://p:2'}\n",
        "explicit.yml": "ssl_verify: true\nchannels: [last]\n",
    }
    config = _load(tmp_path, files, {"CONDARC": str(tmp_path / "explicit.yml")}, prefix=tmp_path / "env")
    assert [p.relative_to(tmp_path).as_posix() for p in config.files] == [
        "etc/.condarc", "etc/condarc.d/a.yaml", "etc/condarc.d/b.yml", "home/.config/conda/.condarc",
        "home/.conda/condarc", "home/.condarc", "env/.condarc", "explicit.yml"]
    # later files' entries first, each once (conda's SequenceLoadedParameter.merge)
    assert config.channels == ("last", "conda-forge", "defaults", "dotconda", "xdg-free", "b", "a")
    assert config.channel_alias == "https://env.example"
    assert config.ssl_verify is True
    assert config.proxies == {"http": "http://p:1", "https": "http://p:2"}


def test_xdg_config_home_and_conda_root_and_prefix_from_env(tmp_path: Path) -> None:
    files = {"root/condarc": "channels: [root]\n", "xdg/conda/.condarc": "channels: [xdg]\n",
             "active/.condarc": "channels: [active]\n"}
    env = {"CONDA_ROOT": str(tmp_path / "root"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "CONDA_PREFIX": str(tmp_path / "active")}
    assert _load(tmp_path, files, env).channels == ("active", "xdg", "root")
    # an explicit prefix (the target environment) replaces the active one
    assert _load(tmp_path, files, env, prefix=tmp_path / "other").channels == ("xdg", "root")


def test_search_path_skips_unset_variables_and_unnamed_files(tmp_path: Path) -> None:
    (tmp_path / "my.rc").write_text("channels: [x]\n")
    found = search_path({"HOME": str(tmp_path), "CONDARC": str(tmp_path / "my.rc"), "CONDA_ROOT": ""}, system=())
    assert found == ()  # conda reads $CONDARC only when named .condarc/condarc or *.yml/*.yaml


def test_each_file_read_once(tmp_path: Path) -> None:
    config = _load(tmp_path, {"home/.condarc": "channels: [a]\n"}, {"CONDARC": str(tmp_path / "home/.condarc")})
    assert len(config.files) == 1


@pytest.mark.parametrize(("env", "expected"), [
    ({"CONDA_CHANNELS": "x, y"}, {"channels": ("x", "y", "rc")}),
    ({"CONDA_CHANNEL_ALIAS": "https://env.example/"}, {"channel_alias": "https://env.example"}),
    ({"CONDA_SSL_VERIFY": "false"}, {"ssl_verify": False}),
    ({"CONDA_SSL_VERIFY": "truststore"}, {"ssl_verify": "truststore"}),
    ({"CONDA_DEFAULT_CHANNELS": "https://m.example/pkgs/main"}, {"default_channels": ("https://m.example/pkgs/main",)}),
], ids=["channels", "alias", "ssl-false", "truststore", "default-channels"])
def test_conda_variables_override_files(tmp_path: Path, env: dict[str, str], expected: dict[str, object]) -> None:
    config = _load(tmp_path, {"home/.condarc": "channels: [rc]\nssl_verify: true\n"}, env)
    assert {key: getattr(config, key) for key in expected} == expected


def test_variables_expand_in_values(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("cert")
    rc = ("channel_alias: ${MIRROR}/cloud\nssl_verify: $CERTS/ca.pem\n"
          "custom_channels: {pytorch: '${MIRROR}/cloud'}\nproxy_servers: {https: 'http://$PROXY_USER@proxy:8080'}\n"
          "channels: [$UNSET_VAR/x]\n")
    env = {"MIRROR": "https://m.example", "CERTS": str(tmp_path), "PROXY_USER": "me"}
    config = _load(tmp_path, {"home/.condarc": rc}, env)
    assert config.channel_alias == "https://m.example/cloud"
    assert config.ssl_verify == str(tmp_path / "ca.pem")
    assert config.channel_url("pytorch") == "https://m.example/cloud/pytorch"
    assert config.proxies == {"https": "http://me@proxy:8080"}
    assert config.channels == ("$UNSET_VAR/x",)  # unset: left as written, like os.path.expandvars


@pytest.mark.parametrize("alias", [True, False], ids=["with-alias", "tuna-help-page"])
def test_tuna_mirror(tmp_path: Path, alias: bool) -> None:
    rc = TUNA_RC if alias else TUNA_RC.replace(f"channel_alias: {TUNA}/cloud\n", "")
    config = _load(tmp_path, {"home/.condarc": rc})
    assert config.channels == ("defaults",)
    assert config.expand("defaults") == (f"{TUNA}/pkgs/main", f"{TUNA}/pkgs/r", f"{TUNA}/pkgs/msys2")
    assert config.channel_url("conda-forge") == f"{TUNA}/cloud/conda-forge"
    assert config.channel_url("pytorch") == f"{TUNA}/cloud/pytorch"
    assert config.channel_url("nvidia") == (f"{TUNA}/cloud/nvidia" if alias else "https://conda.anaconda.org/nvidia")
    pairs = dict(mirror_pairs(config))
    expected = {
        "https://conda.anaconda.org/conda-forge": f"{TUNA}/cloud/conda-forge",
        "https://conda.anaconda.org/pytorch": f"{TUNA}/cloud/pytorch",
        "https://repo.anaconda.com/pkgs/main": f"{TUNA}/pkgs/main",
        "https://repo.anaconda.com/pkgs/r": f"{TUNA}/pkgs/r",
        "https://repo.anaconda.com/pkgs/msys2": f"{TUNA}/pkgs/msys2",
    }
    if alias:
        expected["https://conda.anaconda.org"] = f"{TUNA}/cloud"
    assert pairs == expected
    lengths = [len(src) for src, _ in mirror_pairs(config)]
    assert lengths == sorted(lengths, reverse=True)  # longest canonical prefix first
    assert config.canonical(f"{TUNA}/cloud/pytorch/linux-64/x.conda") == "https://conda.anaconda.org/pytorch/linux-64/x.conda"
    assert config.canonical(f"{TUNA}/pkgs/main") == "https://repo.anaconda.com/pkgs/main"


# --- hostile and wrong files ------------------------------------------------------------------------------
@pytest.mark.parametrize(("rc", "expected"), [
    ("channels: conda-forge\n", "channels: expected a list"),
    ("channels: [1, 2]\n", "channels[0]: expected text"),
    ("channel_alias: [x]\n", "channel_alias: expected a URL"),
    ("channel_alias: conda.example\n", "channel_alias: expected a URL"),
    ("custom_channels: [a]\n", "custom_channels: expected a mapping"),
    ("custom_channels: {a: 1}\n", "custom_channels.a: expected a URL"),
    ("custom_multichannels: {m: x}\n", "custom_multichannels.m: expected a list"),
    ("proxy_servers: {http: [x]}\n", "proxy_servers.http: expected a URL"),
    ("ssl_verify: 3\n", "ssl_verify: expected true, false"),
    ("ssl_verify: /no/such/bundle.pem\n", "ssl_verify: '/no/such/bundle.pem' is neither"),
    ("- a\n- b\n", "expected a mapping of settings"),
    ("channels: [a\n", "not valid YAML"),
    ("channels: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                                                        for p, c in zip("abcdefg", "bcdefgh", strict=True)), "alias"),
], ids=["channels-scalar", "channels-ints", "alias-list", "alias-no-scheme", "custom-list", "custom-int", "multi-scalar",
        "proxy-list", "ssl-int", "ssl-missing-file", "top-list", "bad-yaml", "deep", "billion-laughs"])
def test_bad_files_are_bad_input_naming_file_and_key(tmp_path: Path, rc: str, expected: str) -> None:
    with pytest.raises(BadInput) as err:
        _load(tmp_path, {"home/.condarc": rc})
    assert expected in err.value.message
    assert err.value.hint
    if "ssl_verify: '" not in expected:
        assert str(tmp_path / "home/.condarc") in err.value.message


def test_huge_file_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("envgen.fileio.MAX_BYTES", 1000)
    with pytest.raises(BadInput, match="larger than"):
        _load(tmp_path, {"home/.condarc": "channels:\n" + "  - conda-forge\n" * 200})


def test_too_many_files_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="more than 200"):
        _load(tmp_path, {f"etc/condarc.d/{i:04}.yml": "" for i in range(201)})


def test_unknown_keys_and_empty_files_are_ignored(tmp_path: Path) -> None:
    config = _load(tmp_path, {"home/.condarc": "auto_activate_base: false\nchannels:\n",
                              "home/.conda/.condarc": ""})
    assert config.channels == ()
