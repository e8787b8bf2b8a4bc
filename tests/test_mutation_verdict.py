"""Tests that kill the mutants mutation testing found alive in harness/verdict.py (`--module verdict`)."""

from __future__ import annotations

from dataclasses import replace

from engine_samples import person_step, scenario

from harness.model import Outcome, ScenarioResult
from harness.verdict import Summary, group_summaries, summarize


def _result(sid: str, outcome: Outcome) -> ScenarioResult:
    return ScenarioResult(scenario_id=sid, outcome=outcome, clauses=("R-X",), duration_ms=1.0)


def test_results_without_a_known_group_are_grouped_as_unknown() -> None:
    base = scenario((person_step(),))
    by_id = {"s": replace(base, id="s", area="outpatient"), "blank": replace(base, id="blank", area="")}
    results = [_result("s", Outcome.PASSED), _result("blank", Outcome.FAILED), _result("gone", Outcome.ERROR)]
    groups = group_summaries(results, by_id, "area")
    assert {name: (g.total, g.outcome) for name, g in groups.items()} == {
        "(unknown)": (2, Outcome.ERROR), "outpatient": (1, Outcome.PASSED)}
    # A key the scenarios do not have groups everything as unknown, without an error.
    assert list(group_summaries(results, by_id, "no_such_attribute")) == ["(unknown)"]


def test_a_summary_as_json_has_plain_values() -> None:
    data = summarize([_result("a", Outcome.PASSED), _result("b", Outcome.FAILED)]).to_json()
    assert data == {"total": 2, "passed": 1, "failed": 1, "error": 0, "not_provisioned": 0, "not_applicable": 0,
                    "pass_rate": 0.5, "outcome": "failed", "inconclusive": 0, "coverage": 1.0}
    assert type(data["outcome"]) is str and type(Summary().to_json()["outcome"]) is str
