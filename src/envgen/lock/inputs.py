"""What a lock is asked for (`LockRequest`: the flags that matter) and how it becomes the `LockSpec` the lock
engine takes: resolved Stacks and/or a user's environment.yml, plus extra packages."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from envgen.compile import wheels
from envgen.compile.envfile import EnvFile
from envgen.compile.selection import AutoDetect
from envgen.compile.stack import Pin, Stack
from envgen.errors import BadInput
from envgen.lock.records import VirtualPkg
from envgen.lock.request import LockRequest
from envgen.lock.spec import (
    CondaPart,
    LockSpec,
    PipPart,
    PlatformSpec,
    channel_url,
    qualify,
    virtual_for,
)
from envgen.matrix import Matrix


@dataclass(frozen=True, slots=True)
class LockOptions:
    priority: str = "strict"
    virtual: tuple[tuple[str, VirtualPkg | None], ...] = ()
    command: str = "envgen lock"
    python: str | None = None  # --python: the Python a pip-only input file is locked for


def _known(matrix: Matrix) -> dict[str, str]:
    return {cid: ch.url for cid, ch in matrix.channels.items() if ch.kind == "conda"}


def _conda_spec(pin: Pin, known: dict[str, str]) -> str:
    spec = pin.conda_spec()
    return qualify(spec, known) if "::" in spec else spec


FAMILY_ROLES = ("torch", "torchvision", "torchaudio", "torchtext", "selector")


def conda_part(matrix: Matrix, stack: Stack, options: LockOptions, pin_family: bool = False) -> CondaPart:
    """The conda half of a stack. `pin_family`: the stack joins a user's channel list (an environment file), where
    an earlier channel could shadow the family's torch under strict priority; its torch, companions and build
    selectors are then taken from the family's own channel by name (`pytorch::pytorch`)."""
    known = _known(matrix)
    pins = stack.packages + stack.constraints
    if pin_family and stack.channels:
        pins = tuple(dataclasses.replace(p, channel=stack.channels[0])
                     if p.channel is None and p.role in FAMILY_ROLES and not p.pip else p for p in pins)
    specs = [_conda_spec(p, known) for p in pins]
    if not any(p.name == "python" for p in pins):
        specs.append(f"python={stack.python.version}")
    channels = [u.rstrip("/") for u in stack.channel_urls]
    if not stack.route.override_channels and "defaults" in known and known["defaults"] not in channels:
        channels.append(known["defaults"].rstrip("/"))  # `-c X` means X, then defaults
    cuda = stack.accel.dotted if stack.accel.kind == "cuda" else None
    return CondaPart(tuple(specs), tuple(channels), options.priority,
                     virtual_for(stack.platform, cuda, dict(options.virtual)))


def default_index(matrix: Matrix) -> str | None:
    """pip's default index (from the matrix), named explicitly so that mirrors apply to it too."""
    pypi = matrix.channels.get("pypi")
    return pypi.url if pypi is not None else None


def pip_part(matrix: Matrix, stack: Stack) -> PipPart:
    reqs = tuple(p.pip_spec() for p in stack.packages + stack.constraints)
    return PipPart(reqs, str(stack.python.version), stack.index_url or default_index(matrix), stack.extra_index_urls,
                   stack.find_links)


