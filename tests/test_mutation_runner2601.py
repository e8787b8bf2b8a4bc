"""The runner's 冲正 of a call whose outcome is unknown (2601), and fault steps, with literal notes (issue 17).

`tools/mutation.py --module runner.engine-2601` plants one-line bugs in the runner's
`_resolve_unknown_outcome` and `_run_fault_step`; each test here drives `Runner.run_scenario` against a
scripted site and pins what the run says and sends: the 2601 envelope, the note in the reason, the
event, the steps recorded, whether the call is sent again, the finding when a lost answer stays.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site, success

from harness.model import Expectation, Outcome, RunEvent, Severity
from harness.runner import Runner, evaluate
from harness.specs import load_registry


def runner(fake: FakeSite, *, events: list[RunEvent] | None = None, reference: bool = False,
           fault_refusal: str | None = None, switched: list[dict[str, Any]] | None = None, **kwargs: Any) -> Runner:
    def switch(fault: Any) -> str | None:
        if switched is not None:
            switched.append(dict(fault))
        return fault_refusal

    return Runner(fake.target(), load_registry(), "baseline", site(reference=reference),
                  events.append if events is not None else None, seed=3, fault_switch=switch, **kwargs)


def sent(fake: FakeSite, infno: str) -> list[dict[str, Any]]:
    return [envelope for name, envelope in fake.sent if name == infno]


def steps(result: Any) -> list[tuple[int, str, bool, bool]]:
    """(index, infno, answered without error, teardown) of each recorded step."""
    return [(s.index, s.infno, s.exchange is not None and s.exchange.error is None, s.teardown) for s in result.steps]


# --- an unknown outcome ---


def test_a_lost_settlement_is_undone_with_2601_then_sent_again() -> None:
    answers = iter([TimeoutError("read timed out"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    run = runner(fake, events=events)
    result = run.run_scenario(scenario((settle_step(), person_step())))
    lost, correction, again = sent(fake, "2207")[0], sent(fake, "2601")[0], sent(fake, "2207")[1]
    msgid = lost["msgid"]
    assert correction["input"] == {"data": {"psn_no": lost["input"]["data"]["psn_no"], "omsgid": msgid,
                                            "oinfno": "2207"}}
    # the 2601 goes out as the scenario's person's call: routed to the same insured region, signed in
    assert correction["insuplc_admdvs"] == lost["insuplc_admdvs"] != ""
    assert correction["sign_no"] == lost["sign_no"] != "" and correction["msgid"] not in (msgid, again["msgid"])
    note = f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: reversed"
    assert note in result.reason.split("; ") and "step 1 (2207) sent again after the 冲正" in result.reason.split("; ")
    assert steps(result) == [(0, "2207", False, False), (0, "2601", True, True), (0, "2207", True, False),
                             (1, "1101", True, False)]
    [event] = [e for e in events if e.kind == "unknown-outcome"]
    assert event.payload == {"infno": "2207", "msgid": msgid, "notes": note, "designed": False}
    assert result.outcome is Outcome.ERROR and result.failures == ()


def test_a_refused_2601_leaves_the_outcome_unknown_and_nothing_is_resent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": refusal("该交易不允许冲正")})
    events: list[RunEvent] = []
    result = runner(fake, events=events).run_scenario(scenario((settle_step(), person_step())))
    msgid = sent(fake, "2207")[0]["msgid"]
    note = f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: 该交易不允许冲正"
    assert fake.infnos() == ["9001", "2207", "2601"] and note in result.reason.split("; ")
    assert steps(result) == [(0, "2207", False, False), (0, "2601", True, True)]
    assert [e.payload["notes"] for e in events if e.kind == "unknown-outcome"] == [note]


def test_a_2601_answered_with_neither_success_nor_refusal_is_not_an_undo() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": {"infcode": 1, "err_msg": "处理中"}})
    result = runner(fake).run_scenario(scenario((settle_step(), person_step())))
    msgid = sent(fake, "2207")[0]["msgid"]
    assert fake.infnos() == ["9001", "2207", "2601"]
    assert f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: 处理中" in result.reason


def test_a_2601_that_fails_too_leaves_the_outcome_unknown() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": ConnectionResetError("reset by peer")})
    events: list[RunEvent] = []
    result = runner(fake, events=events).run_scenario(scenario((settle_step(), person_step())))
    msgid = sent(fake, "2207")[0]["msgid"]
    [step] = [s for s in result.steps if s.infno == "2601"]
    assert step.exchange is not None and step.exchange.error
    note = f"2601 for msgid {msgid} failed too ({step.exchange.error}): the outcome stays unknown"
    assert fake.infnos() == ["9001", "2207", "2601"] and note in result.reason.split("; ")
    assert [e.payload["notes"] for e in events if e.kind == "unknown-outcome"] == [note]
    assert result.outcome is Outcome.ERROR


def test_with_the_breaker_open_no_2601_is_sent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out")})
    events: list[RunEvent] = []
    run = runner(fake, events=events, breaker_threshold=1)
    result = run.run_scenario(scenario((settle_step(), person_step())))
    msgid = sent(fake, "2207")[0]["msgid"]
    assert fake.infnos() == ["9001", "2207"] and run.breaker_open
    assert (f"the outcome of 2207 (msgid {msgid}) is unknown and was not resolved (breaker open)"
            in result.reason.split("; "))
    assert [e for e in events if e.kind == "unknown-outcome"] == []


def test_a_query_that_fails_is_not_undone() -> None:
    fake = FakeSite({"1101": TimeoutError("read timed out")})
    result = runner(fake).run_scenario(scenario((person_step(),)))
    assert fake.infnos() == ["9001", "1101"] and "2601" not in result.reason and "unknown" not in result.reason


def test_a_call_the_profile_does_not_list_is_left_to_the_sites_records() -> None:
    fake = FakeSite({"2201": TimeoutError("read timed out")})
    result = runner(fake).run_scenario(scenario((settle_step(infno="2201"),)))
    msgid = sent(fake, "2201")[0]["msgid"]
    assert fake.infnos() == ["9001", "2201"]
    assert (f"the outcome of 2201 (msgid {msgid}) is unknown and the profile does not allow 2601 for it: "
            "check the site's records") in result.reason.split("; ")


def test_a_lost_teardown_call_is_undone_but_not_sent_again() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out")})
    result = runner(fake).run_scenario(scenario((person_step(),), teardown=(settle_step(),)))
    assert fake.infnos() == ["9001", "1101", "2207", "2601"]
    assert "sent again" not in result.reason and "resolved with 2601 冲正: reversed" in result.reason


# --- fault steps (the reference platform loses an answer on purpose) ---


def dropped() -> tuple:
    return (replace(settle_step(), fault="drop-after-commit"), settle_step(), person_step())


def test_a_designed_loss_is_undone_and_the_flow_goes_on() -> None:
    answers = iter([ConnectionResetError("dropped after commit"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    switched: list[dict[str, Any]] = []
    run = runner(fake, events=events, reference=True, switched=switched, breaker_threshold=1)
    result = run.run_scenario(scenario(dropped()))
    assert result.outcome is Outcome.PASSED and result.failures == () and not run.breaker_open
    assert switched == [{"infno": "2207", "kind": "drop-after-commit", "times": 1}]
    [lost] = [s for s in result.steps if s.infno == "2207" and s.exchange is not None and s.exchange.error]
    msgid = sent(fake, "2207")[0]["msgid"]
    notes = result.reason.split("; ")
    assert f"step 1 (2207): the answer was lost as designed ({lost.exchange.error})" in notes
    assert f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: reversed" in notes
    assert steps(result) == [(0, "2207", False, False), (0, "2601", True, True), (1, "2207", True, False),
                             (2, "1101", True, False)]
    [event] = [e for e in events if e.kind == "unknown-outcome"]
    assert event.payload["designed"] is True
    assert fake.infnos() == ["9001", "2207", "2601", "2207", "1101"]  # the lost step is not sent again


def test_a_designed_loss_that_2601_cannot_undo_is_critical_and_ends_the_flow() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": refusal("该交易不允许冲正")})
    result = runner(fake, reference=True).run_scenario(scenario(dropped()))
    msgid = sent(fake, "2207")[0]["msgid"]
    assert fake.infnos() == ["9001", "2207", "2601"] and result.outcome is Outcome.FAILED
    [failure] = result.failures
    assert (failure.title, failure.clause, failure.severity, failure.step, failure.expected, failure.actual) == (
        "the 2207 whose answer was lost could not be undone with 2601", "R-2601-UNDOES", Severity.CRITICAL, 0,
        "2601 (omsgid = the lost message's msgid) succeeds",
        f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: 该交易不允许冲正")


def test_a_designed_loss_whose_2601_fails_is_an_infrastructure_error_not_a_finding() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": TimeoutError("read timed out")})
    result = runner(fake, reference=True).run_scenario(scenario(dropped()))
    assert fake.infnos() == ["9001", "2207", "2601"]
    assert result.outcome is Outcome.ERROR and result.failures == ()
    assert "failed too" in result.reason


def test_an_answer_that_was_to_be_lost_is_a_finding_and_stands() -> None:
    fake = FakeSite()
    run = runner(fake, reference=True)
    result = run.run_scenario(scenario(dropped()))
    assert fake.infnos() == ["9001", "2207"] and result.outcome is Outcome.FAILED
    [failure] = result.failures
    assert (failure.title, failure.clause, failure.severity, failure.step, failure.expected, failure.detail) == (
        "step 1 (2207) was answered although the platform was to lose the answer (drop-after-commit)",
        "R-2601-UNDOES", Severity.MAJOR, 0, "an infrastructure error (drop-after-commit)",
        "the reference platform did not apply the fault switched on at /__admin/faults")
    assert failure.actual.startswith("infcode 0")
    assert steps(result) == [(0, "2207", True, False)] and result.steps[0].failures == (failure,)
    assert len(run.ledger.rows) == 1 and run.ledger.rows[0].msgid == sent(fake, "2207")[0]["msgid"]


def test_a_fault_that_cannot_be_switched_on_sends_nothing() -> None:
    fake = FakeSite()
    result = runner(fake, reference=True, fault_refusal="admin endpoint disabled").run_scenario(scenario(dropped()))
    assert fake.infnos() == ["9001"] and result.outcome is Outcome.ERROR
    assert result.reason.split("; ")[0] == (
        "cannot switch on the platform fault drop-after-commit for 2207: admin endpoint disabled")
    assert steps(result) == [(0, "2207", False, False)] and result.steps[0].exchange is None


# --- the 2601 in the run's ledger ---


def crash(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("a bug of the harness judging the answer")


@pytest.mark.parametrize(("answer", "voided"), [(None, True), (refusal("该交易不允许冲正"), False)])
def test_a_settlement_the_harness_could_not_judge_is_undone_and_voided_in_the_ledger(
        monkeypatch: pytest.MonkeyPatch, answer: Any, voided: bool) -> None:
    monkeypatch.setattr(evaluate, "run_interface_checks", crash)
    fake = FakeSite({"2601": answer} if answer is not None else {})
    run = runner(fake)
    result = run.run_scenario(scenario((settle_step(), person_step())))
    assert result.outcome is Outcome.ERROR and fake.infnos() == ["9001", "2207", "2601"]
    [row] = run.ledger.rows
    assert row.msgid == sent(fake, "2207")[0]["msgid"] and row.voided is voided


# --- what the first mutation run of the 2601 logic left alive ---


def test_the_2601_is_an_envelope_of_2601_and_its_event_names_the_scenario() -> None:
    answers = iter([TimeoutError("read timed out"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    result = runner(fake, events=events).run_scenario(scenario((settle_step(), person_step())))
    assert sent(fake, "2601")[0]["infno"] == "2601"
    [event] = [e for e in events if e.kind == "unknown-outcome"]
    assert event.scenario_id == "outpatient.sample.flow"
    assert [s.failures for s in result.steps] == [(), (), (), ()]


def test_a_lost_request_without_psn_no_is_not_undone_nor_sent_again() -> None:
    step = settle_step(Expectation(ok=False, cause="invalid-request"))
    del step.input["data"]["psn_no"]  # a deliberate invalid request: sent as it is
    fake = FakeSite({"2207": TimeoutError("read timed out")})
    result = runner(fake).run_scenario(scenario((step,)))
    msgid = sent(fake, "2207")[0]["msgid"]
    assert fake.infnos() == ["9001", "2207"]
    assert (f"the outcome of 2207 (msgid {msgid}) is unknown and was not resolved (no psn_no in the request)"
            in result.reason.split("; "))


def test_a_fault_step_in_the_teardown_is_recorded_as_teardown() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped")})
    result = runner(fake, reference=True).run_scenario(
        scenario((person_step(),), teardown=(replace(settle_step(), fault="drop-after-commit"),)))
    assert steps(result) == [(0, "1101", True, False), (1, "2207", False, True), (1, "2601", True, True)]
    assert [s.failures for s in result.steps] == [(), (), ()]
    refused = runner(FakeSite(), reference=True, fault_refusal="off").run_scenario(
        scenario((person_step(),), teardown=(replace(settle_step(), fault="drop-after-commit"),)))
    assert [(s.infno, s.teardown, s.failures) for s in refused.steps] == [("1101", False, ()), ("2207", True, ())]
    answered = runner(FakeSite(), reference=True).run_scenario(
        scenario((person_step(),), teardown=(replace(settle_step(), fault="drop-after-commit"),)))
    assert [(s.infno, s.teardown) for s in answered.steps] == [("1101", False), ("2207", True)]


def test_an_answer_to_be_lost_that_is_no_envelope_is_described() -> None:
    fake = FakeSite({"2207": {"code": 401, "message": "unauthorized"}})
    result = runner(fake, reference=True).run_scenario(scenario(dropped()))
    assert result.failures[0].actual == "no response envelope (HTTP 200 code 401): unauthorized"


def test_the_critical_finding_quotes_the_2601_note_after_earlier_notes() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": refusal("该交易不允许冲正")})
    skipped_then_fault = (replace(person_step(), when="never_saved"), replace(settle_step(), fault="drop-after-commit"))
    result = runner(fake, reference=True).run_scenario(scenario(skipped_then_fault))
    msgid = sent(fake, "2207")[0]["msgid"]
    assert result.reason.split("; ")[0] == "step 1 (1101) skipped: saved.never_saved (its `when`) is not set"
    [failure] = result.failures
    assert failure.actual == (f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: "
                              "该交易不允许冲正")
