"""A reader for one matrix file that collects every problem with its place instead of stopping at the first."""

from __future__ import annotations

from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envgen.errors import BadInput
from envgen.models import Accel, PyVer

MISSING = object()


class Reader:
    """Typed access to parsed YAML; problems are recorded as 'matrices/FILE:LINE: PATH: message'."""

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = problems

    def problem(self, path: str, message: str, node: Any = None, key: Any = None) -> None:
        line = _line_of(node, key)
        where = f"matrices/{self.file}:{line}" if line else f"matrices/{self.file}"
        self.problems.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")

    def mapping(self, node: Any, path: str) -> dict[str, Any]:
        if isinstance(node, dict):
            return node
        self.problem(path, f"expected a mapping, got {_kind(node)}", node)
        return {}

    def seq(self, node: Any, path: str) -> list[Any]:
        if node is None:
            return []
        if isinstance(node, list):
            return node
        self.problem(path, f"expected a list, got {_kind(node)}", node)
        return []

    def field(self, node: dict[str, Any], key: str, path: str, default: Any = MISSING) -> Any:
        if key in node:
            return node[key]
        if default is MISSING:
            self.problem(path, f"missing field '{key}'", node)
            return None
        return default

    def unknown_keys(self, node: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in node:
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown field '{key}' (known: {', '.join(sorted(allowed))})",
                             node, key)

    def text(self, node: dict[str, Any], key: str, path: str, default: Any = MISSING) -> str | None:
        value = self.field(node, key, path, default)
        if value is None or value is default:
            return value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        self.problem(f"{path}.{key}", f"expected text, got {_kind(value)}", node, key)
        return None

    def strings(self, node: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        out = []
        for i, item in enumerate(self.seq(value, f"{path}.{key}")):
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out.append(str(item))
            else:
                self.problem(f"{path}.{key}[{i}]", f"expected text, got {_kind(item)}", value, i)
        return tuple(out)

    def version(self, value: Any, path: str, node: Any = None, key: Any = None) -> Version | None:
        try:
            return Version(str(value))
        except InvalidVersion:
            self.problem(path, f"invalid version {value!r}", node, key)
            return None

    def driver(self, value: Any, path: str, node: Any = None, key: Any = None) -> Version | None:
        """An NVIDIA driver version, kept as written (see envgen.models.DriverVersion)."""
        from envgen.models import DriverVersion

        try:
            return DriverVersion(str(value))
        except InvalidVersion:
            self.problem(path, f"invalid driver version {value!r}", node, key)
            return None

    def specifier(self, value: Any, path: str, node: Any = None, key: Any = None) -> SpecifierSet:
        if value in (None, "", "*"):
            return SpecifierSet()
        try:
            return SpecifierSet(str(value))
        except InvalidSpecifier:
            self.problem(path, f"invalid version range {value!r} (write it like '>=1.8,<2.0')", node, key)
            return SpecifierSet()

    def accel(self, value: Any, path: str, node: Any = None, key: Any = None) -> Accel | None:
        try:
            return Accel.parse(str(value))
        except BadInput:
            self.problem(path, f"unknown variant {value!r} (cpu, cuXY, rocmX.Y, xpu, mps)", node, key)
            return None

    def pythons(self, value: Any, path: str, node: Any = None, key: Any = None) -> tuple[PyVer, ...]:
        """A list of '3.8', '3.13t' or ranges '3.8-3.12'; a single string is accepted too."""
        items = [value] if isinstance(value, (str, int, float)) else (value if isinstance(value, list) else None)
        if items is None:
            self.problem(path, f"expected Python versions, got {_kind(value)}", node, key)
            return ()
        out: list[PyVer] = []
        for item in items:
            text = str(item).strip()
            try:
                if "-" in text:
                    low, high = (PyVer.parse(p) for p in text.split("-", 1))
                    if low.version.major != high.version.major or low.version > high.version:
                        raise BadInput("bad range")
                    out += [PyVer.parse(f"{low.version.major}.{m}")
                            for m in range(low.version.minor, high.version.minor + 1)]
                else:
                    out.append(PyVer.parse(text))
            except BadInput:
                self.problem(path, f"invalid Python version or range {text!r}", node, key)
        return tuple(sorted(set(out), key=lambda p: p.sort_key))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}.get(type(value), type(value).__name__)


def _line_of(node: Any, key: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is not None:
            pos = lc.key(key) if isinstance(node, dict) else lc.item(key)
            return int(pos[0]) + 1
        return int(lc.line) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return lc.line + 1 if getattr(lc, "line", None) is not None else None
