"""matrix: every fact of `matrices/*.yaml`, loaded, validated and cached.

Owns: the frozen `Matrix` (`model.py`) and its record types (`records.py`); locating, reading, checking and
caching the core tables (`loader.py`, `tables.py`, `reader.py`, `check.py`); the one driver and GPU
compatibility model every stage asks which builds a machine runs (`compat.py`: full, minor-version
compatibility, forward compatibility, or not, and why; pure functions of the Matrix); the tables of the other
capabilities, loaded here so that every fact has one reader: `build.yaml` (`build.py`, `buildrecords.py`,
`buildxref.py`, `buildbin.py`), `doctor.yaml` (`doctor.py`), `migrate.yaml` (`migrate.py`).
May import: the shared leaves (`envgen.errors`, `envgen.models`, `envgen.fileio`) and nothing else of envgen.
Public names: `Matrix`, `find_matrix_dir`, `load_matrix`.
"""

from __future__ import annotations

from envgen.matrix.loader import ENV_VAR, FILES, find_matrix_dir, load_matrix
from envgen.matrix.model import Matrix

__all__ = ["ENV_VAR", "FILES", "Matrix", "find_matrix_dir", "load_matrix"]
