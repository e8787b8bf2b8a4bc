"""Roll results up: outcome precedence, summary counts, per area and interface, and the exit code.

Definitions (documented here because reports and CI gates depend on them):
- A scenario's outcome is already rolled up by the runner; several outcomes (steps, or the
  scenarios of a group) roll up to the first present in `OUTCOME_PRECEDENCE`.
- `pass_rate = passed / (total - not_applicable)`: scenarios the site does not claim to support
  do not count, while scenarios it could not provision identities for do count against it
  (a missing identity is a coverage gap, never a silent pass). None when nothing applies.
- Exit code: 3 when a scenario that counts ended in an infrastructure error (the run is
  incomplete), else 1 when a scenario that counts did not pass (failed or not provisioned),
  else 0. Optional scenarios never count; not-applicable scenarios never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from harness.model import OUTCOME_PRECEDENCE, Level, Outcome, Scenario, ScenarioResult

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INFRASTRUCTURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Summary",
    "exit_code",
    "group_summaries",
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

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data


def pass_rate(passed: int, total: int, not_applicable: int) -> float | None:
    """passed / (total - not_applicable), to 4 decimals; None when nothing applies. The one definition
    every report uses, so the console, results.json, the certificate and the ledger agree."""
    counted = total - not_applicable
    return round(passed / counted, 4) if counted > 0 else None


def summarize_outcomes(outcomes: Iterable[Outcome]) -> Summary:
    counts = {outcome: 0 for outcome in Outcome}
    for outcome in outcomes:
        counts[outcome] += 1
    total = sum(counts.values())
    return Summary(
        total=total,
        passed=counts[Outcome.PASSED],
        failed=counts[Outcome.FAILED],
        error=counts[Outcome.ERROR],
        not_provisioned=counts[Outcome.NOT_PROVISIONED],
        not_applicable=counts[Outcome.NOT_APPLICABLE],
        pass_rate=pass_rate(counts[Outcome.PASSED], total, counts[Outcome.NOT_APPLICABLE]),
        outcome=roll_up(o for o, n in counts.items() if n),
    )


def summarize(results: Iterable[ScenarioResult]) -> Summary:
    return summarize_outcomes(result.outcome for result in results)


def group_summaries(results: Iterable[ScenarioResult], scenarios: Mapping[str, Scenario],
                    key: str) -> dict[str, Summary]:
    """Summaries per scenario attribute `key` ("area" or "interface"), sorted by group name."""
    groups: dict[str, list[ScenarioResult]] = {}
    for result in results:
        scenario = scenarios.get(result.scenario_id)
        name = str(getattr(scenario, key, "") or "") if scenario else ""
        groups.setdefault(name or "(unknown)", []).append(result)
    return {name: summarize(groups[name]) for name in sorted(groups)}


def _counts(scenario: Scenario | None) -> bool:
    return scenario is None or scenario.level is not Level.OPTIONAL


def exit_code(results: Sequence[ScenarioResult], scenarios: Mapping[str, Scenario]) -> int:
    """0 every counted scenario passed, 1 findings, 3 infrastructure error (see the module docstring)."""
    counted = [r for r in results if _counts(scenarios.get(r.scenario_id)) and r.outcome is not Outcome.NOT_APPLICABLE]
    overall = roll_up(r.outcome for r in counted)
    if overall is Outcome.ERROR:
        return EXIT_INFRASTRUCTURE
    if overall in (Outcome.FAILED, Outcome.NOT_PROVISIONED):
        return EXIT_FINDINGS
    return EXIT_OK
