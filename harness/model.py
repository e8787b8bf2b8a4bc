"""The domain model shared by every layer: plain frozen dataclasses, no I/O.

Field names follow the national interface spec where a value comes from it (infno, msgid,
mdtrt_id, setl_id, psn_no) so that people who know the spec can read the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "OUTCOME_PRECEDENCE",
    "Exchange",
    "Expectation",
    "Failure",
    "Grade",
    "Level",
    "Outcome",
    "RunEvent",
    "Scenario",
    "ScenarioResult",
    "SchemaViolation",
    "Severity",
    "Step",
    "StepResult",
]


class Outcome(StrEnum):
    """Closed outcome vocabulary. Allure shows ERROR as broken and FAILED as failed."""

    ERROR = "error"  # infrastructure: unreachable, timeout, not JSON at the HTTP level
    FAILED = "failed"  # a conformance finding
    # refused, but for a reason the harness cannot recognise (err_msg matches no cause's pattern): neither a pass
    # nor a finding; the site adds its own err_msg patterns to its config to make it conclusive
    INCONCLUSIVE = "inconclusive"
    NOT_PROVISIONED = "not_provisioned"  # the site gave no identity for the archetype
    NOT_APPLICABLE = "not_applicable"  # the site does not declare the capability
    PASSED = "passed"


# Highest precedence first: rolling up several outcomes yields the first one present.
OUTCOME_PRECEDENCE: tuple[Outcome, ...] = (
    Outcome.ERROR,
    Outcome.FAILED,
    Outcome.INCONCLUSIVE,
    Outcome.NOT_PROVISIONED,
    Outcome.NOT_APPLICABLE,
    Outcome.PASSED,
)


class Grade(StrEnum):
    """Normative strength of a rule, and so of a finding against it (RFC 2119 words).

    Only MUST findings decide a certificate; SHOULD findings are advisories reported with their clause;
    MAY findings are informational. The grade comes from data (the spec's columns, the fact tags
    [C]/[L]/[U]/[V], the province profile), never from code paths.
    """

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def rank(self) -> int:
        return ("MUST", "SHOULD", "MAY").index(self.value)


class Level(StrEnum):
    """How a scenario counts toward certification."""

    MANDATORY = "mandatory"
    CONDITIONAL = "conditional"
    OPTIONAL = "optional"


class Severity(StrEnum):
    """Rank of a failure; failures are sorted by it, most severe first."""

    CRITICAL = "critical"  # money or state wrong
    MAJOR = "major"  # a rule or refusal wrong
    MINOR = "minor"  # schema or format deviation
    WARNING = "warning"  # suspicious but not failing (e.g. refusal with unconfirmed cause)

    @property
    def rank(self) -> int:
        return ("critical", "major", "minor", "warning").index(self.value)


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One schema error: where it is, which clause it breaks, expected versus actual."""

    path: str  # JSON pointer into the message, e.g. /input/data/psn_no
    clause: str  # stable clause id, e.g. 2207.in.data.psn_no
    message: str
    expected: str = ""
    actual: str = ""
    field_zh: str = ""  # the field's Chinese name from the spec table
    hint: str = ""  # e.g. a known real-world deviation (harness/specs/deviations.py)

    def render(self) -> str:
        name = f" ({self.field_zh})" if self.field_zh else ""
        exp = f" expected {self.expected}" if self.expected else ""
        act = f", got {self.actual}" if self.actual else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.path or '/'}{name} [{self.clause}]: {self.message}{exp}{act}{hint}"


