"""The pure diff: current `Snapshot` vs a `Target` -> ordered `Step`s, each with the reason it is there.

Order: back up (explicit spec + pip freeze, with the restore command), remove what fights the target
(pip torch and its CUDA wheels, conda torch, legacy metapackages), reset what an old channel changed
(vc from peterjc123, MKL from another channel, pins the target's era needs), install the target with its
channels or index, verify. Nothing here touches the outside world; `scripts.py` renders the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envgen.matrix.migrate import MigrateData
from envgen.migrate.packages import Package, Snapshot, conda_accel, pip_accel
from envgen.models import Accel

# The verify program: simple statements only, so the same text runs as a here-document (bash, PowerShell) and,
# joined with '; ', as `python -c` (cmd); no f-strings, `%` or double quotes, and it runs on every Python a torch
# of the matrix ran on (2.7 included). Arguments: the target's torch version and CUDA build ('-': any, 'None': CPU).
# It prints what it found and fails, saying why, when the version or the CUDA build differ, or when a CUDA build
# on a machine with an NVIDIA GPU (nvidia-smi on PATH answers) cannot use CUDA.
VERIFY_LINES = (
    "from __future__ import print_function",
    "import os, subprocess, sys",
    "import torch",
    "want_version, want_cuda = sys.argv[1], sys.argv[2]",
    "version = torch.__version__.split('+')[0]",
    "cuda_build = str(torch.version.cuda)",
    "available = torch.cuda.is_available()",
    ("smi = [os.path.join(d, 'nvidia-smi' + e) for d in os.environ.get('PATH', '').split(os.pathsep) "
     "for e in ('', '.exe') if os.path.isfile(os.path.join(d, 'nvidia-smi' + e))]"),
    "gpu = bool(smi) and subprocess.call([smi[0], '-L'], stdout=open(os.devnull, 'w'), stderr=subprocess.STDOUT) == 0",
    "print('torch', torch.__version__, '| CUDA build', cuda_build, '| CUDA available', available, '| NVIDIA GPU', gpu)",
    ("problems = ['torch is ' + version + ', the target is ' + want_version] if want_version not in ('-', version) "
     "else []"),
    ("problems += ['the CUDA build is ' + cuda_build + ', the target is ' + want_cuda] if want_cuda not in ('-', "
     "cuda_build) else []"),
    ("problems += ['CUDA is not available although this is a CUDA build and an NVIDIA GPU is present: the driver "
     "may be too old for the build (run envgen doctor)'] if torch.version.cuda is not None and gpu and not available "
     "else []"),
    "sys.exit('\\n'.join('envgen verify failed: ' + p for p in problems) or None)",
)
VERIFY_CODE = "; ".join(VERIFY_LINES)


@dataclass(frozen=True, slots=True)
class Spec:
    """One package of the target: its name, the spec the installer is given, and its role."""

    name: str
    spec: str  # 'pytorch=2.5.1=cuda*', 'torch==2.5.1+cu124', 'mkl<2024.1', 'defaults::vc=14'
    role: str  # torch | torchvision | torchaudio | torchtext | selector | pin | require | extra
    version: str = ""  # the exact version when the spec pins one
    constraint: str = ""  # the version range of a `pin` ('<2024.1')
    channel: str | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """What the environment should become, whatever it was described by (flags, environment.yml, a lock)."""

    installer: str  # conda | pip
    platform: str
    torch: Version | None
    accel: Accel | None
    family: str | None  # pytorch | conda-forge | peterjc123 | pytorch-index | pypi (None: not known)
    specs: tuple[Spec, ...]
    install: tuple[str, ...]  # the install command, without --yes and env selection
    description: str
    python: str | None = None
    channels: tuple[str, ...] = ()
    override_channels: bool = False
    notes: tuple[str, ...] = ()
    pip_install: tuple[str, ...] = ()  # a conda target's pip companions (torchvision in the peterjc123 era)

    def names(self) -> set[str]:
        return {s.name for s in self.specs}

    def role(self, role: str) -> Spec | None:
        return next((s for s in self.specs if s.role == role), None)


@dataclass(frozen=True, slots=True)
class EnvRef:
    name: str | None = None
    prefix: str | None = None

    def conda_args(self) -> list[str]:
        if self.name:
            return ["--name", self.name]
        return ["--prefix", self.prefix] if self.prefix else []


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # backup | remove | reset | create | activate | install | verify
    packages: tuple[str, ...]
    argv: tuple[str, ...]
    reason: str
    stdout: str | None = None  # backup: the file the command's output goes to
    restore: tuple[str, ...] = ()  # backup: the command that restores from that file

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "packages": list(self.packages), "command": list(self.argv),
                                "reason": self.reason}
        if self.stdout:
            data["output_file"] = self.stdout
        if self.restore:
            data["restore"] = list(self.restore)
        return data


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    target: Target
    env: EnvRef
    platform: str
    current_torch: tuple[Package, ...] = field(default=())
    notes: tuple[str, ...] = ()  # what the script states up front (the target's driver floor)

    @property
    def pending(self) -> bool:
        return bool(self.steps)


# --- the diff ----------------------------------------------------------------------------------------
def plan(snapshot: Snapshot, target: Target, data: MigrateData, env: EnvRef = EnvRef(),
         backup_stem: str = "envgen-backup") -> Plan:
    """The steps from `snapshot` to `target` (none when the env is already on target)."""
    torch_now = installed_torch(snapshot, data)
    removals = _pip_removals(snapshot, target, data) + _conda_removals(snapshot, target, data, env)
    resets = _resets(snapshot, target, data, env)
    on_target = _torch_on_target(snapshot, target, data) and not removals and not resets
    if on_target:
        return Plan((), target, env, target.platform, torch_now)
    steps = _backups(snapshot, target, env, backup_stem) + removals + resets
    steps.append(install_step(target, env))
    if target.pip_install:
        specs = tuple(a for a in target.pip_install[2:] if not a.startswith("-"))
        steps.append(Step("install", specs, ("python", "-m", *target.pip_install),
                          "this era installed these companions with pip inside the conda environment"))
    steps.append(verify_step(target))
    return Plan(tuple(steps), target, env, target.platform, torch_now)


def installed_torch(snapshot: Snapshot, data: MigrateData) -> tuple[Package, ...]:
    """The installed torch packages (torch and companions, conda and pip)."""
    return tuple(p for p in snapshot.packages if data.role_of(p.name, p.installer))


def accel_of(pkg: Package) -> Accel | None:
    return conda_accel(pkg) if pkg.installer == "conda" else pip_accel(pkg)


def _same_version(pkg: Package, version: str) -> bool:
    try:
        return pkg.public == Version(version.split("+")[0])
    except InvalidVersion:
        return pkg.version == version


def _torch_on_target(snapshot: Snapshot, target: Target, data: MigrateData) -> bool:
    """Every torch role of the target installed by the target's installer at its version and variant."""
    for spec in target.specs:
        if spec.role not in ("torch", "torchvision", "torchaudio", "torchtext"):
            continue
        pkg = snapshot.find(spec.name, target.installer)
        if pkg is None or (spec.version and not _same_version(pkg, spec.version)):
            return False
        if target.installer == "conda" and target.channels and pkg.channel not in target.channels:
            return False
        if spec.role == "torch" and target.accel is not None and not _same_accel(pkg, target):
            return False
    return _constraints_hold(snapshot, target) and not _selectors_missing(snapshot, target)


