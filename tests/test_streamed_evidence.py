"""Bounded memory: a run writes its exchanges as it goes and keeps only a slim copy of each finished result,
with the same evidence as when everything was held to the end."""

from __future__ import annotations

import json
from pathlib import Path

from harness.model import Exchange, Failure, Outcome, ScenarioResult, StepResult
from harness.reporting.results_json import ExchangeLog, results_document, slim_result, write_exchanges
from harness.session import run_session


def exchange(infno: str, msgid: str) -> Exchange:
    return Exchange(infno=infno, url="http://site.test/fsi", method="POST", request_headers={"x": "1"},
                    request_body={"msgid": msgid, "infno": infno, "input": {"data": {"psn_no": "P" * 20}}},
                    status=200, response_headers={"content-type": "application/json"},
                    response_text='{"infcode": 0, "output": {"big": "' + "x" * 2000 + '"}}',
                    response_json={"infcode": 0, "output": {"big": "x" * 2000}}, elapsed_ms=12.3456,
                    started_at="2026-01-01T00:00:00+08:00")


def result(sid: str) -> ScenarioResult:
    steps = (StepResult(0, "2201", exchange("2201", f"{sid}-1")),
             StepResult(1, "2207", exchange("2207", f"{sid}-2"), failures=(Failure("t", "R-X"),)),
             StepResult(2, "2208", None, teardown=True))
    return ScenarioResult(sid, Outcome.FAILED, ("R-X",), 5.0, steps=steps, failures=(Failure("t", "R-X"),))


def test_the_streamed_log_is_the_log_written_at_the_end(tmp_path: Path) -> None:
    results = [result("a"), result("b")]
    sign_in = exchange("9001", "sign")
    write_exchanges(tmp_path / "end.jsonl", results, run_exchanges=[sign_in])
    log = ExchangeLog(tmp_path / "streamed.jsonl")
    for one in results:
        log.run_exchange(sign_in)  # once only, before the first scenario's lines
        log.result(one)
    log.run_exchange(sign_in)
    log.close()
    assert (tmp_path / "streamed.jsonl").read_bytes() == (tmp_path / "end.jsonl").read_bytes()


def test_a_slim_result_gives_the_same_results_json_and_drops_the_traffic() -> None:
    full = result("a")
    slim = slim_result(full)
    run = {"run_id": "r"}
    assert results_document([slim], {}, run=run) == results_document([full], {}, run=run)
    assert all(s.exchange is None or (s.exchange.response_text == "" and s.exchange.response_json is None)
               for s in slim.steps)
    assert slim.failures == full.failures and slim.outcome is full.outcome


def test_a_run_streams_every_exchange_and_its_reports_still_show_the_failing_one(tmp_path: Path) -> None:
    _code, run_dir, document = run_session(out=tmp_path / "run", seed=7, keyword="outpatient.settle.resident-cash",
                                           faults=["2207:mutant=infcode-as-string"], echo=lambda _t: None)
    lines = [json.loads(line) for line in (run_dir / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["scenario_id"] == "" and lines[0]["infno"] == "9001"
    steps = sum(1 for s in document["scenarios"] for step in s["steps"]
                if step["index"] >= 0 and step["status"] is not None)
    assert len(lines) - 1 == steps > 0
    assert all(line["request"] and line["response"] for line in lines)
    assert {s["outcome"] for s in document["scenarios"]} == {"failed"}
    assert all(step["msgid"] for s in document["scenarios"] for step in s["steps"] if step["status"] is not None)
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "curl" in junit  # the failure text (made before the result was slimmed) still reproduces the call
