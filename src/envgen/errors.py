"""The error vocabulary of envgen. Library code raises these; only the CLI prints and exits."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # findings, pending changes, drift
    BAD_INPUT = 2  # bad input, refusals, malformed matrix
    OUTSIDE = 3  # network, subprocess, file system outside our control


class EnvgenError(Exception):
    """Base error: a message, an optional hint and the context it happened in."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None, context: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = dict(context or {})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.message, "exit_code": int(self.exit_code)}
        if self.hint:
            data["hint"] = self.hint
        if self.context:
            data["context"] = self.context
        return data


class BadInput(EnvgenError):
    exit_code = ExitCode.BAD_INPUT


class Refusal(BadInput):
    """A request for a combination that does not exist, with the nearest ones that do."""

    def __init__(self, message: str, *, alternatives: tuple[str, ...] = (), hint: str | None = None,
                 context: dict[str, Any] | None = None):
        if alternatives and hint is None:
            hint = "nearest valid: " + "; ".join(alternatives)
        super().__init__(message, hint=hint, context=context)
        self.alternatives = tuple(alternatives)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["alternatives"] = list(self.alternatives)
        return data


class MatrixError(BadInput):
    """A malformed matrix: every problem, each with its place (file: path: message)."""

    def __init__(self, problems: list[str]):
        shown = "\n  ".join(problems)
        super().__init__(
            f"the matrix has {len(problems)} problem(s):\n  {shown}",
            hint="fix the rows named above; matrices/README.md documents the schema",
        )
        self.problems = list(problems)


class OutsideFailure(EnvgenError):
    exit_code = ExitCode.OUTSIDE
