"""conda's configuration files (`.condarc`) as conda reads them: the channel settings, proxies and TLS checks.

`load_condarc` reads the files of conda's search path in conda's order, later files overriding earlier ones;
`CondaConfig` says what a channel name stands for (`channel_url`, `expand`), and `mirror_pairs` gives the
(canonical prefix, configured prefix) pairs a mirror user's settings amount to, so lockfiles keep canonical URLs
while downloads go where the user's conda goes.

What is conda's behaviour here, and where it comes from (conda 26.7, github.com/conda/conda at 0f64223f):
- the search path: `conda/base/constants.py` `SEARCH_PATH` (system files, `$CONDA_ROOT`, `$XDG_CONFIG_HOME/conda`,
  `~/.config/conda`, `~/.conda`, `~/.condarc`, `$CONDA_PREFIX`, `$CONDARC`; each place as `.condarc`,
  `condarc` and a `condarc.d/` folder); `conda/common/configuration.py` `Configuration._expand_search_path`:
  a file counts when its name is `.condarc`/`condarc` or ends in `.yml`/`.yaml` (so `CONDARC=~/my.rc` is
  ignored by conda, and here), a folder's `*.yml`/`*.yaml` files are read in name order, a path is read once;
  the docs page "Using the .condarc conda configuration file" (Searching for .condarc) lists the same order;
- merging (`configuration.py`): a scalar takes the last file's value; a sequence is the later files' entries
  first, then the earlier ones', duplicates dropped (`SequenceLoadedParameter.merge`); a map merges key by key,
  the later file's value winning (`MapLoadedParameter.merge`); then `CONDA_<KEY>` environment variables win
  (`EnvRawParameter`: sequences split on `,`); values (not keys) of these settings have `$VAR`/`${VAR}`
  expanded, an unset variable left as written (`expandvars=True` in `conda/base/context.py`, `os.path.expandvars`);
- channels (`conda/models/channel.py`: `Channel.from_value`, `_get_channel_for_name`, `make_simple_channel`;
  `context.custom_multichannels`, `context.custom_channels`): a URL is itself; a path is a `file://` URL; a
  trailing platform folder is dropped; a multichannel (`defaults` from `default_channels` unless
  `custom_multichannels` names `defaults`) is its channels; a name, or its longest leading part, found among
  `custom_channels` (and the channels of the multichannels, by their names such as `pkgs/main`) is
  `location/name`; anything else is `channel_alias/name`. `channel_alias` defaults to https://conda.anaconda.org,
  `default_channels` to repo.anaconda.com's pkgs/main and pkgs/r (and pkgs/msys2 for win-* platforms),
  `custom_channels` to `pkgs/pro: https://repo.anaconda.com` (constants.py);
- `channels`: no implicit `defaults` since conda 25.3 (conda PR #14227): an unset `channels` is empty here;
- `ssl_verify` (alias `verify_ssl`): true/false, a CA bundle file or folder, or `truststore`.

Where envgen is stricter than conda, on purpose: a file conda would skip with a warning (bad YAML, a wrong type)
is `BadInput` naming the file and key; a search-path entry whose variable is unset or empty is skipped (conda
would look for a file literally named `$CONDA_ROOT/.condarc`, or scan the working folder for `CONDARC=`).
Not read: the `#!final`/`#!top`/`#!bottom` markers, `migrated_*` settings and conda-build's `local` channel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from envgen.errors import BadInput
from envgen.fileio import parse_yaml, read_text
from envgen.models import PLATFORMS

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
DEFAULT_CHANNELS_WIN = DEFAULT_CHANNELS + ("https://repo.anaconda.com/pkgs/msys2",)
DEFAULT_CUSTOM_CHANNELS = (("pkgs/pro", "https://repo.anaconda.com"),)
ANACONDA_REPO = "https://repo.anaconda.com"

SYSTEM_PATHS_POSIX = ("/etc/conda/.condarc", "/etc/conda/condarc", "/etc/conda/condarc.d/",
                      "/var/lib/conda/.condarc", "/var/lib/conda/condarc", "/var/lib/conda/condarc.d/")
SYSTEM_PATHS_WIN = ("C:/ProgramData/conda/.condarc", "C:/ProgramData/conda/condarc", "C:/ProgramData/conda/condarc.d")
SYSTEM_PATHS = SYSTEM_PATHS_WIN if os.name == "nt" else SYSTEM_PATHS_POSIX
USER_PATHS = (
    "$CONDA_ROOT/.condarc", "$CONDA_ROOT/condarc", "$CONDA_ROOT/condarc.d/",
    "$XDG_CONFIG_HOME/conda/.condarc", "$XDG_CONFIG_HOME/conda/condarc", "$XDG_CONFIG_HOME/conda/condarc.d/",
    "~/.config/conda/.condarc", "~/.config/conda/condarc", "~/.config/conda/condarc.d/",
    "~/.conda/.condarc", "~/.conda/condarc", "~/.conda/condarc.d/",
    "~/.condarc",
    "$CONDA_PREFIX/.condarc", "$CONDA_PREFIX/condarc", "$CONDA_PREFIX/condarc.d/",
    "$CONDARC",
)
MAX_FILES = 200  # configuration files read in all (a condarc.d folder of thousands is not a configuration)

_SUBDIRS = frozenset(PLATFORMS) | {"noarch"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_VAR = re.compile(r"\$(\w+|\{[^}]*\})")
_HINT = "see conda's documentation, 'Using the .condarc conda configuration file'"
# key (and its aliases) -> kind: "str", "seq", "map", "map-seq", "proxy", "ssl"
_KEYS = {"channels": "seq", "channel": "seq", "default_channels": "seq", "channel_alias": "str",
         "custom_channels": "map", "custom_multichannels": "map-seq", "proxy_servers": "proxy",
         "ssl_verify": "ssl", "verify_ssl": "ssl"}
_ALIAS = {"channel": "channels", "verify_ssl": "ssl_verify"}


@dataclass(frozen=True, slots=True)
class CondaConfig:
    """The channel, proxy and TLS settings of conda's configuration; unset keys hold conda's defaults."""

    channels: tuple[str, ...] = ()  # what conda uses when neither the command nor the file names channels
    default_channels: tuple[str, ...] = DEFAULT_CHANNELS
    channel_alias: str = DEFAULT_CHANNEL_ALIAS
    custom_channels: tuple[tuple[str, str], ...] = DEFAULT_CUSTOM_CHANNELS
    custom_multichannels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    proxy_servers: tuple[tuple[str, str | None], ...] = ()
    ssl_verify: bool | str = True  # or a CA bundle path, or "truststore"
    files: tuple[Path, ...] = ()  # the files read, in order

    @property
    def proxies(self) -> dict[str, str | None]:
        """`proxy_servers` (scheme or `scheme://host` -> proxy URL; None: no proxy for it)."""
        return dict(self.proxy_servers)

    def multichannels(self, platform: str | None = None) -> dict[str, tuple[str, ...]]:
        """Each multichannel's name -> its channels' URLs (`defaults` from `default_channels` unless
        `custom_multichannels` names it; pkgs/msys2 joins conda's own defaults for a win-* platform)."""
        defaults = self.default_channels
        if platform and platform.startswith("win-") and defaults == DEFAULT_CHANNELS:
            defaults = DEFAULT_CHANNELS_WIN
        found = dict(self.custom_multichannels)
        found.setdefault("defaults", defaults)
        return {name: tuple(self._simple(u) for u in urls) for name, urls in found.items()}

    def expand(self, name: str, platform: str | None = None) -> tuple[str, ...]:
        """A channel as written -> the URL(s) conda reads it from (several for a multichannel; none for
        `nodefaults`, which only environment files know)."""
        value = name.strip().rstrip("/")
        if not value:
            raise BadInput("an empty channel name", hint="name a channel (conda-forge) or give its URL")
        if _SCHEME.match(value):
            return (value,)
        if value.startswith(("/", "./", "../", "~")) or re.match(r"^[A-Za-z]:[\\/]", value):
            return (Path(value).expanduser().resolve().as_uri(),)
        if value == "nodefaults":
            return ()
        parts = value.split("/")
        if len(parts) > 1 and parts[-1] in _SUBDIRS:
            value = "/".join(parts[:-1])
        multi = self.multichannels(platform)
        if value in multi:
            return multi[value]
        if value == "local":
            raise BadInput("the `local` channel (conda-build's output folder) is not supported",
                           hint="give the folder's path or file:// URL instead")
        return (self._named(value, multi),)

    def channel_url(self, name: str, platform: str | None = None) -> str:
        """A single channel as written -> its URL as conda resolves it (a multichannel is refused: use `expand`)."""
        urls = self.expand(name, platform)
        if len(urls) != 1:
            raise BadInput(f"channel {name!r} stands for {len(urls)} channels ({', '.join(urls) or 'none'})",
                           hint="use CondaConfig.expand for multichannels such as `defaults`")
        return urls[0]

    def canonical(self, url: str) -> str:
        """A URL this configuration resolves to -> where it lives canonically (the inverse of `mirror_pairs`)."""
        for src, dst in sorted(mirror_pairs(self), key=lambda p: len(p[1]), reverse=True):
            if url == dst or url.startswith(dst + "/"):
                return src + url[len(dst):]
        return url

    def _simple(self, url: str) -> str:
        """An entry of `default_channels`/`custom_multichannels`: a URL, or a name under the channel alias."""
        url = url.strip().rstrip("/")
        return url if _SCHEME.match(url) else f"{self.channel_alias.rstrip('/')}/{url.strip('/')}"

    def _named(self, name: str, multi: dict[str, tuple[str, ...]]) -> str:
        """A plain name: the longest leading part found among the known channels gives the location."""
        known = {_channel_name(url, self.channel_alias): base
                 for urls in multi.values() for url in urls for base in [_location(url, self.channel_alias)]}
        for custom, base in self.custom_channels:
            base = base.strip().rstrip("/")
            known[custom.strip("/")] = base if _SCHEME.match(base) else self.channel_alias.rstrip("/")
        test = name
        while True:
            if test in known:
                return f"{known[test]}/{name}"
            shorter = test.rsplit("/", 1)[0]
            if shorter == test:
                return f"{self.channel_alias.rstrip('/')}/{name}"
            test = shorter


def _channel_name(url: str, alias: str) -> str:
    alias = alias.rstrip("/")
    if url.startswith(alias + "/"):
        return url[len(alias) + 1:].strip("/")
    return urlsplit(url).path.strip("/")


def _location(url: str, alias: str) -> str:
    alias = alias.rstrip("/")
    if url.startswith(alias + "/"):
        return alias
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def mirror_pairs(config: CondaConfig) -> tuple[tuple[str, str], ...]:
    """(canonical prefix, configured prefix) for every channel the configuration moves away from its canonical
    place (conda.anaconda.org/<name>, repo.anaconda.com/pkgs/<name>), longest canonical prefix first: the form
    `envgen.lock.mirrors.Mirrors.adding` takes. A configured URL that names no canonical channel (a
    custom_multichannels entry of some other server) gives no pair."""
    alias = config.channel_alias.rstrip("/")
    pairs: dict[str, str] = {}
    for name, base in config.custom_channels:
        if (name, base) in DEFAULT_CUSTOM_CHANNELS:
            continue
        name = name.strip("/")
        base = base.strip().rstrip("/") if _SCHEME.match(base.strip()) else alias
        canonical = f"{ANACONDA_REPO}/{name}" if name.startswith("pkgs/") else f"{DEFAULT_CHANNEL_ALIAS}/{name}"
        pairs.setdefault(canonical, f"{base}/{name}")
    for url in config.multichannels().get("defaults", ()):
        path = PurePosixPath(urlsplit(url).path)
        if len(path.parts) >= 3 and path.parts[-2] == "pkgs":
            pairs.setdefault(f"{ANACONDA_REPO}/pkgs/{path.name}", url)
    if alias != DEFAULT_CHANNEL_ALIAS:
        pairs.setdefault(DEFAULT_CHANNEL_ALIAS, alias)
    kept = {src: dst for src, dst in pairs.items() if src != dst}
    return tuple(sorted(kept.items(), key=lambda p: (-len(p[0]), p[0])))


# --- reading ------------------------------------------------------------------------------------------------
def load_condarc(env: Mapping[str, str] = os.environ, prefix: Path | None = None, *,
                 system: Iterable[str] = SYSTEM_PATHS) -> CondaConfig:
    """conda's configuration as conda reads it: the files of `system` + `USER_PATHS` (variables and `~` from
    `env`; `prefix` stands for `$CONDA_PREFIX`, the target environment), then `CONDA_<KEY>` variables."""
    layers: list[tuple[str, dict[str, Any]]] = []
    files = search_path(env, prefix, system)
    for path in files:
        data = parse_yaml(read_text(path, hint="check the file's permissions, or remove it"), str(path),
                          hint=f"fix the YAML; {_HINT}")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise BadInput(f"{path}: expected a mapping of settings, got {_kind(data)}", hint=_HINT)
        layers.append((str(path), {_ALIAS.get(k, k): _checked(v, _KEYS[k], str(path), k)
                                   for k, v in data.items() if isinstance(k, str) and k in _KEYS and v is not None}))
    layers.append(("environment", _from_env(env)))
    merged = _merge(layers)
    merged = {key: _expand(value, env) for key, value in merged.items()}
    return _config(merged, files)


def search_path(env: Mapping[str, str], prefix: Path | None = None,
                system: Iterable[str] = SYSTEM_PATHS) -> tuple[Path, ...]:
    """The configuration files that exist, in conda's order, each once."""
    variables = dict(env)
    if prefix is not None:
        variables["CONDA_PREFIX"] = str(prefix)
    seen: dict[Path, None] = {}
    for entry in (*system, *USER_PATHS):
        path = _place(entry, variables)
        for found in _files(path) if path is not None else ():
            seen.setdefault(found)
            if len(seen) > MAX_FILES:
                raise BadInput(f"more than {MAX_FILES} conda configuration files (at {found.parent})",
                               hint="conda reads every *.yml of a condarc.d folder; remove those that are not settings")
    return tuple(seen)


def _place(entry: str, variables: Mapping[str, str]) -> Path | None:
    missing = False

    def value(m: re.Match[str]) -> str:
        nonlocal missing
        name = m[1].strip("{}")
        if not variables.get(name):
            missing = True
            return m[0]
        return variables[name]

    text = _VAR.sub(value, entry)
    if missing:
        return None
    if text.startswith("~"):
        home = variables.get("HOME") or variables.get("USERPROFILE")
        if not home:
            return None
        text = home + text[1:]
    return Path(text)


def _files(path: Path) -> Iterator[Path]:
    try:
        if path.is_file():
            if path.name in (".condarc", "condarc") or path.suffix in (".yml", ".yaml"):
                yield path
        elif path.is_dir():
            entries = sorted(path.iterdir(), key=lambda p: p.name)
            yield from (p for p in entries if p.suffix in (".yml", ".yaml") and p.is_file())
    except OSError:
        return  # conda skips a place it cannot stat or list


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`CONDA_CHANNELS=a,b`, `CONDA_DEFAULT_CHANNELS`, `CONDA_CHANNEL_ALIAS`, `CONDA_SSL_VERIFY` (as conda)."""
    found: dict[str, Any] = {}
    for key, kind in _KEYS.items():
        raw = env.get(f"CONDA_{key.upper()}")
        if raw is None or kind not in ("seq", "str", "ssl"):
            continue
        raw = raw.split("!important")[0].strip() if kind != "seq" else raw
        if kind == "seq":
            found[_ALIAS.get(key, key)] = [v.strip() for v in raw.split(",") if v.strip()]
        elif kind == "ssl":
            lowered = raw.lower()
            true, false = lowered in ("true", "yes", "on", "y", "1"), lowered in ("false", "off", "n", "no", "0", "")
            found[_ALIAS.get(key, key)] = True if true else False if false else raw
        else:
            found[key] = raw
    return found


def _merge(layers: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _where, values in layers:
        for key, value in values.items():
            kind = _KEYS[key]
            if key in merged and kind == "seq":
                merged[key] = list(dict.fromkeys([*value, *merged[key]]))
            elif key in merged and kind in ("map", "proxy"):
                merged[key] = {**merged[key], **value}
            elif key in merged and kind == "map-seq":
                merged[key] = {**merged[key], **{k: list(dict.fromkeys([*v, *merged[key].get(k, [])]))
                                                 for k, v in value.items()}}
            else:
                merged[key] = value
    return merged


def _checked(value: Any, kind: str, where: str, key: str) -> Any:
    """The value of one setting, or BadInput naming the file and key."""
    def bad(wanted: str, at: str = key) -> BadInput:
        return BadInput(f"{where}: {at}: expected {wanted}, got {_kind(value)}", hint=_HINT)

    if kind == "str":  # a `$VAR` value is checked once expanded
        if not isinstance(value, str) or not (_SCHEME.match(value.strip()) or "$" in value):
            raise bad("a URL with a scheme (https://...)")
        return value.strip()
    if kind == "ssl":
        if not isinstance(value, (bool, str)):
            raise bad("true, false, a CA bundle path or `truststore`")
        return value
    if kind == "seq":
        return _str_list(value, where, key)
    if not isinstance(value, dict):
        raise bad("a mapping")
    out: dict[str, Any] = {}
    for k, v in value.items():
        at = f"{key}.{k}"
        if not isinstance(k, str):
            raise BadInput(f"{where}: {key}: expected text keys, got {_kind(k)}", hint=_HINT)
        if kind == "map-seq":
            out[k] = _str_list(v, where, at)
        elif kind == "proxy" and v is None:
            out[k] = None
        elif not isinstance(v, str):
            raise BadInput(f"{where}: {at}: expected a URL, got {_kind(v)}", hint=_HINT)
        else:
            out[k] = v.strip()
    return out


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list):
        raise BadInput(f"{where}: {key}: expected a list, got {_kind(value)}", hint=f"write `{key}: [a, b]`; {_HINT}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise BadInput(f"{where}: {key}[{i}]: expected text, got {_kind(item)}", hint="quote the entry")
    return [item.strip() for item in value]


def _expand(value: Any, env: Mapping[str, str]) -> Any:
    """`$VAR` and `${VAR}` in values, as `os.path.expandvars` does (unset: left as written)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: env.get(m[1].strip("{}"), m[0]), value)
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    return value