def _same_accel(pkg: Package, target: Target) -> bool:
    found = accel_of(pkg)
    if found is None:  # a plain PyPI wheel carries no tag: right only when the target is plain PyPI too
        return pkg.installer == "pip" and target.family == "pypi"
    return found == target.accel


def _selectors_missing(snapshot: Snapshot, target: Target) -> bool:
    return any(snapshot.find(s.name, target.installer) is None for s in target.specs if s.role == "selector")


def _constraints_hold(snapshot: Snapshot, target: Target) -> bool:
    return not any(_violates(snapshot, s) for s in target.specs if s.role == "pin")


def _violates(snapshot: Snapshot, spec: Spec) -> Package | None:
    pkg = next((p for p in snapshot.packages if p.name == spec.name), None)
    if pkg is None or not spec.constraint or pkg.pep440 is None:
        return None
    try:
        wanted = SpecifierSet(spec.constraint.replace("=", "==", 1) if spec.constraint.startswith("=")
                              and not spec.constraint.startswith("==") else spec.constraint)
    except InvalidSpecifier:
        return None
    return None if wanted.contains(pkg.pep440, prereleases=True) else pkg


# --- steps -------------------------------------------------------------------------------------------
def _backups(snapshot: Snapshot, target: Target, env: EnvRef, stem: str) -> list[Step]:
    steps = []
    tag = snapshot.digest[:8] or "env"
    has_conda = bool(snapshot.of("conda")) or target.installer == "conda" or env.name or env.prefix
    if has_conda:
        path = f"{stem}-{tag}-conda-explicit.txt"
        restore = ("conda", "create", "--yes", *(env.conda_args() or ["--name", "restored"]), "--file", path)
        steps.append(Step("backup", (), ("conda", "list", *env.conda_args(), "--explicit", "--md5"),
                          "save the conda packages as an explicit spec before anything changes", path, restore))
    path = f"{stem}-{tag}-pip-freeze.txt"
    steps.append(Step("backup", (), ("python", "-m", "pip", "freeze", "--all"),
                      "save the pip-installed packages before anything changes", path,
                      ("python", "-m", "pip", "install", "--no-deps", "-r", path)))
    return steps


