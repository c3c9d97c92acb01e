"""Loading `matrices/doctor.yaml`: causes, error-message signatures (each with the strength of what it says
about its cause), facts that error messages state (`extract`), DLLs, library globs and plain fixes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envgen.errors import MatrixError

FILE = "doctor.yaml"
SEVERITIES = ("error", "warning", "possible")
FIX_KEYS = ("any", "linux", "macos", "windows", "conda", "pip")
STRENGTHS = ("decisive", "strong", "suggestive")  # strongest first
# what an `extract` row may state: facts of the facts format, and facts only an error message states
EXTRACT_FACTS = ("driver_cuda", "driver_version", "gpu", "torch_archs", "os", "platform", "python_bits", "torch_cuda",
                 "install_method", "python",
                 "torch", "failed_dll", "wanted_torch", "available_torch", "min_cc", "missing_library")
DLL_PLACES = ("system", "path", "prefix", "torch")


@dataclass(frozen=True, slots=True)
class Cause:
    code: str
    severity: str
    summary: str
    patterns: tuple[re.Pattern[str], ...]
    sources: tuple[str, ...]
    strengths: tuple[str, ...] = ()  # per pattern: decisive | strong | suggestive

    def matches(self, text: str | None) -> str | None:
        """The strongest pattern found in `text` (as written in the data), or None."""
        found = self.match(text)
        return found[0] if found else None

    def match(self, text: str | None) -> tuple[str, str] | None:
        """(pattern, strength) of the strongest pattern found in `text`, or None."""
        if not text:
            return None
        hits = [(p.pattern, self.strength(i)) for i, p in enumerate(self.patterns) if p.search(text)]
        return min(hits, key=lambda h: STRENGTHS.index(h[1])) if hits else None

    def strength(self, i: int) -> str:
        return self.strengths[i] if i < len(self.strengths) else "strong"


@dataclass(frozen=True, slots=True)
class Extract:
    """A fact an error message states: `pattern`'s named groups give the value (or `value` is the fact)."""

    fact: str
    pattern: re.Pattern[str]
    value: str | None
    strength: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dll:
    name: str
    cause: str
    where: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DoctorData:
    causes: dict[str, Cause]
    dlls: tuple[Dll, ...]
    env_vars: tuple[str, ...]
    libraries: dict[str, tuple[str, ...]]  # kind (cuda, mkl) -> file globs
    fixes: dict[str, dict[str, tuple[str, ...]]]  # cause -> os|installer|any -> command templates
    mkl_channels: dict[str, str]  # channel of the conda pytorch -> channel its MKL must come from
    extract: tuple[Extract, ...] = ()

    def strong(self, cause: str, text: str | None) -> bool:
        """True when `text` matches a pattern of `cause` that no other cause shares ("DLL load failed" is
        shared by missing_vc_runtime and missing_mkl, so it alone decides neither)."""
        if not text:
            return False
        others = {p.pattern for code, c in self.causes.items() if code != cause for p in c.patterns}
        return any(p.search(text) for p in self.causes[cause].patterns if p.pattern not in others)

    def fix_templates(self, cause: str, os_name: str | None, installer: str | None) -> tuple[str, ...]:
        table = self.fixes.get(cause, {})
        out: list[str] = list(table.get("any", ()))
        for key in (os_name, installer):
            if key:
                out += table.get(key, ())
        return tuple(out)


