"""`hsa-cert certify` end to end: the suites against the embedded reference platform, over HTTP.

A known mixed run: the platform's planted deviation `medins-setl-id-not-msgid`, switched on for 2207
only, breaks rule R-MEDINS-SETL-ID-IS-MSGID in outpatient settlements and nowhere else. With
`-k settle.reverse` the run holds outpatient and inpatient settle-and-reverse flows, so outpatient
fails and inpatient passes; then the same subset without the fault certifies, and `history` shows
the fix. A small subset keeps this fast; the full suite is the engine's business.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app

RUNNER = CliRunner()
SUBSET = "settle.reverse"
FAULT = "2207:mutant=medins-setl-id-not-msgid"
CLAUSE = "R-MEDINS-SETL-ID-IS-MSGID"
HAVE_NODE = shutil.which("node") is not None and shutil.which("npm") is not None


def certify(tmp_path: Path, name: str, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "reports" / "embedded" / name
    argv = ["certify", "-k", SUBSET, "--seed", "11", "--out", str(out), "--reports-dir", str(tmp_path / "reports"),
            *args]
    if not HAVE_NODE:
        argv.append("--no-allure")
    result = RUNNER.invoke(app, argv)
    return result.exit_code, result.output, out


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("certify")
    faulty = certify(tmp, "run-1", "--fault", FAULT)
    clean = certify(tmp, "run-2", "--fail-on-regression")
    history = RUNNER.invoke(app, ["history", "--ledger", str(tmp / "reports" / "ledger.sqlite"), "--json"])
    return {"tmp": tmp, "faulty": faulty, "clean": clean, "history": history}


def test_a_fault_fails_the_verdict_naming_the_scenarios_and_the_clause(runs: dict[str, Any]) -> None:
    code, output, out = runs["faulty"]
    assert code == 1, output
    results = load(out / "results.json")
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert outcomes["outpatient.settle.reverse"] == "failed" and outcomes["inpatient.settle.reverse"] == "passed"
    failed = [s for s in results["scenarios"] if s["outcome"] == "failed"]
    assert failed and all(s["interface"] == "2207" for s in failed)
    assert all(CLAUSE in {f["clause"] for f in s["failures"]} for s in failed)
    assert "NOT CERTIFIED" in output and "outpatient.settle.reverse" in output and CLAUSE in output
    html = (out / "certificate.html").read_text(encoding="utf-8")
    assert "未通过认证" in html and "NOT CERTIFIED" in html
    assert "outpatient.settle.reverse" in html and CLAUSE in html


def test_the_certificate_and_the_json_carry_the_right_figures(runs: dict[str, Any]) -> None:
    _code, _output, out = runs["faulty"]
    results, cert = load(out / "results.json"), load(out / "certification.json")
    outcomes = [s["outcome"] for s in results["scenarios"]]
    total, passed, failed = len(outcomes), outcomes.count("passed"), outcomes.count("failed")
    applicable = total - outcomes.count("not_applicable")
    assert passed and failed and total == passed + failed  # a mixed run, everything provisioned
    for doc in (results["summary"], cert["summary"]):
        assert (doc["total"], doc["passed"], doc["failed"], doc["error"]) == (total, passed, failed, 0)
        assert doc["pass_rate"] == pytest.approx(passed / applicable, abs=1e-4)
    per_interface = {t["key"]: t for t in cert["by_interface"]}
    assert per_interface["2207"]["passed"] == 0 and per_interface["2304"]["failed"] == 0
    assert cert["run"]["cert_profile"] == "hospital-full" and cert["run"]["environment"] == "embedded"
    assert cert["run"]["spec_version"] == "v1.1.27" and re.fullmatch(r"[0-9a-f]{64}", cert["run"]["suite_fingerprint"])
    html = (out / "certificate.html").read_text(encoding="utf-8")
    assert f"{cert['summary']['pass_rate'] * 100:.1f}%" in html
    assert f"{passed} / {total}" in html
    for name in ("results.json", "junit.xml", "exchanges.jsonl", "certification.json", "evidence.sha256"):
        assert (out / name).is_file(), name
    assert any((out / "allure-results").glob("*-result.json"))


def test_the_evidence_verifies_and_a_one_byte_edit_shows(runs: dict[str, Any]) -> None:
    _code, _output, out = runs["faulty"]
    assert RUNNER.invoke(app, ["verify", str(out)]).exit_code == 0
    copy = runs["tmp"] / "tampered"
    shutil.copytree(out, copy)
    exchanges = copy / "exchanges.jsonl"
    data = bytearray(exchanges.read_bytes())
    data[-10] = ord("9") if data[-10] != ord("9") else ord("8")
    exchanges.write_bytes(bytes(data))
    result = RUNNER.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and "exchanges.jsonl" in result.output


def test_without_the_fault_it_certifies_and_history_shows_the_fix(runs: dict[str, Any]) -> None:
    code, output, out = runs["clean"]
    assert code == 0, output
    assert "通过认证" in (out / "certificate.html").read_text(encoding="utf-8")
    assert runs["history"].exit_code == 0
    (site,) = json.loads(runs["history"].output)["sites"]
    assert [r["run_id"] for r in site["runs"]] == [load(p / "results.json")["run"]["run_id"]
                                                  for p in (runs["faulty"][2], out)]
    assert [r["verdict"] for r in site["runs"]] == ["not certified", "certified"]
    assert "outpatient.settle.reverse" in site["diff"]["fixed"]
    assert site["diff"]["newly_failing"] == [] and site["diff"]["new"] == site["diff"]["removed"] == []
    assert site["interfaces"]["2207"][-1]["pass_rate"] == 1.0


@pytest.mark.skipif(not HAVE_NODE, reason="Node.js and npm are needed for the Allure 3 report")
def test_the_allure_report_of_both_runs_shares_the_site_history(runs: dict[str, Any]) -> None:
    from harness.reporting.allure_offline import external_urls

    for _code, output, out in (runs["faulty"], runs["clean"]):
        assert "Allure report:" in output, output
        assert (out / "allure-report" / "index.html").is_file()
        assert external_urls(out / "allure-report") == []
    history = runs["tmp"] / "reports" / "embedded" / "history.jsonl"
    entries = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 2
    statuses = [{r["status"] for r in e["testResults"].values()} for e in entries]
    assert statuses == [{"passed", "failed"}, {"passed"}]


def test_usage_config_and_infrastructure_exit_codes(tmp_path: Path) -> None:
    assert certify(tmp_path, "a", "--min-pass-rate", "150%")[0] == 2
    assert certify(tmp_path, "b", "--profile", "hospital-everything")[0] == 2
    bad = tmp_path / "kf.toml"
    bad.write_text('[[known_failure]]\nscenario = "x"\n', encoding="utf-8")
    assert certify(tmp_path, "c", "--baseline", str(bad))[0] == 2
    assert not (tmp_path / "reports" / "embedded").exists()  # nothing ran
    code, output, out = certify(tmp_path, "d", "--fault", "*:http-5xx=503", "--no-allure")
    assert code == 3, output
    assert "INCOMPLETE" in output and "HTTP 503" in output
    assert "INCOMPLETE" in (out / "certificate.html").read_text(encoding="utf-8")  # the evidence of a bad run
