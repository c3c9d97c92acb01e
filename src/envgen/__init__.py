"""envgen: compile PyTorch compatibility knowledge into manifests, lockfiles, migration plans and diagnoses."""

__version__ = "0.1.0"
