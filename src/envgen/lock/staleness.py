"""Why a lock no longer matches its inputs, in words: what changed in the request, in the files it was made from,
and in the matrix (or envgen), with the commands that bring it up to date.

Pure: it compares the recorded inputs (`envgen.lock.recipe.Recipe`) with today's. The matrix's part is found by
building the spec again from the *recorded* request and file content with today's matrix (the caller does that:
it needs the matrix): what differs from the recorded spec then is the matrix's (or envgen's) doing, and what the
files changed is said from the files themselves (`environment.yml: pip section adds scipy`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from packaging.utils import canonicalize_name

from envgen import __version__
from envgen.compile.envfile import EnvFile
from envgen.lock.recipe import Recipe, texts
from envgen.lock.request import LockRequest
from envgen.lock.spec import LockSpec, plain
from envgen.redact import redact_data

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_FLAG = dict(LockRequest.FLAGS) | {
    "cpu": "--cpu", "platforms": "--platform", "packages": "packages", "priority": "--channel-priority",
    "virtual": "--virtual", "group": "--group"}


@dataclass(frozen=True, slots=True)
class Staleness:
    changes: tuple[str, ...]  # one sentence each, the cause first (`environment.yml: pip section adds scipy`)
    packages: tuple[str, ...] = field(default=())  # names an `--update` would re-solve (added or changed specs)
    cause_known: bool = True


def name_of(spec: str, pip: bool = False) -> str:
    """The package a conda spec (`chan::numpy>=1.2`) or pip requirement (`Numpy[x]>=1; ...`) is about."""
    text = spec.rpartition("::")[2].strip() if not pip else spec.strip()
    m = _NAME.match(text)
    if m is None:
        return text
    return str(canonicalize_name(m.group(0))) if pip else m.group(0).lower()


def _by_name(specs: Sequence[str], pip: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in specs:
        out.setdefault(name_of(s, pip), s)
    return out


def _verb(where: str, verb: str) -> str:
    """`pip section adds`, `dependencies add`: the verb agrees with the last word of `where`."""
    plural = where.endswith(("dependencies", "channels", "platforms", "specs", "requirements", "urls", "links"))
    return f"{where} {verb if plural else verb + 's'}"


def _list_words(where: str, old: Sequence[str], new: Sequence[str], pip: bool) -> tuple[list[str], list[str]]:
    """Sentences for a list of specs keyed by package name, and the names added or changed."""
    a, b = _by_name(old, pip), _by_name(new, pip)
    added = [b[n] for n in b if n not in a]
    removed = [a[n] for n in a if n not in b]
    changed = [f"{a[n]} -> {b[n]}" for n in b if n in a and a[n] != b[n]]
    words = [f"{_verb(where, verb)} {', '.join(items)}"
             for verb, items in (("add", added), ("remove", removed), ("change", changed)) if items]
    if not words and list(old) != list(new):
        words.append(f"{_verb(where, 'reorder')}: {', '.join(old)} -> {', '.join(new)}")
    return words, [n for n in b if n not in a or a[n] != b[n]]


def _seq_words(where: str, old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Sentences for an ordered list of plain values (channels, platforms, URLs)."""
    if list(old) == list(new):
        return []
    added = [x for x in new if x not in old]
    removed = [x for x in old if x not in new]
    words = [f"{_verb(where, verb)} {', '.join(items)}" for verb, items in (("add", added), ("remove", removed))
             if items]
    return words or [f"{_verb(where, 'reorder')}: {', '.join(old)} -> {', '.join(new)}"]


def env_words(label: str, old: EnvFile | dict[str, Any], new: EnvFile | dict[str, Any]) -> tuple[list[str], list[str]]:
    """What changed in an environment file, as sentences starting with `label`, and the packages it touches."""
    o, n = redact_data(dict(old)), redact_data(dict(new))
    words = [f"{label}: {w}" for w in _seq_words("channels", o.get("channels", []), n.get("channels", []))]
    conda, names = _list_words("dependencies", o.get("conda", []), n.get("conda", []), pip=False)
    pip, pip_names = _list_words("pip section", o.get("pip", []), n.get("pip", []), pip=True)
    words += [f"{label}: {w}" for w in conda + pip]
    words += [f"{label}: {w}" for w in _seq_words("platforms", o.get("platforms", []), n.get("platforms", []))]
    if o.get("index_url") != n.get("index_url"):
        words.append(f"{label}: pip --index-url {o.get('index_url') or '(default)'} -> "
                     f"{n.get('index_url') or '(default)'}")
    for key, flag in (("extra_index_urls", "--extra-index-url"), ("find_links", "--find-links")):
        words += [f"{label}: {w}" for w in _seq_words(f"pip {flag}", o.get(key, []), n.get(key, []))]
    return words, names + pip_names


