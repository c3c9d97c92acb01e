"""build: `envgen build-env`, the environment for building PyTorch itself from source.

Owns: turning a build request into a plan from `matrices/build.yaml` (`plan.py`), rendering its environment.yml,
env script and checklist (`render.py`, quoting through `envgen.shell`), and checking the host's compilers
against it (`check.py`). The table itself is loaded by `envgen.matrix.build`.
Data: BuildRequest -plan(BuildMatrix)-> BuildPlan -> environment.yml + bash|PowerShell|cmd script + CHECKLIST.md.
May import: `envgen.compile`, `envgen.matrix` and the shared leaves. Never another capability or the CLI.
Public names: `plan.BuildRequest` / `plan` / `describe`, `render.files` / `environment_yml`,
`check.run_checks` / `report`.
"""