def reasons(stacks: list[Stack]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for s in stacks:
        for p in s.packages + s.constraints:
            if p.why and p.role not in ("torch",):
                spec = p.conda_spec() if s.installer == "conda" and not p.pip else p.pip_spec()
                found.setdefault(p.name, f"{spec}: {p.why}")
        if s.driver_floor is not None and s.accel.kind == "cuda":
            found.setdefault("__cuda", f"CUDA {s.accel.dotted} needs an NVIDIA driver >= {s.driver_floor} "
                                       f"({s.platform})")
    return tuple(sorted(found.items()))


def from_stacks(matrix: Matrix, stacks: list[Stack], options: LockOptions,
                env: EnvFile | None = None, platforms: list[str] | None = None) -> LockSpec:
    """One PlatformSpec per platform: the conda stack, the pip stack, and the environment file's packages."""
    by_plat: dict[str, dict[str, Stack]] = {}
    notes: tuple[str, ...] = ()
    for s in stacks:
        by_plat.setdefault(s.platform, {})[s.installer] = s
    for plat in platforms or []:
        by_plat.setdefault(plat, {})
    out = []
    for plat in sorted(by_plat):
        conda_stack, pip_stack = by_plat[plat].get("conda"), by_plat[plat].get("pip")
        conda = conda_part(matrix, conda_stack, options, env is not None) if conda_stack else None
        pip = pip_part(matrix, pip_stack) if pip_stack else None
        pip_in_conda = False
        if env is not None:
            conda, pip, pip_in_conda, found = _merge_env(matrix, plat, env, conda, pip, options)
            notes += found
        if conda is None and pip is None:
            continue
        out.append(PlatformSpec(plat, conda, pip, pip_in_conda))
    if not out:
        raise BadInput("nothing to lock", hint="give --torch/--cuda/--cpu flags or --from environment.yml")
    notes += tuple(dict.fromkeys(f"{s.platform}: {wheels.yank_note(p.name, p.version, p.yanked, str(s.torch))}"
                                 for s in stacks for p in s.all_pins() if p.yanked))
    left = tuple(dict.fromkeys(r for p in out if p.pip for r in p.pip.unlocked))
    if left:
        notes += (f"not locked (no hash can pin them; install them after the environment): {', '.join(left)}",)
    return LockSpec(tuple(out), options.command, reasons(stacks), renames(matrix), notes, _origins(out, env))


def _origins(platforms: list[PlatformSpec], env: EnvFile | None) -> tuple[tuple[str, str], ...]:
    """Which specs came from the environment file; the rest of a part came from the matrix's stack."""
    known = set(env["conda"]) | set(env["pip"]) if env is not None else set()
    found: dict[str, str] = {}
    for p in platforms:
        for item in (p.conda.specs if p.conda else ()) + (p.pip.requirements if p.pip else ()):
            plain_item = item.rpartition("::")[2] if "::" in item else item
            from_file = item in known or plain_item in known or any(k.endswith("::" + plain_item) for k in known)
            found.setdefault(item, "the environment file" if from_file else "the matrix (for the flags)")
    return tuple(sorted(found.items()))


def renames(matrix: Matrix) -> tuple[tuple[str, str], ...]:
    """conda package name -> pip distribution name, from the routes' role names (pytorch -> torch)."""
    found: dict[str, str] = {}
    for route in matrix.routes.values():
        if route.installer == "conda":
            for role, name in route.names.items():
                if name and name != role and name != "-":
                    found.setdefault(name, role)
    return tuple(sorted(found.items()))


def _merge_env(matrix: Matrix, plat: str, env: EnvFile, conda: CondaPart | None, pip: PipPart | None,
               options: LockOptions) -> tuple[CondaPart | None, PipPart | None, bool, tuple[str, ...]]:
    """The file's channels as written (order kept, `nodefaults` honoured); what the matrix's stack needs beyond
    them is added after them, said in a note; a `defaults` requirement moves to its alternative channel when the
    file excludes defaults."""
    known = _known(matrix)
    names = [c for c in env["channels"] if c != "nodefaults"]
    file_channels = [channel_url(c, known) for c in names]
    specs = [qualify(s, known) for s in env["conda"]]
    notes: list[str] = []
    if conda is None and not env["conda"] and not env["channels"]:  # requirements, a plain pyproject.toml
        return None, _pip_only(matrix, plat, env, pip, options), False, ()
    if conda is None:
        cuda = file_cuda(env)
        virtual = virtual_for(plat, cuda, dict(options.virtual), assume=True)
        assumed = next((v.version for v in virtual if v.name == "__cuda"), None)
        if cuda is None and assumed and "__cuda" not in dict(options.virtual):
            notes.append(f"{plat}: __cuda={assumed} assumed (no CUDA version in the request or the file); "
                         "--cuda X or --virtual __cuda=X sets it, --virtual __cuda=none solves for no GPU")
        conda = CondaPart(tuple(specs), tuple(dict.fromkeys(file_channels)), options.priority, virtual)
    else:
        no_defaults = "nodefaults" in env["channels"]
        defaults = known.get("defaults", "").rstrip("/")
        stack_specs = _without_defaults(conda.specs, defaults, known, plat, notes) if no_defaults else conda.specs
        added = [c for c in conda.channels if c not in file_channels and not (no_defaults and c == defaults)]
        added += [s.rpartition("::")[0] for s in stack_specs if "::" in s]
        added = [c for c in dict.fromkeys(added) if c not in file_channels]
        if added and file_channels:
            notes.append(f"{plat}: channels added after the file's own for the matrix's pins: {', '.join(added)}")
        conda = CondaPart(stack_specs + tuple(s for s in specs if s not in stack_specs),
                          tuple(dict.fromkeys(file_channels + added)), conda.priority, conda.virtual)
    if not conda.channels:
        raise BadInput("the environment file names no channels", hint="add a `channels:` list, e.g. [conda-forge]")
    if not env["pip"]:
        return conda, pip, False, tuple(notes)
    return conda, _merge_pip(matrix, env, pip, ""), True, tuple(notes)


def _pip_only(matrix: Matrix, plat: str, env: EnvFile, pip: PipPart | None, options: LockOptions) -> PipPart:
    """A pip-only input (requirements file, pyproject.toml): its requirements, with the matrix's pip stack where
    flags asked for one (its index first); the Python is --python, the stack's, or the newest the file's torch has
    wheels for on this platform."""
    python = options.python or (pip.python if pip else None) or _newest_python(matrix, env, plat)
    if python is None:
        raise BadInput(f"{plat}: a pip-only input needs the Python to lock for",
                       hint="pass --python 3.11 (or name torch in the file, and its newest Python is taken)")
    return _merge_pip(matrix, env, pip, python)


def _merge_pip(matrix: Matrix, env: EnvFile, pip: PipPart | None, python: str) -> PipPart:
    """The file's pip requirements with the matrix's pip stack. The file's index (else PyPI) stays the index; the
    stack's variant index (e.g. the cu121 wheel index) comes first among the extra indexes, where uv looks first,
    so torch and its companions come from it and everything else from the file's index."""
    index = env["index_url"] or default_index(matrix)
    extra = tuple(env["extra_index_urls"])
    if pip is not None:
        extra = tuple(u for u in (pip.index_url,) if u and u != index) + pip.extra_index_urls + extra
    lockable = tuple(r for r in env["pip"] if not unlockable(r))
    return PipPart(lockable + (pip.requirements if pip else ()), python, index,
                   tuple(dict.fromkeys(extra)), tuple(env["find_links"]) + (pip.find_links if pip else ()),
                   tuple(r for r in env["pip"] if unlockable(r)))


_UNLOCKABLE = re.compile(r"^(-e\s|--editable[\s=]|-r\s|--requirement[\s=]|\.|/|~|file:)|(git|hg|svn|bzr)\+|"
                         r"^[A-Za-z]:[\\/]|\s@\s*(https?|file)://")


def unlockable(line: str) -> bool:
    """A pip line no hash can pin: an editable, a local path, a VCS or URL reference, a nested requirements file.
    pip installs these after the locked environment (the lock names them); uv cannot lock them by hash."""
    return bool(_UNLOCKABLE.search(line.strip()))


def _newest_python(matrix: Matrix, env: EnvFile, plat: str) -> str | None:
    from envgen.lock.filetorch import newest_release_allowed

    release = newest_release_allowed(matrix, env)
    pythons = release.python.get(plat, ()) if release is not None else ()
    return str(max(p.version for p in pythons if not p.freethreaded)) if pythons else None


_CUDA_SPEC = re.compile(r"^(?:pytorch-cuda|cuda-version|cudatoolkit)\s*(?:==?|\s)\s*(\d+)\.(\d+)")


def file_cuda(env: EnvFile) -> str | None:
    """The CUDA version an environment file names (`pytorch-cuda=12.1`, `cuda-version=12.4`, `cudatoolkit=11.3`)."""
    for s in env["conda"]:
        m = _CUDA_SPEC.match(s.rpartition("::")[2].strip())
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    return None


def _without_defaults(specs: tuple[str, ...], defaults: str, known: dict[str, str], plat: str,
                      notes: list[str]) -> tuple[str, ...]:
    """Specs naming the defaults channel, moved to their alternative (matrices/defaults_alternatives.yaml)."""
    alternatives = defaults_alternatives()
    out = []
    for s in specs:
        channel, _, rest = s.rpartition("::")
        if not channel or channel.rstrip("/") != defaults:
            out.append(s)
            continue
        name = rest.split()[0].split("=")[0].split("<")[0].split(">")[0]
        if name not in alternatives:
            raise BadInput(f"{plat}: the matrix takes {rest} from the defaults channel, and the environment file "
                           "excludes defaults (nodefaults); no other channel is known to publish it",
                           hint="remove nodefaults from the file's channels, or add a channel that has it and pin "
                                f"`CHANNEL::{name}` in the file")
        alt = alternatives[name]
        out.append(f"{channel_url(alt, known)}::{rest}")
        notes.append(f"{plat}: {rest} from {alt} instead of defaults (the file excludes defaults)")
    return tuple(out)


@functools.cache
def defaults_alternatives() -> dict[str, str]:
    """package -> the channel that publishes what the matrix takes from defaults (the matrix file of that name)."""
    from envgen.fileio import parse_yaml, read_text
    from envgen.matrix import find_matrix_dir

    path = find_matrix_dir() / "defaults_alternatives.yaml"
    data = parse_yaml(read_text(path, hint="reinstall envgen"), str(path), hint="fix the matrix file")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("channel"), str)
                                             and v.get("source") for v in data.values()):
        raise BadInput(f"{path}: each row needs `channel:` and `source:`", hint="fix the matrix file")
    return {str(k): v["channel"] for k, v in data.items()}


