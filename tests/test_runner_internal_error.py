"""A bug of the harness inside a scenario (evaluation, a check, a listener, the transport) loses nothing.

The scenario keeps every exchange it made, its teardown still runs, a state-changing call whose
outcome the run no longer knows is 冲正'd with 2601, and it ends as ERROR with a reason that says it is
a bug of hsa-cert; the traceback is in the result (results.json `internal_error`), not in the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_samples import FakeSite, person_step, scenario, settle_step, site, success

from harness.model import Exchange, Outcome, RunEvent
from harness.reporting.results_json import results_document
from harness.runner import Runner
from harness.specs import load_registry


def _runner(fake: FakeSite, events: list[RunEvent] | None = None) -> Runner:
    return Runner(fake.target(), load_registry(), "baseline", site(), events.append if events is not None else None,
                  seed=3)


def test_a_crash_judging_a_settlement_keeps_the_exchange_runs_2601_and_the_teardown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSite({"2207": lambda envelope: success("2207"), "2601": lambda envelope: success("2601")})
    runner = _runner(fake)
    original = Runner._evaluate

    def buggy(self: Runner, run: Any, step: Any, index: int, envelope: Any, exchange: Exchange, *rest: Any) -> bool:
        if step.infno == "2207":
            raise KeyError("a bug in a check")
        return original(self, run, step, index, envelope, exchange, *rest)

    monkeypatch.setattr(Runner, "_evaluate", buggy)
    result = runner.run_scenario(scenario((person_step(), settle_step()), teardown=(person_step(),)))
    assert result.outcome is Outcome.ERROR
    assert result.reason.startswith("internal error: KeyError: 'a bug in a check' (this is a bug in hsa-cert, not a "
                                    "finding about the site; report it with the evidence folder)")
    assert "Traceback" in result.internal_error and "a bug in a check" in result.internal_error
    assert "Traceback" not in result.reason
    # 1101, the 2207 that crashed, its 2601 冲正, then the teardown's 1101: all sent, all kept
    assert fake.infnos() == ["9001", "1101", "2207", "2601", "1101"]
    assert [(s.infno, s.teardown) for s in result.steps] == [("1101", False), ("2207", False), ("2601", True),
                                                            ("1101", True)]
    assert all(s.exchange is not None for s in result.steps)
    entry = results_document([result], {}, run={})["scenarios"][0]
    assert entry["internal_error"] == result.internal_error and entry["outcome"] == "error"


def test_a_crash_in_the_transport_is_an_unknown_outcome_resolved_with_2601(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSite({"2601": lambda envelope: success("2601")})
    target = fake.target()
    send = target.send

    def buggy_send(infno: str, envelope: Any) -> Exchange:
        if infno == "2207":
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return send(infno, envelope)

    monkeypatch.setattr(target, "send", buggy_send)
    runner = Runner(target, load_registry(), "baseline", site(), seed=3)
    result = runner.run_scenario(scenario((person_step(), settle_step())))
    assert result.outcome is Outcome.ERROR and result.reason.startswith("internal error: UnicodeEncodeError")
    assert [s.infno for s in result.steps] == ["1101", "2207", "2601"]
    assert result.steps[1].exchange is not None and result.steps[1].exchange.error.startswith("internal error")


def test_a_listener_that_raises_ends_nothing() -> None:
    fake = FakeSite({})
    events: list[RunEvent] = []
    runner = _runner(fake, events)

    def broken(event: RunEvent) -> None:
        raise ValueError("a reporter bug")

    runner.add_listener(broken)
    result = runner.run_scenario(scenario((person_step(),)))
    assert result.outcome is Outcome.PASSED
    assert runner.listener_errors and "a reporter bug" in runner.listener_errors[0]
    assert [e.kind for e in events][-1] == "scenario-finished"
