"""Roll results up: outcome precedence, the graded outcome, summary counts, per area and interface, exit code.

Definitions (documented here because reports and CI gates depend on them):
- A scenario whose steps ran is FAILED iff it has a finding whose effective grade is MUST (and which is
  not a mere warning); else INCONCLUSIVE iff a finding says `evidence["inconclusive"]` (refused for a
  reason the harness cannot recognise); else PASSED, its SHOULD/MAY findings attached as advisories
  (`graded_outcome`). Several outcomes (the scenarios of a group) roll up to the first present in
  `OUTCOME_PRECEDENCE`.
- Conformance: `pass_rate = passed / (passed + failed)`, over the scenarios that ran to a verdict;
  inconclusive ones are reported beside it, never counted as passed. None when none ran.
- Coverage: `coverage = ran / applicable`, where ran = passed + failed + inconclusive and applicable =
  total - not applicable. Not provisioned (no identity for the archetype) and infrastructure errors are
  coverage gaps, never conformance failures. None when nothing applies.
- Exit code: 3 when a scenario that counts ended in an infrastructure error (the run is incomplete),
  else 1 when a scenario that counts failed or was not provisioned (a certificate cannot vouch for what
  did not run), else 0. Optional and not-applicable scenarios never count; an inconclusive scenario
  never decides on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from harness.model import OUTCOME_PRECEDENCE, Failure, Grade, Level, Outcome, Scenario, ScenarioResult, Severity

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INFRASTRUCTURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Summary",
    "coverage",
    "exit_code",
    "grade_counts",
    "graded_outcome",
    "group_summaries",
    "is_advisory",
    "is_inconclusive",
    "is_must_finding",
    "pass_rate",
    "roll_up",
    "summarize",
    "summarize_outcomes",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3


def roll_up(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome of a group: the highest-precedence outcome present; an empty group passed."""
    present = set(outcomes)
    for outcome in OUTCOME_PRECEDENCE:
        if outcome in present:
            return outcome
    return Outcome.PASSED


def is_must_finding(failure: Failure) -> bool:
    """A finding that fails its scenario: effective grade MUST, and more than a warning."""
    return failure.grade is Grade.MUST and failure.severity is not Severity.WARNING


def is_inconclusive(failure: Failure) -> bool:
    evidence = failure.evidence
    return isinstance(evidence, Mapping) and evidence.get("inconclusive") is True


def is_advisory(failure: Failure) -> bool:
    """A SHOULD or MAY finding (a warning of any grade is advisory too): reported, never failing."""
    return not is_must_finding(failure) and not is_inconclusive(failure)


def graded_outcome(failures: Iterable[Failure]) -> Outcome:
    """The outcome of a scenario whose steps ran, from its findings with their effective grades."""
    found = list(failures)
    if any(is_must_finding(f) for f in found):
        return Outcome.FAILED
    if any(is_inconclusive(f) for f in found):
        return Outcome.INCONCLUSIVE
    return Outcome.PASSED


@dataclass(frozen=True, slots=True)
class Summary:
    total: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0
    not_provisioned: int = 0
    not_applicable: int = 0
    pass_rate: float | None = None
    outcome: Outcome = Outcome.PASSED
    inconclusive: int = 0
    coverage: float | None = None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data


def pass_rate(passed: int, failed: int) -> float | None:
    """Conformance over what ran: passed / (passed + failed), to 4 decimals; None when none ran. The one
    definition every report uses, so the console, results.json, the certificate, the ledger and the gate agree."""
    ran = passed + failed
    return round(passed / ran, 4) if ran > 0 else None


def coverage(ran: int, total: int, not_applicable: int) -> float | None:
    """What ran (passed + failed + inconclusive) over what applies (total - not applicable); None when nothing
    applies."""
    applicable = total - not_applicable
    return round(ran / applicable, 4) if applicable > 0 else None


def summarize_outcomes(outcomes: Iterable[Outcome]) -> Summary:
    counts = {outcome: 0 for outcome in Outcome}
    for outcome in outcomes:
        counts[outcome] += 1
    total = sum(counts.values())
    passed, failed, inconclusive = counts[Outcome.PASSED], counts[Outcome.FAILED], counts[Outcome.INCONCLUSIVE]
    return Summary(
        total=total,
        passed=passed,
        failed=failed,
        error=counts[Outcome.ERROR],
        not_provisioned=counts[Outcome.NOT_PROVISIONED],
        not_applicable=counts[Outcome.NOT_APPLICABLE],
        pass_rate=pass_rate(passed, failed),
        outcome=roll_up(o for o, n in counts.items() if n),
        inconclusive=inconclusive,
        coverage=coverage(passed + failed + inconclusive, total, counts[Outcome.NOT_APPLICABLE]),
    )


def grade_counts(grades: Iterable[Grade]) -> dict[str, int]:
    """{"MUST": n, "SHOULD": n, "MAY": n}, every grade present (0 when none)."""
    counts = {grade.value: 0 for grade in Grade}
    for grade in grades:
        counts[grade.value] += 1
    return counts


def summarize(results: Iterable[ScenarioResult]) -> Summary:
    return summarize_outcomes(result.outcome for result in results)


def group_summaries(results: Iterable[ScenarioResult], scenarios: Mapping[str, Scenario],
                    key: str) -> dict[str, Summary]:
    """Summaries per scenario attribute `key` ("area" or "interface"), sorted by group name."""
    groups: dict[str, list[Outcome]] = {}  # outcomes only: `results` may be read from disk one at a time
    for result in results:
        scenario = scenarios.get(result.scenario_id)
        name = str(getattr(scenario, key, "") or "") if scenario else ""
        groups.setdefault(name or "(unknown)", []).append(result.outcome)
    return {name: summarize_outcomes(groups[name]) for name in sorted(groups)}


def _counts(scenario: Scenario | None) -> bool:
    return scenario is None or scenario.level is not Level.OPTIONAL


def exit_code(results: Iterable[ScenarioResult], scenarios: Mapping[str, Scenario]) -> int:
    """0 every counted scenario passed, 1 findings, 3 infrastructure error (see the module docstring)."""
    present = {r.outcome for r in results
               if _counts(scenarios.get(r.scenario_id)) and r.outcome is not Outcome.NOT_APPLICABLE}
    if Outcome.ERROR in present:
        return EXIT_INFRASTRUCTURE
    if present & {Outcome.FAILED, Outcome.NOT_PROVISIONED}:  # inconclusive alone never decides
        return EXIT_FINDINGS
    return EXIT_OK
