"""Selection flags (torch, variant, python, platform, installer, channel) -> Requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from packaging.version import Version

from envgen.compile.stack import DEFAULT_COMPANIONS, ROLES, Request
from envgen.errors import BadInput
from envgen.matrix import Matrix
from envgen.models import Accel, PyVer, check_platform, host_platform, parse_version


class AutoChoice(Protocol):
    """What this machine should run for one platform and installer: the torch (None: nothing fits), the
    accelerator and the reasons, in words."""

    @property
    def torch(self) -> Version | None: ...
    @property
    def accel(self) -> Accel: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...


#: How `--cuda auto` is answered: (matrix, torch or None, platform, installer) -> AutoChoice. The CLI passes
#: one that probes the machine (`envgen.doctor`); compile itself never probes.
AutoDetect = Callable[[Matrix, "Version | None", str, str], AutoChoice]


def parse_accel(cuda: str | None, rocm: str | None, cpu: bool, xpu: bool = False) -> Accel | str | None:
    """The variant flags; returns 'auto' for --cuda auto (resolved by detection)."""
    given = [x for x in (cuda, rocm, cpu or None, xpu or None) if x]
    if len(given) > 1:
        raise BadInput("choose one variant: --cuda, --rocm, --cpu or --xpu",
                       hint="pass only one of --cuda X, --rocm X, --cpu, --xpu (or none for the newest CUDA build)")
    if cuda is not None:
        if cuda.strip().lower() == "auto":
            return "auto"
        accel = Accel.parse(cuda)
        if accel.kind != "cuda":
            raise BadInput(f"--cuda expects a CUDA version, got {cuda!r}", hint="e.g. --cuda 10.2 or --cuda cu102")
        return accel
    if rocm is not None:
        text = rocm if rocm.lower().startswith("rocm") else f"rocm{rocm}"
        return Accel.parse(text)
    if cpu:
        return Accel("cpu")
    if xpu:
        return Accel("xpu")
    return None


def parse_companions(with_: str | None) -> tuple[str, ...]:
    if with_ is None:
        return DEFAULT_COMPANIONS
    items = tuple(x.strip() for x in with_.split(",") if x.strip())
    for item in items:
        if item not in ROLES[1:]:
            raise BadInput(f"unknown companion {item!r}", hint="--with takes torchvision, torchaudio, torchtext")
    return items


def parse_installer(installer: str | None) -> str | None:
    if installer in (None, "both", "all"):
        return None
    if installer not in ("conda", "pip"):
        raise BadInput(f"unknown installer {installer!r}", hint="use conda, pip or both")
    return installer


def parse_family(matrix: Matrix, channel: str | None, installer: str | None) -> tuple[str | None, str | None]:
    """--channel: a conda channel or pip index family of the matrix's routes; it also fixes the installer."""
    if channel is None:
        return None, installer
    families = {r.family: r.installer for r in matrix.routes.values()}
    if channel not in families:
        raise BadInput(f"unknown channel {channel!r}", hint="use one of: " + ", ".join(sorted(families)))
    implied = families[channel]
    if installer and installer != implied:
        raise BadInput(f"--channel {channel} is a {implied} source but --installer {installer} was given",
                       hint=f"drop --installer, or use --installer {implied}; the {installer} sources are: "
                            + ", ".join(sorted(f for f, i in families.items() if i == installer)))
    return channel, implied


def build_requests(matrix: Matrix, *, torch: str | None, cuda: str | None, rocm: str | None, cpu: bool,
                   xpu: bool = False, python: str | None, platforms: list[str] | None, installer: str | None,
                   channel: str | None = None, with_: str | None = None,
                   detect: AutoDetect | None = None) -> list[Request]:
    """One Request per platform asked for (the host platform when none is). `--cuda auto` asks `detect`."""
    plats = [check_platform(p) for p in (platforms or [host_platform()])]
    inst = parse_installer(installer)
    family, inst = parse_family(matrix, channel, inst)
    accel = parse_accel(cuda, rocm, cpu, xpu)
    torch_v = parse_version(torch, "torch version") if torch else None
    py = PyVer.parse(python) if python else None
    companions = parse_companions(with_)
    if isinstance(accel, str):  # "auto"
        if detect is None:
            raise BadInput("--cuda auto needs a probe of this machine", hint="give a CUDA version instead")
        return _auto_requests(matrix, detect, plats, torch_v, py, inst, family, companions)
    return [Request(torch=torch_v, accel=accel, platform=plat, python=py, installer=inst, family=family,
                    companions=companions) for plat in dict.fromkeys(plats)]


def _auto_requests(matrix: Matrix, detect: AutoDetect, plats: list[str], torch_v: Version | None,
                   py: PyVer | None, inst: str | None, family: str | None,
                   companions: tuple[str, ...]) -> list[Request]:
    """`--cuda auto`: detection per platform and installer (the best variant differs between them), with reasons."""
    out = []
    for plat in dict.fromkeys(plats):
        for installer in ([inst] if inst else ["conda", "pip"]):
            choice = detect(matrix, torch_v, plat, installer)
            if choice.torch is None and inst is None:
                continue  # nothing of this installer for this platform: the other one answers
            notes = tuple(f"--cuda auto: {r}" for r in choice.reasons)
            out.append(Request(torch=torch_v or choice.torch, accel=choice.accel, platform=plat, python=py,
                               installer=installer, family=family, companions=companions, notes=notes))
    return out
