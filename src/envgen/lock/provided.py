"""What the conda side of an environment provides to its `pip:` section.

Every Python package the conda solve installs counts as installed for the pip resolution, under its PyPI name
(`matrices/conda_pypi.yaml` where the names differ; otherwise the conda name, PEP 503-normalised). uv is given
a stand-in for each (`envgen.lock.pip`: a wheel of that name and version without dependencies, as an override),
so pip never re-locks it, never checks the conda version against PyPI's metadata of the same name (torchvision
0.16.1 on PyPI pins torch 2.1.1; conda-forge builds it against 2.1.2) and never pulls what only the PyPI build
needs (`nvidia-*` wheels, `triton`). A requirement the user wrote directly for such a package must still be met by
the conda version, or the lock is refused, naming both sides.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput
from envgen.lock.records import LockedConda


@dataclass(frozen=True, slots=True)
class Provided:
    pip_name: str  # canonical PyPI name
    version: str  # PEP 440 form of the conda version
    conda: LockedConda

    def describe(self) -> str:
        return f"{self.pip_name}=={self.version} (conda {self.conda.name} {self.conda.version} {self.conda.build})"


@functools.cache
def pypi_names() -> dict[str, str]:
    """conda name -> PyPI name where they differ (matrices/conda_pypi.yaml)."""
    from envgen.fileio import parse_yaml, read_text
    from envgen.matrix import find_matrix_dir

    path = find_matrix_dir() / "conda_pypi.yaml"
    data = parse_yaml(read_text(path, hint="reinstall envgen"), str(path), hint="fix the matrix file")
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of conda name to {{pypi, source}}", hint="fix the matrix file")
    out = {}
    for name, row in data.items():
        if not isinstance(row, dict) or not isinstance(row.get("pypi"), str) or not row.get("source"):
            raise BadInput(f"{path}: {name}: each row needs `pypi:` and `source:`", hint="fix the matrix file")
        out[str(name)] = row["pypi"]
    return out


def _is_python_package(p: LockedConda) -> bool:
    return p.name != "python" and (p.noarch == "python" or any(d.split()[0] == "python" for d in p.depends))


def provided(packages: tuple[LockedConda, ...], renames: dict[str, str]) -> dict[str, Provided]:
    """canonical PyPI name -> what provides it, for every Python package of a conda solve whose version PEP 440
    can read (a conda version it cannot read is left to pip)."""
    names = pypi_names() | renames
    out: dict[str, Provided] = {}
    for p in sorted(packages, key=lambda x: x.name):
        if not _is_python_package(p):
            continue
        try:
            version = str(Version(p.version))
        except InvalidVersion:
            continue
        name = str(canonicalize_name(names.get(p.name, p.name)))
        out.setdefault(name, Provided(name, version, p))
    return out


def _public(specifier: SpecifierSet) -> SpecifierSet:
    """The specifier with local labels dropped (`==1.8.1+cu102` -> `==1.8.1`): the conda build of a CUDA variant
    stands for the wheel with that label; which variant is the conda side's to say."""
    return SpecifierSet(",".join(f"{s.operator}{s.version.split('+', 1)[0]}" for s in specifier))


def check_requirements(requirements: tuple[str, ...], found: dict[str, Provided], platform: str) -> None:
    """Refuse a pip requirement the user wrote for a package the conda side installs at a version it excludes."""
    for line in requirements:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue  # options and URLs: uv reads and reports them
        have = found.get(str(canonicalize_name(req.name)))
        if have is None or req.url or _public(req.specifier).contains(have.version, prereleases=True):
            continue
        raise BadInput(f"{platform}: the pip section asks for {line}, and the conda side installs "
                       f"{have.conda.name} {have.conda.version} ({have.conda.channel}), which provides "
                       f"{have.pip_name} {have.version}",
                       hint=f"pin {have.conda.name} in the conda dependencies to a version the pip line accepts, or "
                            f"drop the pin from the pip section (conda's {have.conda.name} satisfies it)")
