"""What a rule sees and what it says: the `Context` of one diagnosis (facts, matrix, doctor data, the error
the user saw) and the `Finding` it returns; the facts every rule reads the same way."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envgen.doctor.derive import Derivation
from envgen.doctor.facts import CPU, Facts
from envgen.matrix import Matrix
from envgen.matrix.doctor import DoctorData
from envgen.models import Accel

SEVERITY_ORDER = {"error": 0, "warning": 1, "possible": 2}
STRENGTH_ORDER = {"decisive": 0, "strong": 1, "suggestive": 2}
TORCH_FAMILY = ("pytorch", "torch", "torchvision", "torchaudio")



@dataclass(frozen=True, slots=True)
class Finding:
    cause: str
    severity: str  # error | warning | possible (facts too thin to be sure; the message says what decides)
    message: str
    evidence: dict[str, Any]
    fix: tuple[str, ...]
    confirmed: bool = False  # the message the user saw matches this cause
    strength: str = "strong"  # decisive | strong | suggestive: how firmly the evidence settles the cause
    derived_from: dict[str, str] = field(default_factory=dict)  # evidence key -> provenance of a derived fact
    collect: tuple[str, ...] = ()  # what to run to settle a `possible` finding

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cause": self.cause, "severity": self.severity, "strength": self.strength,
                               "message": self.message, "evidence": self.evidence, "fix": list(self.fix)}
        if self.derived_from:
            out["derived_from"] = dict(self.derived_from)
        if self.collect:
            out["collect"] = list(self.collect)
        return out

    @property
    def rank(self) -> tuple[int, int]:
        return STRENGTH_ORDER[self.strength], SEVERITY_ORDER[self.severity]


@dataclass(frozen=True)
class Context:
    facts: Facts
    matrix: Matrix
    data: DoctorData
    seen: str = field(default="")
    derivation: Derivation | None = None

    @property
    def torch(self) -> Version | None:
        return self.facts.torch_version

    def matched(self, cause: str) -> str | None:
        """The pattern of `cause` found in what the user saw (error) or what importing torch printed."""
        return self.data.causes[cause].matches(self.seen)

    def stated(self, fact: str) -> str | None:
        """A fact only an error message states (failed_dll, wanted_torch, ...), or None."""
        return self.derivation.stated.get(fact) if self.derivation else None

    def finding(self, cause: str, message: str, evidence: dict[str, Any], fix: tuple[str, ...] = (),
                severity: str | None = None, strength: str | None = None) -> Finding:
        """A finding the facts support. Its strength: `strength` when the rule knows it, else the weakest derived
        fact it rests on (stated facts are strong), raised to decisive when the user's error matches the cause by
        a strong or decisive pattern as well."""
        hit = self.data.causes[cause].match(self.seen)
        if hit:
            evidence = {**evidence, "error": _excerpt(self.seen, hit[0])}
        sev = severity or self.data.causes[cause].severity
        if hit and sev == "warning":
            sev = "error"
        derived = {k: d for k in evidence if self.derivation and (d := self.derivation.about(k)) is not None}
        if hit and strength is None and not set(evidence) - {"error"}:
            strength = hit[1]  # nothing but the message: as strong as its pattern
        from_facts = strength or max((d.strength for d in derived.values()), key=STRENGTH_ORDER.__getitem__,
                                     default="strong")
        if hit and sev != "possible" and strength is None:  # the facts and the message agree
            from_facts = "decisive" if STRENGTH_ORDER[hit[1]] <= STRENGTH_ORDER["strong"] else from_facts
        return Finding(cause, sev, message, evidence, fix, confirmed=bool(hit), strength=from_facts,
                       derived_from={k: d.source for k, d in derived.items()})

    def possible(self, cause: str, decide: str, collect: tuple[str, ...] = ()) -> Finding:
        """The user's message points at `cause` but the facts cannot confirm it: say what would decide. As strong
        as the message's pattern ("no kernel image is available" names its cause; "DLL load failed" does not)."""
        summary = self.data.causes[cause].summary
        hit = self.data.causes[cause].match(self.seen)
        found = self.finding(cause, f"possibly: {summary}. To be sure: {decide}", {}, severity="possible",
                             strength=hit[1] if hit else "suggestive")
        return dataclasses.replace(found, collect=collect or tuple(re.findall(r"`([^`]+)`", decide)))


def _excerpt(text: str, pattern: str) -> str:
    m = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
    if not m:
        return text[:200]
    line_start = text.rfind("\n", 0, m.start()) + 1
    line_end = text.find("\n", m.end())
    return text[line_start: line_end if line_end != -1 else None].strip()[:300]


def torch_cuda(facts: Facts) -> Version | None:
    if facts.torch_cuda in (None, CPU):
        return None
    try:
        return Version(facts.torch_cuda)
    except InvalidVersion:
        return None


def current_accel(f: Facts) -> Accel | None:
    if f.torch_cuda == CPU:
        return Accel("cpu")
    cuda = torch_cuda(f)
    return Accel("cuda", cuda) if cuda else None


def constraint_spec(matrix: Matrix, package: str, installer: str, torch: Version | None,
                    facts: Facts | None) -> tuple[str, SpecifierSet, str] | None:
    """The matrix's pin for `package` (mkl<2024.1, numpy<2) that applies to this torch and these facts:
    (spec, its range, why). With torch None and facts None: the first pin naming the package."""
    for c in matrix.constraints:
        if c.kind != "pin" or not _when_fits(c.when, torch, facts):
            continue
        for spec in (c.conda if installer == "conda" else c.pip) or c.conda:
            try:
                req = Requirement(spec)
            except InvalidRequirement:
                continue
            if req.name.lower() == package:
                return spec, req.specifier, c.why
    return None


def _when_fits(when: Any, torch: Version | None, facts: Facts | None) -> bool:
    if torch is not None and when.torch and torch not in when.torch:
        return False
    if facts is None:
        return True
    if when.families and facts.channel and facts.channel not in when.families:
        return False
    if when.installers and facts.install_method and facts.install_method not in when.installers:
        return False
    return not (when.platforms and facts.platform and facts.platform not in when.platforms)