def load_doctor_data(matrix_dir: str | Path, known_sources: set[str] | None = None) -> DoctorData:
    """Read and check doctor.yaml beside the matrix; every problem is reported with its place."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = Path(matrix_dir) / FILE
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError([f"matrices/{FILE}: cannot read {path}: {exc.strerror or exc}"]) from None
    except YAMLError as exc:
        raise MatrixError([f"matrices/{FILE}: not valid YAML: {str(exc).splitlines()[0]}"]) from None
    problems: list[str] = []
    data = _build(doc if isinstance(doc, dict) else {}, problems, known_sources)
    if not isinstance(doc, dict):
        problems.append(f"matrices/{FILE}: expected a mapping at the top")
    if problems:
        raise MatrixError(problems)
    return data


def _build(doc: dict[str, Any], problems: list[str], known: set[str] | None) -> DoctorData:
    where = f"matrices/{FILE}"
    for key in doc:
        if key not in ("causes", "dlls", "env_vars", "libraries", "fixes", "mkl_channels", "extract"):
            problems.append(f"{where}: {key}: unknown section")

    def sources(given: Any, at: str) -> tuple[str, ...]:
        ids: tuple[str, ...] = tuple(given or ())
        if not ids:
            problems.append(f"{where}: {at}: no source given (every row cites one)")
        for sid in ids:
            if known is not None and sid not in known:
                problems.append(f"{where}: {at}: unknown source '{sid}' (add it to matrices/sources.yaml)")
        return ids

    causes = {}
    for code, row in (doc.get("causes") or {}).items():
        at = f"causes.{code}"
        row = row or {}
        severity = row.get("severity", "")
        if severity not in SEVERITIES:
            problems.append(f"{where}: {at}.severity: must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        patterns, strengths = [], []
        for i, item in enumerate(row.get("patterns") or ()):
            text, strength = (item.get("re"), item.get("strength", "strong")) if isinstance(item, dict) \
                else (item, "strong")
            if isinstance(item, dict) and item.get("source") is not None:
                sources(item.get("source"), f"{at}.patterns[{i}]")
            if strength not in STRENGTHS:
                problems.append(f"{where}: {at}.patterns[{i}].strength: one of {', '.join(STRENGTHS)}, "
                                f"got {strength!r}")
            compiled = _compile(text, f"{where}: {at}.patterns[{i}]", problems)
            if compiled is not None:
                patterns.append(compiled)
                strengths.append(strength)
        causes[code] = Cause(code, severity, str(row.get("summary", "")), tuple(patterns),
                             sources(row.get("source"), at), tuple(strengths))
    dlls = []
    for i, row in enumerate(doc.get("dlls") or ()):
        at = f"dlls[{i}]"
        if row.get("cause") not in causes:
            problems.append(f"{where}: {at}.cause: unknown cause {row.get('cause')!r}")
        for place in row.get("where") or ():
            if place not in DLL_PLACES:
                problems.append(f"{where}: {at}.where: unknown place {place!r} (known: {', '.join(DLL_PLACES)})")
        dlls.append(Dll(str(row.get("name", "")), str(row.get("cause", "")), tuple(row.get("where") or ()),
                        sources(row.get("source"), at)))
    fixes: dict[str, dict[str, tuple[str, ...]]] = {}
    for code, table in (doc.get("fixes") or {}).items():
        if code not in causes:
            problems.append(f"{where}: fixes.{code}: unknown cause")
        for key in table or {}:
            if key not in FIX_KEYS:
                problems.append(f"{where}: fixes.{code}.{key}: must be one of {', '.join(FIX_KEYS)}")
        fixes[code] = {k: tuple(str(c) for c in v or ()) for k, v in (table or {}).items()}
    libraries = {str(k): tuple(str(g) for g in v or ()) for k, v in (doc.get("libraries") or {}).items()}
    env_vars = tuple(str(v) for v in doc.get("env_vars") or ())
    mkl_channels = {}
    for i, row in enumerate(doc.get("mkl_channels") or ()):
        sources(row.get("source"), f"mkl_channels[{i}]")
        mkl_channels[str(row.get("torch_channel"))] = str(row.get("mkl_channel"))
    extract = []
    for i, row in enumerate(doc.get("extract") or ()):
        at = f"extract[{i}]"
        fact, strength = row.get("fact"), row.get("strength", "strong")
        if fact not in EXTRACT_FACTS:
            problems.append(f"{where}: {at}.fact: one of {', '.join(EXTRACT_FACTS)}, got {fact!r}")
        if strength not in STRENGTHS:
            problems.append(f"{where}: {at}.strength: one of {', '.join(STRENGTHS)}, got {strength!r}")
        compiled = _compile(row.get("re"), f"{where}: {at}.re", problems)
        if compiled is not None and row.get("value") is None and not compiled.groupindex:
            problems.append(f"{where}: {at}: needs `value:` or named groups in `re:`")
        if compiled is not None:
            extract.append(Extract(str(fact), compiled, None if row.get("value") is None else str(row["value"]),
                                   str(strength), sources(row.get("source"), at)))
    return DoctorData(causes, tuple(dlls), env_vars, libraries, fixes, mkl_channels, tuple(extract))


def _compile(text: Any, at: str, problems: list[str]) -> re.Pattern[str] | None:
    if not isinstance(text, str) or not text:
        problems.append(f"{at}: expected a regular expression")
        return None
    try:
        return re.compile(text, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        problems.append(f"{at}: not a regular expression: {exc}")
        return None


_CACHE: dict[str, DoctorData] = {}


def doctor_data(matrix: Any) -> DoctorData:
    """The doctor data that sits beside a loaded matrix (cached per matrix directory and digest)."""
    key = f"{matrix.directory}\0{matrix.digest}"
    if key not in _CACHE:
        _CACHE[key] = load_doctor_data(matrix.directory, set(matrix.sources))
    return _CACHE[key]