def _config(merged: dict[str, Any], files: tuple[Path, ...]) -> CondaConfig:
    ssl = merged.get("ssl_verify", True)
    if isinstance(ssl, str) and ssl != "truststore" and not Path(ssl).exists():
        raise BadInput(f"ssl_verify: {ssl!r} is neither true/false, `truststore` nor an existing CA bundle",
                       hint="point ssl_verify at the CA bundle file (or folder) your network needs")
    alias = merged.get("channel_alias", DEFAULT_CHANNEL_ALIAS)
    if not _SCHEME.match(alias):
        raise BadInput(f"channel_alias: {alias!r} has no scheme after expanding variables", hint=_HINT)
    custom = merged.get("custom_channels")
    return CondaConfig(
        channels=tuple(merged.get("channels", ())),
        default_channels=tuple(merged.get("default_channels", DEFAULT_CHANNELS)),
        channel_alias=alias.rstrip("/"),
        custom_channels=DEFAULT_CUSTOM_CHANNELS if custom is None else tuple(sorted(custom.items())),
        custom_multichannels=tuple(sorted((k, tuple(v)) for k, v in merged.get("custom_multichannels", {}).items())),
        proxy_servers=tuple(sorted(merged.get("proxy_servers", {}).items())),
        ssl_verify=ssl,
        files=files,
    )


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)