def request_words(old: LockRequest, new: LockRequest) -> list[str]:
    words = []
    for f in fields(LockRequest):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        words.append(f"{_FLAG.get(f.name, f.name)}: {_flag_value(a)} -> {_flag_value(b)}")
    return words


def _flag_value(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(value) or "(none)"
    return "(none)" if value in (None, False) else "yes" if value is True else str(value)


def spec_words(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What differs between two recorded per-platform specs (`plain` PlatformSpecs keyed by platform), and the
    packages added or changed."""
    words: list[str] = []
    names: list[str] = []
    for plat in sorted(set(old) | set(new)):
        if plat not in new:
            words.append(f"{plat}: no longer locked")
        elif plat not in old:
            words.append(f"{plat}: newly locked")
        else:
            found, touched = _platform_words(old[plat], new[plat])
            words += [f"{plat} {w}" for w in found]
            names += touched
    return words, names


def _platform_words(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    words: list[str] = []
    names: list[str] = []
    for part, pip in (("conda", False), ("pip", True)):
        pa, pb = (x if isinstance(x, dict) else {} for x in (a.get(part), b.get(part)))
        if bool(pa) != bool(pb):
            words.append(f"{part}: {'added' if pb else 'removed'}")
            continue
        if not pa:
            continue
        key = "requirements" if pip else "specs"
        found, touched = _list_words(f"{part} {key}", texts(pa.get(key)), texts(pb.get(key)), pip)
        words += found
        names += touched
        for item in sorted((set(pa) | set(pb)) - {key}):
            if pa.get(item) != pb.get(item):
                words.append(f"{part} {item}: {_show(pa.get(item))} -> {_show(pb.get(item))}")
    return words, names


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or "(none)"
    if isinstance(value, dict) and "name" in value:
        return " ".join(str(value[k]) for k in ("name", "version", "build") if value.get(k) not in (None, "", "0"))
    return "(none)" if value in (None, "") else str(value)


def explain(recorded: Recipe, request: LockRequest, label: str, env: EnvFile | None,
            replayed: LockSpec | None) -> Staleness:
    """Why `now` (today's spec) differs from the recorded one. `request` is today's (its `from_` relative to the
    lock folder, as recorded); `env` the file read today (None if missing); `replayed` the spec built from the
    recorded request and file content with today's matrix (None when it could not be built)."""
    words = request_words(recorded.request, request)
    names: list[str] = []
    old_env = recorded.env_content()
    if old_env is not None and recorded.request.from_ == request.from_:
        if env is None:
            words.append(f"{label}: missing (the lock was made from it)")
        else:
            found, names = env_words(label, old_env, env)
            words += found
    if replayed is not None:
        cause = "matrix" if recorded.envgen == __version__ else f"envgen {recorded.envgen} -> {__version__} (matrix)"
        found, touched = spec_words(recorded.platforms, _platforms(replayed))
        words += [f"{cause}: {w}" for w in found]
        names += touched
    known = bool(words)
    if not known:
        words.append("the inputs differ in a way envgen cannot name; re-lock to record them again")
    return Staleness(tuple(words), tuple(dict.fromkeys(names)), known)


def _platforms(spec: LockSpec) -> dict[str, Any]:
    return {p.platform: plain(p) for p in spec.platforms}


def commands(request: LockRequest, out: str, recorded: bool, packages: Sequence[str]) -> list[str]:
    """The commands that bring the lock up to date: re-lock (all solved again) and, where the change is a few
    packages, `--update` of just those (everything else kept as locked)."""
    lines = []
    if recorded:
        lines.append(shlex.join(["envgen", "lock", "-o", out]))
        extra = [w for n in packages for w in ("--update", n)]
        if extra:
            lines.append(shlex.join(["envgen", "lock", *extra, "-o", out]))
    else:
        lines.append(request.command(out))
    return lines
