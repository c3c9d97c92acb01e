"""Generating shell scripts safely: quoting, fail-fast prologues and env activation for bash, PowerShell, cmd.

The one module every script generator uses (migrate, build-env). Values are *literal strings*; this module
quotes them so that no text of a value can become shell syntax, and refuses (with `UnsafeValue`, a
`BadInput`) the values a shell cannot carry safely, instead of quoting them half-way.

API (all pure functions; `shell` is one of `SHELLS`):

- `quote(shell, value) -> str`               one argument, quoted for that shell (bare when plainly safe)
- `check_value(shell, value, what=...)`      raise `UnsafeValue` when `value` cannot be quoted for `shell`
- `command(shell, argv) -> str`              one line running a native command that stops the script when
                                              the command fails (`set -e` / `$LASTEXITCODE` / `|| exit /b 1`)
- `comment(shell, text) -> list[str]`        comment lines (text is made inert for the shell)
- `echo(shell, text) -> str`                 a line that prints `text` literally
- `set_env(shell, name, *parts) -> str`      set an environment variable to the concatenation of literal
                                              strings and `Ref("OTHER")` (the value of another variable)
- `activate(shell, name=, prefix=) -> list`  lines activating a conda env by name or prefix (none: nothing)
- `script(shell, body, header=) -> str`      the whole file: first line, header comments, prologue, body,
                                              joined with the shell's newline (CRLF for cmd)
- `extension(shell)`, `check_shell(name)`, `default_shell(platform)`

Rules per shell:
- bash: single quotes (`'` written as `'\\''`), `set -euo pipefail`.
- PowerShell: single quotes with `'` (and its typographic look-alikes) doubled; `$ErrorActionPreference =
  'Stop'` does not cover native commands, so `$LASTEXITCODE` is checked after each one. Windows PowerShell
  5.1 passes native arguments without escaping embedded double quotes, so `"` is refused, as is a trailing
  backslash; non-ASCII is refused because 5.1 reads a BOM-less script in the ANSI code page.
- cmd: double quotes make `& | < > ( ) , ; =` and spaces literal; `%` (expanded even inside quotes and
  twice through `call`), `^` (doubled by `call`), `!` (delayed expansion) and `"` cannot be carried
  inside quotes and are refused; non-ASCII is refused (cmd reads scripts in the OEM code page).
- Everywhere: empty values and control characters (newlines, NUL, ...) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from envgen.errors import BadInput

Shell = Literal["bash", "powershell", "cmd"]
SHELLS: tuple[str, ...] = ("bash", "powershell", "cmd")
NEWLINE = {"bash": "\n", "powershell": "\n", "cmd": "\r\n"}
_EXT = {"bash": ".sh", "powershell": ".ps1", "cmd": ".cmd"}

_BASH_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
_PS_BARE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_.-]*|--?[A-Za-z][A-Za-z0-9-]*)$")
_CMD_BARE = re.compile(r"^[A-Za-z0-9_.:\\/+-]+$")
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell treats all of these as single quotes
_CMD_REFUSED = '%^!"'
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeValue(BadInput):
    """A value that cannot be written into a script for a shell without changing its meaning."""


@dataclass(frozen=True, slots=True)
class Ref:
    """The value of an environment variable, for `set_env` (`$NAME`, `$env:NAME`, `%NAME%`)."""

    name: str


def check_shell(name: str) -> str:
    if name not in SHELLS:
        raise BadInput(f"unknown shell {name!r}", hint="use one of: " + ", ".join(SHELLS))
    return name


def default_shell(platform: str | None) -> str:
    """bash, except PowerShell for Windows subdirs."""
    return "powershell" if platform and platform.startswith("win-") else "bash"


def extension(shell: str) -> str:
    return _EXT[check_shell(shell)]


# --- values ------------------------------------------------------------------------------------------
def unsafe_reason(shell: str, value: str) -> str | None:
    """Why `value` cannot be carried by `shell`, or None when it can."""
    check_shell(shell)
    if not isinstance(value, str) or value == "":
        return "it is empty"
    if m := _CONTROL.search(value):
        return f"it contains the control character {m.group()!r}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode text (a lone surrogate)"
    if shell == "bash":
        return None
    if not value.isascii():
        return "it contains non-ASCII characters"
    if '"' in value:
        return 'it contains a double quote (")'
    if shell == "powershell" and value.endswith("\\") and not _PS_BARE.match(value):
        return "it ends with a backslash"
    if shell == "cmd":
        bad = sorted({ch for ch in value if ch in _CMD_REFUSED})
        if bad:
            return "it contains " + " ".join(repr(ch) for ch in bad) + ", which cmd expands even inside quotes"
        if value.endswith("\\") and not _CMD_BARE.match(value):
            return "it ends with a backslash"
    return None


def check_value(shell: str, value: str, what: str = "value") -> str:
    """Return `value` unchanged, or raise `UnsafeValue` saying why the shell cannot carry it."""
    reason = unsafe_reason(shell, value)
    if reason is not None:
        raise UnsafeValue(f"refusing to write {what} {value!r} into a {shell} script: {reason}",
                          hint="rename it, or choose another --shell (bash quotes any printable text)")
    return value


def quote(shell: str, value: str, what: str = "value") -> str:
    """`value` as one argument of `shell`: bare when plainly safe, else quoted; `UnsafeValue` if impossible."""
    check_value(shell, value, what)
    if shell == "bash":
        return value if _BASH_BARE.match(value) else "'" + value.replace("'", "'\\''") + "'"
    if shell == "powershell":
        if _PS_BARE.match(value):
            return value
        return "'" + "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in value) + "'"
    return value if _CMD_BARE.match(value) else f'"{value}"'


# --- lines -------------------------------------------------------------------------------------------
def command(shell: str, argv: Sequence[str], what: str = "argument", *, stdout: str | None = None) -> str:
    """One line that runs `argv` (a native program) and stops the script when it fails.

    `stdout`: a file the command's output is written to (ASCII in PowerShell, so Windows PowerShell 5.1
    writes no UTF-16 or BOM that conda or pip would then fail to read back).
    """
    if not argv:
        raise ValueError("empty command")
    words = [quote(shell, arg, what) for arg in argv]
    line = " ".join(words)
    target = quote(shell, stdout, "output file") if stdout is not None else None
    if shell == "bash":
        return line + (f" > {target}" if target else "")
    if shell == "powershell":
        if words[0] != argv[0]:
            line = "& " + line  # a quoted command name must be invoked with the call operator
        if target:
            line += f" | Out-File -Encoding ascii -FilePath {target}"
        return line + "; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"
    return f"call {line}" + (f" > {target}" if target else "") + " || exit /b 1"


_CMD_COMMENT = {"%": " pct ", "^": "", "!": "", '"': "'", "<": " lt ", ">": " gt ", "|": " or ", "&": " and "}


def comment(shell: str, text: str) -> list[str]:
    """Comment lines for `text`: one per line of text; control characters dropped; cmd specials spelled out."""
    check_shell(shell)
    token = "rem" if shell == "cmd" else "#"
    out = []
    for raw in _utf8(str(text)).splitlines() or [""]:
        line = _CONTROL.sub("", raw).rstrip()
        if shell != "bash":
            line = line.encode("ascii", "replace").decode("ascii")
        if shell == "cmd":
            line = " ".join("".join(_CMD_COMMENT.get(ch, ch) for ch in line).split()).replace("/?", "/ ?")
        out.append(f"{token} {line}".rstrip())
    return out


_CMD_ECHO_ESCAPE = set("&|<>^()")


def _utf8(text: str) -> str:
    """`text` with anything UTF-8 cannot encode (lone surrogates) replaced by '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def echo(shell: str, text: str) -> str:
    """A line printing `text` literally (one line; control characters are dropped)."""
    check_shell(shell)
    text = _CONTROL.sub("", _utf8(str(text)))
    if shell == "bash":
        return "printf '%s\\n' " + ("'" + text.replace("'", "'\\''") + "'")
    text = text.encode("ascii", "replace").decode("ascii")
    if shell == "powershell":
        return "Write-Output " + "'" + "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in text) + "'"
    text = text.replace("%", "%%").replace("!", "").replace('"', "'")
    return "echo(" + "".join("^" + ch if ch in _CMD_ECHO_ESCAPE else ch for ch in text)