def load_env(path: Path, group: tuple[str, ...] = ()) -> EnvFile:
    """The file `--from` names: environment.yml, requirements*.txt, pyproject.toml or pixi.toml (`group`: extras,
    dependency groups, pixi environments or features; see `envgen.compile.sources`)."""
    from envgen.compile.sources import read_inputs

    return read_inputs(path, group)


def spec_for(matrix: Matrix, request: LockRequest, env: EnvFile | None, detect: AutoDetect | None = None,
             command: str = "envgen lock", default_channels: tuple[str, ...] = ()) -> LockSpec:
    """The LockSpec of a request: the matrix's stacks for its flags, the environment file's packages (`env`, read
    by the caller from `request.from_`), and the extra packages."""
    from envgen.lock.spec import check_priority, parse_virtual
    from envgen.models import check_platform, host_platform

    options = LockOptions(check_priority(request.priority), tuple(parse_virtual(list(request.virtual)).items()),
                          command, request.python)
    plats = [check_platform(p) for p in (request.platforms or (env["platforms"] if env else ()) or ())]
    if env is not None and not plats:  # as for flags: this machine's platform when neither names one
        plats = [host_platform()]
    if env is not None and env["conda"] and not env["channels"] and default_channels:  # .condarc `channels:`
        env = EnvFile(**{**env, "channels": list(default_channels)})
    notes: tuple[str, ...] = ()
    if env is not None and _asks_a_build(request):
        from envgen.lock.filetorch import variant_of_file

        label = Path(request.from_).name if request.from_ else "the environment file"
        request, env, notes = variant_of_file(matrix, request, env, label,
                                              lambda r: _stacks(matrix, r, None, plats, detect))
    stacks = _stacks(matrix, request, env, plats, detect)
    spec = _with_extras(from_stacks(matrix, stacks, options, env, plats or None), request.packages)
    if request.exclude_newer:
        spec = _cut_off(matrix, spec, request.exclude_newer, stacks, env)
        notes += (f"nothing newer than {spec.platforms[0].exclude_newer} ({request.exclude_newer}) on either side",)
    return dataclasses.replace(spec, notes=notes + spec.notes)


