"""compile: a request for a PyTorch install -> the exact packages, channels, indexes and command, or a refusal.

Owns: the selection flags and a user's environment.yml as input (`selection.py`, `envfile.py`), the records
Request / Pin / Stack (`stack.py`), the matrix's builds and refusal rules a request matches (`candidates.py`),
choosing and pinning (`resolve.py`), refusals with ranked alternatives (`refusal.py`), the era's install
command (`commands.py`), environment.yml / requirements.txt text (`manifests.py`), `envgen matrix` views
(`query.py`).
Data: flags | environment.yml -> Request -resolve(Matrix)-> Stack -> InstallCommand | manifest text.
May import: `envgen.matrix` and the shared leaves. Never a capability (lock, migrate, doctor, build) or the CLI:
`--cuda auto` is answered by the `detect` callable the caller passes to `build_requests`.
Public names: `selection.build_requests`, `resolve.resolve` / `resolve_one`, `stack.Request` / `Pin` / `Stack`,
`refusal.refuse`, `commands.install_command` / `conda_argv` / `pip_argv`, `manifests.render_environment_yml` /
`render_requirements` / `input_hash`, `envfile.read_environment_yml`, `query.*`.
"""
