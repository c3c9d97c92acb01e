"""lock: Stacks or an environment.yml -> solved, hashed, self-checking lockfiles; installing and verifying them.

Owns: the lock input (`spec.py`: LockSpec per platform; `inputs.py`: the request (`LockRequest`), Stacks and an
environment.yml -> LockSpec), what a lock was made from, recorded beside it (`recipe.py`: lock-inputs.yml) and why
it is stale, in words (`staleness.py`),
the shared records (`records.py`), the conda engine (`conda.py`; repodata through rattler's gateway in
`gateway.py`: the only two modules that import py-rattler),
the pip engine (`pip.py`, uv; every pip cell of a set at once: `pipcells.py`), fetching with the per-user cache,
offline mode, progress and safe file names (`fetch.py`), mirrors and credentials kept out of files (`mirrors.py`,
with `envgen.redact`), solving everything and rendering the set (`engine.py`), one module per format
(`condalock.py`, `explicit.py`, `pylock.py`; pixi.lock is rendered by `conda.py`), the records digest and lock-set
lines every file carries (`integrity.py`), writing a set as a unit (`unit.py`), reading any of them back, checked
(`read.py`), what changed between two locks (`changes.py`), `install.py` and `verify.py`, and the pip part of a lock
in a venv (`venv.py`: `envgen install --venv`, what `envgen verify` reads of a venv).
Data: LockSpec -solve(py-rattler | uv)-> LockedConda / LockedWheel records -render, stamp-> conda-lock.yml,
conda-<platform>.lock, pixi.lock, requirements-<platform>.txt, pylock.<platform>.toml, lock-inputs.yml.
May import: `envgen.compile`, `envgen.matrix` and the shared leaves. Never another capability or the CLI.
Public names: `engine.solve_all` / `render_all` / `write_all` / `check`, `inputs.from_stacks` / `spec_for` / `load_env`,
`recipe.record` / `render` / `read`, `staleness.explain`,
`read.load_lock` / `read_conda_lock` / `read_pylock` / `read_explicit` / `check_folder` (the reading API other
capabilities use), `install.install`, `venv.install_venv` / `read_lock`, `verify.verify`, `fetch.Fetcher`,
`mirrors.load_mirrors` / `credentials_as_mirrors`.
"""
