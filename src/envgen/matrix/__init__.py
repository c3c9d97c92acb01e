"""The compatibility matrix: where it is found, how it is loaded, and the questions it answers."""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from envgen import __version__
from envgen.errors import BadInput, MatrixError
from envgen.matrix.records import (
    Build, Channel, Constraint, GpuArch, GpuModel, MinorCompat, Release, Route, Source, Toolkit,
)
from envgen.models import PyVer, os_of

FILES = ("sources.yaml", "channels.yaml", "cuda.yaml", "gpus.yaml", "gpu_models.yaml", "constraints.yaml",
         "torch.yaml")
ENV_VAR = "ENVGEN_MATRIX_DIR"


@dataclass(frozen=True, slots=True)
class Matrix:
    sources: dict[str, Source]
    channels: dict[str, Channel]
    routes: dict[str, Route]
    toolkits: dict[str, Toolkit]  # '10.2' -> Toolkit
    minor_compat: dict[int, MinorCompat]
    archs: dict[str, GpuArch]
    gpu_models: tuple[GpuModel, ...]
    constraints: tuple[Constraint, ...]
    releases: tuple[Release, ...]
    directory: str
    digest: str

    # --- questions -------------------------------------------------------------------------------
    def release(self, torch: Version) -> Release | None:
        for rel in self.releases:
            if rel.torch == torch:
                return rel
        return None

    def builds(self, *, torch: Version | None = None, platform: str | None = None,
               installer: str | None = None) -> list[Build]:
        out = []
        for rel in self.releases:
            if torch is not None and rel.torch != torch:
                continue
            for b in rel.builds:
                if platform is not None and platform not in b.platforms:
                    continue
                if installer is not None and self.routes[b.route].installer != installer:
                    continue
                out.append(b)
        return out

    def route_for(self, build: Build) -> Route:
        """The build's route with the build's overrides applied."""
        import dataclasses

        route = self.routes[build.route]
        if not build.overrides:
            return route
        changes = dict(build.overrides)
        if "selector" in changes:
            sel = dict(route.selector)
            for kind, specs in changes["selector"].items():  # type: ignore[union-attr]
                sel[build.accel.kind if kind == "*" else kind] = specs
            changes["selector"] = sel
        return dataclasses.replace(route, **changes)

    def toolkit(self, cuda: Version) -> Toolkit | None:
        return self.toolkits.get(f"{cuda.major}.{cuda.minor}")

    def driver_floor(self, cuda: Version, os_name: str) -> Version | None:
        tk = self.toolkit(cuda)
        if tk is None:
            return None
        return tk.driver_windows if os_name == "windows" else tk.driver_linux

    def newest_cuda_for_driver(self, driver: Version, os_name: str) -> Version | None:
        """The newest toolkit whose full driver floor this driver meets."""
        ok = [tk.cuda for tk in self.toolkits.values()
              if (floor := (tk.driver_windows if os_name == "windows" else tk.driver_linux)) and driver >= floor]
        return max(ok) if ok else None

    def gpu_cc(self, name: str) -> Version | None:
        """Compute capability of a GPU model name as people report it ('NVIDIA GeForce GTX 1080')."""
        wanted = _norm_gpu(name)
        best: tuple[int, GpuModel] | None = None
        for model in self.gpu_models:
            key = _norm_gpu(model.name)
            if wanted == key:
                return model.cc
            if key and (wanted.endswith(" " + key) or f" {key} " in f" {wanted} "):
                if best is None or len(key) > best[0]:
                    best = (len(key), model)
        return best[1].cc if best else None

    def constraint_applies(self, c: Constraint, build: Build, platform: str, python: PyVer | None) -> bool:
        w = c.when
        route = self.routes.get(build.route)
        if w.torch and build.torch not in w.torch:
            return False
        if w.routes and build.route not in w.routes:
            return False
        if w.families and (route is None or route.family not in w.families):
            return False
        if w.installers and (route is None or route.installer not in w.installers):
            return False
        if w.platforms and platform not in w.platforms:
            return False
        if w.accel_kinds and build.accel.kind not in w.accel_kinds:
            return False
        if w.cuda and (build.accel.kind != "cuda" or build.accel.version not in w.cuda):
            return False
        if w.python and (python is None or python.version not in w.python):
            return False
        return True

    def applicable(self, build: Build, platform: str, python: PyVer | None, kind: str) -> list[Constraint]:
        return [c for c in self.constraints if c.kind == kind and self.constraint_applies(c, build, platform, python)]


def _norm_gpu(name: str) -> str:
    text = " ".join(name.lower().replace("(r)", " ").replace("-", " ").split())
    return text[len("nvidia "):] if text.startswith("nvidia ") else text


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
    if cache is not None and cache.is_file():
        try:
            with cache.open("rb") as handle:
                matrix = pickle.load(handle)
            if isinstance(matrix, Matrix) and matrix.digest == digest:
                import dataclasses

                # the cache is keyed by content: the same files may sit in another folder now
                return dataclasses.replace(matrix, directory=str(folder))
        except Exception:  # a stale or broken cache is rebuilt, never trusted
            pass
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

    from envgen.matrix import load
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
    R = lambda n: Reader(n, problems)  # noqa: E731
    sources = load.load_sources(R("sources.yaml"), docs["sources.yaml"])
    channels, routes = load.load_channels(R("channels.yaml"), docs["channels.yaml"])
    toolkits, compat = load.load_cuda(R("cuda.yaml"), docs["cuda.yaml"])
    archs = load.load_archs(R("gpus.yaml"), docs["gpus.yaml"])
    models = load.load_models(R("gpu_models.yaml"), docs["gpu_models.yaml"])
    constraints = load.load_constraints(R("constraints.yaml"), docs["constraints.yaml"])
    releases = load.load_releases(R("torch.yaml"), docs["torch.yaml"])
    matrix = Matrix(sources, channels, routes, toolkits, compat, archs, models, constraints, releases,
                    str(folder), digest)
    problems += check(matrix)  # cross-table problems too, so one run lists every mistake
    if problems:
        raise MatrixError(problems)
    return matrix


def _cache_path(digest: str) -> Path | None:
    if os.environ.get("ENVGEN_NO_CACHE"):
        return None
    if os.environ.get("ENVGEN_MATRIX_CACHE"):  # keyed by content, so it may be shared (tests share one)
        return Path(os.environ["ENVGEN_MATRIX_CACHE"]) / f"{digest[:32]}.pickle"
    base = os.environ.get("ENVGEN_CACHE_DIR")
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("envgen", appauthor=False)
    return Path(base) / "matrix" / f"{digest[:32]}.pickle"


def _store(path: Path, matrix: Matrix) -> None:
    try:
        from envgen.fileio import write_atomic

        write_atomic(path, pickle.dumps(matrix, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # a cache that cannot be written only costs time
        pass


__all__ = ["Matrix", "find_matrix_dir", "load_matrix", "os_of"]
