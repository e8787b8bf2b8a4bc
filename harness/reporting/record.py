"""The run as every report of this stream sees it: metadata, one record per scenario, and the figures.

Certify keeps the record as `certification.json` (`RunRecord.to_json`, read back by `from_json`).
Certificate, ledger, gate and history read only this shape.

Pass rate = conformance over what ran, passed / (passed + failed); coverage beside it, ran / applicable
(see harness.verdict). Every finding carries its effective grade: MUST findings fail, SHOULD and MAY
findings are advisories; inconclusive scenarios are listed, never counted as passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.model import Grade, Level, Outcome
from harness.verdict import coverage, grade_counts, pass_rate, summarize_outcomes

__all__ = [
    "FailureRecord",
    "RunInfo",
    "RunRecord",
    "ScenarioRecord",
    "Tally",
    "pass_rate",
]

RECORD_FORMAT = "hsa-cert/certification-1"


@dataclass(frozen=True, slots=True)
class FailureRecord:
    title: str
    clause: str
    severity: str = "major"
    detail: str = ""
    expected: str = ""
    actual: str = ""
    grade: str = "MUST"  # effective grade: MUST fails; SHOULD / MAY are advisories
    inconclusive: bool = False  # refused for a reason the harness cannot recognise
    title_zh: str = ""  # the finding in Chinese (results.json `title_zh`)

    @property
    def advisory(self) -> bool:
        return not self.inconclusive and (self.grade != Grade.MUST.value or self.severity == "warning")


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    id: str
    outcome: Outcome
    level: Level  # effective level under the certification profile
    area: str
    interface: str
    title: str = ""
    title_zh: str = ""
    clauses: tuple[str, ...] = ()
    reason: str = ""
    duration_ms: float = 0.0
    failures: tuple[FailureRecord, ...] = ()
    grade: str = "MUST"  # the strength of what the scenario asserts

    @property
    def advisories(self) -> tuple[FailureRecord, ...]:
        return tuple(f for f in self.failures if f.advisory)

    @property
    def counts_for_verdict(self) -> bool:
        return self.level is not Level.OPTIONAL and self.outcome is not Outcome.NOT_APPLICABLE

    @property
    def must_pass(self) -> bool:
        """Mandatory, or conditional on a capability the site declares: it must pass to certify."""
        return self.counts_for_verdict


@dataclass(frozen=True, slots=True)
class Tally:
    key: str
    total: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0
    not_provisioned: int = 0
    not_applicable: int = 0
    inconclusive: int = 0

    @property
    def pass_rate(self) -> float | None:
        return pass_rate(self.passed, self.failed)

    @property
    def coverage(self) -> float | None:
        return coverage(self.passed + self.failed + self.inconclusive, self.total, self.not_applicable)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "pass_rate": self.pass_rate, "coverage": self.coverage}


def tally(key: str, outcomes: Iterable[Outcome]) -> Tally:
    s = summarize_outcomes(outcomes)
    return Tally(key=key, total=s.total, passed=s.passed, failed=s.failed, error=s.error,
                 not_provisioned=s.not_provisioned, not_applicable=s.not_applicable, inconclusive=s.inconclusive)


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    site_id: str
    site_name: str = ""
    fixmedins_code: str = ""
    environment: str = "embedded"  # "embedded" (the reference platform) or "site"
    base_url: str = ""
    cert_profile: str = ""
    cert_profile_title_zh: str = ""
    cert_profile_title_en: str = ""
    province_profile: str = "baseline"
    spec_version: str = ""
    suite_fingerprint: str = ""
    harness_version: str = ""
    seed: int | None = None
    started_at: str = ""  # ISO-8601
    finished_at: str = ""
    capabilities: tuple[str, ...] = ()
    default_suite_fingerprint: str = ""  # the tool's whole default suite, as `hsa-cert --version` prints it


@dataclass(frozen=True, slots=True)
class RunRecord:
    info: RunInfo
    scenarios: tuple[ScenarioRecord, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. the gate result, added by certify

    @property
    def summary(self) -> Tally:
        return tally("all", (s.outcome for s in self.scenarios))

    @property
    def pass_rate(self) -> float | None:
        return self.summary.pass_rate

    @property
    def coverage(self) -> float | None:
        return self.summary.coverage

    def advisories(self) -> list[tuple[ScenarioRecord, FailureRecord]]:
        """SHOULD and MAY findings (and warnings), with their scenario: reported, never failing."""
        return [(s, f) for s in self.scenarios for f in s.advisories]

    def inconclusive(self) -> list[ScenarioRecord]:
        return [s for s in self.scenarios if s.outcome is Outcome.INCONCLUSIVE]

    def grades(self) -> dict[str, int]:
        """Scenarios per grade: {"MUST": n, "SHOULD": n, "MAY": n}."""
        return grade_counts(Grade(s.grade) for s in self.scenarios)

    def by(self, attribute: str) -> list[Tally]:
        groups: dict[str, list[Outcome]] = {}
        for s in self.scenarios:
            groups.setdefault(getattr(s, attribute), []).append(s.outcome)
        return [tally(key, outcomes) for key, outcomes in sorted(groups.items())]

    def by_area(self) -> list[Tally]:
        return self.by("area")

    def by_interface(self) -> list[Tally]:
        return self.by("interface")

    def outcome_of(self) -> dict[str, Outcome]:
        return {s.id: s.outcome for s in self.scenarios}

    def mandatory_clauses(self) -> tuple[list[str], list[str]]:
        """(covered, not covered): clauses cited by must-pass scenarios; covered when all of them passed."""
        status: dict[str, bool] = {}
        for s in self.scenarios:
            if not s.must_pass:
                continue
            for clause in s.clauses:
                status[clause] = status.get(clause, True) and s.outcome is Outcome.PASSED
        covered = sorted(c for c, ok in status.items() if ok)
        missing = sorted(c for c, ok in status.items() if not ok)
        return covered, missing

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "run": asdict(self.info),
            "summary": {**self.summary.to_json(), "advisories": len(self.advisories()), "grades": self.grades()},
            "by_area": [t.to_json() for t in self.by_area()],
            "by_interface": [t.to_json() for t in self.by_interface()],
            "scenarios": [_scenario_json(s) for s in self.scenarios],
            **dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        run = dict(data["run"])
        run["capabilities"] = tuple(run.get("capabilities") or ())
        info = RunInfo(**{k: v for k, v in run.items() if k in RunInfo.__dataclass_fields__})
        scenarios = tuple(
            ScenarioRecord(
                id=s["id"],
                outcome=Outcome(s["outcome"]),
                level=Level(s["level"]),
                area=s.get("area", ""),
                interface=s.get("interface", ""),
                title=s.get("title", ""),
                title_zh=s.get("title_zh", ""),
                clauses=tuple(s.get("clauses", ())),
                reason=s.get("reason", ""),
                duration_ms=float(s.get("duration_ms", 0.0)),
                failures=tuple(FailureRecord(**{k: v for k, v in f.items() if k in FailureRecord.__dataclass_fields__})
                               for f in s.get("failures", ())),
                grade=str(s.get("grade") or "MUST"),  # records written before grades: everything was MUST
            )
            for s in data["scenarios"]
        )
        known = {"format", "run", "summary", "by_area", "by_interface", "scenarios"}
        return cls(info, scenarios, {k: v for k, v in data.items() if k not in known})


def _scenario_json(s: ScenarioRecord) -> dict[str, Any]:
    data = asdict(s)
    data["outcome"] = s.outcome.value
    data["level"] = s.level.value
    data["clauses"] = list(s.clauses)
    return data
