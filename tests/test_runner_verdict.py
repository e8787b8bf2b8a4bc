"""Verdict roll-up: outcome precedence, summary counts and pass rate, exit codes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_samples import person_step, scenario

from harness.model import Level, Outcome, ScenarioResult
from harness.verdict import exit_code, group_summaries, roll_up, summarize

E, F, NP, NA, P = Outcome.ERROR, Outcome.FAILED, Outcome.NOT_PROVISIONED, Outcome.NOT_APPLICABLE, Outcome.PASSED
INC = Outcome.INCONCLUSIVE


def result(sid: str, outcome: Outcome) -> ScenarioResult:
    return ScenarioResult(scenario_id=sid, outcome=outcome, clauses=("R-X",), duration_ms=1.0)


def scenarios(*levels: Level, area: str = "outpatient") -> dict:
    base = scenario((person_step(),), area=area)
    return {f"s{i}": replace(base, id=f"s{i}", level=level) for i, level in enumerate(levels)}


@pytest.mark.parametrize(("outcomes", "expected"), [
    ([P, NA, NP, F, E], E), ([P, F, NP], F), ([NA, NP, P], NP), ([P, NA], NA), ([P, P], P), ([], P),
])
def test_roll_up_follows_the_precedence(outcomes: list[Outcome], expected: Outcome) -> None:
    assert roll_up(outcomes) is expected


def test_summary_counts_and_pass_rate() -> None:
    results = [result("a", P), result("b", P), result("c", F), result("d", NP), result("e", NA)]
    summary = summarize(results)
    assert (summary.total, summary.passed, summary.failed, summary.error, summary.not_provisioned,
            summary.not_applicable) == (5, 2, 1, 0, 1, 1)
    assert summary.pass_rate == 0.6667  # 2 / (2 + 1): conformance over what ran
    assert summary.coverage == 0.75  # 3 ran / (5 - 1 not applicable): not provisioned is a coverage gap
    assert summarize([result("a", NA)]).pass_rate is None
    assert summarize([result("a", NA)]).coverage is None
    assert summary.to_json()["outcome"] == "failed"


@pytest.mark.parametrize(("outcomes", "levels", "code"), [
    ([P, P], [Level.MANDATORY, Level.CONDITIONAL], 0),
    ([P, F], [Level.MANDATORY, Level.OPTIONAL], 0),  # optional scenarios never decide
    ([P, NA], [Level.MANDATORY, Level.MANDATORY], 0),  # nor do ones the site cannot be asked
    ([P, F], [Level.MANDATORY, Level.MANDATORY], 1),
    ([P, NP], [Level.MANDATORY, Level.MANDATORY], 1),  # a coverage gap is a finding
    ([F, E], [Level.MANDATORY, Level.CONDITIONAL], 3),  # incomplete run: infrastructure
    ([P, E], [Level.MANDATORY, Level.OPTIONAL], 0),
    ([P, INC], [Level.MANDATORY, Level.MANDATORY], 0),  # inconclusive never decides on its own
    ([INC, NP], [Level.MANDATORY, Level.MANDATORY], 1),  # ... nor hides a coverage gap of a mandatory scenario
])
def test_exit_code(outcomes: list[Outcome], levels: list[Level], code: int) -> None:
    by_id = scenarios(*levels)
    results = [result(sid, outcome) for sid, outcome in zip(by_id, outcomes, strict=True)]
    assert exit_code(results, by_id) == code


def test_group_summaries_by_area() -> None:
    by_id = {**scenarios(Level.MANDATORY), **{"t0": replace(scenario((person_step(),), area="inpatient"), id="t0")}}
    groups = group_summaries([result("s0", P), result("t0", F)], by_id, "area")
    assert list(groups) == ["inpatient", "outpatient"]
    assert groups["inpatient"].failed == 1 and groups["outpatient"].passed == 1