def set_env(shell: str, name: str, *parts: str | Ref) -> str:
    """A line setting environment variable `name` to the concatenation of literal strings and `Ref`s."""
    for var in [name] + [p.name for p in parts if isinstance(p, Ref)]:
        if not _VAR.match(var):
            raise UnsafeValue(f"invalid environment variable name {var!r}",
                              hint="use letters, digits and underscores, not starting with a digit")
    if not parts:
        raise ValueError("set_env needs a value")
    literals = [p for p in parts if isinstance(p, str) and p]
    for lit in literals:
        check_value(shell, lit, f"the value of {name}")
    if shell == "bash":
        value = "".join(f'"${{{p.name}}}"' if isinstance(p, Ref) else quote("bash", p) for p in parts if p)
        return f"export {name}={value}"
    if shell == "powershell":
        terms = [f"$env:{p.name}" if isinstance(p, Ref) else "'" + p.replace("'", "''") + "'" for p in parts if p]
        return f"$env:{name} = " + " + ".join(terms)
    value = "".join(f"%{p.name}%" if isinstance(p, Ref) else p for p in parts)
    return f'set "{name}={value}"'


def activate(shell: str, *, name: str | None = None, prefix: str | None = None) -> list[str]:
    """Lines that activate a conda env by `name` or `prefix` (at most one); no lines when neither is given."""
    if name and prefix:
        raise BadInput("give --name or --prefix, not both", hint="--name picks an env by name, --prefix by path")
    target = name or prefix
    if not target:
        return []
    what = "env name" if name else "env prefix"
    if shell == "bash":
        return ['eval "$(conda shell.bash hook)"', command(shell, ["conda", "activate", target], what)]
    if shell == "powershell":
        return ["(& conda 'shell.powershell' 'hook') | Out-String | Invoke-Expression",
                command(shell, ["conda", "activate", target], what)]
    return [command(shell, ["conda", "activate", target], what)]


