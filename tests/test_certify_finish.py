"""certify's finishing steps and the verify / history / report commands, on hand-made runs.

The end-to-end runs against the reference platform are in test_certify_e2e.py; these pin the
files, figures and exit codes without depending on the suites.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from reporting_samples import MIXED, info, mixed_record, scenario, write_run_dir
from typer.testing import CliRunner

from harness.cli import app
from harness.model import Outcome
from harness.reporting.certify import finish_certification, rebuild_reports
from harness.reporting.certify_particulars import run_info, suite_fingerprint
from harness.reporting.certprofile import load_profile
from harness.reporting.gate import GatePolicy
from harness.reporting.record import RunRecord

RUNNER = CliRunner()


def finish(tmp_path: Path, record: RunRecord, **policy: object):
    run_dir = write_run_dir(tmp_path / "reports" / record.info.site_id / record.info.run_id, record)
    return finish_certification(
        run_dir, record.info, scenarios={}, levels={s.id: s.level for s in record.scenarios},
        policy=GatePolicy(**policy), ledger=tmp_path / "reports" / "ledger.sqlite",  # type: ignore[arg-type]
        reports_dir=tmp_path / "reports", allure=False,
    )


def test_the_evidence_files_and_figures_of_a_mixed_run(tmp_path: Path) -> None:
    outcome = finish(tmp_path, mixed_record())
    run_dir = outcome.run_dir
    assert outcome.exit_code == 1 and outcome.gate.verdict == "not certified"
    for name in ("results.json", "exchanges.jsonl", "certification.json", "certificate.html", "evidence.sha256"):
        assert (run_dir / name).is_file(), name
    data = json.loads((run_dir / "certification.json").read_text(encoding="utf-8"))
    assert data["summary"] == {"key": "all", "total": 7, "passed": 3, "failed": 2, "error": 0, "not_provisioned": 1,
                               "not_applicable": 1, "inconclusive": 0, "pass_rate": 0.6, "coverage": 0.8333,
                               "advisories": 0, "grades": {"MUST": 7, "SHOULD": 0, "MAY": 0}}
    assert data["gate"]["verdict"] == "not certified"
    assert [f["scenario"] for f in data["gate"]["findings"]] == ["outpatient.not-filed.refused",
                                                                 "chronic.settle.reverse"]
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["pass_rate"] == data["summary"]["pass_rate"]
    assert outcome.digest in (run_dir / "certificate.html").read_text(encoding="utf-8")


def test_verify_history_and_report_commands(tmp_path: Path) -> None:
    ledger = tmp_path / "reports" / "ledger.sqlite"
    first = finish(tmp_path, mixed_record("run-1"))
    fixed = tuple(replace(s, outcome=Outcome.PASSED, failures=()) if s.id == "outpatient.not-filed.refused" else s
                  for s in mixed_record().scenarios)
    added = (*fixed, scenario("outpatient.new-case", Outcome.PASSED))
    second = finish(tmp_path, RunRecord(info("run-2"), added), fail_on_regression=True)
    assert second.gate.compared_with == "run-1"

    result = RUNNER.invoke(app, ["verify", str(first.run_dir)])
    assert result.exit_code == 0 and "intact" in result.output

    result = RUNNER.invoke(app, ["history", "--ledger", str(ledger), "--site", "test-site"])
    assert result.exit_code == 0, result.output
    assert "run-1" in result.output and "run-2" in result.output and "fixed (1)" in result.output
    result = RUNNER.invoke(app, ["history", "--ledger", str(ledger), "--json"])
    diff = json.loads(result.output)["sites"][0]["diff"]
    assert diff["fixed"] == ["outpatient.not-filed.refused"] and diff["new"] == ["outpatient.new-case"]

    result = RUNNER.invoke(app, ["report", str(first.run_dir), "--no-allure", "--reports-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert RUNNER.invoke(app, ["verify", str(first.run_dir)]).exit_code == 0

    (first.run_dir / "results.json").write_text("{}", encoding="utf-8")
    result = RUNNER.invoke(app, ["verify", str(first.run_dir)])
    assert result.exit_code == 1 and "results.json" in result.output
    result = RUNNER.invoke(app, ["report", str(first.run_dir), "--no-allure"])
    assert result.exit_code == 2 and "changed after the certificate was issued" in result.output


def test_history_without_a_ledger_and_verify_without_evidence_exit_2(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["history", "--ledger", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and "No ledger yet" in result.output
    assert RUNNER.invoke(app, ["verify", str(tmp_path)]).exit_code == 2


def test_rebuild_renders_the_same_certificate(tmp_path: Path) -> None:
    outcome = finish(tmp_path, mixed_record())
    before = outcome.certificate.read_text(encoding="utf-8")
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert again.certificate.read_text(encoding="utf-8") == before and again.digest == outcome.digest


def test_run_info_and_suite_fingerprint_from_results_json() -> None:
    document = {
        "run": {"run_id": "r1", "profile": "hunan", "spec_version": "v1.1.27", "seed": 3,
                "started_at": "2025-01-01T10:00:00+08:00", "finished_at": "2025-01-01T10:00:09+08:00",
                "site": {"id": "hn-1", "name": "湖南某医院", "base_url": "https://10.0.0.1", "fixmedins_code": "H1",
                         "capabilities": ["outpatient"], "reference": False}},
        "scenarios": [{"id": row[0], "fingerprint": f"fp{i}"} for i, row in enumerate(MIXED)],
    }
    got = run_info(document, load_profile("hospital-outpatient"))
    assert (got.site_id, got.environment, got.province_profile, got.seed) == ("hn-1", "site", "hunan", 3)
    assert got.cert_profile == "hospital-outpatient" and got.capabilities == ("outpatient",)
    assert got.suite_fingerprint == suite_fingerprint(reversed(document["scenarios"]))  # order does not matter
    changed = [*document["scenarios"][:-1], {"id": MIXED[-1][0], "fingerprint": "changed"}]
    assert suite_fingerprint(changed) != got.suite_fingerprint
