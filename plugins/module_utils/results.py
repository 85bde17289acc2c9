"""The results model: what every verifier returns and every report is rendered from.

A verifier module sets the Ansible fact ``aiconform_result_<requirement id>`` to
``RequirementResult.to_dict()``; the report action plugin collects those facts. ``results.json``
holds the same dicts, so every artifact can be re-rendered offline from it.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from .redact import redact_text, redact_value

EVIDENCE_LIMIT = 64 * 1024  # characters kept per evidence item; the rest is trimmed with a marker


class Status(StrEnum):
    IMPLEMENTED = "Implemented"
    NOT_IMPLEMENTED = "Not Implemented"
    PARTIAL = "Partially Implemented"
    NOT_APPLICABLE = "N/A"
    # Internal: aiconform could not determine the answer. Never reported as Implemented; PRODUCT.yaml
    # gets "" (SHOULD) or "Not Implemented" (MUST) with the reason in notes.
    UNKNOWN = "unknown"
    ERROR = "error"

    @property
    def reportable(self) -> bool:
        return self not in (Status.UNKNOWN, Status.ERROR)

    @property
    def shown(self) -> Shown:
        """How the status is shown (written once, in _SHOWN)."""
        return _SHOWN[self]


class Shown(NamedTuple):
    emoji: str  # the reports
    css_class: str  # report.html
    mark: str  # the console summary (callback)
    progress_state: str  # the live progress of `aiconform run`


_SHOWN = {
    Status.IMPLEMENTED: Shown("✅", "ok", "OK", "passed"),
    Status.NOT_IMPLEMENTED: Shown("❌", "fail", "FAIL", "failed"),
    Status.PARTIAL: Shown("🟠", "partial", "PARTIAL", "failed"),
    Status.NOT_APPLICABLE: Shown("➖", "na", "N/A", "n/a"),
    Status.UNKNOWN: Shown("❔", "unknown", "UNKNOWN", "error"),
    Status.ERROR: Shown("❗", "error", "ERROR", "error"),
}
# The statuses PRODUCT.yaml may carry (the CNCF validator's list), in the enum's order
REPORTABLE = tuple(s.value for s in Status if s.reportable)
# The reports' order of statuses (summary counts)
DISPLAY_ORDER = (Status.IMPLEMENTED, Status.PARTIAL, Status.NOT_IMPLEMENTED, Status.NOT_APPLICABLE, Status.ERROR,
                 Status.UNKNOWN)


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class Check:
    """One individual check inside a verifier (a subtest, in go-test terms)."""

    name: str
    outcome: Outcome
    reason: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome.value, "reason": self.reason,
                "duration_s": round(self.duration_s, 3)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(name=data["name"], outcome=Outcome(data["outcome"]), reason=data.get("reason", ""),
                   duration_s=float(data.get("duration_s", 0.0)))


@dataclass
class Evidence:
    """A piece of evidence: a command or API call made, an object snapshot, a log or metrics excerpt.

    Secrets are redacted here, when evidence is recorded, not by a pass over finished reports.
    """

    title: str
    kind: str = "text"  # command | api | object | log | metrics | text
    content: str = ""
    command: str = ""  # the command or API call that produced the content
    filename: str = ""  # file name under evidence/<requirement id>/ (the report assigns one if empty)

    def __post_init__(self) -> None:
        self.content = _trim(redact_text(self.content))
        self.command = redact_text(self.command)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(**{k: data.get(k, "") for k in ("title", "kind", "content", "command", "filename")})


@dataclass
class RequirementResult:
    id: str
    status: Status
    reasons: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    test_name: str = ""  # go-test style name for junit.xml/e2e.log, e.g. TestGangScheduling
    notes: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)  # the judged facts, redacted, for offline re-judging

    @property
    def duration_s(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            # reasons quote error messages, which may carry a URL from inventory with its credentials
            "reasons": [redact_text(r) for r in self.reasons],
            "checks": [{**c.to_dict(), "reason": redact_text(c.reason)} for c in self.checks],
            "evidence": [e.to_dict() for e in self.evidence],
            "test_name": self.test_name,
            "notes": self.notes,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "facts": redact_value(self.facts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequirementResult:
        return cls(
            id=data["id"],
            status=Status(data["status"]),
            reasons=list(data.get("reasons", [])),
            checks=[Check.from_dict(c) for c in data.get("checks", [])],
            evidence=[Evidence.from_dict(e) for e in data.get("evidence", [])],
            test_name=data.get("test_name", ""),
            notes=data.get("notes", ""),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            facts=dict(data.get("facts", {})),
        )


@dataclass
class Verdict:
    """What a judge returns: a pure function of the facts."""

    status: Status
    reasons: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def now() -> float:
    return time.time()


def _trim(text: str) -> str:
    if len(text) <= EVIDENCE_LIMIT:
        return text
    cut = len(text) - EVIDENCE_LIMIT
    return text[:EVIDENCE_LIMIT] + f"\n... [{cut} characters trimmed by aiconform]\n"
