"""Where the matrix is found, how its files are read and checked, and the per-user cache of the result."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from pathlib import Path

from envgen import __version__
from envgen.errors import BadInput, MatrixError, OutsideFailure
from envgen.matrix import cache as stored
from envgen.matrix.model import Matrix

FILES = ("sources.yaml", "channels.yaml", "cuda.yaml", "gpus.yaml", "gpu_models.yaml", "constraints.yaml",
         "torch.yaml")
ENV_VAR = "ENVGEN_MATRIX_DIR"

# --- locating and loading -------------------------------------------------------------------------
def find_matrix_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--matrix-dir`, then $ENVGEN_MATRIX_DIR, then the copy inside the installed package, then the source tree."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    else:
        here = Path(__file__).resolve().parent.parent
        candidates += [here / "matrices", here.parent.parent / "matrices"]
    for cand in candidates:
        if (cand / "torch.yaml").is_file():
            return cand
    raise BadInput(f"no matrix found (looked in {', '.join(str(c) for c in candidates)})",
                   hint=f"pass --matrix-dir DIR or set {ENV_VAR} to a folder holding torch.yaml")


def load_matrix(directory: str | os.PathLike[str] | None = None, *, use_cache: bool = True) -> Matrix:
    folder = find_matrix_dir(directory).resolve()
    texts: dict[str, bytes] = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise MatrixError([f"matrices/{name}: file missing from {folder}"])
        texts[name] = path.read_bytes()
    digest = hashlib.sha256(__version__.encode() + _code_fingerprint() + b"".join(
        name.encode() + b"\0" + data for name, data in texts.items())).hexdigest()
    cache = _cache_path(digest) if use_cache else None
    if cache is not None:
        cached = stored.read(cache, digest)  # None when missing, broken, planted or stale: never an error
        if cached is not None:
            # the cache is keyed by content: the same files may sit in another folder now
            return dataclasses.replace(cached, directory=str(folder))
    matrix = _parse(folder, texts, digest)
    if cache is not None:
        _store(cache, matrix)
    return matrix


def _code_fingerprint() -> bytes:
    """The loader's own source: a cached matrix built by other code (other records) is never reused."""
    here = Path(__file__).resolve().parent
    parts = [p.read_bytes() for p in sorted(here.glob("*.py"))] + [(here.parent / "models.py").read_bytes()]
    return hashlib.sha256(b"\0".join(parts)).digest()


def _parse(folder: Path, texts: dict[str, bytes], digest: str) -> Matrix:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from envgen.matrix import tables as load
    from envgen.matrix.check import check
    from envgen.matrix.reader import Reader

    yaml = YAML(typ="rt")
    problems: list[str] = []
    docs = {}
    for name, data in texts.items():
        try:
            docs[name] = yaml.load(data)
        except YAMLError as exc:
            problems.append(f"matrices/{name}: not valid YAML: {str(exc).splitlines()[0]} "
                            f"{getattr(exc, 'problem_mark', '') or ''}".strip())
            docs[name] = None
    if problems:  # a file that is not YAML would only add noise below
        raise MatrixError(problems)
    def R(name: str) -> Reader:
        return Reader(name, problems)

    sources = load.load_sources(R("sources.yaml"), docs["sources.yaml"])
    channels, routes = load.load_channels(R("channels.yaml"), docs["channels.yaml"])
    toolkits, compat = load.load_cuda(R("cuda.yaml"), docs["cuda.yaml"])
    archs = load.load_archs(R("gpus.yaml"), docs["gpus.yaml"])
    models = load.load_models(R("gpu_models.yaml"), docs["gpu_models.yaml"])
    forward = load.load_forward(R("cuda.yaml"), docs["cuda.yaml"])
    datacenter = load.load_datacenter(R("gpu_models.yaml"), docs["gpu_models.yaml"])
    targets = load.load_targets(R("gpus.yaml"), docs["gpus.yaml"])
    constraints = load.load_constraints(R("constraints.yaml"), docs["constraints.yaml"])
    releases = load.load_releases(R("torch.yaml"), docs["torch.yaml"])
    matrix = Matrix(sources, channels, routes, toolkits, compat, archs, models, constraints, releases,
                    str(folder), digest, forward, datacenter, targets)
    problems += check(matrix)  # cross-table problems too, so one run lists every mistake
    if problems:
        raise MatrixError(problems)
    return matrix


def _cache_path(digest: str) -> Path | None:
    """Where the matrix of `digest` is cached: JSON checked on the way in (`matrix.cache`), never a pickle.

    Files of the old pickle cache (`<digest>.pickle`) beside it are never read again.
    """
    if os.environ.get("ENVGEN_NO_CACHE"):
        return None
    name = f"{digest[:32]}.json"
    if os.environ.get("ENVGEN_MATRIX_CACHE"):  # keyed by content, so it may be shared (tests share one)
        return Path(os.environ["ENVGEN_MATRIX_CACHE"]) / name
    base = os.environ.get("ENVGEN_CACHE_DIR")
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("envgen", appauthor=False)
    return Path(base) / "matrix" / name


def _store(path: Path, matrix: Matrix) -> None:
    # a cache that cannot be written (or would not read back equal) only costs time
    with contextlib.suppress(OutsideFailure, ValueError):
        stored.write(path, matrix)
