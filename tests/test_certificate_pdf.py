"""The certificate printed to PDF by Chromium headless: one A4 page with number, issuer, validity,
signature fingerprint and mutation score (issue 15).

Without Chromium the printing tests are skipped on a developer machine and fail in CI (`.ci/run`
installs it). The text is read back with pdftotext when it is installed, else from the HTML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from reporting_samples import mixed_record, scenario, write_run_dir
from typer.testing import CliRunner

from harness.cli import app
from harness.model import Outcome
from harness.reporting.certify import CertifyOutcome, finish_certification
from harness.reporting.gate import Baseline, GatePolicy, KnownFailure
from harness.reporting.mutation_score import write_score
from harness.reporting.pdf import find_chromium, page_count, print_pdf
from harness.reporting.record import RunRecord
from harness.reporting.signing import new_key_file

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
needs_chromium = pytest.mark.skipif(not IN_CI and find_chromium() is None,
                                    reason="Chromium is not installed (apt-get install chromium)")
ISSUER = "Hunan Healthcare Security Test Centre 湖南省医保测试中心"


def _certify(tmp_path: Path, record: RunRecord, **policy: object) -> CertifyOutcome:
    reports = tmp_path / "reports"
    write_score(reports / "ledger.sqlite", caught=47, total=50, suite_fingerprint="f" * 64)
    run_dir = write_run_dir(reports / record.info.site_id / record.info.run_id, record)
    return finish_certification(
        run_dir, record.info, scenarios={}, levels={s.id: s.level for s in record.scenarios},
        policy=GatePolicy(**policy), ledger=reports / "ledger.sqlite", reports_dir=reports,  # type: ignore[arg-type]
        allure=False, signing_key=new_key_file(tmp_path / "issuer.pem"), issuer=ISSUER, validity_days=365)


def _text(pdf: Path, html: Path) -> str:
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
        return done.stdout
    return html.read_text(encoding="utf-8")


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)  # a long fingerprint may wrap across lines in the PDF


def _a_big_run() -> RunRecord:
    """Many failures, waivers and interfaces: what could push the certificate onto a second page."""
    rows = [scenario(f"outpatient.case-{n:02d}", Outcome.FAILED if n % 3 else Outcome.PASSED,
                     interface=str(2200 + n % 40), clauses=(f"R-CLAUSE-{n}",)) for n in range(120)]
    return RunRecord(mixed_record("run-big").info, tuple(rows))


@needs_chromium
def test_the_certificate_prints_on_one_a4_page_with_its_particulars(tmp_path: Path) -> None:
    waived = ("outpatient.not-filed.refused", "chronic.settle.reverse")
    baseline = Baseline("kf.toml", tuple(KnownFailure(s, "vendor fix pending", date(2099, 6, 30)) for s in waived))
    outcome = _certify(tmp_path, mixed_record("run-1"), baseline=baseline)
    assert outcome.gate.verdict == "certified with waivers"
    pdf = print_pdf(outcome.certificate)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and page_count(data) == 1
    text = _squeezed(_text(pdf, outcome.certificate))
    document = outcome.record.extra["certificate"]
    for item in (outcome.number, "HunanHealthcareSecurityTestCentre", document["valid_until"], "2026-01-01",
                 outcome.key_fingerprint, outcome.code, "94.0%(47/50", "CERTIFIEDWITHWAIVERS"):
        assert _squeezed(item) in text, item


@needs_chromium
def test_a_run_with_many_findings_still_prints_on_one_page(tmp_path: Path) -> None:
    outcome = _certify(tmp_path, _a_big_run())
    pdf = print_pdf(outcome.certificate, tmp_path / "big.pdf")
    assert page_count(pdf.read_bytes()) == 1


@needs_chromium
def test_report_pdf_command(tmp_path: Path) -> None:
    outcome = _certify(tmp_path, mixed_record("run-1"))
    result = CliRunner().invoke(app, ["report", str(outcome.run_dir), "--no-allure", "--pdf",
                                      "--reports-dir", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    assert "certificate PDF:" in result.output and (outcome.run_dir / "certificate.pdf").is_file()


def test_page_count_counts_pages_not_the_page_tree() -> None:
    pdf = (b"1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] >> 2 0 obj << /Type /Page >> "
           b"3 0 obj <</Type/Page/Parent 1 0 R>>")
    assert page_count(pdf) == 2


def test_without_chromium_printing_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSA_CERT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    html = tmp_path / "certificate.html"
    html.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(Exception, match="Chromium could not print"):
        print_pdf(html)
