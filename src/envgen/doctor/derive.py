"""The derivation stage between facts and rules: every fact the given ones imply, with where it came from.

A maintainer reading a report fills in what it does not say outright in the first minute: `+cu121` means a CUDA
12.1 build; `py3.9_cuda11.3_cudnn8.2.0_0` means CUDA 11.3 and cuDNN 8.2.0; a plain `pip install torch==2.1.0` on
Linux is PyPI's default build of 2.1.0 (the matrix says which CUDA); "Ubuntu 20.04" is Linux; "R535" is a 535
driver, which runs CUDA up to 12.2; "Torch not compiled with CUDA enabled" means a CPU build. `derive` does the
same, filling only facts that are unknown (or normalising free text), and returns each derivation with its
provenance and strength, so `--json` and `--explain` show them and every rule reads the completed facts.

Strength: `decisive` (the report states it in other words: a local version tag, a build string, an error that
prints the value), `strong` (the matrix's facts for what is stated: a build's architectures and cuDNN, a GPU
model's compute capability, a driver's CUDA), `suggestive` (a default assumed: PyPI's default build when the
report does not say which index, an OS read from a path in a traceback).

Facts stated in error messages are read by the extractors of matrices/doctor.yaml (`extract:`); versions and
builds come from the matrix; nothing here is a table of versions.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from envgen.doctor.facts import CPU, Facts, Gpu, Package
from envgen.doctor.freetext import (
    CUDA_RUNTIME_WHEELS,
    OSES,
    build_cuda,
    driver_version,
    install_method,
    is_conda_build,
    local_cuda,
    minor,
    os_family,
    os_of_path,
    tagnum,
)
from envgen.matrix import Matrix
from envgen.matrix.doctor import DoctorData
from envgen.models import Accel, arch_cc

STRENGTHS = ("decisive", "strong", "suggestive")


@dataclass(frozen=True, slots=True)
class Derived:
    """One implied fact: its name, its value (as text), where it came from, and how much it can be trusted."""

    fact: str
    value: str
    source: str
    strength: str = "strong"

    def to_json(self) -> dict[str, str]:
        return {"fact": self.fact, "value": self.value, "source": self.source, "strength": self.strength}


@dataclass(frozen=True, slots=True)
class Derivation:
    facts: Facts
    derived: tuple[Derived, ...]
    stated: dict[str, str]  # facts that error messages state beyond the Facts fields (failed_dll, wanted_torch ...)

    def about(self, fact: str) -> Derived | None:
        return next((d for d in self.derived if d.fact == fact), None)


# --- the stage -----------------------------------------------------------------------------------------------
def derive(matrix: Matrix, data: DoctorData, facts: Facts, seen: str = "") -> Derivation:
    """The facts completed with what they imply (never overriding a stated fact except to normalise its text)."""
    work = _Work(matrix, data, facts)
    work.from_errors(seen)
    work.os_and_platform(seen)
    work.install()
    work.torch_build()
    work.driver()
    work.gpus()
    work.build_facts()
    return Derivation(work.facts, tuple(work.derived), dict(work.stated))


class _Work:
    def __init__(self, matrix: Matrix, data: DoctorData, facts: Facts) -> None:
        self.matrix, self.data, self.facts = matrix, data, facts
        self.derived: list[Derived] = []
        self.stated: dict[str, str] = {}

    def set(self, fact: str, value: Any, source: str, strength: str = "strong", *, replace: bool = False) -> None:
        if value is None or (getattr(self.facts, fact) is not None and not replace):
            return
        self.facts = dataclasses.replace(self.facts, **{fact: value})
        shown = ", ".join(value) if isinstance(value, tuple) and all(isinstance(v, str) for v in value) else value
        self.derived.append(Derived(fact, str(shown), source, strength))

    # error messages state facts (matrices/doctor.yaml `extract`)
    def from_errors(self, seen: str) -> None:
        if not seen:
            return
        gpus: list[Gpu] = []
        for ex in self.data.extract:
            for m in ex.pattern.finditer(seen):
                groups = {k: v for k, v in m.groupdict().items() if v}
                where = f"the error message: \"{_clip(m.group(0))}\""
                self._extracted(ex.fact, ex.value, groups, where, ex.strength, gpus)
                break
        if gpus and self.facts.gpus is None:
            self.facts = dataclasses.replace(self.facts, gpus=tuple(gpus))
            self.derived.append(Derived("gpus", "; ".join(f"{g.name}" + (f" (compute capability {g.compute_capability})"
                                                                       if g.compute_capability else "") for g in gpus),
                                        "the error message names the GPU", "decisive"))

    def _extracted(self, fact: str, value: str | None, groups: dict[str, str], where: str, strength: str,
                   gpus: list[Gpu]) -> None:
        if fact == "driver_cuda" and "cuda_int" in groups:  # 'found version 10010': CUDA 10.1
            n = int(groups["cuda_int"])
            self.set("driver_cuda", f"{n // 1000}.{n % 1000 // 10}", where, strength)
        elif fact == "gpu" and "gpu" in groups:
            cc = groups.get("cc")
            parsed = arch_cc(cc) if cc and cc.startswith("sm_") else None
            gpus.append(Gpu(groups["gpu"].strip(), f"{parsed[1]}" if parsed else cc))
        elif fact == "torch_archs" and "archs" in groups:
            self.set("torch_archs", tuple(groups["archs"].split()), where, strength)
        elif fact in ("os", "torch_cuda", "install_method") and value is not None:
            self.set(fact, value, where, strength)
        elif fact == "python_bits" and value is not None:
            self.set(fact, int(value), where, strength)
        elif fact == "platform" and "platform" in groups:
            self.set(fact, groups["platform"], where, strength)
        elif fact in ("driver_version", "driver_cuda", "python", "torch") and fact in groups:
            self.set(fact, groups[fact], where, strength)
        elif fact in ("failed_dll", "wanted_torch", "available_torch", "min_cc", "missing_library") \
                and fact in groups and fact not in self.stated:
            self.stated[fact] = groups[fact].strip()
            self.derived.append(Derived(fact, groups[fact].strip(), where, strength))

    def os_and_platform(self, seen: str) -> None:
        f = self.facts
        if f.os is not None and f.os not in OSES:
            family = os_family(f.os)
            self.set("os", family, f"'{f.os}' names {family}", "decisive", replace=True)
            if family is None:
                self.facts = dataclasses.replace(self.facts, os=None)
        if self.facts.os is None and self.facts.platform:
            subdir = self.facts.platform
            self.set("os", "windows" if subdir.startswith("win") else "macos" if subdir.startswith("osx") else "linux",
                     f"platform {subdir}", "decisive")
        if self.facts.os is None:
            for path in (f.torch_location, f.python_prefix):
                if path and (family := os_of_path(path)):
                    self.set("os", family, f"the path {path}", "strong")
                    break
        if self.facts.platform is None and self.facts.os:
            from envgen.doctor.fixes import DEFAULT_SUBDIR

            arm = bool(re.search(r"arm64|aarch64|apple m\d", (f.os or "").lower()))
            plat: str | None = DEFAULT_SUBDIR.get(self.facts.os)
            if arm and self.facts.os == "macos":
                plat = "osx-arm64"
            elif self.facts.os == "macos" and self.facts.gpus:  # an NVIDIA GPU in a Mac: an Intel Mac
                plat = "osx-64"
            elif arm and self.facts.os == "linux":
                plat = "linux-aarch64"
            elif self.facts.os == "windows" and self.facts.python_bits == 32 and self.facts.install_method == "conda":
                plat = "win-32"
            self.set("platform", plat, f"os {self.facts.os}" + (" on ARM" if arm else ", the usual 64-bit subdir"),
                     "strong" if arm or self.facts.os != "macos" else "suggestive")

    def install(self) -> None:
        f = self.facts
        if f.install_method is not None and f.install_method not in ("conda", "pip"):
            method = install_method(f.install_method)
            self.set("install_method", method, f"'{f.install_method}'", "decisive", replace=True)
            if method is None:
                self.facts = dataclasses.replace(self.facts, install_method=None)
        torch = self.facts.package("torch", "pytorch")
        if torch is not None and torch.installer:
            self.set("install_method", torch.installer, f"the package listing ({torch.name} installed by "
                     f"{torch.installer})", "decisive")
        if torch is not None and torch.channel and torch.installer == "conda":
            self.set("channel", torch.channel, f"the package listing ({torch.name} from {torch.channel})",
                     "decisive")
        if self.facts.torch is None and torch is not None:
            self.set("torch", torch.version, "the package listing", "decisive")
        if self.facts.install_method is None and self.facts.torch and "+" in self.facts.torch:
            self.set("install_method", "pip", f"the local version tag of {self.facts.torch} (only wheels have one)",
                     "strong")
        if self.facts.install_method is None and self.facts.torch_build and is_conda_build(f.torch_build or ""):
            self.set("install_method", "conda", f"the conda build string {self.facts.torch_build}", "strong")

    def torch_build(self) -> None:
        f = self.facts
        if f.torch_cuda is not None:
            return
        packages = f.packages or {}
        local = f.torch.split("+", 1)[1] if f.torch and "+" in f.torch else None
        if local:
            cuda = local_cuda(local)
            if cuda is not None:
                self.set("torch_cuda", cuda, f"the local version tag +{local}", "decisive")
                return
        build = f.torch_build or (pkg.build if (pkg := f.package("pytorch", "torch")) is not None else None)
        if build:
            cuda = build_cuda(build) or (local_cuda(build) if not is_conda_build(build) else None)
            if cuda is not None:
                self.set("torch_cuda", cuda, f"the build string {build}", "decisive")
                if (m := re.search(r"cudnn(\d+\.\d+(?:\.\d+)?)", build)) and f.cudnn is None:
                    self.set("cudnn", m.group(1), f"the build string {build}", "decisive")
                return
        for name, why in (("cpuonly", "cpuonly is installed (it selects the CPU build)"),):
            if name in packages:
                self.set("torch_cuda", CPU, why, "decisive")
                return
        for name in ("pytorch-cuda", "cuda-version"):
            if (pkg := packages.get(name)) is not None and (v := minor(pkg.version)):
                self.set("torch_cuda", v, f"{name} {pkg.version} is installed (it selects the CUDA build)", "strong")
                return
        feature = self._feature_package(packages)
        if feature is not None:
            self.set("torch_cuda", feature[1], f"the feature package {feature[0]} is installed", "strong")
            return
        tk = packages.get("cudatoolkit")
        if tk is not None and f.install_method == "conda" and (v := minor(tk.version)):
            self.set("torch_cuda", v, f"cudatoolkit {tk.version} beside the conda build (the cudatoolkit era)",
                     "suggestive")
            return
        runtime = next((packages[n] for n in CUDA_RUNTIME_WHEELS if n in packages), None)
        if runtime is not None and (v := minor(runtime.version)):
            self.set("torch_cuda", v, f"{runtime.name} {runtime.version} is installed beside torch", "strong")
            return
        self._pypi_default()

    def _feature_package(self, packages: dict[str, Package]) -> tuple[str, str] | None:
        """A CUDA feature metapackage of the routes whose selector is one (`cuda{tagnum}`: cuda80, cuda90...)."""
        templates = {t for route in self.matrix.routes.values() for t in route.selector.get("cuda", ())
                     if "{tagnum}" in t}
        for template in sorted(templates):
            for name in packages:
                m = re.fullmatch(re.escape(template).replace(re.escape("{tagnum}"), r"(\d+)"), name)
                if m and (cuda := tagnum(m.group(1))):
                    return name, cuda
        return None

    def _pypi_default(self) -> None:
        """A plain `pip install torch==X` (no local tag, no index named): PyPI's own build of X for this OS."""
        f = self.facts
        torch = f.torch_version
        if f.install_method != "pip" or torch is None or (f.torch and "+" in f.torch) or not f.platform:
            return
        builds = [b for b in self.matrix.builds(torch=torch, platform=f.platform, installer="pip")
                  if b.route == "pypi"]
        if len(builds) != 1:
            return
        accel = builds[0].accel
        value = str(accel.cuda) if accel.kind == "cuda" and accel.cuda else CPU if accel.kind == "cpu" else None
        if value is None:
            return
        what = f"CUDA {value}" if value != CPU else "the CPU build"
        self.set("torch_cuda", value, f"matrix: PyPI's default build of torch {torch} on {f.platform} is {what} "
                 "(no local version tag and no index given)", "suggestive")

    def driver(self) -> None:
        f = self.facts
        if f.driver_version is not None:
            value, how = driver_version(f.driver_version)
            if value is None:
                self.facts = dataclasses.replace(self.facts, driver_version=None)
                self.derived.append(Derived("driver_version", "unknown", f"'{f.driver_version}' is no driver "
                                            "version", "decisive"))
            elif value != f.driver_version:
                self.set("driver_version", value, how, "strong" if "branch" in how else "decisive", replace=True)
        os_name = self.facts.os or "linux"
        if self.facts.driver_version and self.facts.driver_cuda is None:
            try:
                newest = self.matrix.newest_cuda_for_driver(Version(self.facts.driver_version), os_name)
            except InvalidVersion:
                newest = None
            if newest is not None:
                self.set("driver_cuda", f"{newest.major}.{newest.minor}", f"matrix: driver "
                         f"{self.facts.driver_version} meets the {os_name} floor of CUDA {newest.major}.{newest.minor}",
                         "strong")

    def gpus(self) -> None:
        f = self.facts
        if not f.gpus:
            return
        out, changed = [], []
        for g in f.gpus:
            if g.compute_capability is None and (cc := self.matrix.gpu_cc(g.name)) is not None:
                out.append(dataclasses.replace(g, compute_capability=str(cc)))
                changed.append(f"{g.name}: {cc}")
            else:
                out.append(g)
        if changed:
            self.facts = dataclasses.replace(self.facts, gpus=tuple(out))
            self.derived.append(Derived("compute_capability", "; ".join(changed),
                                        "matrix: GPU models (matrices/gpu_models.yaml)", "strong"))

    def build_facts(self) -> None:
        """cuDNN and architectures of the build, from the matrix's facts for this torch and CUDA."""
        f = self.facts
        torch = f.torch_version
        rel = self.matrix.release(torch) if torch else None
        if rel is None or f.torch_cuda in (None, CPU):
            return
        try:
            accel = Accel("cuda", Version(f.torch_cuda))
        except InvalidVersion:
            return
        facts = rel.accel.get(accel.tag)
        if facts is None:
            return
        where = f"matrix: torch {torch} {accel.tag}"
        cudnn = facts.cudnn.get(f.os or "") or facts.cudnn.get("default") if facts.cudnn else None
        if f.cudnn is None and cudnn:
            self.set("cudnn", cudnn, where, "strong")
        if f.torch_archs is None and facts.archs:
            self.set("torch_archs", tuple(facts.archs), where, "strong")


# --- small readers -------------------------------------------------------------------------------------------
def _clip(text: str, width: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 3] + "..."