def _cut_off(matrix: Matrix, spec: LockSpec, value: str, stacks: list[Stack], env: EnvFile | None) -> LockSpec:
    from envgen.lock import cutoff

    date = None
    if cutoff.is_relative(value):
        date = stacks[0].release.date if stacks else _file_release_date(matrix, env)
    when = cutoff.resolve(value, date)
    return dataclasses.replace(spec, platforms=tuple(dataclasses.replace(p, exclude_newer=when)
                                                     for p in spec.platforms))


def _file_release_date(matrix: Matrix, env: EnvFile | None) -> str | None:
    """The release date of the newest torch the environment file's own torch spec allows."""
    if env is None:
        return None
    from envgen.lock.filetorch import newest_release_allowed

    release = newest_release_allowed(matrix, env)
    return release.date if release is not None else None


def _installer_of(env: EnvFile | None) -> str | None:
    """The installer a file implies: pip for a pip-only input (requirements, pyproject), else conda."""
    if env is None:
        return None
    return "pip" if not env["conda"] and not env["channels"] else "conda"


def _asks_a_build(r: LockRequest) -> bool:
    return any([r.torch, r.cuda, r.rocm, r.cpu, r.channel, r.with_])


def _stacks(matrix: Matrix, r: LockRequest, env: EnvFile | None, plats: list[str],
            detect: AutoDetect | None) -> list[Stack]:
    from envgen.compile.resolve import resolve
    from envgen.compile.selection import build_requests

    if env is not None and not _asks_a_build(r):
        return []
    requests = build_requests(matrix, torch=r.torch, cuda=r.cuda, rocm=r.rocm, cpu=r.cpu, python=r.python,
                              platforms=plats or None, installer=r.installer or _installer_of(env),
                              channel=r.channel, with_=r.with_, detect=detect)
    return [s for req in requests for s in resolve(matrix, req)]


def _with_extras(spec: LockSpec, extras: tuple[str, ...]) -> LockSpec:
    if not extras:
        return spec
    plats = []
    for p in spec.platforms:
        conda = dataclasses.replace(p.conda, specs=p.conda.specs + extras) if p.conda else None
        pip = p.pip
        if pip is not None and not p.pip_in_conda:
            pip = dataclasses.replace(pip, requirements=pip.requirements + extras)
        plats.append(dataclasses.replace(p, conda=conda, pip=pip))
    return dataclasses.replace(spec, platforms=tuple(plats),
                               origins=spec.origins + tuple((x, "the command line") for x in extras))
