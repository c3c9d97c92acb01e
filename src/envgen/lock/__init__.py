"""lock: Stacks or an environment.yml -> solved, hashed lockfiles; and installing and verifying them.

Owns: the lock input (`spec.py`: LockSpec per platform; `inputs.py`: Stacks / environment.yml -> LockSpec),
the shared records (`records.py`), the conda engine (`conda.py`, the only module that imports py-rattler),
the pip engine (`pip.py`, uv), fetching with the per-user cache, offline mode and progress (`fetch.py`) and
mirrors and URL redaction (`mirrors.py`), solving everything and writing the set of files (`engine.py`),
one module per format (`condalock.py`, `explicit.py`, `pylock.py`; pixi.lock is rendered by `conda.py`),
reading any of them back (`read.py`), `install.py` and `verify.py`.
Data: LockSpec -solve(py-rattler | uv)-> LockedConda / LockedWheel records -render-> conda-lock.yml,
conda-<platform>.lock, pixi.lock, requirements-<platform>.txt, pylock.<platform>.toml.
May import: `envgen.compile`, `envgen.matrix` and the shared leaves. Never another capability or the CLI.
Public names: `engine.solve_all` / `render_all` / `write_all` / `check`, `inputs.from_stacks` / `load_env`,
`read.load_lock` / `read_conda_lock` / `read_pylock` (the reading API other capabilities use), `install.install`,
`verify.verify`, `fetch.Fetcher`, `mirrors.load_mirrors` / `redact`.
"""
