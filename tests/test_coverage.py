"""Clause coverage against the whole spec (harness/reporting/coverage.py, `hsa-cert specs coverage`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.model import Exchange, Outcome, ScenarioResult, StepResult
from harness.reporting.coverage import coverage_document, spec_clauses
from harness.session import run_session
from harness.specs import load_registry

REGISTRY = load_registry()


def _result(infno: str, request: dict[str, Any], answer: dict[str, Any]) -> ScenarioResult:
    exchange = Exchange(infno=infno, url="", method="POST", request_headers={}, request_body=request, status=200,
                        response_headers={}, response_text=json.dumps(answer), response_json=answer, elapsed_ms=1.0,
                        started_at="")
    return ScenarioResult("s", Outcome.PASSED, (), 1.0, steps=(StepResult(0, infno, exchange),))


def test_the_universe_is_every_field_clause_of_the_edition() -> None:
    universe = spec_clauses(REGISTRY)
    assert "2207.in.data.psn_no" in universe["2207"]["in"] and "2207.out.setlinfo.setl_id" in universe["2207"]["out"]
    assert "ENV.req.msgid" in universe["ENV"]["in"] and "ENV.resp.infcode" in universe["ENV"]["out"]
    assert set(universe) == {spec.infno for spec in REGISTRY.interfaces()} | {"ENV"}


def test_an_output_clause_counts_only_from_a_validated_success_answer() -> None:
    request = {"infno": "9001", "msgid": "x", "input": {"signIn": {"opter_no": "1", "ip": "127.0.0.1"}}}
    good = {"infcode": 0, "output": {"signinoutb": {"sign_time": "2024-01-01 10:00:00", "sign_no": "1"}}}
    bad = {"infcode": 0, "output": {"signinoutb": {"sign_time": "yesterday", "sign_no": "1"}}}
    refused = {"infcode": -1, "err_msg": "no", "output": None}
    counted = coverage_document([_result("9001", request, good)], REGISTRY)["by_interface"]["9001"]
    assert counted["in"]["exercised"] == 2 and counted["out"]["exercised"] == 2
    assert "9001.in.signIn.mac" in counted["in"]["missing"]
    for answer in (bad, refused):
        assert coverage_document([_result("9001", request, answer)], REGISTRY)["by_interface"]["9001"]["out"][
            "exercised"] == 0


@pytest.mark.slow
def test_a_run_records_its_coverage_and_the_cli_shows_it(tmp_path: Path) -> None:
    _code, run_dir, document = run_session(out=tmp_path / "run", echo=lambda _t: None,
                                           keyword="outpatient.settle.reverse or positive")
    coverage = document["coverage"]
    assert coverage["output"]["exercised"] > 100 and 0 < coverage["percent"] < 100
    assert coverage["by_interface"]["2207"]["out"]["exercised"] >= 40
    shown = CliRunner().invoke(app, ["specs", "coverage", str(run_dir)])
    assert shown.exit_code == 0 and f"({coverage['percent']}%)" in shown.output and "2207" in shown.output
    missing = CliRunner().invoke(app, ["specs", "coverage", str(tmp_path)])
    assert missing.exit_code == 2 and "no readable results.json" in missing.output
