"""migrate: the environment someone has -> the one they want, as ordered steps and shell scripts.

Owns: the records of an installed environment (`packages.py`: Package, Snapshot), parsers of conda and pip
listings and of the running prefix (`listings.py`), format detection and merging (`snapshot.py`), targets from
selection flags, an environment.yml or a lockfile (`targets.py`), the pure diff and its ordering (`plan.py`),
the target built beside the old environment (`beside.py`: --new-env / --new-venv), the target's NVIDIA driver
floor and its check against a machine (`driver.py`, judged by `envgen.matrix.compat`), and rendering the plan as
bash, PowerShell or cmd (`scripts.py`, quoting through `envgen.shell`; the verify program as a here-document).
Data: listings -> Snapshot -diff(Target)-> Plan (backup, removals, resets, installs, verify) -> script text.
May import: `envgen.compile`, `envgen.matrix`, the shared leaves, and of `envgen.lock` only its reading API
`envgen.lock.read` (a lockfile as a target). Never doctor, build or the CLI.
Public names: `snapshot.parse` / `read` / `merge`, `listings.current`, `targets.from_stack` / `from_file`,
`plan.plan`, `beside.plan_beside`, `driver.floor_note` / `check`, `scripts.render`.
"""