@dataclass(frozen=True, slots=True)
class Failure:
    """A conformance finding, as a value. Collected in full, then ranked."""

    title: str
    clause: str
    severity: Severity = Severity.MAJOR
    detail: str = ""
    expected: str = ""
    actual: str = ""
    step: int | None = None  # index of the step that produced it
    evidence: Mapping[str, Any] = field(default_factory=dict)
    grade: Grade = Grade.MUST  # normative strength of the clause; only MUST findings decide a certificate
    # The finding in Chinese (specs/findings-zh.json via harness.specs.findings_zh); "" until rendered.
    # Presentation only: never part of an identity or a comparison of findings.
    title_zh: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP round trip as the harness saw it. `error` is set only for infrastructure errors."""

    infno: str
    url: str
    method: str
    request_headers: Mapping[str, str]
    request_body: Mapping[str, Any]
    status: int | None
    response_headers: Mapping[str, str]
    response_text: str
    response_json: Mapping[str, Any] | None
    elapsed_ms: float
    started_at: str  # ISO-8601 wall clock, for reports only
    error: str | None = None  # e.g. "timeout", "connection refused", "not JSON"

    @property
    def infra_error(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class StepResult:
    index: int
    infno: str
    exchange: Exchange | None
    failures: tuple[Failure, ...] = ()
    teardown: bool = False


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario_id: str
    outcome: Outcome
    clauses: tuple[str, ...]
    duration_ms: float
    steps: tuple[StepResult, ...] = ()
    failures: tuple[Failure, ...] = ()
    reason: str = ""  # why not provisioned / not applicable / error
    internal_error: str = ""  # the traceback of a bug in hsa-cert that ended the scenario (evidence only)


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Something the runner reports; reporters listen, the runner prints nothing."""

    kind: str  # run-started, scenario-started, step-finished, scenario-finished, run-finished, breaker-open
    scenario_id: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a step must produce.

    ok=True: success (infcode 0). ok=False: a refusal (infcode -1), optionally of a named failure
    cause whose err_msg must match the profile's patterns. ok=None: either is acceptable (teardown).

    may_refuse (with ok=True): success, or a refusal of exactly this failure cause, which then counts
    as the flow's expected refusal (the spec does not fix the step at which a site refuses a person:
    the person query, registration, fee upload, pre-settlement or settlement are all correct). After
    it, the later steps that need a value the refusal withheld are skipped, not failed.
    """

    ok: bool | None = True
    cause: str | None = None  # failure-cause id, e.g. "not-filed"
    output_schema: bool = True  # validate the output node against the interface schema
    checks: tuple[str, ...] = ()  # names in the checks registry
    save: Mapping[str, str] = field(default_factory=dict)  # name -> response path, e.g. output.setlinfo.setl_id
    golden: Mapping[str, Any] = field(default_factory=dict)  # path -> literal expected value (reference platform only)
    state_unchanged: bool = False  # a refusal must leave no trace (verified by the scenario's later steps)
    may_refuse: str | None = None  # failure-cause id: success, or a refusal of exactly this cause


@dataclass(frozen=True, slots=True)
class Step:
    infno: str
    input: Mapping[str, Any]  # template: strings may hold {{ namespace.name }} expressions
    expect: Expectation = field(default_factory=Expectation)
    envelope: Mapping[str, Any] = field(default_factory=dict)  # envelope field overrides (templates too)
    name: str = ""
    when: str | None = None  # teardown only: run when this saved name is set, e.g. "setl_id"
    # reference platform only: a platform fault switched on for exactly this step's exchange, e.g. 'drop-after-commit'
    fault: str | None = None
    # a gateway tamper (harness.gateway.TAMPERS): this step's request is signed wrongly on purpose, and the site
    # (its gateway) must refuse it (harness/runner/tamper.py); not applicable where the profile signs nothing
    tamper: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """One certification scenario. `id` is stable: never derived from run data."""

    id: str
    title: str
    title_zh: str
    clauses: tuple[str, ...]
    capabilities: tuple[str, ...]
    level: Level
    area: str  # business area: filing, outpatient, inpatient, chronic, pharmacy, reversal, protocol, ...
    interface: str  # the infno under test (the Allure feature)
    archetype: str | None
    steps: tuple[Step, ...]
    teardown: tuple[Step, ...] = ()
    tags: tuple[str, ...] = ()
    kind: str = "flow"  # flow | negative | envelope | generated
    source: str = ""  # file:line, or generator name
    fingerprint: str = ""  # hash of the scenario's content: changes exactly when the scenario does
    grade: Grade = Grade.MUST  # the strength of what the scenario asserts; caps the grade of its findings