# --- whole files -------------------------------------------------------------------------------------
def prologue(shell: str) -> list[str]:
    """The lines after the header that make the script stop at the first failure."""
    check_shell(shell)
    if shell == "bash":
        return ["set -euo pipefail"]
    if shell == "powershell":
        return ["$ErrorActionPreference = 'Stop'", "Set-StrictMode -Version 3.0",
                "$PSNativeCommandUseErrorActionPreference = $true"]
    return ["setlocal EnableExtensions DisableDelayedExpansion"]


def script(shell: str, body: Iterable[str], *, header: str = "") -> str:
    """The whole script text: first line, header (`#` comment lines, e.g. from `fileio.header`), prologue, body."""
    check_shell(shell)
    lines: list[str] = []
    if shell == "bash":
        lines.append("#!/usr/bin/env bash")
    elif shell == "cmd":
        lines.append("@echo off")
    for hline in header.splitlines():
        lines += comment(shell, hline[1:].lstrip() if hline.startswith("#") else hline)
    lines += prologue(shell)
    lines += list(body)
    return NEWLINE[shell].join(lines) + NEWLINE[shell]


__all__ = ["SHELLS", "Ref", "Shell", "UnsafeValue", "activate", "check_shell", "check_value", "command",
           "comment", "default_shell", "echo", "extension", "prologue", "quote", "script", "set_env",
           "unsafe_reason"]
