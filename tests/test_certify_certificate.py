"""The certificate: every item the issue lists, the right figures, escaped, self-contained, one A4 page."""

from __future__ import annotations

import re
from dataclasses import replace

from reporting_samples import mixed_record

from harness.reporting.certificate import MAX_FINDINGS, render_certificate
from harness.reporting.gate import GatePolicy, evaluate
from harness.reporting.record import RunRecord

DIGEST = "ab" * 32


def certified(record: RunRecord) -> RunRecord:
    gate = evaluate(record, GatePolicy(min_pass_rate=0.5))
    return replace(record, extra={"gate": gate.to_json()})


def test_the_mixed_run_figures() -> None:
    record = mixed_record()
    s = record.summary
    assert (s.total, s.passed, s.failed, s.error, s.not_provisioned, s.not_applicable) == (7, 3, 2, 0, 1, 1)
    assert s.pass_rate == 0.6  # 3 passed of the 5 that ran (passed + failed)
    assert s.coverage == 0.8333  # 5 ran of the 6 that apply: the not-provisioned one is a coverage gap
    areas = {t.key: (t.passed, t.total - t.not_applicable) for t in record.by_area()}
    assert areas == {"chronic": (0, 1), "envelope": (0, 1), "inpatient": (0, 0), "outpatient": (2, 3),
                     "protocol": (1, 1)}
    interfaces = {t.key: t.pass_rate for t in record.by_interface()}
    assert interfaces == {"2206": 1.0, "2207": 0.5, "2304": None}
    covered, missing = record.mandatory_clauses()
    # R-MONEY-SUM is cited by a passing and a not-provisioned must-pass scenario: not covered.
    assert covered == ["2207.in.data.psn_no", "R-PRESETTLE-EQUALS-SETTLE", "R-REVERSAL-NEGATES"]
    assert missing == ["R-CAUSE-NOT-FILED", "R-FILING-REQUIRED", "R-MONEY-SUM"]


def test_the_certificate_shows_every_item() -> None:
    html = render_certificate(certified(mixed_record()), digest=DIGEST, interface_names={"2207": "门诊结算"})
    for item in (
        "测试医院 Test Hospital", "test-site", "H43010100001",  # site identity
        "定点医疗机构·跨省门诊直接结算", "hospital-outpatient",  # profile
        "v1.1.27", "baseline",  # spec version and province profile
        "f" * 64,  # suite fingerprint
        "未通过认证", "NOT CERTIFIED",  # verdict (a mandatory scenario failed)
        "60.0%", "83.3%",  # pass rate and coverage overall
        "门诊结算", "2/3", "2207 门诊结算", "2/4 · 50.0%",  # per area, per interface
        "3 / 6",  # mandatory clauses covered
        "outpatient.not-filed.refused", "R-FILING-REQUIRED",  # the failing mandatory scenario and its clause
        "no test identity for archetype chronic-filed",  # not provisioned, and why
        "the site does not declare capability inpatient",  # not applicable, and why
        "2025-01-01T10:00:00+08:00", "1 min 5 s",  # run time
        DIGEST,  # evidence digest
        "pass rate ≥ 50.0%",  # the criteria applied
    ):
        assert item in html, item
    assert f'<meta name="hsa-cert-evidence-digest" content="{DIGEST}">' in html


def test_a_passing_run_is_certified() -> None:
    record = mixed_record()
    passing = replace(record, scenarios=tuple(s for s in record.scenarios if s.outcome.value in ("passed",
                                                                                                  "not_applicable")))
    html = render_certificate(certified(passing), digest=DIGEST)
    assert "通过认证" in html and "CERTIFIED" in html and "NOT CERTIFIED" not in html


def test_values_are_escaped() -> None:
    record = mixed_record(site_name='<script>alert("x")</script>', site_id="x&y")
    html = render_certificate(certified(record), digest=DIGEST)
    assert "<script>" not in html and "&lt;script&gt;" in html and "x&amp;y" in html


def test_no_external_assets_and_one_a4_page() -> None:
    html = render_certificate(certified(mixed_record()), digest=DIGEST)
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"(src|href)\s*=", html, re.I)
    assert not re.search(r"@import|url\(", html, re.I)
    assert "https://" not in html and "http://" not in html.replace("http://127.0.0.1:8080", "")
    assert "@page { size: A4" in html


def test_long_lists_are_cut_so_the_page_stays_one_page() -> None:
    record = mixed_record()
    many = tuple(replace(record.scenarios[1], id=f"outpatient.fail-{i:02d}") for i in range(30))
    html = render_certificate(certified(replace(record, scenarios=record.scenarios + many)), digest=DIGEST)
    assert html.count('<li class="one"><span class="mono">') == MAX_FINDINGS
    assert f"and {31 - MAX_FINDINGS} more" in html  # 31 failing mandatory scenarios
