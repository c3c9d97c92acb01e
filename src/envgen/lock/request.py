"""`LockRequest`: the flags of `envgen lock` that decide what is locked, as one frozen value (recorded in a lock's
inputs, `envgen.lock.recipe`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LockRequest:
    """The flags of `envgen lock` that decide what is locked (not where from, how fast or through which mirror).

    `from_` is the environment file's path as the command was given it; a recorded request holds it relative to
    the lock folder (see `envgen.lock.recipe`)."""

    torch: str | None = None
    cuda: str | None = None
    rocm: str | None = None
    cpu: bool = False
    platforms: tuple[str, ...] = ()
    installer: str | None = None
    channel: str | None = None
    python: str | None = None
    with_: str | None = None
    from_: str | None = None
    packages: tuple[str, ...] = ()
    priority: str = "strict"
    virtual: tuple[str, ...] = ()
    exclude_newer: str | None = None  # as given: a date, a time, `release` or `release+90d`
    group: tuple[str, ...] = ()  # pyproject extras / dependency groups, pixi environments / features of `from_`

    FLAGS = (("torch", "--torch"), ("cuda", "--cuda"), ("rocm", "--rocm"), ("installer", "--installer"),
             ("channel", "--channel"), ("python", "--python"), ("with_", "--with"), ("from_", "--from"),
             ("exclude_newer", "--exclude-newer"))

    @property
    def empty(self) -> bool:
        """No flag that decides what is locked was given (then a recorded request is used, where there is one)."""
        return self == LockRequest()

    def words(self) -> list[str]:
        """The request as `envgen lock` flags (without -o and the extra packages), in a fixed order."""
        out: list[str] = []
        for key, flag in self.FLAGS:
            value = getattr(self, key)
            if value is not None:
                out += [flag, str(value)]
        if self.cpu:
            out.append("--cpu")
        for plat in self.platforms:
            out += ["--platform", plat]
        if self.priority != "strict":
            out += ["--channel-priority", self.priority]
        for v in self.virtual:
            out += ["--virtual", v]
        for g in self.group:
            out += ["--group", g]
        return out

    def command(self, out: str, *extra: str) -> str:
        """The shell command line that asks for this request into `out`."""
        return shlex.join(["envgen", "lock", *self.words(), *extra, "-o", out, *self.packages])
