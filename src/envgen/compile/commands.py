"""Stack -> the install command a careful maintainer would give for that era."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envgen.compile.stack import Pin, Stack

# characters that make a shell do something other than pass the word through
_SPECIAL = set(" <>|&*?!;()$`'\"^%[]{}~#")


@dataclass(frozen=True, slots=True)
class InstallCommand:
    installer: str
    platform: str
    variant: str
    python: str
    route: str
    command: str
    argv: tuple[str, ...]
    then: tuple[tuple[str, ...], ...]  # further commands (pip companions of a conda install)
    packages: tuple[Pin, ...]
    channels: tuple[str, ...]
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "installer": self.installer, "platform": self.platform, "variant": self.variant,
            "python": self.python, "route": self.route, "command": self.command,
            "packages": [_pin_json(p) for p in self.packages], "channels": list(self.channels),
            "index_url": self.index_url,  # null where the command names none: every object has the same keys
        }
        data["extra_index_urls"] = list(self.extra_index_urls)
        data["find_links"] = list(self.find_links)
        data["notes"] = list(self.notes)
        return data


def _pin_json(pin: Pin) -> dict[str, Any]:
    exact = (pin.constraint.startswith("=") and not pin.constraint.startswith("==")) or pin.constraint.startswith("==")
    data: dict[str, Any] = {"name": pin.name, "version": pin.version if exact else pin.constraint, "role": pin.role}
    if pin.build:
        data["build"] = pin.build
    if pin.channel:
        data["channel"] = pin.channel
    if pin.url:
        data["url"] = pin.url
    if pin.pip:
        data["installer"] = "pip"
    if pin.yanked:
        data["yanked"] = pin.yanked
    return data


def install_command(stack: Stack) -> InstallCommand:
    argvs = [conda_argv(stack)] if stack.installer == "conda" else [pip_argv(stack)]
    if stack.installer == "conda" and stack.pip_pins():
        argvs.append(["pip", "install"] + [p.pip_spec() for p in stack.pip_pins()])
    return InstallCommand(
        installer=stack.installer, platform=stack.platform, variant=stack.accel.tag, python=str(stack.python),
        route=stack.route.id, command=" && ".join(display(a) for a in argvs), argv=tuple(argvs[0]),
        then=tuple(tuple(a) for a in argvs[1:]), packages=stack.all_pins(),
        channels=stack.channels, index_url=stack.index_url, extra_index_urls=stack.extra_index_urls,
        find_links=stack.find_links, notes=stack.notes)


def conda_argv(stack: Stack, verb: str = "install") -> list[str]:
    argv = ["conda", verb]
    if verb == "create":
        argv += ["-n", f"torch-{stack.torch}-{stack.accel.tag}", f"python={stack.python}"]
    argv += [p.conda_spec() for p in stack.conda_pins()]
    for channel in stack.channels:
        argv += ["-c", channel]
    if stack.route.override_channels:
        argv.append("--override-channels")
    return argv


def pip_argv(stack: Stack) -> list[str]:
    argv = ["pip", "install"] + [p.pip_spec() for p in stack.all_pins()]
    if stack.index_url:
        argv += ["--index-url", stack.index_url]
    for url in stack.extra_index_urls:
        argv += ["--extra-index-url", url]
    for url in stack.find_links:
        argv += ["-f", url]
    return argv


def display(argv: list[str]) -> str:
    """One line to paste: words with shell-special characters in double quotes (same in bash, PowerShell, cmd)."""
    return " ".join(f'"{w}"' if (set(w) & _SPECIAL and "://" not in w) else w for w in argv)