def _pip_removals(snapshot: Snapshot, target: Target, data: MigrateData) -> list[Step]:
    torch_pkgs = [p for p in snapshot.of("pip") if data.role_of(p.name, "pip")]
    if not torch_pkgs:
        return []
    if target.installer == "pip":
        torch = next((p for p in torch_pkgs if data.role_of(p.name, "pip") == "torch"), None)
        if torch is None or _same_accel(torch, target) or target.accel is None:
            return []
        why = (f"the installed {torch.describe()} is the {_accel_text(torch)} build; pip would keep it, "
               f"since only the build differs from the target's {target.accel.describe()}")
        names = [p.name for p in torch_pkgs]
    else:
        extra = [p for p in snapshot.of("pip") if data.pip_companion(p.name) and p not in torch_pkgs]
        names = [p.name for p in torch_pkgs + extra]
        why = ("pip-installed " + ", ".join(p.describe() for p in torch_pkgs) + " would shadow the conda "
               "packages of the target" + (f"; {data.pip_why}" if extra else ""))
    return [Step("remove", tuple(names), ("python", "-m", "pip", "uninstall", "--yes", *names), why)]


def _accel_text(pkg: Package) -> str:
    found = accel_of(pkg)
    return found.describe() if found else "default PyPI"


def _conda_removals(snapshot: Snapshot, target: Target, data: MigrateData, env: EnvRef) -> list[Step]:
    steps = []
    torch_pkgs = [p for p in snapshot.of("conda") if data.role_of(p.name, "conda")]
    if torch_pkgs and _conda_torch_fights(torch_pkgs, snapshot, target, data):
        names = tuple(p.name for p in torch_pkgs)
        why = ("the installed " + ", ".join(p.describe() for p in torch_pkgs) +
               f" must go before the target ({target.description}) installs")
        steps.append(Step("remove", names, ("conda", "remove", "--yes", *env.conda_args(), *names), why))
    legacy, reasons = [], []
    for pkg in snapshot.of("conda"):
        rule = data.legacy_rule(pkg.name, pkg.channel)
        if rule is None or pkg.name in [n for s in steps for n in s.packages]:
            continue
        if pkg.name not in rule.names and target.installer == "conda" and pkg.channel in target.channels:
            continue  # a channel-wide rule: the target keeps using that channel
        if pkg.name in target.names() and (not target.channels or pkg.channel in target.channels):
            continue  # the target keeps it (from the same channel)
        if target.installer == "conda" and target.family in rule.keep_for_families:
            continue
        successor = [n for n in rule.unless_target if n in target.names()]
        if rule.unless_target and not successor:
            continue
        legacy.append(pkg.name)
        why = rule.why.format(name=pkg.name, successor=", ".join(successor))
        if pkg.name in target.names():
            why += f" (installed from {pkg.channel}; the target installs it from {', '.join(target.channels)})"
        reasons.append(why)
    if legacy:
        steps.append(Step("remove", tuple(legacy), ("conda", "remove", "--yes", *env.conda_args(), *legacy),
                          "; ".join(dict.fromkeys(reasons))))
    return steps


def _conda_torch_fights(torch_pkgs: list[Package], snapshot: Snapshot, target: Target, data: MigrateData) -> bool:
    """Conda torch must be removed when the target is pip, another channel, or another variant."""
    if target.installer != "conda":
        return True
    torch = next((p for p in torch_pkgs if data.role_of(p.name, "conda") == "torch"), None)
    if torch is None:
        return False
    want = target.role("torch")
    if want is not None and torch.name != want.name:
        return True
    if target.channels and torch.channel not in target.channels:
        return True
    return target.accel is not None and conda_accel(torch) not in (None, target.accel)


