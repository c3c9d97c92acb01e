"""Small tokenizers for the PowerShell and cmd lines envgen writes, to prove that no value became syntax.

They accept only the subset envgen produces: bare words and quoted strings separated by spaces. Anything a
shell would read as syntax (operators, variables, expansions) outside quotes, or a character the shell
expands inside quotes, makes the tokenizer raise `Syntax`, so a test fails instead of passing vacuously.
"""

from __future__ import annotations

PS_QUOTES = "'\u2018\u2019\u201a\u201b"
PS_META = set(";|&$(){}@,`\"<>#\r\n") | set(PS_QUOTES)
BASH_META = ";&|<>()$`\"\n*?[]{}~#!"
CMD_META = set("&|<>()^%!,;=\"\r\n")


class Syntax(ValueError):
    """The text holds something the shell would interpret."""


def powershell_words(text: str) -> list[str]:
    """Split a PowerShell argument list: 'single quoted' ('' doubled) and bare words."""
    words, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        if ch in PS_QUOTES:
            buf, i = [], i + 1
            while True:
                if i >= len(text):
                    raise Syntax(f"unterminated quote in {text!r}")
                if text[i] in PS_QUOTES:
                    if i + 1 < len(text) and text[i + 1] in PS_QUOTES:
                        buf.append(text[i])
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            if i < len(text) and text[i] != " ":
                raise Syntax(f"text glued to a quoted string in {text!r}")
            words.append("".join(buf))
            continue
        start = i
        while i < len(text) and text[i] != " ":
            if text[i] in PS_META:
                raise Syntax(f"{text[i]!r} outside quotes in {text!r}")
            i += 1
        words.append(text[start:i])
    return words


def cmd_words(text: str) -> list[str]:
    """Split a cmd argument list: "double quoted" (no % ^ ! inside) and bare words."""
    words, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise Syntax(f"unterminated quote in {text!r}")
            inner = text[i + 1:end]
            if any(c in inner for c in "%^!\r\n"):
                raise Syntax(f"cmd would expand {inner!r} inside quotes")
            if end + 1 < len(text) and text[end + 1] != " ":
                raise Syntax(f"text glued to a quoted string in {text!r}")
            words.append(inner)
            i = end + 1
            continue
        start = i
        while i < len(text) and text[i] != " ":
            if text[i] in CMD_META:
                raise Syntax(f"{text[i]!r} outside quotes in {text!r}")
            i += 1
        words.append(text[start:i])
    return words


PS_SUFFIX = "; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"
CMD_SUFFIX = " || exit /b 1"


def command_argv(shell: str, line: str) -> list[str]:
    """The argv a command line written by `envgen.shell.command` runs; `Syntax` if it holds anything else."""
    import shlex

    if shell == "bash":
        outside = "".join(_bash_unquoted_parts(line))
        if bad := set(outside) & set(BASH_META):
            raise Syntax(f"{sorted(bad)} outside single quotes in {line!r}")
        return shlex.split(line, comments=False, posix=True)
    if shell == "powershell":
        if not line.endswith(PS_SUFFIX):
            raise Syntax(f"missing exit-code check in {line!r}")
        body = line[: -len(PS_SUFFIX)]
        if body.startswith("& "):
            body = body[2:]
        return powershell_words(body)
    if not (line.startswith("call ") and line.endswith(CMD_SUFFIX)):
        raise Syntax(f"not a checked call in {line!r}")
    return cmd_words(line[len("call "): -len(CMD_SUFFIX)])


def _bash_unquoted_parts(line: str) -> list[str]:
    """The parts of a bash line outside single quotes."""
    parts, inside, buf, escaped = [], False, [], False
    for ch in line:
        if escaped:
            escaped = False
            continue
        if ch == "\\" and not inside:
            escaped = True
            continue
        if ch == "'":
            if not inside:
                parts.append("".join(buf))
                buf = []
            inside = not inside
            continue
        if not inside:
            buf.append(ch)
    parts.append("".join(buf))
    return parts
