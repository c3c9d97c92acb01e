"""The per-user cache of the parsed matrix: JSON that is checked type by type on the way back in.

A cache file is data, never code (no pickle, marshal or eval): records are JSON arrays in field order,
versions, ranges, accelerators and Pythons are their text. Reading follows the records' type hints, checks
every value and rebuilds the frozen records with their own constructors, so a file that is broken, truncated,
planted, oversized or stale reads as "no cache" (`read` returns None) and the loader parses the YAML again.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import stat
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen.fileio import write_atomic
from envgen.matrix.model import Matrix
from envgen.matrix.records import Build, Route
from envgen.models import Accel, AccelKind, DriverVersion, PyVer

FORMAT = "envgen-matrix-cache/2"
SUFFIX = ".json"
MAX_BYTES = 16 * 1024 * 1024  # the shipped matrix takes 0.4 MiB
ACCEL_KINDS = frozenset(typing.get_args(AccelKind))

Decode = Callable[[Any], Any]


class BadCache(ValueError):
    """The cache file does not hold a matrix of this code and these files."""


# --- the edges -------------------------------------------------------------------------------------
def read(path: Path, digest: str) -> Matrix | None:
    """The matrix cached at `path` for `digest`; None when there is none or it cannot be trusted."""
    try:
        data = _read_limited(path)
        return None if data is None else decode(data, digest)
    except Exception:  # noqa: BLE001 - whatever a bad file raises (JSON, recursion, memory, I/O): parse the YAML
        return None


def write(path: Path, matrix: Matrix) -> None:
    """Store `matrix` atomically; raises ValueError if it would not read back equal, OutsideFailure on I/O."""
    write_atomic(path, encode(matrix))


def _read_limited(path: Path) -> bytes | None:
    if not path.is_file():
        return None
    # O_NONBLOCK: a FIFO swapped in after the check must not hang the CLI (fstat below then refuses it)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return None
        data = handle.read(MAX_BYTES + 1)
    return data if len(data) <= MAX_BYTES else None


# --- matrix <-> bytes ------------------------------------------------------------------------------
def encode(matrix: Matrix) -> bytes:
    """The cache file for `matrix`, refused (ValueError) unless it decodes to an equal matrix."""
    tree = _encode(matrix)
    data = json.dumps({"format": FORMAT, "digest": matrix.digest, "matrix": tree}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    again = decode(data, matrix.digest)
    if again != matrix or _encode(again) != tree:  # the second test sees text, e.g. a driver's '520.61.05'
        raise BadCache("the matrix does not survive a round trip through the cache format")
    return data


def decode(data: bytes, digest: str) -> Matrix:
    """The matrix in `data`, every value checked against the record types.

    A file that is not one raises: BadCache or another ValueError (JSON, text), RecursionError (nesting).
    """
    doc = json.loads(data)
    if type(doc) is not dict or doc.keys() != {"format", "digest", "matrix"}:
        raise BadCache("not a matrix cache")
    if doc["format"] != FORMAT or doc["digest"] != digest:
        raise BadCache("a cache of another format, other files or other code")
    matrix: Matrix = _Decoder().of(Matrix)(doc["matrix"])
    if matrix.digest != digest:
        raise BadCache("a cache of other files")
    for rel in matrix.releases:  # the lookups that index without a default must find their row
        for build in rel.builds:
            if build.route not in matrix.routes:
                raise BadCache(f"unknown route {build.route!r}")
    return matrix


def _encode(value: Any) -> Any:
    kind = type(value)
    if value is None or kind in (str, int, bool):
        return value
    if kind is tuple:
        return [_encode(v) for v in value]
    if kind is frozenset:
        return sorted(_encode(v) for v in value)  # byte-stable; the records hold sets of text
    if kind is dict:
        return {_key(k): _encode(v) for k, v in value.items()}
    if kind is Version or kind is SpecifierSet or kind is PyVer:
        return str(value)
    if kind is DriverVersion:
        return {"driver": str(value)}
    if kind is Accel:
        return value.kind if value.version is None else f"{value.kind}:{value.version}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [_encode(getattr(value, f.name)) for f in dataclasses.fields(value)]
    raise BadCache(f"cannot cache a {kind.__name__}")


def _key(key: object) -> str:
    if type(key) is str:
        return key
    if type(key) is int:
        return str(key)
    raise BadCache(f"cannot cache a {type(key).__name__} key")


# --- decoding, directed by the type hints -----------------------------------------------------------
class _Decoder:
    """One decoding: a checking function per type, built once, and the text values parsed so far."""

    def __init__(self) -> None:
        self._made: dict[object, Decode] = {}
        self._texts: dict[tuple[type, str], object] = {}

    def of(self, tp: Any) -> Decode:
        made = self._made.get(tp)
        if made is None:
            made = self._made[tp] = self._make(tp)
        return made

    def _make(self, tp: Any) -> Decode:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp in (str, int, bool):
            return _exact(tp)
        if tp in (Version, SpecifierSet, PyVer, Accel):
            return self._text(tp)
        if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
            inner = self.of(next(a for a in args if a is not type(None)))
            return lambda v: None if v is None else inner(v)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return _sequence(tuple, self.of(args[0]), args[0])
        if origin is frozenset:
            return _sequence(frozenset, self.of(args[0]), args[0])
        if origin is dict and args[0] in (str, int):
            return _mapping(args[0] is int, self.of(args[1]))
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self._record(tp)
        raise TypeError(f"the matrix cache cannot hold a {tp!r}")  # a new record type: teach it here

    def _record(self, cls: type) -> Decode:
        hints = _hints(cls)
        parts = [self._overrides() if (cls, f.name) == (Build, "overrides") else self.of(hints[f.name])
                 for f in dataclasses.fields(cls)]
        count = len(parts)

        def record(value: Any) -> Any:
            if type(value) is not list or len(value) != count:
                raise BadCache(f"expected a {cls.__name__}")
            return cls(*[part(v) for part, v in zip(parts, value, strict=True)])
        return record

    def _overrides(self) -> Decode:
        """`Build.overrides`: route fields, each typed as the Route holds it."""
        hints = _hints(Route)
        fields = {name: self.of(hints[name]) for name in hints if name != "id"}

        def overrides(value: Any) -> dict[str, object]:
            if type(value) is not dict or not value.keys() <= fields.keys():
                raise BadCache("expected route fields")
            return {k: fields[k](v) for k, v in value.items()}
        return overrides

    def _text(self, tp: type) -> Decode:
        """A value written as text (a DriverVersion as {"driver": text}); each text is parsed once."""
        texts = self._texts

        def text(value: Any) -> Any:
            if type(value) is not str:
                if tp is Version and type(value) is dict and value.keys() == {"driver"}:
                    return self._parse(DriverVersion, value["driver"])
                raise BadCache(f"expected a {tp.__name__}")
            made = texts.get((tp, value))
            return made if made is not None else self._parse(tp, value)
        return text

    def _parse(self, tp: type, value: object) -> object:
        if type(value) is not str:
            raise BadCache(f"expected a {tp.__name__}")
        made: object
        if tp is PyVer:
            free = value.endswith("t")
            made = PyVer(Version(value[:-1] if free else value), free)
        elif tp is Accel:
            kind, _, version = value.partition(":")
            if kind not in ACCEL_KINDS:
                raise BadCache(f"unknown accelerator {value!r}")
            made = Accel(kind, Version(version) if version else None)  # type: ignore[arg-type]  # checked
        else:
            made = tp(value)
        self._texts[tp, value] = made
        return made


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _exact(tp: type) -> Decode:
    def exact(value: Any) -> Any:
        if type(value) is not tp:  # not isinstance: True is no int here
            raise BadCache(f"expected {tp.__name__}")
        return value
    return exact


def _sequence(kind: type, item: Decode, tp: object) -> Decode:
    """A list read as a tuple or frozenset; a list of texts read before is the same (immutable) value again."""
    seen: dict[tuple[str, ...], object] = {}

    def sequence(value: Any) -> Any:
        if type(value) is not list:
            raise BadCache(f"expected a {kind.__name__}")
        if not all(type(v) is str for v in value):
            return kind(item(v) for v in value)  # item() refuses what is not its type
        key = tuple(value)
        made = seen.get(key)
        if made is None:
            made = seen[key] = kind(key) if tp is str else kind(item(v) for v in value)
        return made
    return sequence


def _mapping(int_keys: bool, item: Decode) -> Decode:
    def mapping(value: Any) -> Any:
        if type(value) is not dict:
            raise BadCache("expected a mapping")
        if int_keys:
            return {_int_key(k): item(v) for k, v in value.items()}
        return {k: item(v) for k, v in value.items()}
    return mapping


def _int_key(key: str) -> int:
    digits = key[1:] if key.startswith("-") else key
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
        raise BadCache(f"expected a whole number, got {key!r}")
    return int(key)
