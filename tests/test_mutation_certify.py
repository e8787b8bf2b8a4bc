"""certify's finishing steps with literal expected values (issue 17: tests that catch a broken harness).

Each test pins a figure that `finish_certification` / `rebuild_reports` write or return: the record's
extra particulars, the manifest, the seal, the ledger row, the pending grace, the Allure call.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from engine_samples import scenario as sample_scenario
from reporting_samples import info, mixed_record, results_json, scenario, write_run_dir

from harness import __version__
from harness.errors import UsageError
from harness.model import Level, Outcome
from harness.reporting import certify, certify_particulars
from harness.reporting.allure_report import ReportOutcome
from harness.reporting.certificate import write_certificate
from harness.reporting.certify import (
    CERTIFICATION_JSON,
    CertifyOutcome,
    finish_certification,
    rebuild_reports,
    site_history_path,
)
from harness.reporting.certify_particulars import (
    DEFAULT_ISSUER,
    certificate_number,
    interface_names,
    run_info,
    suite_fingerprint,
)
from harness.reporting.certprofile import load_profile
from harness.reporting.evidence import canonical_files, sha256_file, write_manifest
from harness.reporting.gate import GatePolicy, GateResult
from harness.reporting.ledger import load_runs
from harness.reporting.ledger_chain import chain_head
from harness.reporting.manifest import spec_files_fingerprint, verification_code
from harness.reporting.mutation_score import write_score
from harness.reporting.record import RunRecord
from harness.reporting.signing import SigningKey
from harness.resources import specs_dir

SITE = {"id": "test-site", "name": "测试医院", "base_url": "http://127.0.0.1:8080", "api_token": "s3cret"}


def passing_record(run_id: str, *extra: Any, **over: Any) -> RunRecord:
    rows = (scenario("outpatient.a", Outcome.PASSED), scenario("outpatient.b", Outcome.PASSED))
    return RunRecord(info(run_id, **over), (*rows, *extra))


def finish(tmp_path: Path, record: RunRecord, *, results: dict[str, Any] | None = None,
           policy: GatePolicy | None = None, allure_results: bool = False, **kwargs: Any) -> CertifyOutcome:
    run_dir = write_run_dir(tmp_path / "reports" / record.info.site_id / record.info.run_id, record)
    if results is not None:
        document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        (run_dir / "results.json").write_text(json.dumps({**document, **results}, ensure_ascii=False),
                                              encoding="utf-8")
    if allure_results:
        (run_dir / "allure-results").mkdir()
    return finish_certification(
        run_dir, record.info, scenarios={}, levels={s.id: s.level for s in record.scenarios},
        policy=policy or GatePolicy(), ledger=tmp_path / "reports" / "ledger.sqlite",
        reports_dir=tmp_path / "reports", **{"allure": False, **kwargs},
    )


def certification(outcome: CertifyOutcome) -> dict[str, Any]:
    return json.loads((outcome.run_dir / CERTIFICATION_JSON).read_text(encoding="utf-8"))


def manifest(outcome: CertifyOutcome) -> dict[str, Any]:
    return json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))


# --- the pure helpers ---


def test_the_suite_fingerprint_is_the_sha256_of_the_sorted_lines() -> None:
    entries = [{"id": "b", "fingerprint": "2"}, {"id": "a", "fingerprint": "1"}]
    assert suite_fingerprint(entries) == hashlib.sha256(b"a 1\nb 2\n").hexdigest()
    assert suite_fingerprint([{}]) == hashlib.sha256(b" \n").hexdigest()
    assert suite_fingerprint([]) == hashlib.sha256(b"").hexdigest()


def test_run_info_reads_every_field() -> None:
    document = {
        "run": {"run_id": "r1", "profile": "hunan", "spec_version": "v1.1.27", "seed": 3,
                "started_at": "2025-01-01T10:00:00+08:00", "finished_at": "2025-01-01T10:00:09+08:00",
                "site": {"id": "hn-1", "name": "湖南某医院", "base_url": "https://10.0.0.1", "fixmedins_code": "H1",
                         "capabilities": ["outpatient", "filing"], "reference": True, "profile": "other"}},
        "tool": {"version": "9.9.9", "suite_fingerprint": "d" * 64},
        "scenarios": [{"id": "a", "fingerprint": "1"}],
    }
    got = run_info(document, load_profile("hospital-outpatient"))
    profile = load_profile("hospital-outpatient")
    assert got == certify_particulars.RunInfo(
        run_id="r1", site_id="hn-1", site_name="湖南某医院", fixmedins_code="H1", environment="embedded",
        base_url="https://10.0.0.1", cert_profile="hospital-outpatient", cert_profile_title_zh=profile.title_zh,
        cert_profile_title_en=profile.title_en, province_profile="hunan", spec_version="v1.1.27",
        suite_fingerprint=hashlib.sha256(b"a 1\n").hexdigest(), harness_version="9.9.9",
        default_suite_fingerprint="d" * 64, seed=3, started_at="2025-01-01T10:00:00+08:00",
        finished_at="2025-01-01T10:00:09+08:00", capabilities=("outpatient", "filing"))
    assert profile.title_zh and profile.title_en


def test_run_info_of_an_empty_document_has_the_defaults() -> None:
    got = run_info({}, load_profile("hospital-outpatient"))
    assert (got.run_id, got.site_id, got.site_name, got.fixmedins_code, got.environment, got.base_url) == (
        "", "unknown", "", "", "site", "")
    assert (got.province_profile, got.spec_version, got.harness_version, got.default_suite_fingerprint) == (
        "", "", __version__, "")
    assert (got.seed, got.started_at, got.finished_at, got.capabilities) == (None, "", "", ())
    assert got.suite_fingerprint == hashlib.sha256(b"").hexdigest()
    # the province profile falls back to the site's; a site that is not the reference is "site"
    got = run_info({"run": {"site": {"profile": "hunan", "reference": False}}}, load_profile("hospital-outpatient"))
    assert (got.province_profile, got.environment) == ("hunan", "site")


def test_the_site_history_is_kept_beside_the_sites_runs(tmp_path: Path) -> None:
    assert site_history_path(tmp_path, "hn-1") == tmp_path / "hn-1" / "history.jsonl"


def test_interface_names_of_the_default_and_a_named_spec_version() -> None:
    assert interface_names()["2207"] == "门诊结算"
    assert interface_names("")["1101"] == "人员信息获取"
    assert interface_names("v1.1.27")["2207"] == "门诊结算"
    assert interface_names("v0.0.0") == {}  # an unknown version: no names, no crash


@pytest.mark.parametrize(("site", "sequence", "number"), [
    ("hn-1", 7, "HSA-HN-1-20250102-0007"),
    ("a b_c", 12345, "HSA-A-B-C-20250102-12345"),
    ("--x--", 1, "HSA-X-20250102-0001"),
    ("湖南", 1, "HSA-SITE-20250102-0001"),
    ("", 0, "HSA-SITE-20250102-0000"),
])
def test_certificate_numbers(site: str, sequence: int, number: str) -> None:
    assert certificate_number(site, date(2025, 1, 2), sequence) == number


def test_an_outcome_without_a_manifest_has_no_code() -> None:
    gate = GateResult(exit_code=1)
    outcome = CertifyOutcome(Path("."), mixed_record(), gate, "d", Path("c"), None)
    assert (outcome.code, outcome.number, outcome.key_fingerprint, outcome.exit_code) == ("", "", "", 1)


# --- finish_certification ---


def test_the_certificate_particulars_of_a_first_and_second_run(tmp_path: Path) -> None:
    first = finish(tmp_path, passing_record("run-1"))
    text = (first.run_dir / CERTIFICATION_JSON).read_text(encoding="utf-8")
    assert text.startswith('{\n  "format": ') and text.endswith("\n}\n")  # indented, in the record's order
    assert "测试医院" in text  # not escaped
    assert certification(first)["certificate"] == {
        "number": "HSA-TEST-SITE-20250101-0001", "issuer": DEFAULT_ISSUER, "issued": "2025-01-01",
        "validity_days": 365, "valid_until": "2026-01-01", "mutation_score": None}
    assert first.number == "HSA-TEST-SITE-20250101-0001"
    write_score(tmp_path / "reports" / "ledger.sqlite", caught=9, total=10, suite_fingerprint="abc")
    second = finish(tmp_path, passing_record("run-2", finished_at="2025-03-04T23:59:59+08:00"),
                    issuer="某检测中心", validity_days=30)
    document = certification(second)["certificate"]
    assert {k: v for k, v in document.items() if k != "mutation_score"} == {
        "number": "HSA-TEST-SITE-20250304-0002", "issuer": "某检测中心", "issued": "2025-03-04",
        "validity_days": 30, "valid_until": "2025-04-03"}
    assert (document["mutation_score"]["caught"], document["mutation_score"]["total"]) == (9, 10)
    other = finish(tmp_path, passing_record("run-3", site="other-site"))
    assert other.number == "HSA-OTHER-SITE-20250101-0001"  # the sequence is per site



def test_without_a_ledger_yet_the_certificate_is_the_site_s_first(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    document = certify_particulars._document(info("run-1"), ledger, issuer="", validity_days=30)
    assert document["number"] == "HSA-TEST-SITE-20250101-0001"  # no runs to count, and none read
    assert not ledger.exists()


def test_an_unreadable_finish_time_issues_today(tmp_path: Path) -> None:
    before = datetime.now(UTC).date()
    outcome = finish(tmp_path, passing_record("run-1", finished_at="not a time"))
    after = datetime.now(UTC).date()
    issued = certification(outcome)["certificate"]["issued"]
    assert issued in {before.isoformat(), after.isoformat()}


def test_the_record_carries_the_gate_and_the_coverage_without_its_per_interface_part(tmp_path: Path) -> None:
    coverage = {"percent": 75.0, "exercised": 9, "total": 12, "output": {"exercised": 4, "total": 6},
                "by_interface": {"2207": {"exercised": 3, "total": 4}}}
    outcome = finish(tmp_path, mixed_record(), results={"coverage": coverage})
    data = certification(outcome)
    assert data["coverage"] == {"percent": 75.0, "exercised": 9, "total": 12, "output": {"exercised": 4, "total": 6}}
    assert data["gate"] == outcome.gate.to_json() and data["gate"]["exit_code"] == 1
    assert outcome.exit_code == 1 and outcome.gate.verdict == "not certified"
    plain = finish(tmp_path / "plain", mixed_record())
    assert "coverage" not in certification(plain)


def test_the_manifest_names_the_files_identity_site_and_chain(tmp_path: Path) -> None:
    run = {"site": SITE, "run_id": "run-1"}
    first = finish(tmp_path, passing_record("run-1"), results={"run": run})
    data = manifest(first)
    files = {name: sha256_file(first.run_dir / name) for name in canonical_files(first.run_dir)
             if name not in {"certificate.html", "manifest.json"}}
    assert data["files"] == files and "results.json" in files and "certification.json" in files
    assert data["evidence_digest"] == first.digest
    assert (data["run_id"], data["site_id"], data["certificate_number"], data["verdict"]) == (
        "run-1", "test-site", "HSA-TEST-SITE-20250101-0001", "certified")
    assert data["site"] == {"id": "test-site", "name": "测试医院", "base_url": "http://127.0.0.1:8080"}
    assert (data["suite_fingerprint"], data["default_suite_fingerprint"], data["spec_version"]) == (
        "f" * 64, "", "v1.1.27")
    assert data["spec_files_fingerprint"] == spec_files_fingerprint(specs_dir())
    assert (data["cert_profile"], data["province_profile"]) == ("hospital-outpatient", "baseline")
    assert data["tool"] == {"name": "hsa-cert", "version": "0.1.0"}
    assert (data["issuer"], data["issued"], data["valid_until"], data["mutation_score"]) == (
        DEFAULT_ISSUER, "2025-01-01", "2026-01-01", None)
    assert "validity_days" not in data and "number" not in data
    assert data["previous"] is None
    digest = hashlib.sha256((first.run_dir / "manifest.json").read_bytes()).hexdigest()
    assert first.manifest_digest == digest and first.code == verification_code(digest)
    assert first.code in first.certificate.read_text(encoding="utf-8")

    second = finish(tmp_path, passing_record("run-2"))
    head = chain_head(tmp_path / "reports" / "ledger.sqlite", "test-site")
    assert manifest(second)["previous"]["run_id"] == "run-1"
    assert head is not None and head[0] == "run-2"
    assert manifest(second)["site"] == {}


def test_the_ledger_row_of_a_run(tmp_path: Path) -> None:
    outcome = finish(tmp_path, mixed_record("run-1"))
    (row,) = load_runs(tmp_path / "reports" / "ledger.sqlite", "test-site")
    assert (row.run_id, row.verdict, row.exit_code, row.out_dir) == (
        "run-1", "not certified", 1, str(outcome.run_dir))
    head = chain_head(tmp_path / "reports" / "ledger.sqlite", "test-site")
    assert head is not None and head[0] == "run-1"


def test_the_previous_run_is_compared_with(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-1"))
    broken = RunRecord(info("run-2"), (scenario("outpatient.a", Outcome.PASSED),
                                       scenario("outpatient.b", Outcome.FAILED)))
    second = finish(tmp_path, broken, policy=GatePolicy(fail_on_regression=True))
    assert second.gate.compared_with == "run-1"
    assert [f.rule for f in second.gate.findings] == ["mandatory", "regression"]


def test_a_signed_run_names_its_key(tmp_path: Path) -> None:
    key = SigningKey(Ed25519PrivateKey.generate(), "test")
    outcome = finish(tmp_path, passing_record("run-1"), signing_key=key)
    seal = json.loads((outcome.run_dir / "evidence.sig").read_text(encoding="utf-8"))
    assert outcome.key_fingerprint == key.fingerprint == seal["key_fingerprint"]
    assert seal["manifest_digest"] == outcome.manifest_digest
    assert key.fingerprint in outcome.certificate.read_text(encoding="utf-8")
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert (again.key_fingerprint, again.manifest_digest, again.code) == (
        key.fingerprint, outcome.manifest_digest, outcome.code)
    unsigned = finish(tmp_path / "u", passing_record("run-1"))
    assert unsigned.key_fingerprint == "" and not (unsigned.run_dir / "evidence.sig").exists()


def test_a_run_without_readable_results_is_a_usage_error(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for text in (None, "{not json"):
        if text is not None:
            (run_dir / "results.json").write_text(text, encoding="utf-8")
        with pytest.raises(UsageError) as caught:
            finish_certification(run_dir, info(), scenarios={}, levels={}, policy=GatePolicy(),
                                 ledger=tmp_path / "ledger.sqlite", reports_dir=tmp_path, allure=False)
        assert caught.value.title == "The run left no readable results.json"
        assert caught.value.location == str(run_dir / "results.json") and caught.value.detail


# --- the pending grace of scenarios new since the last certified run ---


def new_failing() -> Any:
    return scenario("outpatient.new", Outcome.FAILED)


@pytest.mark.parametrize(("grace", "pending", "exit_code"), [
    (0, (), 1), (-5, (), 1), (1, (("outpatient.new", "2025-01-02"),), 0),
    (30, (("outpatient.new", "2025-01-31"),), 0)])
def test_a_new_failing_scenario_is_pending_during_its_grace(tmp_path: Path, grace: int,
                                                            pending: tuple[tuple[str, str], ...],
                                                            exit_code: int) -> None:
    finish(tmp_path, passing_record("run-1"))
    outcome = finish(tmp_path, passing_record("run-2", new_failing()), pending_grace_days=grace)
    assert outcome.gate.pending == pending and outcome.exit_code == exit_code


def test_a_run_never_certified_has_nothing_pending(tmp_path: Path) -> None:
    finish(tmp_path, mixed_record("run-1"))  # not certified
    outcome = finish(tmp_path, passing_record("run-2", new_failing()), pending_grace_days=30)
    assert outcome.gate.pending == () and outcome.exit_code == 1
    first = finish(tmp_path / "first", passing_record("run-1", new_failing()), pending_grace_days=30)
    assert first.gate.pending == () and first.exit_code == 1


def not_certified(run_id: str, **over: Any) -> RunRecord:
    """A run with the new scenario and a known one failing: not certified, so the new one stays new."""
    return RunRecord(info(run_id, **over), (scenario("outpatient.a", Outcome.PASSED),
                                            scenario("outpatient.b", Outcome.FAILED), new_failing()))


def test_the_grace_counts_from_the_first_run_that_saw_the_scenario(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-1"))
    second = finish(tmp_path, not_certified("run-2", started_at="2025-01-10T09:00:00+08:00"), pending_grace_days=30)
    assert second.exit_code == 1
    third = finish(tmp_path, passing_record("run-3", new_failing(), finished_at="2025-01-20T10:00:00+08:00"),
                   pending_grace_days=30)
    assert third.gate.pending == (("outpatient.new", "2025-02-09"),)
    # a scenario already in the certified run is never pending
    known = finish(tmp_path / "k", passing_record("run-1"))
    assert known.gate.pending == ()


def test_an_unreadable_first_sighting_counts_from_the_issue_date(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-1"))
    finish(tmp_path, not_certified("run-2", started_at="garbled"), pending_grace_days=30)
    third = finish(tmp_path, passing_record("run-3", new_failing(), finished_at="2025-01-20T10:00:00+08:00"),
                   pending_grace_days=30)
    assert third.gate.pending == (("outpatient.new", "2025-02-19"),)


def test_a_given_gate_day_is_kept_with_pending_scenarios(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-1"))
    late = finish(tmp_path, passing_record("run-2", new_failing()), pending_grace_days=1,
                  policy=GatePolicy(today=date(2025, 6, 1)))
    assert late.exit_code == 1  # the grace ended on 2025-01-02: 1 June is past it
    finish(tmp_path / "b", passing_record("run-1"))
    within = finish(tmp_path / "b", passing_record("run-2", new_failing(), finished_at="2025-06-01T10:00:00+08:00"),
                    pending_grace_days=1, policy=GatePolicy(today=date(2025, 6, 1)))
    assert within.exit_code == 0 and within.gate.pending == (("outpatient.new", "2025-06-02"),)


# --- the Allure report ---


def capture_report(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def fake(*args: Any, **kwargs: Any) -> ReportOutcome:
        calls.append((args, kwargs))
        return ReportOutcome(True, None, "built")

    monkeypatch.setattr(certify, "generate_report", fake)
    return calls


def test_the_allure_report_is_built_with_the_sites_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = capture_report(monkeypatch)
    progress: list[str] = []
    outcome = finish(tmp_path, passing_record("run-1"), allure=True, allure_results=True, progress=progress.append)
    assert outcome.allure == ReportOutcome(True, None, "built")
    ((args, kwargs),) = calls
    assert args == ([outcome.run_dir / "allure-results"], outcome.run_dir / "allure-report")
    assert kwargs == {
        "history": tmp_path / "reports" / "test-site" / "history.jsonl",
        "name": "hsa-cert · 测试医院 Test Hospital · hospital-outpatient", "environment": "embedded",
        "variables": {"site": "test-site", "profile": "hospital-outpatient", "spec": "v1.1.27",
                      "province": "baseline", "run": "run-1"},
        "progress": progress.append, "append_history": True}
    rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=True, progress=progress.append)
    assert calls[1][1]["append_history"] is False and calls[1][1]["name"] == kwargs["name"]
    rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert len(calls) == 2


def test_the_report_names_the_site_by_id_without_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = capture_report(monkeypatch)
    finish(tmp_path, passing_record("run-1", site_name=""), allure=True, allure_results=True)
    assert calls[0][1]["name"] == "hsa-cert · test-site · hospital-outpatient"


def test_no_allure_results_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = capture_report(monkeypatch)
    outcome = finish(tmp_path, passing_record("run-1"), allure=True)
    assert outcome.allure == ReportOutcome(
        False, None, f"no allure-results in {outcome.run_dir}: the Allure report was not built")
    assert calls == []
    assert finish(tmp_path / "n", passing_record("run-1")).allure is None


# --- rebuild_reports ---


def test_rebuild_reads_the_gate_and_seal_back(tmp_path: Path) -> None:
    outcome = finish(tmp_path, mixed_record(), policy=GatePolicy(min_pass_rate=0.5))
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert again.gate.exit_code == 1 and again.gate.criteria == outcome.gate.criteria
    assert len(again.gate.criteria) == 2
    assert (again.digest, again.manifest_digest, again.code, again.key_fingerprint) == (
        outcome.digest, outcome.manifest_digest, outcome.code, "")
    assert again.allure is None and again.record == replace(outcome.record)
    assert outcome.code in again.certificate.read_text(encoding="utf-8")


def test_rebuild_with_a_garbled_signature_shows_no_key(tmp_path: Path) -> None:
    key = SigningKey(Ed25519PrivateKey.generate(), "test")
    outcome = finish(tmp_path, passing_record("run-1"), signing_key=key)
    (outcome.run_dir / "evidence.sig").write_text("{}", encoding="utf-8")
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert again.key_fingerprint == "" and again.manifest_digest == outcome.manifest_digest


def test_rebuild_of_a_run_before_manifests_has_no_seal(tmp_path: Path) -> None:
    outcome = finish(tmp_path, passing_record("run-1"))
    (outcome.run_dir / "manifest.json").unlink()
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert (again.manifest_digest, again.code, again.key_fingerprint) == ("", "", "")
    assert again.gate.exit_code == 0


def test_rebuild_of_a_gate_without_figures_is_certified(tmp_path: Path) -> None:
    outcome = finish(tmp_path, passing_record("run-1"))
    path = outcome.run_dir / CERTIFICATION_JSON
    data = json.loads(path.read_text(encoding="utf-8"))
    data["gate"] = {}
    path.write_text(json.dumps(data), encoding="utf-8")
    # re-seal the changed record as finish_certification would have: evidence digest, certificate, manifest
    digest = write_manifest(outcome.run_dir, include_certificate=False)
    write_certificate(outcome.run_dir, RunRecord.from_json(data), digest=digest, interface_names={}, seal={})
    write_manifest(outcome.run_dir, include_certificate=True)
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert (again.gate.exit_code, again.gate.criteria) == (0, ())


def test_rebuild_refuses_changed_evidence(tmp_path: Path) -> None:
    outcome = finish(tmp_path, passing_record("run-1"))
    (outcome.run_dir / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    error = caught.value
    assert error.title == "The evidence was changed after the certificate was issued: not rebuilding reports"
    assert error.location == str(outcome.run_dir) and "results.json" in error.detail
    assert error.hint == "re-run `hsa-cert certify` to produce new evidence"


# --- what the first mutation run of the module left alive ---


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch):
    """Set the process's local time zone (TZ); restored after the test."""
    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


