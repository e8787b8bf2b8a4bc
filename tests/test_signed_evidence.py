"""Signed evidence, the ledger's hash chain and the certificate's particulars (issue 15).

Every forgery the issue names is made here, the way a forger would, and `hsa-cert verify` must catch
each: one file edited; everything rewritten with a new manifest (unsigned, and re-signed with the
forger's own key); a run removed from the ledger; runs reordered; a certificate swapped in from
another run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest
from reporting_samples import mixed_record, write_run_dir
from typer.testing import CliRunner

from harness.cli import app
from harness.reporting.certify import CertifyOutcome, finish_certification
from harness.reporting.certify_particulars import certificate_number
from harness.reporting.evidence import write_manifest
from harness.reporting.gate import Baseline, GatePolicy, KnownFailure
from harness.reporting.ledger_chain import chain_digest
from harness.reporting.manifest import (
    MANIFEST_JSON,
    normalise_code,
    public_site,
    verification_code,
    write_manifest_json,
    write_signature,
)
from harness.reporting.mutation_score import write_score
from harness.reporting.signing import KEY_ENV, load_signing_key, new_key_file

RUNNER = CliRunner()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "issuer.pem"
    new_key_file(path)
    return path


def certify(tmp_path: Path, run_id: str, key: Path | None, **policy: object) -> CertifyOutcome:
    record = mixed_record(run_id)
    run_dir = write_run_dir(tmp_path / "reports" / record.info.site_id / run_id, record)
    return finish_certification(
        run_dir, record.info, scenarios={}, levels={s.id: s.level for s in record.scenarios},
        policy=GatePolicy(**policy), ledger=tmp_path / "reports" / "ledger.sqlite",  # type: ignore[arg-type]
        reports_dir=tmp_path / "reports", allure=False,
        signing_key=load_signing_key(key) if key else None, issuer="湖南省医疗保障事务中心 Test Bureau",
        validity_days=180,
    )


def verify(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["verify", *args])
    return result.exit_code, result.output


def test_keys_new_writes_an_owner_only_key_and_prints_the_public_key(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    result = RUNNER.invoke(app, ["keys", "new", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "BEGIN PUBLIC KEY" in result.output and "fingerprint: SHA256:" in result.output
    assert "PRIVATE" not in result.output  # the private key is never printed
    assert load_signing_key(out) is not None
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = RUNNER.invoke(app, ["keys", "new", "--out", str(out)])
    assert again.exit_code == 2 and "not overwriting" in again.output
    through_a_file = RUNNER.invoke(app, ["keys", "new", "--out", str(out / "inner.pem")])  # k.pem is a file
    assert through_a_file.exit_code == 2 and "cannot write the key to" in through_a_file.output
    assert through_a_file.exception is None or isinstance(through_a_file.exception, SystemExit)


def test_the_key_comes_from_the_environment_as_pem_or_path(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert load_signing_key() is None
    expected = load_signing_key(key_file).fingerprint  # type: ignore[union-attr]
    monkeypatch.setenv(KEY_ENV, str(key_file))
    assert load_signing_key().fingerprint == expected  # type: ignore[union-attr]
    monkeypatch.setenv(KEY_ENV, key_file.read_text(encoding="ascii"))
    assert load_signing_key().fingerprint == expected  # type: ignore[union-attr]
    monkeypatch.setenv(KEY_ENV, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
    with pytest.raises(Exception, match="not an unencrypted PEM"):
        load_signing_key()


def test_a_signed_run_verifies_names_its_key_and_accepts_its_code(tmp_path: Path, key_file: Path) -> None:
    outcome = certify(tmp_path, "run-1", key_file)
    fingerprint = load_signing_key(key_file).fingerprint  # type: ignore[union-attr]
    assert outcome.key_fingerprint == fingerprint
    manifest = json.loads((outcome.run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
    for field in ("suite_fingerprint", "spec_version", "spec_files_fingerprint", "cert_profile", "province_profile",
                  "tool", "site", "files", "evidence_digest", "certificate_number", "previous"):
        assert field in manifest, field
    assert len(manifest["spec_files_fingerprint"]) == 64 and manifest["previous"] is None
    code, out = verify(str(outcome.run_dir), "--code", outcome.code, "--trust", fingerprint)
    assert code == 0, out
    assert "evidence intact" in out and f"signature: valid, Ed25519 key {fingerprint}" in out
    assert outcome.number in out
    code, out = verify(str(outcome.run_dir), "--code", outcome.code.lower().replace("-", " "))
    assert code == 0, out  # a code typed in lower case with spaces is the same code
    code, out = verify(str(outcome.run_dir), "--code", "AAAA-BBBB-CCCC-DDDD")
    assert code == 1 and "not this run's verification code" in out


def test_an_unsigned_run_says_so_plainly(tmp_path: Path) -> None:
    outcome = certify(tmp_path, "run-1", None)
    code, out = verify(str(outcome.run_dir))
    assert code == 0 and "UNSIGNED" in out
    assert "未签名 UNSIGNED" in (outcome.run_dir / "certificate.html").read_text(encoding="utf-8")
    code, out = verify(str(outcome.run_dir), "--require-signature")
    assert code == 1 and "--require-signature: FAILED" in out
    code, out = verify(str(outcome.run_dir), "--trust", "SHA256:" + "0" * 64)
    assert code == 1 and "the run is unsigned" in out


def test_the_certificate_carries_number_issuer_validity_fingerprint_code_and_score(tmp_path: Path,
                                                                                  key_file: Path) -> None:
    ledger = tmp_path / "reports" / "ledger.sqlite"
    write_score(ledger, caught=47, total=50, suite_fingerprint="f" * 64)
    outcome = certify(tmp_path, "run-1", key_file)
    html = (outcome.run_dir / "certificate.html").read_text(encoding="utf-8")
    assert outcome.number == "HSA-TEST-SITE-20250101-0001"
    for text in (outcome.number, "Test Bureau", "2025-01-01", outcome.key_fingerprint, outcome.code,
                 "94.0% (47/50 platform mutants caught"):
        assert text in html, text
    assert "2025-06-30" not in html  # not certified: no validity is shown
    second = certify(tmp_path, "run-2", key_file)
    assert second.number == "HSA-TEST-SITE-20250101-0002"


def test_without_a_recorded_selftest_the_score_is_not_measured(tmp_path: Path) -> None:
    outcome = certify(tmp_path, "run-1", None)
    assert "not measured" in (outcome.run_dir / "certificate.html").read_text(encoding="utf-8")


def test_a_waived_mandatory_failure_gives_a_certificate_with_waivers(tmp_path: Path) -> None:
    waive = Baseline("kf.toml", (KnownFailure("outpatient.not-filed.refused", "HIS fix 5.2", date(2099, 6, 30)),
                                 KnownFailure("chronic.settle.reverse", "identity pending", date(2099, 1, 31))))
    outcome = certify(tmp_path, "run-1", None, baseline=waive)
    assert outcome.exit_code == 0 and outcome.gate.verdict == "certified with waivers"
    html = (outcome.run_dir / "certificate.html").read_text(encoding="utf-8")
    assert "CERTIFIED WITH WAIVERS 附豁免" in html and ">CERTIFIED<" not in html
    assert "outpatient.not-filed.refused" in html and "2099-06-30" in html and "HIS fix 5.2" in html
    assert "2025-06-30" in html  # valid 180 days from 2025-01-01


def test_public_site_drops_anything_that_could_hold_a_secret() -> None:
    site = {"id": "h1", "base_url": "http://x", "app_secret": "s", "gateway": {"key": "k", "family": "hmac",
            "private_key_file": "p", "sign_key": "x"}, "password": "p", "api_token": "t", "capabilities": ["a"]}
    assert public_site(site) == {"id": "h1", "base_url": "http://x", "gateway": {"family": "hmac"},
                                 "capabilities": ["a"]}


def test_codes_normalise() -> None:
    code = verification_code("ab" * 32)
    assert len(code) == 19 and normalise_code(code.lower().replace("-", "")) == code


def test_certificate_number_format() -> None:
    assert certificate_number("hunan/长沙 hosp.01", date(2026, 3, 4), 12) == "HSA-HUNAN-HOSP-01-20260304-0012"


# --- forgeries ------------------------------------------------------------------------------------


def test_forgery_single_file(tmp_path: Path, key_file: Path) -> None:
    outcome = certify(tmp_path, "run-1", key_file)
    results = outcome.run_dir / "results.json"
    results.write_text(results.read_text(encoding="utf-8").replace('"failed"', '"passed"'), encoding="utf-8")
    code, out = verify(str(outcome.run_dir))
    assert code == 1 and "evidence TAMPERED" in out and "results.json: changed" in out


def _rewrite_everything(run_dir: Path) -> str:
    """What a forger who can write every file does: edit results, then recompute every digest in sight."""
    results = run_dir / "results.json"
    results.write_text(results.read_text(encoding="utf-8").replace('"failed"', '"passed"'), encoding="utf-8")
    old_manifest = json.loads((run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
    old_digest = hashlib.sha256((run_dir / MANIFEST_JSON).read_bytes()).hexdigest()
    evidence_digest = write_manifest(run_dir, include_certificate=False)
    from harness.reporting.evidence import canonical_files, sha256_file

    new = {**old_manifest, "evidence_digest": evidence_digest,
           "files": {n: sha256_file(run_dir / n) for n in canonical_files(run_dir)}}
    new_digest = write_manifest_json(run_dir, new)
    cert = run_dir / "certificate.html"
    html = cert.read_text(encoding="utf-8").replace(old_digest, new_digest)
    html = html.replace(verification_code(old_digest), verification_code(new_digest))
    cert.write_text(html.replace(old_manifest["evidence_digest"], evidence_digest), encoding="utf-8")
    write_manifest(run_dir, include_certificate=True)
    return new_digest


def test_forgery_full_rewrite_with_a_new_manifest(tmp_path: Path, key_file: Path) -> None:
    outcome = certify(tmp_path, "run-1", key_file)
    genuine = outcome.key_fingerprint
    _rewrite_everything(outcome.run_dir)
    code, out = verify(str(outcome.run_dir))
    assert code == 1 and "manifest.json: the signature does not match" in out and "signature: INVALID" in out

    # The forger signs with a key of their own: the signature is valid, but not the issuer's key,
    # and the ledger recorded another manifest for this run.
    forger = tmp_path / "forger.pem"
    new_key_file(forger)
    digest = hashlib.sha256((outcome.run_dir / MANIFEST_JSON).read_bytes()).hexdigest()
    write_signature(outcome.run_dir, load_signing_key(forger), digest)  # type: ignore[arg-type]
    code, out = verify(str(outcome.run_dir))
    assert code == 1 and f"names signing key {genuine}, but the evidence is signed by" in out
    code, out = verify(str(outcome.run_dir), "--trust", genuine)
    assert code == 1 and "which is not a trusted key" in out
    code, out = verify(str(outcome.run_dir), "--ledger", str(tmp_path / "reports" / "ledger.sqlite"))
    assert code == 1 and "not the manifest the ledger recorded for this run" in out
    code, out = verify("--chain", "--ledger", str(tmp_path / "reports" / "ledger.sqlite"))
    assert code == 1 and "the run was rewritten" in out


def _three_runs(tmp_path: Path, key_file: Path) -> tuple[Path, list[CertifyOutcome]]:
    runs = [certify(tmp_path, f"run-{n}", key_file) for n in (1, 2, 3)]
    ledger = tmp_path / "reports" / "ledger.sqlite"
    code, out = verify("--chain", "--ledger", str(ledger), "--site", "test-site")
    assert code == 0 and "chain intact: 3 chained run(s) of 3" in out, out
    second = json.loads((runs[1].run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
    assert second["previous"]["run_id"] == "run-1"
    return ledger, runs


def test_a_reports_folder_copied_with_its_ledger_still_verifies(tmp_path: Path, key_file: Path) -> None:
    import shutil

    _three_runs(tmp_path, key_file)
    copy = tmp_path / "elsewhere" / "archive"
    shutil.copytree(tmp_path / "reports", copy)
    shutil.rmtree(tmp_path / "reports")  # the recorded paths no longer exist: the copy is found by its tail
    code, out = verify("--chain", "--ledger", str(copy / "ledger.sqlite"))
    assert code == 0 and "chain intact: 3" in out, out
    shutil.rmtree(copy / "test-site" / "run-2")
    code, out = verify("--chain", "--ledger", str(copy / "ledger.sqlite"))
    assert code == 1 and "run-2: evidence directory" in out and "(removed or moved)" in out


def test_forgery_removed_run(tmp_path: Path, key_file: Path) -> None:
    ledger, _runs = _three_runs(tmp_path, key_file)
    with sqlite3.connect(ledger) as conn:
        for table in ("chain", "outcomes", "runs"):
            conn.execute(f"DELETE FROM {table} WHERE run_id = 'run-2'")
    code, out = verify("--chain", "--ledger", str(ledger))
    assert code == 1 and "run-3: does not link to the run it follows run run-1" in out

    # The forger also recomputes run-3's link: the signed manifest of run-3 still names run-2.
    with sqlite3.connect(ledger) as conn:
        first, manifest3 = (conn.execute(f"SELECT {c} FROM chain WHERE run_id = ?", (r,)).fetchone()[0]
                            for c, r in (("chain_digest", "run-1"), ("manifest_digest", "run-3")))
        conn.execute("UPDATE chain SET previous_digest = ?, chain_digest = ? WHERE run_id = 'run-3'",
                     (first, chain_digest(first, manifest3)))
    code, out = verify("--chain", "--ledger", str(ledger))
    assert code == 1 and "run-3: its signed manifest names a different previous run" in out


def test_forgery_reordered_runs(tmp_path: Path, key_file: Path) -> None:
    ledger, _runs = _three_runs(tmp_path, key_file)
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE runs SET seq = 100 WHERE run_id = 'run-2'")
        conn.execute("UPDATE runs SET seq = 2 WHERE run_id = 'run-3'")
        conn.execute("UPDATE runs SET seq = 3 WHERE run_id = 'run-2'")
    code, out = verify("--chain", "--ledger", str(ledger))
    assert code == 1 and "a run was removed or reordered" in out


def test_forgery_rewritten_ledger_row(tmp_path: Path, key_file: Path) -> None:
    ledger, _runs = _three_runs(tmp_path, key_file)
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE chain SET manifest_digest = ? WHERE run_id = 'run-2'", ("0" * 64,))
    code, out = verify("--chain", "--ledger", str(ledger))
    assert code == 1 and "run-2: its chain digest does not match its manifest" in out


def test_forgery_swapped_certificate(tmp_path: Path, key_file: Path) -> None:
    _ledger, runs = _three_runs(tmp_path, key_file)
    first, second = runs[0].run_dir, runs[1].run_dir
    (second / "certificate.html").write_bytes((first / "certificate.html").read_bytes())
    code, out = verify(str(second))
    assert code == 1 and "certificate.html" in out
    # Even with evidence.sha256's certificate line recomputed, the manifest and the seal disagree.
    write_manifest(second, include_certificate=True)
    code, out = verify(str(second))
    assert code == 1 and "does not name this run's manifest" in out
    assert "the signature does not cover this certificate" in out
    # The code on the swapped-in certificate names run-1, not the evidence it is shown with.
    code, out = verify(str(second), "--code", runs[0].code)
    assert code == 1 and "not this run's verification code" in out


def test_an_old_ledger_gains_the_chain_table_and_old_runs_are_not_checked(tmp_path: Path, key_file: Path) -> None:
    ledger = tmp_path / "reports" / "ledger.sqlite"
    certify(tmp_path, "run-1", key_file)
    with sqlite3.connect(ledger) as conn:
        conn.execute("DROP TABLE chain")  # a ledger written before the chain existed
    second = certify(tmp_path, "run-2", key_file)
    assert json.loads((second.run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))["previous"] is None
    code, out = verify("--chain", "--ledger", str(ledger))
    assert code == 0 and "1 run(s) recorded before the chain existed" in out, out


def test_report_rebuild_keeps_the_seal(tmp_path: Path, key_file: Path) -> None:
    outcome = certify(tmp_path, "run-1", key_file)
    result = RUNNER.invoke(app, ["report", str(outcome.run_dir), "--no-allure", "--reports-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    code, out = verify(str(outcome.run_dir), "--code", outcome.code)
    assert code == 0 and "signature: valid" in out, out




def test_the_selftest_score_round_trips_and_renders(tmp_path: Path) -> None:
    from harness.reporting.mutation_score import read_score, render_score, score_path

    ledger = tmp_path / "reports" / "ledger.sqlite"
    assert read_score(ledger) is None and render_score(None) == "not measured 未测"
    write_score(ledger, caught=3, total=4, suite_fingerprint="a" * 64)
    score = read_score(ledger)
    assert score is not None and score["caught"] == 3 and score_path(ledger).parent == ledger.parent
    assert render_score(score, "a" * 64).startswith("75.0% (3/4 platform mutants caught, measured ")
    assert "measured for another suite" in render_score(score, "b" * 64)
    score_path(ledger).write_text("{", encoding="utf-8")
    assert read_score(ledger) is None


# --- pending scenarios --------------------------------------------------------------------------


def _pending_run(tmp_path: Path, run_id: str, day: str, *, new_fails: bool, grace: int) -> CertifyOutcome:
    from reporting_samples import info, scenario

    from harness.model import Outcome
    from harness.reporting.record import RunRecord

    rows = [scenario("outpatient.a", Outcome.PASSED), scenario("outpatient.b", Outcome.PASSED)]
    if run_id != "run-1":
        rows.append(scenario("outpatient.new", Outcome.FAILED if new_fails else Outcome.PASSED))
    record = RunRecord(info(run_id, started_at=f"{day}T10:00:00+08:00", finished_at=f"{day}T10:01:00+08:00"),
                       tuple(rows))
    run_dir = write_run_dir(tmp_path / "reports" / "test-site" / run_id, record)
    return finish_certification(
        run_dir, record.info, scenarios={}, levels={s.id: s.level for s in record.scenarios},
        policy=GatePolicy(), ledger=tmp_path / "reports" / "ledger.sqlite", reports_dir=tmp_path / "reports",
        allure=False, pending_grace_days=grace)


def test_a_new_scenario_is_pending_for_its_grace_then_decides(tmp_path: Path) -> None:
    assert _pending_run(tmp_path, "run-1", "2025-01-01", new_fails=False, grace=30).gate.verdict == "certified"
    second = _pending_run(tmp_path, "run-2", "2025-01-10", new_fails=True, grace=30)
    assert second.gate.verdict == "certified" and second.gate.pending == (("outpatient.new", "2025-02-09"),)
    html = (second.run_dir / "certificate.html").read_text(encoding="utf-8")
    assert "pending new scenario" in html and "outpatient.new" in html and "2025-02-09" in html
    # The grace runs from the first run that had the scenario, not from each new run.
    third = _pending_run(tmp_path, "run-3", "2025-02-20", new_fails=True, grace=30)
    assert third.gate.verdict == "not certified" and not third.gate.pending
    assert [f.scenario for f in third.gate.findings] == ["outpatient.new"]


def test_without_a_grace_a_new_scenario_decides_at_once(tmp_path: Path) -> None:
    _pending_run(tmp_path, "run-1", "2025-01-01", new_fails=False, grace=0)
    assert _pending_run(tmp_path, "run-2", "2025-01-10", new_fails=True, grace=0).gate.verdict == "not certified"


def test_a_site_never_certified_has_nothing_pending(tmp_path: Path) -> None:
    second = _pending_run(tmp_path, "run-2", "2025-01-10", new_fails=True, grace=30)
    assert second.gate.verdict == "not certified" and not second.gate.pending


def test_history_shows_the_suite_mutation_score(tmp_path: Path) -> None:
    ledger = tmp_path / "reports" / "ledger.sqlite"
    certify(tmp_path, "run-1", None)
    result = RUNNER.invoke(app, ["history", "--ledger", str(ledger)])
    assert result.exit_code == 0 and "suite mutation score: not measured" in result.output
    write_score(ledger, caught=9, total=10, suite_fingerprint="e" * 64)
    result = RUNNER.invoke(app, ["history", "--ledger", str(ledger)])
    assert "suite mutation score: 90.0% (9/10 platform mutants caught" in result.output
    data = json.loads(RUNNER.invoke(app, ["history", "--ledger", str(ledger), "--json"]).output)
    assert data["mutation_score"]["caught"] == 9
