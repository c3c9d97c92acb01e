"""A `Plan` -> the text of a bash, PowerShell or cmd script that stops at the first failure.

Every value reaches the script through `envgen.shell` (quoted, or refused when a shell cannot carry it);
reasons become comments. The script is byte-stable: same plan, same bytes.
"""

from __future__ import annotations

from envgen import shell
from envgen.fileio import header, sha256_text
from envgen.migrate.plan import Plan, Step


def render(plan: Plan, shell_name: str, *, regenerate: str, input_hash: str = "") -> str:
    """The whole script for `shell_name`; `regenerate` is the envgen command line that writes it again."""
    shell.check_shell(shell_name)
    digest = input_hash or sha256_text(repr(plan))
    head = header("#", input_hash=digest, command=regenerate, title="migration script")
    body: list[str] = []
    body += shell.comment(shell_name, f"target: {plan.target.description}")
    current = ", ".join(p.describe() for p in plan.current_torch) or "no torch installed"
    body += shell.comment(shell_name, f"current: {current}")
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
        lines += shell.comment(shell_name, "prints: version, CUDA build (None for CPU), CUDA available; "
                                            "fails unless version and CUDA build are the target's")
    lines.append(shell.command(shell_name, step.argv, f"{step.kind} argument", stdout=step.stdout))
    if step.kind == "backup" and step.stdout:
        lines.append(shell.echo(shell_name, f"envgen: saved {step.stdout}"))
    return lines


def script_name(shell_name: str, stem: str = "migrate") -> str:
    return stem + shell.extension(shell_name)