def _resets(snapshot: Snapshot, target: Target, data: MigrateData, env: EnvRef) -> list[Step]:
    steps = []
    for rule in data.resets:
        if target.installer not in (rule.target_installers or (target.installer,)):
            continue
        if rule.platforms and target.platform not in rule.platforms:
            continue
        if rule.target_torch and (target.torch is None or target.torch not in rule.target_torch):
            continue
        found = [p for p in snapshot.of("conda") if p.name in rule.packages and p.channel in rule.from_channels]
        if found:
            specs = tuple(f"{rule.channel}::{s}" for s in rule.install)
            steps.append(Step("reset", specs, ("conda", "install", "--yes", *env.conda_args(), *specs,
                                                "--override-channels", "-c", rule.channel),
                              ", ".join(p.describe() for p in found) + f": {rule.why}"))
    steps += _mkl_reset(snapshot, target, data, env)
    steps += _pin_resets(snapshot, target, env, skip={"mkl"} if steps and steps[-1].packages[:1] and
                         "mkl" in steps[-1].packages[0] else set())
    return steps


def _mkl_reset(snapshot: Snapshot, target: Target, data: MigrateData, env: EnvRef) -> list[Step]:
    if target.installer != "conda" or target.family not in data.mkl.channel_for_family:
        return []
    want = data.mkl.channel_for_family[target.family]
    wrong = [p for p in snapshot.of("conda") if p.name in data.mkl.packages and p.channel and p.channel != want]
    pins = {s.name: s for s in target.specs if s.role == "pin"}
    violated = [p for p in snapshot.of("conda") if p.name in data.mkl.packages and p.name in pins
                and _violates(snapshot, pins[p.name])]
    if not wrong and not violated:
        return []
    names = list(dict.fromkeys(p.name for p in wrong + violated))
    specs = tuple(f"{want}::{n}{pins[n].constraint if n in pins else ''}" for n in names)
    why = [data.mkl.why.format(current=p.channel, family=target.family) for p in wrong[:1]]
    why += [f"{p.describe()} breaks the target: {pins[p.name].why}" for p in violated]
    return [Step("reset", specs, ("conda", "install", "--yes", *env.conda_args(), *specs, "--override-channels",
                                  "-c", want), "; ".join(why))]


def _pin_resets(snapshot: Snapshot, target: Target, env: EnvRef, skip: set[str]) -> list[Step]:
    steps = []
    for spec in target.specs:
        if spec.role != "pin" or spec.name in skip or spec.name.startswith("mkl"):
            continue
        pkg = _violates(snapshot, spec)
        if pkg is None:
            continue
        why = f"{pkg.describe()} is installed; {spec.why or 'the target pins ' + spec.spec}"
        steps.append(Step("reset", (spec.spec,), _install_argv(target, env, [spec.spec]), why))
    return steps


def _install_argv(target: Target, env: EnvRef, specs: list[str]) -> tuple[str, ...]:
    if target.installer == "conda":
        argv = ["conda", "install", "--yes", *env.conda_args(), *specs]
        for ch in target.channels:
            argv += ["-c", ch]
        if target.override_channels:
            argv.append("--override-channels")
        return tuple(argv)
    return ("python", "-m", "pip", "install", *specs)


def install_step(target: Target, env: EnvRef) -> Step:
    argv = list(target.install)
    if argv[:2] == ["conda", "install"]:
        argv[2:2] = ["--yes", *env.conda_args()]
    elif argv[:2] == ["conda-lock", "install"]:
        if not env.conda_args():
            from envgen.errors import BadInput

            raise BadInput("conda-lock install needs the environment to build",
                           hint="pass --name or --prefix (or keep the conda-<platform>.lock that envgen lock writes "
                                "beside conda-lock.yml, which installs into the current environment)")
        argv[2:2] = env.conda_args()
    elif argv[:1] == ["pip"]:
        argv = ["python", "-m", *argv]
    specs = tuple(s.spec for s in target.specs)
    only = " only (--override-channels)" if target.override_channels else ""
    where = (f"channels {', '.join(target.channels)}" + only
             if target.installer == "conda" else "the pip index the matrix names")
    return Step("install", specs, tuple(argv), f"install {target.description} from {where}")


def verify_step(target: Target, python: str = "python") -> Step:
    """Import torch, print version, CUDA build and availability; fail, saying why, unless the version and CUDA
    build match and a CUDA build can use the NVIDIA GPU the machine has."""
    version = str(target.torch) if target.torch else "-"
    cuda = "-"
    if target.accel is not None and target.accel.kind == "cuda":
        cuda = target.accel.dotted
    elif target.accel is not None and target.accel.kind == "cpu":
        cuda = "None"
    return Step("verify", (), (python, "-c", VERIFY_CODE, version, cuda),
                f"check that torch {version} ({target.accel.describe() if target.accel else 'any build'}) imports "
                "and, as a CUDA build on a machine with an NVIDIA GPU, can use CUDA")
