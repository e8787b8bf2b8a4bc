"""The operator checklist is readable printed on A4 and in a terminal (issue 11, "Done when").

The print form is printed to PDF by Chromium headless as the certificate is (harness.reporting.pdf): one or two
A4 pages per plan, the Chinese and the English text both there. Without Chromium the printing test is skipped on
a developer machine and fails in CI (`.ci/run` installs it). The terminal form fits 100 columns.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.client.checklist import checklist_html, checklist_text
from harness.client.session import list_plans, load_plan
from harness.personas import load_catalogue
from harness.reporting.console import text_width
from harness.reporting.pdf import find_chromium, page_count, print_pdf

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
needs_chromium = pytest.mark.skipif(not IN_CI and find_chromium() is None,
                                    reason="Chromium is not installed (apt-get install chromium)")
A4_POINTS = (595.0, 842.0)  # 210 × 297 mm


@pytest.mark.parametrize("plan_name", list_plans())
def test_the_terminal_checklist_fits_100_columns_in_both_languages(plan_name: str) -> None:
    plan = load_plan(plan_name)
    text = checklist_text(plan)
    widest = max(text.splitlines(), key=text_width)
    assert text_width(widest) <= 100, widest
    for case in plan.cases:
        assert case.title_zh in text and case.title in text
        # the wrapped instructions are all there, word for word (a Chinese run may be broken inside)
        assert "".join(case.operator.do_zh.split()) in "".join(text.split())
        assert " ".join(case.operator.expect.split()) in " ".join(text.split())


def _pdf_text(pdf: Path, html: str) -> str:
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
        return done.stdout
    return re.sub(r"<[^>]+>", " ", html)


@needs_chromium
@pytest.mark.parametrize("plan_name", ["hospital-outpatient", "causes"])  # the plans with the most cases
def test_the_checklist_prints_on_one_or_two_a4_pages_in_both_languages(tmp_path: Path, plan_name: str) -> None:
    plan = load_plan(plan_name)
    page = checklist_html(plan)
    html = tmp_path / "checklist.html"
    html.write_text(page, encoding="utf-8")
    pdf = print_pdf(html, tmp_path / "checklist.pdf")
    data = pdf.read_bytes()
    assert 1 <= page_count(data) <= 2
    boxes = {tuple(float(x) for x in m.groups()) for m in re.finditer(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)}
    assert boxes and all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in boxes)
    text = " ".join(_pdf_text(pdf, page).split())
    assert plan.title_zh in text and plan.title in text
    for case in plan.cases:
        assert case.title_zh in text and case.title in text
        if case.persona:
            assert load_catalogue().persona(case.persona).psn_name in text