def test_an_unreadable_finish_time_issues_todays_utc_date_in_any_zone(tmp_path: Path, local_zone: Any) -> None:
    # UTC+14 and UTC-12: at any moment one of them is on another calendar day than UTC
    for zone in ("Etc/GMT-14", "Etc/GMT+12"):
        local_zone(zone)
        before = datetime.now(UTC).date()
        outcome = finish(tmp_path / zone.replace("/", "-"), passing_record("run-1", finished_at="garbled"))
        after = datetime.now(UTC).date()
        assert certification(outcome)["certificate"]["issued"] in {before.isoformat(), after.isoformat()}, zone


def test_without_the_specs_folder_the_manifest_has_no_spec_fingerprint(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certify_particulars, "specs_dir", lambda: tmp_path / "no-specs")
    assert manifest(finish(tmp_path, passing_record("run-1")))["spec_files_fingerprint"] == ""


def test_another_sites_certified_run_leaves_nothing_pending(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-0", site="other-site"))  # certified, but another site
    outcome = finish(tmp_path, passing_record("run-1", new_failing()), pending_grace_days=30)
    assert outcome.gate.pending == () and outcome.exit_code == 1


def test_another_sites_run_is_neither_compared_with_nor_chained_to(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-0", site="other-site"))
    outcome = finish(tmp_path, passing_record("run-1", scenario("outpatient.c", Outcome.FAILED)),
                     policy=GatePolicy(fail_on_regression=True))
    assert outcome.gate.compared_with is None and [f.rule for f in outcome.gate.findings] == ["mandatory"]
    assert manifest(outcome)["previous"] is None


def test_the_chain_link_names_the_previous_runs_digest(tmp_path: Path) -> None:
    finish(tmp_path, passing_record("run-1"))
    head = chain_head(tmp_path / "reports" / "ledger.sqlite", "test-site")
    assert head is not None
    second = finish(tmp_path, passing_record("run-2"))
    assert manifest(second)["previous"] == {"run_id": "run-1", "chain_digest": head[1]}


def test_by_default_the_allure_report_is_built_and_nothing_is_pending(tmp_path: Path) -> None:
    record = passing_record("run-1")
    run_dir = write_run_dir(tmp_path / "run-1", record)
    outcome = finish_certification(run_dir, record.info, scenarios={}, levels={}, policy=GatePolicy(),
                                   ledger=tmp_path / "ledger.sqlite", reports_dir=tmp_path)
    assert outcome.allure == ReportOutcome(
        False, None, f"no allure-results in {run_dir}: the Allure report was not built")
    again = rebuild_reports(run_dir, reports_dir=tmp_path)
    assert again.allure == outcome.allure and again.run_dir == run_dir
    record = passing_record("run-2", new_failing())
    run_dir = write_run_dir(tmp_path / "run-2", record)
    later = finish_certification(run_dir, record.info, scenarios={}, levels={}, policy=GatePolicy(),
                                 ledger=tmp_path / "ledger.sqlite", reports_dir=tmp_path, allure=False)
    assert later.gate.pending == () and later.exit_code == 1  # no grace unless one is given


def test_the_evidence_lists_the_certificate_after_finishing_and_rebuilding(tmp_path: Path) -> None:
    outcome = finish(tmp_path, passing_record("run-1"))
    names = [line.split("  ", 1)[1] for line in
             (outcome.run_dir / "evidence.sha256").read_text(encoding="utf-8").splitlines()]
    assert "certificate.html" in names and "results.json" in names
    rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    names = [line.split("  ", 1)[1] for line in
             (outcome.run_dir / "evidence.sha256").read_text(encoding="utf-8").splitlines()]
    assert "certificate.html" in names


@pytest.mark.parametrize("spec_version", ["v1.1.27", "v0.0.0"])
def test_the_certificate_names_the_interfaces_of_the_runs_spec_version(tmp_path: Path, spec_version: str) -> None:
    outcome = finish(tmp_path, passing_record("run-1", spec_version=spec_version))
    named = "2207 门诊结算" in outcome.certificate.read_text(encoding="utf-8")
    assert named is (spec_version == "v1.1.27")
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert ("2207 门诊结算" in again.certificate.read_text(encoding="utf-8")) is named


def test_a_missing_results_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        finish_certification(tmp_path, info(), scenarios={}, levels={}, policy=GatePolicy(),
                             ledger=tmp_path / "ledger.sqlite", reports_dir=tmp_path, allure=False)
    assert "No such file or directory" in caught.value.detail


def test_results_without_their_details_are_completed_from_the_scenarios_and_levels(tmp_path: Path) -> None:
    record = passing_record("run-1")
    run_dir = write_run_dir(tmp_path / "run-1", record)
    (run_dir / "results.json").write_text(json.dumps(results_json(record, rich=False)), encoding="utf-8")
    scenarios = {"outpatient.a": sample_scenario((), id="outpatient.a", area="chronic", interface="2304")}
    outcome = finish_certification(run_dir, record.info, scenarios=scenarios,
                                   levels={"outpatient.b": Level.OPTIONAL}, policy=GatePolicy(),
                                   ledger=tmp_path / "ledger.sqlite", reports_dir=tmp_path, allure=False)
    by_id = {s.id: s for s in outcome.record.scenarios}
    assert (by_id["outpatient.a"].area, by_id["outpatient.a"].interface) == ("chronic", "2304")
    assert (by_id["outpatient.b"].area, by_id["outpatient.b"].level) == ("unknown", Level.OPTIONAL)
    assert by_id["outpatient.a"].level is Level.MANDATORY


@pytest.mark.parametrize("text", ["[1]", "not json", '{"key_fingerprint": 1}'])
def test_rebuild_with_an_unreadable_signature_shows_no_key(tmp_path: Path, text: str) -> None:
    key = SigningKey(Ed25519PrivateKey.generate(), "test")
    outcome = finish(tmp_path, passing_record("run-1"), signing_key=key)
    (outcome.run_dir / "evidence.sig").write_text(text, encoding="utf-8")
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", allure=False)
    assert again.key_fingerprint == ("1" if text.startswith("{") else "")


def test_rebuild_passes_the_progress_on_and_returns_the_report(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = capture_report(monkeypatch)
    outcome = finish(tmp_path, passing_record("run-1"), allure_results=True)
    progress: list[str] = []
    again = rebuild_reports(outcome.run_dir, reports_dir=tmp_path / "reports", progress=progress.append)
    assert again.allure == ReportOutcome(True, None, "built") and calls[0][1]["progress"] == progress.append
