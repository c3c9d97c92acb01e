"""Resolved Stacks and/or a user's environment.yml -> the `LockSpec` the lock engine takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envgen.compile.envfile import EnvFile, read_environment_yml
from envgen.compile.stack import Pin, Stack
from envgen.errors import BadInput
from envgen.lock.records import VirtualPkg
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


def _known(matrix: Matrix) -> dict[str, str]:
    return {cid: ch.url for cid, ch in matrix.channels.items() if ch.kind == "conda"}


def _conda_spec(pin: Pin, known: dict[str, str]) -> str:
    spec = pin.conda_spec()
    return qualify(spec, known) if "::" in spec else spec


def conda_part(matrix: Matrix, stack: Stack, options: LockOptions) -> CondaPart:
    known = _known(matrix)
    pins = stack.packages + stack.constraints
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
    for s in stacks:
        by_plat.setdefault(s.platform, {})[s.installer] = s
    for plat in platforms or []:
        by_plat.setdefault(plat, {})
    out = []
    for plat in sorted(by_plat):
        conda_stack, pip_stack = by_plat[plat].get("conda"), by_plat[plat].get("pip")
        conda = conda_part(matrix, conda_stack, options) if conda_stack else None
        pip = pip_part(matrix, pip_stack) if pip_stack else None
        pip_in_conda = False
        if env is not None:
            conda, pip, pip_in_conda = _merge_env(matrix, plat, env, conda, pip, options)
        if conda is None and pip is None:
            continue
        out.append(PlatformSpec(plat, conda, pip, pip_in_conda))
    if not out:
        raise BadInput("nothing to lock", hint="give --torch/--cuda/--cpu flags or --from environment.yml")
    return LockSpec(tuple(out), options.command, reasons(stacks), renames(matrix))


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
               options: LockOptions) -> tuple[CondaPart, PipPart | None, bool]:
    known = _known(matrix)
    names = [c for c in env["channels"] if c != "nodefaults"]
    file_channels = [channel_url(c, known) for c in names]
    specs = [qualify(s, known) for s in env["conda"]]
    if conda is None:
        conda = CondaPart(tuple(specs), tuple(dict.fromkeys(file_channels)), options.priority,
                          virtual_for(plat, None, dict(options.virtual)))
    else:
        channels = tuple(dict.fromkeys(list(conda.channels) + file_channels))
        conda = CondaPart(conda.specs + tuple(s for s in specs if s not in conda.specs), channels,
                          conda.priority, conda.virtual)
    if not conda.channels:
        raise BadInput("the environment file names no channels", hint="add a `channels:` list, e.g. [conda-forge]")
    if not env["pip"]:
        return conda, pip, False
    reqs = tuple(env["pip"]) + (pip.requirements if pip else ())
    merged = PipPart(reqs, "", env["index_url"] or (pip.index_url if pip else default_index(matrix)),
                     tuple(env["extra_index_urls"]) + (pip.extra_index_urls if pip else ()),
                     tuple(env["find_links"]) + (pip.find_links if pip else ()))
    return conda, merged, True


def load_env(path: Path) -> EnvFile:
    return read_environment_yml(path)
