"""Text of the build-env files: environment.yml, the env script (bash | PowerShell | cmd) and CHECKLIST.md.

Byte-stable: no timestamps; a header naming the generator, the input hash and the regenerate command.
Every value written into a script is quoted by `envgen.shell`.
"""

from __future__ import annotations

import re

from envgen import shell as sh
from envgen.build.plan import DEFAULT_COMMAND, BuildPlan, input_hash
from envgen.fileio import header

_PLAIN = re.compile(r"^[A-Za-z0-9_.=-]+$")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def regenerate_command(p: BuildPlan) -> str:
    req = p.request
    words = ["envgen", "build-env", *(["--torch", str(req.torch)] if req.torch else ["--ref", req.ref or ""])]
    words += ["--cpu"] if p.cuda is None else ["--cuda", str(p.cuda)]
    words += ["--platform", p.platform, "--python", str(p.python), "--shell", req.shell]
    if req.arch or req.gpus:
        words += ["--arch", req.arch if req.arch and req.arch != "auto" else ";".join(req.gpus)]
    if req.vs:
        words += ["--vs", req.vs]
    if req.ccache:
        words.append("--ccache")
    if req.cuda_home:
        words += ["--cuda-home", req.cuda_home]
    if req.build_type != "release":
        words += ["--build-type", req.build_type]
    return " ".join(sh.quote("bash", w) for w in words)


def _yaml_item(text: str) -> str:
    return text if _PLAIN.match(text) else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def environment_yml(p: BuildPlan) -> str:
    head = header("#", input_hash=input_hash(p), command=regenerate_command(p),
                  title=f"build environment for torch {p.label} ({p.request.accel.tag}, {p.platform})")
    lines = [f"name: {p.env_name}", "channels:", *(f"  - {c}" for c in p.channels), "dependencies:"]
    lines += [f"  - {_yaml_item(spec)}" for spec in p.conda]
    if p.pip:
        lines.append("  - pip:")
        lines += [f"    - {_yaml_item(spec)}" for spec in p.pip]
    return head + "\n".join(lines) + "\n"


def _parts(value: str) -> list[str | sh.Ref]:
    """'${CONDA_PREFIX}\\Library' -> [Ref('CONDA_PREFIX'), '\\Library']."""
    out: list[str | sh.Ref] = []
    pos = 0
    for m in _REF.finditer(value):
        if m.start() > pos:
            out.append(value[pos:m.start()])
        out.append(sh.Ref(m.group(1)))
        pos = m.end()
    if pos < len(value):
        out.append(value[pos:])
    return out


def env_script(p: BuildPlan) -> str:
    shell = p.request.shell
    head = header("#", input_hash=input_hash(p), command=regenerate_command(p),
                  title=f"build env script for torch {p.label} ({p.request.accel.tag}, {p.platform})")
    usage = {"bash": "bash build-env.sh [COMMAND...]", "powershell": ".\\build-env.ps1 [COMMAND...]",
             "cmd": "build-env.cmd [COMMAND...]"}[shell]
    body = sh.comment(shell, f"Run from the PyTorch checkout: {usage}. It activates {p.env_name}, sets what the "
                             f"build reads and runs COMMAND (default: {' '.join(DEFAULT_COMMAND)}).")
    body += _activation(shell, p.env_name)
    body += [sh.set_env(shell, name, *_parts(value)) for name, value in p.env]
    body += _run_lines(shell)
    return sh.script(shell, body, header=head)


def _activation(shell: str, env_name: str) -> list[str]:
    """conda's activation; in bash without `set -u` around it, as activation hooks read unset variables."""
    lines = sh.activate(shell, name=env_name)
    if shell != "bash":
        return lines
    return [*sh.comment(shell, "conda's activate.d hooks read unset variables: no `set -u` while activating"),
            "set +u", *lines, "set -u"]


def _run_lines(shell: str) -> list[str]:
    default = [sh.quote(shell, w) for w in DEFAULT_COMMAND]
    if shell == "bash":
        return [f'if [ "$#" -eq 0 ]; then set -- {" ".join(default)}; fi', '"$@"']
    if shell == "powershell":
        return [(f"if ($args.Count -eq 0) {{ $run = @({', '.join(repr(w) for w in DEFAULT_COMMAND)}) }} "
                 "else { $run = @($args) }"),
                "& $run[0] @($run | Select-Object -Skip 1)",
                "if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"]
    return [f'if "%~1"=="" (call {" ".join(default)} || exit /b 1) else (call %* || exit /b 1)']


def checklist_md(p: BuildPlan) -> str:
    head = header("<!--", input_hash=input_hash(p), command=regenerate_command(p), title="build checklist")
    head = "".join(line + " -->\n" for line in head.splitlines())
    lines = [f"# Building torch {p.label} ({p.request.accel.tag}) on {p.platform}, Python {p.python}", "",
             "What conda cannot install; check each before `python setup.py develop`.", ""]
    for c in p.checklist:
        lines.append(f"- [ ] **{c.what}**: {c.required}")
        lines.append(f"  - check: {c.how}")
        if c.why:
            lines.append(f"  - why: {c.why}")
        if c.sources:
            lines.append(f"  - sources: {', '.join(c.sources)}")
    if p.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in p.notes)]
    return head + "\n".join(lines) + "\n"


def files(p: BuildPlan) -> dict[str, str]:
    """File name -> text, for `-o DIR`."""
    return {"environment.yml": environment_yml(p), f"build-env{sh.extension(p.request.shell)}": env_script(p),
            "CHECKLIST.md": checklist_md(p)}
