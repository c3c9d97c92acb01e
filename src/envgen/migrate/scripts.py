"""A `Plan` -> the text of a bash, PowerShell or cmd script that stops at the first failure.

Every value reaches the script through `envgen.shell` (quoted, or refused when a shell cannot carry it);
reasons become comments. The script is byte-stable: same plan, same bytes.
"""

from __future__ import annotations

from envgen import shell
from envgen.fileio import header, sha256_text
from envgen.migrate.plan import VERIFY_LINES, Plan, Step

HEREDOC = "ENVGEN_VERIFY"


def render(plan: Plan, shell_name: str, *, regenerate: str, input_hash: str = "") -> str:
    """The whole script for `shell_name`; `regenerate` is the envgen command line that writes it again."""
    shell.check_shell(shell_name)
    digest = input_hash or sha256_text(repr(plan))
    head = header("#", input_hash=digest, command=regenerate, title="migration script")
    body: list[str] = []
    body += shell.comment(shell_name, f"target: {plan.target.description}")
    current = ", ".join(p.describe() for p in plan.current_torch) or "no torch installed"
    body += shell.comment(shell_name, f"current: {current}")
    for note in plan.notes:
        body += shell.comment(shell_name, f"note: {note}")
    body += shell.comment(shell_name, "envgen does not run this script: read it, then run it yourself.")
    if not plan.steps:
        body += shell.comment(shell_name, "nothing to do: the environment is already on the target")
        body.append(shell.echo(shell_name, "envgen: already on the target; nothing to do"))
        return shell.script(shell_name, body, header=head)
    body += shell.activate(shell_name, name=plan.env.name, prefix=plan.env.prefix)
    for number, step in enumerate(plan.steps, 1):
        body.append("")
        body += _step(shell_name, step, number, len(plan.steps))
    body.append("")
    body.append(shell.echo(shell_name, "envgen: migration finished"))
    return shell.script(shell_name, body, header=head)


def _step(shell_name: str, step: Step, number: int, total: int) -> list[str]:
    lines = shell.comment(shell_name, f"step {number}/{total} ({step.kind}): {step.reason}")
    if step.restore:
        restore = " ".join(shell.quote(shell_name, w, "restore argument") for w in step.restore)
        lines += shell.comment(shell_name, f"restore with: {restore}")
    if step.kind == "verify":
        return lines + _verify(shell_name, step)
    if step.kind == "activate":
        return lines + shell.activate(shell_name, name=step.packages[0])
    lines.append(shell.command(shell_name, step.argv, f"{step.kind} argument", stdout=step.stdout))
    if step.kind == "backup" and step.stdout:
        lines.append(shell.echo(shell_name, f"envgen: saved {step.stdout}"))
    return lines


def _verify(shell_name: str, step: Step) -> list[str]:
    """The verify program as a readable here-document (bash, PowerShell), or one `python -c` line (cmd, which has
    no here-documents; the program is shown above it as comments)."""
    python, _flag, _code, *args = step.argv
    lines = shell.comment(shell_name, "prints: torch version; CUDA build (None for CPU); CUDA available; NVIDIA GPU "
                                      "present; fails, saying why, when the version or CUDA build is not the "
                                      "target's, or a CUDA build cannot use the GPU")
    if shell_name == "cmd":
        for code in VERIFY_LINES:
            lines += shell.comment(shell_name, f"  {code}")
        return [*lines, shell.command(shell_name, step.argv, "verify argument")]
    run = shell.command(shell_name, [python, "-", *args], "verify argument")
    if shell_name == "bash":
        return [*lines, f"{run} <<'{HEREDOC}'", *VERIFY_LINES, HEREDOC]
    return [*lines, "@'", *VERIFY_LINES, f"'@ | {run}"]


def script_name(shell_name: str, stem: str = "migrate") -> str:
    return stem + shell.extension(shell_name)
