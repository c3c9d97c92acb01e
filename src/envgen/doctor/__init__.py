"""doctor: a probe of this machine or a pasted report -> facts -> ranked findings with fixes; and `detect`.

Owns: the Facts record and its JSON (`facts.py`), probes of the platform, NVML / nvidia-smi, installed
packages and torch (`probe.py`, `probe_gpu.py`), parsers of pasted reports: collect_env, nvidia-smi, listings,
the facts YAML (`reports.py`), what a rule sees and says (`findings.py`: Context, Finding), the rules
(`rules.py`: GPU, driver, platform; `rules_env.py`: packages, runtimes, environment), running them
(`diagnose.py`), the fix commands (`fixes.py`, built by `envgen.compile`), and choosing the build this machine
should run (`detect.py`: the ENVGEN_GPU / ENVGEN_DRIVER / ENVGEN_CUDA overrides, then `envgen.matrix.compat`).
Data: probe | report -> Facts -diagnose(Matrix, DoctorData)-> [Finding(cause, severity, evidence, fix)].
May import: `envgen.compile`, `envgen.matrix` and the shared leaves. Never another capability or the CLI.
Public names: `probe.probe` / `probe_gpus`, `reports.read_report` / `parse_report`, `facts.Facts` / `merge` /
`to_json`, `diagnose.diagnose`, `detect.choose` / `auto_accel`, `fixes.install`.
"""
