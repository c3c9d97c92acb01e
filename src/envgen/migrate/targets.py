"""The migration target from a resolved `Stack`, a user's environment.yml, or a lockfile `envgen lock` wrote.

Each becomes a `plan.Target`: the installer, the torch version and variant, the package specs (with their
roles, for the diff) and the install command. Lockfiles are installed as they are (`conda install --file`,
`conda-lock install`, `pip install --require-hashes -r`, `uv pip install -r pylock.toml`).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

from envgen.compile.stack import Stack
from envgen.errors import BadInput
from envgen.fileio import read_text
from envgen.lock.read import checked_text, claims_envgen
from envgen.matrix.migrate import MigrateData
from envgen.migrate.listings import safe_url
from envgen.migrate.packages import Package, Snapshot, conda_accel, conda_package, pip_accel
from envgen.migrate.plan import Spec, Target
from envgen.models import Accel

ROLES = ("torch", "torchvision", "torchaudio", "torchtext")
_SPEC = re.compile(r"^(?:(?P<ch>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")


def from_stack(stack: Stack) -> Target:
    from envgen.compile.commands import conda_argv, install_command, pip_argv

    specs = []
    for pin in stack.all_pins():
        exact = pin.constraint.startswith("=") and pin.role in ROLES
        conda = stack.installer == "conda" and not pin.pip
        specs.append(Spec(pin.name, pin.conda_spec() if conda else pin.pip_spec(), pin.role,
                          version=pin.version if exact else "", constraint=pin.constraint if pin.role == "pin" else "",
                          channel=pin.channel, why=pin.why))
    argv = conda_argv(stack) if stack.installer == "conda" else pip_argv(stack)
    desc = f"torch {stack.torch} ({stack.accel.describe()}, {stack.installer} via {stack.route.id}, {stack.platform})"
    then = install_command(stack).then
    return Target(stack.installer, stack.platform, stack.torch, stack.accel, stack.route.family, tuple(specs),
                  tuple(argv), desc, str(stack.python), stack.channels, stack.route.override_channels, stack.notes,
                  pip_install=then[0] if then else ())


def from_file(path: str | Path, data: MigrateData, platform: str) -> Target:
    """`--to FILE`: environment.yml, an explicit spec, conda-lock.yml, hashed requirements or pylock.toml. A
    file envgen wrote is checked first (its stated records, `envgen.lock.integrity`); a spec from elsewhere (a
    colleague's `conda list --explicit`, a requirements file) claims nothing and is read as written."""
    p = Path(path)
    text = read_text(p, hint="check the path given to --to")
    lines = [ln.strip() for ln in text.splitlines()]
    if claims_envgen(text):  # a lock envgen wrote: its stated records must hold (envgen.lock.integrity)
        text = checked_text(p)
    if "@EXPLICIT" in lines:
        return _from_explicit(p, text, data, platform)
    if (p.name.startswith("pylock") and p.suffix == ".toml") or ("lock-version" in text and "[[packages]]" in text):
        return _from_pylock(p, platform)
    if re.search(r"(?m)^package:\s*$", text) and re.search(r"(?m)^version:\s*1\s*$", text):
        return _from_conda_lock(p, platform)
    if re.search(r"(?m)^dependencies\s*:", text):
        return _from_environment_yml(p, data, platform)
    if any(_REQ_START.match(ln) for ln in lines):
        return _from_requirements(p, text, data, platform)
    raise BadInput(f"{p}: not a target envgen can read",
                   hint="tried: environment.yml, explicit spec (@EXPLICIT), conda-lock.yml (version 1), "
                        "requirements.txt, pylock.toml")


_REQ_START = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*(?:==|@)")


def _torch_facts(packages: list[Package], data: MigrateData) -> tuple[Version | None, Accel | None]:
    torch = next((p for p in packages if data.role_of(p.name, p.installer) == "torch"), None)
    if torch is None:
        return None, None
    accel = conda_accel(torch) if torch.installer == "conda" else pip_accel(torch)
    return torch.public, accel


def _specs_of(packages: list[Package], data: MigrateData) -> tuple[Spec, ...]:
    out = []
    for p in packages:
        role = data.role_of(p.name, p.installer) or "extra"
        spec = (f"{p.name}=={p.version}" if p.installer == "pip" else f"{p.name}={p.version}={p.build}")
        out.append(Spec(p.name, spec, role, version=p.version, channel=p.channel))
    return tuple(out)


def _family(channels: list[str | None], data: MigrateData) -> str | None:
    """The route family a conda channel serves (a route's first channel names it: pytorch-lts -> pytorch)."""
    from envgen.matrix import load_matrix

    families = {r.channels[0]: r.family for r in load_matrix().routes.values() if r.installer == "conda" and r.channels}
    return next((families[c] for c in channels if c in families), None)


def _lock_target(installer: str, platform: str, packages: list[Package], argv: tuple[str, ...], p: Path,
                 data: MigrateData, channels: tuple[str, ...] = ()) -> Target:
    torch, accel = _torch_facts(packages, data)
    kept = [x for x in packages if data.role_of(x.name, x.installer)]
    family = _family([x.channel for x in kept], data) if installer == "conda" else None
    desc = f"the lockfile {p.name}" + (f" (torch {torch}, {accel.describe()})" if torch and accel else "")
    return Target(installer, platform, torch, accel, family, _specs_of(kept, data), argv, desc,
                  channels=channels if installer == "conda" else ())


def _from_explicit(p: Path, text: str, data: MigrateData, platform: str) -> Target:
    from envgen.migrate.listings import conda_explicit

    snap = conda_explicit(text, data, str(p))
    if snap.platform and snap.platform != platform:
        raise BadInput(f"{p} is an explicit spec for {snap.platform}, not {platform}",
                       hint=f"pass --platform {snap.platform} or the lock for {platform}")
    channels = tuple(dict.fromkeys(x.channel for x in snap.packages if x.channel))
    return _lock_target("conda", platform, list(snap.packages), ("conda", "install", "--file", str(p)), p, data,
                        channels)


def _from_conda_lock(p: Path, platform: str) -> Target:
    from envgen.lock.read import read_conda_lock as parse_lock
    from envgen.matrix.migrate import load_migrate_data

    data = load_migrate_data()
    lock = parse_lock(p)
    if platform not in lock.platforms:
        raise BadInput(f"{p} has no packages for {platform} (it locks {', '.join(lock.platforms)})",
                       hint="pass --platform with one of those, or lock this platform")
    pkgs = [conda_package(c.name, c.version, c.build, data.channel_of(c.channel), f"{p}: {c.name}",
                          safe_url(c.url, f"{p}: {c.name}"))
            for c in lock.conda.get(platform, ())]
    explicit = p.parent / f"conda-{platform}.lock"  # envgen lock writes it beside conda-lock.yml
    if explicit.is_file():  # exact packages, into the environment being migrated
        argv: tuple[str, ...] = ("conda", "install", "--file", str(explicit))
    else:  # conda-lock builds the environment afresh from the lock
        argv = ("conda-lock", "install", "--platform", platform, str(p))
    channels = tuple(dict.fromkeys(x.channel for x in pkgs if x.channel))
    return _lock_target("conda", platform, pkgs, argv, p, data, channels)


def _from_requirements(p: Path, text: str, data: MigrateData, platform: str) -> Target:
    from envgen.migrate.listings import pip_lines

    joined = re.sub(r"\\\r?\n", " ", text)
    lines = [re.sub(r"\s--hash[= ]\S+", "", ln) for ln in joined.splitlines()]
    pkgs = pip_lines(lines, str(p), numbered=True)
    hashed = "--hash" in text
    argv = ("pip", "install", *(("--require-hashes",) if hashed else ()), "--no-deps", "-r", str(p))
    return _lock_target("pip", platform, pkgs, argv, p, data)


def _from_pylock(p: Path, platform: str) -> Target:
    from envgen.lock.read import read_pylock
    from envgen.matrix.migrate import load_migrate_data
    from envgen.migrate.packages import pip_package

    data = load_migrate_data()
    pkgs = [pip_package(w.name, w.version, f"{p}: {w.name}", w.url) for w in read_pylock(p, platform)]
    hashed = p.parent / f"requirements-{p.stem.split('.', 1)[1] if '.' in p.stem else platform}.txt"
    if hashed.is_file():  # envgen lock writes it beside the pylock: plain pip installs it, hashes checked
        argv: tuple[str, ...] = ("python", "-m", "pip", "install", "--no-deps", "--require-hashes", "-r", str(hashed))
    else:  # pip cannot install a pylock yet; uv can (it must be on PATH in the environment being changed)
        argv = ("uv", "pip", "install", "--no-deps", "-r", str(p))
    return _lock_target("pip", platform, pkgs, argv, p, data)


def _from_environment_yml(p: Path, data: MigrateData, platform: str) -> Target:
    from envgen.compile.envfile import read_environment_yml

    env = read_environment_yml(p)
    # a channel URL with a token or password becomes its channel id or a credential-free URL: the install
    # command must not carry the secret (conda finds the credentials in its token store or .netrc)
    channels = tuple(str(data.channel_of(c)) for c in env["channels"] if c and c != "nodefaults")
    specs, packages = [], []
    for raw in env["conda"]:
        m = _SPEC.match(raw)
        if m is None:
            raise BadInput(f"{p}: {raw!r} is not a conda spec", hint="write it as name=version or name<version")
        name, rest = m["name"], m["rest"].replace(" ", "")
        role = data.role_of(name, "conda") or ("pin" if rest[:1] in "<>!~" else "extra")
        version = rest.lstrip("=").split("=")[0] if rest.startswith("=") else ""
        build = rest.lstrip("=").split("=")[1] if rest.startswith("=") and rest.lstrip("=").count("=") else None
        specs.append(Spec(name, raw, role, version=version if role in ROLES else "",
                          constraint=rest if role == "pin" else "", channel=m["ch"]))
        if role == "torch":
            packages.append(Package(name, version, "conda", m["ch"], build))
    torch = next((s for s in specs if s.role == "torch"), None)
    version = _version(torch.version if torch else "")
    accel = conda_accel(packages[0]) if packages else None
    accel = accel or _accel_from_selectors([s.name + s.spec[len(s.name):] for s in specs])
    argv = ("conda", "install", *[s.spec for s in specs], *[w for c in channels for w in ("-c", c)],
            *(("--override-channels",) if "nodefaults" in env["channels"] else ()))
    desc = f"{p.name}" + (f" (torch {version})" if version else "")
    family = _family([torch.channel if torch else None, *channels], data)
    return Target("conda", platform, version, accel, family, tuple(specs), argv, desc, channels=channels,
                  override_channels="nodefaults" in env["channels"])


def _version(text: str) -> Version | None:
    try:
        return Version(text.rstrip(".*")) if text else None
    except InvalidVersion:
        return None


def _accel_from_selectors(specs: list[str]) -> Accel | None:
    """CUDA from cuda-version=X / pytorch-cuda=X / cudatoolkit=X, CPU from cpuonly."""
    for spec in specs:
        m = re.match(r"^(?:cuda-version|pytorch-cuda|cudatoolkit)\s*=+\s*(\d+\.\d+)", spec)
        if m:
            return Accel.parse(m.group(1))
        if spec.strip() == "cpuonly":
            return Accel("cpu")
    return None


def snapshot_python(snapshot: Snapshot) -> str | None:
    """The Python minor version of a conda snapshot ('3.6'), or None."""
    py = snapshot.find("python", "conda")
    if py is None or py.pep440 is None:
        return None
    return f"{py.pep440.major}.{py.pep440.minor}"
