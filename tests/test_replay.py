"""`hsa-cert replay RUN SCENARIO`: a recorded failing flow run again, and the difference shown (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import UsageError
from harness.reporting.replay import diff_flows, load_flow

RUNNER = CliRunner()
SCENARIO = "cause.not-filed.outpatient"
MUTANT = "2207:mutant=accept-not-filed"


def _exchange(infno: str, infcode: int, output: object = None, **over: object) -> dict:
    body = {"infcode": infcode, "err_msg": None if infcode == 0 else "未备案", "msgid": "X", "output": output}
    return {"scenario_id": "s", "infno": infno, "status": 200, "error": None, "response": json.dumps(body), **over}


def test_ids_and_times_are_not_differences_but_answers_are() -> None:
    before = [_exchange("1101", 0, {"baseinfo": {"psn_no": "1", "sign_time": "a"}}),
              _exchange("2207", 0, {"setlinfo": {"setl_id": "S1", "medfee_sumamt": 10.0}})]
    same = [_exchange("1101", 0, {"baseinfo": {"psn_no": "1", "sign_time": "b"}}),
            _exchange("2207", 0, {"setlinfo": {"setl_id": "S2", "medfee_sumamt": 10.0}})]
    assert diff_flows(before, same) == []
    refused = [same[0], _exchange("2207", -1, None)]
    assert diff_flows(before, refused) == ["step 1 (2207): infcode 0 -> -1", "step 1 (2207): err_msg None -> '未备案'",
                                           "step 1 (2207): output 1 field(s) -> 0 field(s)"]
    changed = [same[0], _exchange("2207", 0, {"setlinfo": {"setl_id": "S3", "medfee_sumamt": 11.0}})]
    assert diff_flows(before, changed) == ["step 1 (2207): output.setlinfo.medfee_sumamt 10.0 -> 11.0"]
    assert diff_flows(before, same[:1]) == ["step 1 (2207): only in the recorded run"]


def test_an_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"scenarios": [{"id": "a", "outcome": "passed"}]}),
                                           encoding="utf-8")
    with pytest.raises(UsageError, match="not in this run"):
        load_flow(tmp_path, "b")
    assert load_flow(tmp_path, "a").exchanges == ()


def test_replay_reproduces_a_failing_flow_with_the_mutant_on_and_shows_the_fix_without(tmp_path: Path) -> None:
    from harness.scenarios.catalogue import load_suites
    from harness.session import run_session
    from harness.specs import load_registry

    chosen = [s for s in load_suites(load_registry(), "baseline") if s.id == SCENARIO]
    _code, _dir, document = run_session(out=tmp_path / "run", faults=[MUTANT], scenarios=chosen, seed=7,
                                        echo=lambda _m: None)
    assert [(s["id"], s["outcome"]) for s in document["scenarios"]] == [(SCENARIO, "failed")]

    again = RUNNER.invoke(app, ["replay", str(tmp_path / "run"), SCENARIO])
    assert again.exit_code == 0, again.output[-2000:]
    assert f"with faults {MUTANT}" in again.output and "recorded failed, now failed" in again.output
    assert "expected a refusal (not-filed), the site accepted" in again.output
    assert "no difference in the exchanges" in again.output

    clean = RUNNER.invoke(app, ["replay", str(tmp_path / "run"), SCENARIO, "--clean"])
    assert clean.exit_code == 1, clean.output[-2000:]
    assert "recorded failed, now passed  (CHANGED)" in clean.output
    assert "(2207): infcode 0 -> -1" in clean.output


def test_the_powershell_line_quotes_for_powershell_and_keeps_secrets_out() -> None:
    from harness.model import Exchange
    from harness.reporting.curl import powershell_command

    exchange = Exchange(
        infno="2207", url="https://hsa.example/fsi/api/callService", method="POST",
        request_headers={"Content-Type": "application/json;charset=utf-8", "x-tif-paasid": "***(12)",
                         "x-tif-signature": "abc", "Accept": "application/json"},
        request_body={"infno": "2207", "input": {"data": {"psn_name": "O'Brien 张三"}}}, status=200,
        response_headers={}, response_text="", response_json=None, elapsed_ms=1.0, started_at="")
    line = powershell_command(exchange, header_env={"x-tif-paasid": "HSA_TIF_PAASID"})
    assert line.startswith("Invoke-RestMethod -Method POST -Uri 'https://hsa.example/fsi/api/callService' ")
    assert "'x-tif-paasid'=$env:HSA_TIF_PAASID" in line and "***" not in line
    assert "'x-tif-signature'='<re-sign: x-tif-signature is time-bound>'" in line
    assert "-ContentType 'application/json;charset=utf-8'" in line and "'Content-Type'=" not in line
    assert "O''Brien 张三" in line and line.endswith("))")  # a single quote doubles inside PowerShell quotes
