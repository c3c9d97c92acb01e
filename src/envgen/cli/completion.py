"""`envgen completion SHELL`: the tab-completion script for bash, zsh, fish or PowerShell.

The script calls envgen back with `_ENVGEN_COMPLETE` set; typer answers with the commands, options and values
that fit what was typed. How to install it for each shell is in the command's help and the README.
"""

from __future__ import annotations

import typer

SHELLS = ("bash", "zsh", "fish", "powershell")
INSTALL = {
    "bash": 'eval "$(envgen completion bash)"   # in ~/.bashrc',
    "zsh": 'envgen completion zsh > "${fpath[1]}/_envgen"   # then start a new shell',
    "fish": "envgen completion fish > ~/.config/fish/completions/envgen.fish",
    "powershell": "envgen completion powershell | Out-String | Invoke-Expression   # in $PROFILE",
}


def register(app: typer.Typer) -> None:
    app.command("completion", help="Print the tab-completion script for bash, zsh, fish or powershell.\n\n"
                                   + "\n\n".join(INSTALL.values()))(completion)


def completion(shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh, fish or powershell")) -> None:
    from typer.completion import get_completion_script  # type: ignore[attr-defined]  # re-exported, no __all__

    from envgen.errors import BadInput

    name = "powershell" if shell.lower() in ("pwsh", "powershell") else shell.lower()
    if name not in SHELLS:
        raise BadInput(f"no completion for the shell {shell!r}", hint="choose one of: " + ", ".join(SHELLS))
    typer.echo(get_completion_script(prog_name="envgen", complete_var="_ENVGEN_COMPLETE", shell=name))
