"""Stacks -> environment.yml and requirements.txt text: byte-stable, with a header and the reasons."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from envgen.compile.stack import Pin, Stack
from envgen.errors import BadInput
from envgen.fileio import header, sha256_text
from envgen.models import MARKERS

_PLAIN = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.=<>!~,*+-]*$")
# conda refuses "/", " ", ":" and "#" in environment names (PREFIX_NAME_DISALLOWED_CHARS in conda/base/constants.py,
# checked by validate_prefix_name in conda/base/context.py and PrefixData.validate_name in conda/core/prefix_data.py)
# and "base"/"root" for a new environment (RESERVED_ENV_NAMES). The name is also a folder under envs/ on every OS,
# so envgen refuses as well what Windows forbids in folder names (\ < > " | ? *), every other whitespace or
# control character (a line break would end the YAML value), "." and "..", and a leading "-" (it reads as an
# option to `conda activate`).
_ENV_NAME_BAD = re.compile(r"[/:#\\<>\"|?*\s\x00-\x1f\x7f-\x9f\u2028\u2029]")
RESERVED_ENV_NAMES = ("base", "root")
# plain YAML scalars that a YAML reader would not give back as that text (booleans, null, numbers)
_NOT_TEXT = re.compile(r"^(?:[-+]?[0-9][0-9_.:eE+-]*|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)|~|null|Null|NULL|"
                       r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")


@dataclass(frozen=True, slots=True)
class Manifest:
    filename: str
    text: str


def input_hash(stacks: tuple[Stack, ...] | list[Stack]) -> str:
    """A hash of what the files are made from: the request and every resolved pin, channel and index."""
    data = [{
        "installer": s.installer, "platform": s.platform, "python": str(s.python), "route": s.route.id,
        "pins": [[p.name, p.constraint, p.build, p.channel, p.url] for p in s.all_pins()],
        "channels": list(s.channel_urls), "index": [s.index_url, list(s.extra_index_urls), list(s.find_links)],
    } for s in stacks]
    return sha256_text(json.dumps(data, sort_keys=True))


def render_environment_yml(stacks: list[Stack], command: str, name: str | None = None) -> list[Manifest]:
    """One environment.yml when every platform needs the same specs, else one per platform."""
    conda = [s for s in stacks if s.installer == "conda"]
    if not conda:
        return []
    bodies = {s.platform: _env_body(s, name) for s in conda}
    if len(set(bodies.values())) == 1:
        plats = sorted(bodies)
        return [Manifest("environment.yml", _env_header(conda, command, plats) + bodies[plats[0]])]
    return [Manifest(f"environment-{s.platform}.yml", _env_header([s], command, [s.platform]) + bodies[s.platform])
            for s in sorted(conda, key=lambda s: s.platform)]


def _env_header(stacks: list[Stack], command: str, plats: list[str]) -> str:
    text = header("#", input_hash=input_hash(stacks), command=command, title="conda environment")
    return text + f"# platforms: {', '.join(plats)}\n"


def check_env_name(name: str) -> str:
    """A name for a new conda environment, or `BadInput` saying which character or word conda would refuse."""
    bad = _ENV_NAME_BAD.search(name)
    problem = (f"contains {bad[0]!r}" if bad else "is empty" if not name else
               "is reserved by conda" if name in RESERVED_ENV_NAMES else
               "is not a folder name" if name in (".", "..") else "starts with '-'" if name.startswith("-") else
               "is longer than 200 characters" if len(name) > 200 else None)
    if problem:
        raise BadInput(f"invalid conda environment name {name!r}: it {problem}",
                       hint="conda environment names cannot contain / \\ : # spaces or control characters; "
                            "use letters, digits, _ . - (e.g. torch-2-cu121)")
    return name


def _env_body(stack: Stack, name: str | None) -> str:
    env_name = check_env_name(name) if name is not None else default_env_name(stack)
    lines = [f"name: {_yaml_scalar(env_name)}", "channels:"]
    lines += [f"  - {c}" for c in stack.channels]
    if stack.route.override_channels:
        lines.append("  - nodefaults")
    elif "defaults" not in stack.channels:
        # `conda install -c X` means X, then defaults; named here so the file means the same under any .condarc
        lines.append("  - defaults")
    lines += ["dependencies:", f"  - python={stack.python}"]
    for pin in stack.conda_pins():
        lines.append(f"  - {_yaml_scalar(pin.conda_spec())}" + _why(pin))
    if stack.pip_pins():
        lines += ["  - pip", "  - pip:"] + [f"    - {_yaml_scalar(p.pip_spec())}" + _why(p) for p in stack.pip_pins()]
    return "\n".join(lines) + "\n"


def default_env_name(stack: Stack) -> str:
    return f"torch-{stack.torch}-{stack.accel.tag}"


def _why(pin: Pin) -> str:
    if pin.yanked:
        return f"  # yanked on PyPI: {pin.yanked} (installed because it is pinned with ==)"
    if pin.role in ("pin", "require", "selector", "extra"):
        return f"  # {pin.why}" if pin.why else ""
    return ""


def _yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as this very text: plain when safe, else quoted."""
    if _PLAIN.match(text) and not text.startswith(("*", "-", "=", ".")) and not _NOT_TEXT.match(text):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    """Single-quoted; double-quoted with escapes when the text holds a character a single-quoted scalar cannot
    carry (a line break, a control character), so no value can end its line and start a key."""
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)  # JSON's escapes are YAML's: "\n", "\u2028"


def render_requirements(stacks: list[Stack], command: str) -> list[Manifest]:
    """One requirements.txt (markers where platforms differ) when the index options agree, else one per platform."""
    pip = [s for s in stacks if s.installer == "pip"]
    if not pip:
        return []
    options = {s.platform: _index_lines(s) for s in pip}
    if len(set(options.values())) == 1:
        return [Manifest("requirements.txt", _requirements(pip, command, options[pip[0].platform]))]
    return [Manifest(f"requirements-{s.platform}.txt", _requirements([s], command, options[s.platform]))
            for s in sorted(pip, key=lambda s: s.platform)]


def _index_lines(stack: Stack) -> str:
    lines = []
    if stack.index_url:
        lines.append(f"--index-url {stack.index_url}")
    lines += [f"--extra-index-url {u}" for u in stack.extra_index_urls]
    lines += [f"--find-links {u}" for u in stack.find_links]
    return "\n".join(lines) + ("\n" if lines else "")


def _requirements(stacks: list[Stack], command: str, index: str) -> str:
    stacks = sorted(stacks, key=lambda s: s.platform)
    text = header("#", input_hash=input_hash(stacks), command=command, title="pip requirements")
    for s in stacks:
        pys = ", ".join(str(p) for p in s.build.python.get(s.platform, ()))
        text += f"# {s.platform}: Python {s.python} (binaries for {pys}); {s.accel.describe()}\n"
    text += index
    lines: dict[str, list[str]] = {}
    for s in stacks:
        for pin in s.all_pins():
            lines.setdefault(pin.pip_spec(), []).append(s.platform)
    plats = [s.platform for s in stacks]
    whys = {p.pip_spec(): p for s in stacks for p in s.all_pins()}
    for spec, where in lines.items():
        marker = "" if sorted(where) == sorted(plats) else " ; " + " or ".join(
            f"({MARKERS[p]})" if len(where) > 1 else MARKERS[p] for p in sorted(where) if p in MARKERS)
        text += f"{spec}{marker}{_why(whys[spec])}\n"
    return text
