"""The runner's 冲正 (2601) of a call whose answer was lost, with literal expected values (issue 17).

Only public behaviour: `Runner.run_scenario` against a scripted fake site that drops answers, and what the
run keeps (steps, reason, findings, events, the envelopes sent). The functions behind it
(`_resolve_unknown_outcome`, `_run_fault_step`) may move between modules; these tests do not name them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site, success

from harness.model import Outcome, RunEvent, Severity
from harness.runner import Runner
from harness.specs import load_registry

IDENTITY = site().identities["filed-employee"]


def make_runner(fake: FakeSite, events: list[RunEvent] | None = None, *, reference: bool = False,
                switch_refusal: str | None = None, switched: list[dict] | None = None, **kwargs: Any) -> Runner:
    def switch(fault: Any) -> str | None:
        if switched is not None:
            switched.append(dict(fault))
        return switch_refusal

    return Runner(fake.target(), load_registry(), "baseline", site(reference=reference),
                  events.append if events is not None else None, seed=11, fault_switch=switch, **kwargs)


def steps_of(result: Any) -> list[tuple[int, str, bool, str | None]]:
    return [(s.index, s.infno, s.teardown, None if s.exchange is None else s.exchange.error) for s in result.steps]


def unknown_events(events: list[RunEvent]) -> list[dict[str, Any]]:
    found = [e for e in events if e.kind == "unknown-outcome"]
    assert all(e.scenario_id == "outpatient.sample.flow" for e in found)  # the scenario the call belongs to
    return [dict(e.payload) for e in found]


# --- an answer lost on a real site ---------------------------------------------------------------------


def test_a_lost_settlement_is_reversed_by_its_msgid_for_its_person_and_resent_once() -> None:
    answers = iter([TimeoutError("read timed out"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    result = make_runner(fake, events).run_scenario(scenario((settle_step(), person_step())))
    lost, correction = fake.sent[1][1], fake.sent[2][1]
    msgid = lost["msgid"]
    assert correction["infno"] == "2601" and correction["input"] == {
        "data": {"psn_no": IDENTITY["psn_no"], "omsgid": msgid, "oinfno": "2207"}}
    assert correction["insuplc_admdvs"] == IDENTITY["insuplc_admdvs"]  # routed like the person's other calls
    assert steps_of(result) == [(0, "2207", False, "timeout"), (0, "2601", True, None), (0, "2207", False, None),
                                (1, "1101", False, None)]
    note = f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: reversed"
    assert result.reason == (f"2207 at callable://callable/2207: timeout; {note}; "
                             "step 1 (2207) sent again after the 冲正")
    assert unknown_events(events) == [{"infno": "2207", "msgid": msgid, "notes": note, "designed": False}]
    assert result.outcome is Outcome.ERROR and result.failures == ()


def test_a_refused_2601_leaves_the_outcome_unknown_and_nothing_is_resent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": refusal("该交易不允许冲正")})
    events: list[RunEvent] = []
    result = make_runner(fake, events).run_scenario(scenario((settle_step(), person_step())))
    msgid = fake.sent[1][1]["msgid"]
    note = f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: 该交易不允许冲正"
    assert result.reason == f"2207 at callable://callable/2207: timeout; {note}"
    assert steps_of(result) == [(0, "2207", False, "timeout"), (0, "2601", True, None)]
    assert unknown_events(events) == [{"infno": "2207", "msgid": msgid, "notes": note, "designed": False}]


def test_a_2601_that_is_lost_too_is_said_so_and_nothing_is_resent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": ConnectionResetError("reset")})
    events: list[RunEvent] = []
    runner = make_runner(fake, events, breaker_threshold=3)
    result = runner.run_scenario(scenario((settle_step(), person_step())))
    msgid = fake.sent[1][1]["msgid"]
    [(_, _, _, error)] = [s for s in steps_of(result) if s[1] == "2601"]
    note = f"2601 for msgid {msgid} failed too ({error}): the outcome stays unknown"
    assert result.reason == f"2207 at callable://callable/2207: timeout; {note}"
    assert fake.infnos() == ["9001", "2207", "2601"]
    assert unknown_events(events) == [{"infno": "2207", "msgid": msgid, "notes": note, "designed": False}]
    assert not runner.breaker_open  # two consecutive infrastructure errors, the threshold is 3
    runner.run_scenario(scenario((settle_step(),), id="outpatient.sample.third"))
    assert runner.breaker_open  # the lost 2601 counted as the second


def test_with_the_breaker_open_no_2601_is_sent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out")})
    events: list[RunEvent] = []
    result = make_runner(fake, events, breaker_threshold=1).run_scenario(scenario((settle_step(), person_step())))
    msgid = fake.sent[1][1]["msgid"]
    note = f"the outcome of 2207 (msgid {msgid}) is unknown and was not resolved (breaker open)"
    assert result.reason == f"2207 at callable://callable/2207: timeout; {note}"
    assert fake.infnos() == ["9001", "2207"]
    assert unknown_events(events) == []


def test_a_call_the_profile_does_not_let_2601_undo_is_left_to_the_sites_records() -> None:
    fake = FakeSite({"2201": TimeoutError("read timed out")})
    result = make_runner(fake).run_scenario(scenario((settle_step(infno="2201"),)))
    msgid = fake.sent[1][1]["msgid"]
    assert result.reason == (f"2201 at callable://callable/2201: timeout; the outcome of 2201 (msgid {msgid}) is "
                             "unknown and the profile does not allow 2601 for it: check the site's records")
    assert fake.infnos() == ["9001", "2201"]


def test_a_lost_query_changes_nothing_so_it_is_not_reversed() -> None:
    fake = FakeSite({"1101": TimeoutError("read timed out")})
    events: list[RunEvent] = []
    result = make_runner(fake, events).run_scenario(scenario((person_step(),)))
    assert result.reason == "1101 at callable://callable/1101: timeout"
    assert fake.infnos() == ["9001", "1101"] and unknown_events(events) == []


def test_a_lost_teardown_settlement_is_reversed_but_not_resent() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": success("2601")})
    result = make_runner(fake).run_scenario(scenario((person_step(),), teardown=(settle_step(),)))
    assert fake.infnos() == ["9001", "1101", "2207", "2601"]
    assert steps_of(result)[1:] == [(1, "2207", True, "timeout"), (1, "2601", True, None)]


# --- an answer the reference platform loses on purpose (a fault step) ---------------------------------------


def fault_scenario() -> Any:
    return scenario((replace(settle_step(), fault="drop-after-commit"), settle_step(), person_step()))


def test_a_designed_loss_switches_the_fault_on_once_and_notes_it() -> None:
    answers = iter([ConnectionResetError("dropped after commit"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers), "2601": success("2601")})
    events: list[RunEvent] = []
    switched: list[dict] = []
    result = make_runner(fake, events, reference=True, switched=switched).run_scenario(fault_scenario())
    assert switched == [{"infno": "2207", "kind": "drop-after-commit", "times": 1}]
    msgid = fake.sent[1][1]["msgid"]
    [(_, _, _, error)] = [s for s in steps_of(result) if s[0] == 0 and s[1] == "2207" and s[3]]
    note = f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: reversed"
    assert result.reason == f"step 1 (2207): the answer was lost as designed ({error}); {note}"
    assert result.outcome is Outcome.PASSED and result.failures == ()
    assert unknown_events(events) == [{"infno": "2207", "msgid": msgid, "notes": note, "designed": True}]
    assert steps_of(result) == [(0, "2207", False, error), (0, "2601", True, None), (1, "2207", False, None),
                                (2, "1101", False, None)]


def test_a_designed_loss_that_2601_cannot_undo_is_one_critical_finding_and_the_flow_stops() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": refusal("该交易不允许冲正")})
    result = make_runner(fake, reference=True).run_scenario(fault_scenario())
    msgid = fake.sent[1][1]["msgid"]
    [failure] = result.failures
    assert (failure.title, failure.clause, failure.severity, failure.step, failure.expected, failure.actual) == (
        "the 2207 whose answer was lost could not be undone with 2601", "R-2601-UNDOES", Severity.CRITICAL, 0,
        "2601 (omsgid = the lost message's msgid) succeeds",
        f"unknown outcome of 2207 (msgid {msgid}) resolved with 2601 冲正: refused: 该交易不允许冲正")
    assert fake.infnos() == ["9001", "2207", "2601"] and result.outcome is Outcome.FAILED


def test_a_designed_loss_whose_2601_is_lost_too_is_an_infrastructure_error_not_a_finding() -> None:
    fake = FakeSite({"2207": ConnectionResetError("dropped"), "2601": TimeoutError("read timed out")})
    result = make_runner(fake, reference=True).run_scenario(fault_scenario())
    assert result.outcome is Outcome.ERROR and result.failures == ()
    assert result.reason.startswith("2601 at callable://callable/2601: timeout; step 1 (2207): the answer was lost")
    assert fake.infnos() == ["9001", "2207", "2601"]


def test_an_answer_the_platform_was_to_lose_is_a_major_finding_with_what_it_said() -> None:
    fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
    runner = make_runner(fake, reference=True)
    result = runner.run_scenario(fault_scenario())
    [failure] = result.failures
    assert (failure.title, failure.clause, failure.severity, failure.step, failure.expected, failure.actual,
            failure.detail) == (
        "step 1 (2207) was answered although the platform was to lose the answer (drop-after-commit)",
        "R-2601-UNDOES", Severity.MAJOR, 0, "an infrastructure error (drop-after-commit)",
        "infcode -1: 参保人未办理异地就医备案，不能直接结算",
        "the reference platform did not apply the fault switched on at /__admin/faults")
    assert steps_of(result) == [(0, "2207", False, None)]
    assert result.steps[0].failures == (failure,) and result.steps[0].exchange is not None  # the answer is kept


def test_a_fault_the_platform_refuses_to_switch_on_sends_nothing_and_says_why() -> None:
    fake = FakeSite()
    result = make_runner(fake, reference=True, switch_refusal="HTTP 404: admin endpoint disabled").run_scenario(
        fault_scenario())
    assert result.outcome is Outcome.ERROR
    assert result.reason == ("cannot switch on the platform fault drop-after-commit for 2207: "
                             "HTTP 404: admin endpoint disabled")
    assert steps_of(result) == [(0, "2207", False, None)] and fake.infnos() == ["9001"]
