"""Steps with a `fault`: the reference platform loses one answer on purpose; the runner expects it and 冲正s."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import responses
from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site, success

from harness.errors import ScenarioFormatError
from harness.model import Outcome, RunEvent, Severity
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.runner import Runner
from harness.scenarios.loader import load_text
from harness.specs import load_registry
from harness.transport import switch_fault

DROP = {"infno": "2207", "kind": "drop-after-commit", "times": 1}


def fault_runner(fake: FakeSite, *, reference: bool = True, refuse: str | None = None,
                 events: list[RunEvent] | None = None, **kwargs: Any) -> tuple[Runner, list[dict]]:
    switched: list[dict] = []

    def switch(fault: Any) -> str | None:
        switched.append(dict(fault))
        return refuse

    run = Runner(fake.target(), load_registry(), "baseline", site(reference=reference),
                 events.append if events is not None else None, seed=5, fault_switch=switch, **kwargs)
    return run, switched


def dropped_then_settled() -> tuple:
    return (replace(settle_step(), fault="drop-after-commit"), settle_step(), person_step())


def test_an_expected_drop_is_resolved_with_2601_and_the_flow_goes_on_to_pass() -> None:
    answers = iter([ConnectionResetError("connection dropped after commit"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    run, switched = fault_runner(fake, events=events, breaker_threshold=1)
    result = run.run_scenario(scenario(dropped_then_settled()))
    assert result.outcome is Outcome.PASSED and result.failures == ()
    assert switched == [DROP]  # switched on for exactly this step's exchange
    # the lost call is 冲正'd by its msgid; the next step settles the visit again with a new msgid
    assert fake.infnos() == ["9001", "2207", "2601", "2207", "1101"]
    lost, correction, again = fake.sent[1][1], fake.sent[2][1], fake.sent[3][1]
    assert correction["input"]["data"] == {"psn_no": lost["input"]["data"]["psn_no"], "omsgid": lost["msgid"],
                                           "oinfno": "2207"}
    assert again["msgid"] != lost["msgid"]
    assert [(s.index, s.infno, s.exchange is not None and s.exchange.error is not None) for s in result.steps][:3] == [
        (0, "2207", True), (0, "2601", False), (1, "2207", False)]
    assert "the answer was lost as designed" in result.reason and "resolved with 2601 冲正: reversed" in result.reason
    assert not run.breaker_open  # an expected loss is no infrastructure error (threshold 1)
    [note] = [e for e in events if e.kind == "unknown-outcome"]
    assert note.payload["designed"] is True  # the console does not announce it


def test_on_a_real_site_a_fault_scenario_is_not_applicable_and_sends_nothing() -> None:
    fake = FakeSite()
    run, switched = fault_runner(fake, reference=False)
    result = run.run_scenario(scenario(dropped_then_settled()))
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "only the embedded reference platform" in result.reason and "drop-after-commit on 2207" in result.reason
    assert fake.sent == [] and switched == []


def test_an_answer_that_was_not_lost_is_a_finding() -> None:
    fake = FakeSite()
    run, _ = fault_runner(fake)
    result = run.run_scenario(scenario(dropped_then_settled()))
    assert result.outcome is Outcome.FAILED
    assert result.failures[0].title == ("step 1 (2207) was answered although the platform was to lose the answer "
                                        "(drop-after-commit)")
    assert fake.infnos() == ["9001", "2207"]  # the flow stops; the settlement stands (and is in the ledger)
    assert len(run.ledger.rows) == 1


def test_a_lost_settlement_that_2601_cannot_undo_is_critical() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": refusal("该交易不允许冲正")})
    run, _ = fault_runner(fake)
    result = run.run_scenario(scenario(dropped_then_settled()))
    assert result.outcome is Outcome.FAILED and fake.infnos() == ["9001", "2207", "2601"]
    [failure] = result.failures
    assert (failure.clause, failure.severity) == ("R-2601-UNDOES", Severity.CRITICAL)
    assert "refused: 该交易不允许冲正" in failure.actual


def test_a_fault_that_cannot_be_switched_on_is_an_infrastructure_error() -> None:
    fake = FakeSite()
    run, _ = fault_runner(fake, refuse="HTTP 404 from http://127.0.0.1:1/__admin/faults: admin endpoint disabled")
    result = run.run_scenario(scenario(dropped_then_settled()))
    assert result.outcome is Outcome.ERROR and "cannot switch on the platform fault" in result.reason
    assert fake.infnos() == ["9001"]


def test_switch_fault_posts_to_the_platform_admin_endpoint() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        platform = mount(rsps, "http://platform.test", PlatformConfig(db_path=":memory:"))
        assert switch_fault("http://platform.test", DROP) is None
        [active] = platform.ctx.faults.list()
        assert (active["infno"], active["kind"], active["times_left"]) == ("2207", "drop-after-commit", 1)
        problem = switch_fault("http://platform.test", {"infno": "2207", "kind": "melt"})
    assert problem is not None and problem.startswith("HTTP 400 from http://platform.test/__admin/faults")


SCENARIO = """\
id: reversal.sample.fault
title: a lost answer
title_zh: 应答丢失
clauses: [R-2601-UNDOES]
area: reversal
steps:
  - infno: "2207"
    fault: drop-after-commit
    input: {data: {psn_no: "1"}}
    expect: {checks: [money.sum]}
teardown:
  - infno: "2208"
    fault: truncated
    input: {data: {psn_no: "1"}}
"""


def test_fault_steps_are_checked_when_loaded() -> None:
    with pytest.raises(ScenarioFormatError) as info:
        load_text(SCENARIO, "fault.yaml")
    text = info.value.render()
    assert "2 problems" in text
    assert "fault.yaml:10:" in text and "the answer of a fault step is lost" in text
    assert "fault.yaml:13:" in text and "a platform fault on a teardown step" in text
    flow_only = SCENARIO.split("teardown:")[0]
    [loaded] = load_text(flow_only.replace("    expect: {checks: [money.sum]}\n", ""), "fault.yaml")
    assert loaded.steps[0].fault == "drop-after-commit"
    with pytest.raises(ScenarioFormatError, match="is not one of the allowed values"):
        load_text(flow_only.replace("drop-after-commit", "melt"), "fault.yaml")
