"""`hsa-cert dashboard`: the province on one static page, checked as data, as HTML and in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reporting_samples import info, scenario
from typer.testing import CliRunner

from harness.cli import app
from harness.model import Outcome
from harness.reporting.dashboard import build_context, write_dashboard
from harness.reporting.ledger import append_run
from harness.reporting.ledger_attempts import append_attempt
from harness.reporting.record import RunRecord

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
P, F = Outcome.PASSED, Outcome.FAILED
AREAS = ("outpatient", "inpatient", "pharmacy")
# site -> (city, level, vendor, outcomes of run 1, outcomes of run 2 or None, started_at of the last run)
SITES = {
    "cs-001": ("长沙市", "三级", "vendor-a", [P] * 6, [P] * 6, "2026-03-10T09:00:00+08:00"),
    "cs-002": ("长沙市", "二级", "vendor-b", [P] * 6, [P, P, F, P, F, P], "2026-03-10T09:05:00+08:00"),
    "zz-001": ("株洲市", "三级", "vendor-a", [F, P, P, P, P, P], [P] * 6, "2026-03-10T09:10:00+08:00"),
    "zz-002": ("株洲市", "一级", "<b>vendor-c</b>", [P] * 6, None, "2026-02-01T09:00:00+08:00"),
    "yy-001": ("岳阳市", "药店", "vendor-b", [P, P, P, P, P, F], [P, F, P, P, P, F], "2026-03-09T09:00:00+08:00"),
}


def scenarios(outcomes: list[Outcome]) -> tuple:
    return tuple(scenario(f"{AREAS[i % 3]}.case-{i}", o, area=AREAS[i % 3]) for i, o in enumerate(outcomes))


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Two rounds over five sites (one site ran once, long ago); each run's results.json on disk as certify
    leaves it, carrying the site's city/level/vendor."""
    path = tmp_path / "ledger.sqlite"
    for round_no in (1, 2):
        for site_id, (city, level, vendor, first, second, last_at) in SITES.items():
            outcomes = first if round_no == 1 else second
            if outcomes is None:
                continue
            started = last_at if round_no == 2 or second is None else "2026-03-03T09:00:00+08:00"
            run_id = f"{site_id}-run-{round_no}"
            out_dir = tmp_path / "m" / f"round-{round_no}" / site_id
            out_dir.mkdir(parents=True)
            site = {"id": site_id, "city": city, "level": level, "vendor": vendor}
            (out_dir / "results.json").write_text(json.dumps({"run": {"site": site}}), encoding="utf-8")
            record = RunRecord(info(run_id, site=site_id, started_at=started), scenarios(outcomes))
            failed = F in outcomes
            append_run(path, record, verdict="not certified" if failed else "certified", exit_code=int(failed),
                       out_dir=str(out_dir))
    return path


def test_the_context_has_heat_map_trends_regressions_and_stale_sites(ledger: Path) -> None:
    context = build_context(ledger, stale_days=7, now=NOW)
    assert context["totals"] == {"sites": 5, "runs": 9, "certified": 3, "regressed": 2, "stale": 1, "unreachable": 0}
    sites = {s["id"]: s for s in context["sites"]}
    assert [a["id"] for a in context["areas"]] == ["inpatient", "outpatient", "pharmacy"]
    assert [c["rate"] for c in sites["cs-002"]["cells"]] == [0.5, 1.0, 0.5]
    assert sites["cs-002"]["pass_rate"] == round(4 / 6, 4) and sites["cs-002"]["runs"] == 2
    assert sites["zz-001"]["meta"] == {"city": "株洲市", "level": "三级", "vendor": "vendor-a"}
    regressed = {r["id"]: r for r in context["regressed"]}
    assert sorted(regressed) == ["cs-002", "yy-001"]  # zz-001 got better; zz-002 ran once
    assert regressed["cs-002"]["broken"] == ["inpatient.case-4", "pharmacy.case-2"]
    assert regressed["yy-001"]["broken"] == ["inpatient.case-1"]
    assert [s["id"] for s in context["stale"]] == ["zz-002"]
    assert context["filters"]["city"] == ["岳阳市", "株洲市", "长沙市"]
    # Province line: one point per run recorded; the last is every site's latest run together.
    assert context["province"]["points"] == 9
    latest_passed = 6 + 4 + 6 + 6 + 4
    assert context["province"]["latest"] == round(latest_passed / 30, 4)
    assert len(sites["cs-001"]["spark"].split()) == 2


def test_site_configs_given_on_the_command_line_fill_and_override_the_recorded_metadata(ledger: Path) -> None:
    context = build_context(ledger, metadata={"cs-001": {"vendor": "vendor-z"}}, now=NOW)
    meta = {s["id"]: s["meta"] for s in context["sites"]}
    assert meta["cs-001"] == {"city": "长沙市", "level": "三级", "vendor": "vendor-z"}


def test_the_page_is_self_contained_bilingual_and_escapes_site_data(ledger: Path, tmp_path: Path) -> None:
    page = write_dashboard(ledger, tmp_path / "dash" / "index.html", now=NOW)
    assert (page.sites, page.runs, page.regressed) == (5, 9, ("cs-002", "yy-001"))
    html = page.path.read_text(encoding="utf-8")
    assert html.count('<svg id="province-trend"') == 1 and html.count('class="spark"') == 5
    assert html.count("<polyline") >= 1 + 2 * 5
    assert "省级接口认证看板" in html and "Provincial conformance dashboard" in html
    assert "退步" in html and "regressed" in html and "inpatient.case-4" in html
    for site_id in SITES:
        assert f'data-site="{site_id}"' in html
    assert "<b>vendor-c</b>" not in html and "&lt;b&gt;vendor-c&lt;/b&gt;" in html
    # Nothing is fetched: no external reference of any kind (the SVG namespace is a name, not a request).
    without_ns = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://|src=|<link|url\(|@import", without_ns)


def test_the_command_writes_the_page_and_reads_site_configs_for_filters(ledger: Path, tmp_path: Path) -> None:
    site = tmp_path / "cs-001.toml"
    site.write_text((Path(__file__).parents[1] / "fixtures/sites/example-province.toml").read_text(encoding="utf-8")
                    .replace('id = "hn-changsha-demo"', 'id = "cs-001"'), encoding="utf-8")
    out = tmp_path / "d.html"
    result = CliRunner().invoke(app, ["dashboard", "--ledger", str(ledger), "--out", str(out), "--sites", str(site)])
    assert result.exit_code == 0, result.output
    assert "5 sites, 9 runs, 2 regressed" in result.output
    assert "示例HIS厂商" in out.read_text(encoding="utf-8")
    missing = CliRunner().invoke(app, ["dashboard", "--ledger", str(tmp_path / "none.sqlite"), "--out", str(out)])
    assert missing.exit_code == 2 and "No ledger yet" in missing.output


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed here (.ci/run installs the Debian package `chromium`)")
    return found


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_a_real_browser_renders_the_page_and_its_filters(ledger: Path, tmp_path: Path) -> None:
    browser = chromium()
    page = write_dashboard(ledger, tmp_path / "dashboard.html", now=NOW)
    shot = tmp_path / "dashboard.png"
    done = headless(browser, tmp_path / "profile-1", f"--screenshot={shot}", "--window-size=1280,1600",
                    page.path.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank 1280×1600 page is a few kB
    # The DOM after the page's own script ran, with a filter given in the link: only 长沙市's sites stay.
    dom = headless(browser, tmp_path / "profile-2", "--dump-dom", page.path.as_uri() + "#city=长沙市")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rows = re.findall(r'<tr class="site-row( hidden)?" data-site="([^"]+)"', dom.stdout)
    assert {site for hidden, site in rows if not hidden} == {"cs-001", "cs-002"}
    assert len(rows) == 5 and '<span class="meta" id="shown">2 / 5</span>' in dom.stdout


@pytest.fixture
def with_attempts(ledger: Path) -> Path:
    """The five sites plus attempts that ended without a verdict: zz-002 (down since after its only run, twice),
    cs-001 (an attempt older than its latest run: it ran since) and hy-001 (never ran at all)."""
    append_attempt(ledger, "zz-002", kind="matrix", at="2026-03-08T09:00:00+08:00",
                   reason="the site is not reachable: refused (https://ops:pw-zz-002@10.1.2.3:8443)")
    append_attempt(ledger, "zz-002", kind="certify", at="2026-03-09T09:00:00+08:00",
                   reason="the site is not reachable: TLS handshake failed (https://10.1.2.3:8443)")
    append_attempt(ledger, "cs-001", kind="certify", at="2026-03-10T08:00:00+08:00", reason="refused")
    append_attempt(ledger, "hy-001", kind="matrix", at="2026-03-10T10:00:00+08:00",
                   reason="the site is not reachable: timed out (http://10.9.9.9:80)")
    return ledger


def test_the_sites_that_could_not_be_reached_are_listed_with_or_without_runs(with_attempts: Path) -> None:
    context = build_context(with_attempts, metadata={"hy-001": {"city": "衡阳市"}}, now=NOW)
    down = {u["id"]: u for u in context["unreachable"]}
    assert sorted(down) == ["hy-001", "zz-002"]  # cs-001 ran after its failed attempt
    assert (down["zz-002"]["since"], down["zz-002"]["attempts"], down["zz-002"]["runs"]) == (
        "2026-03-08T09:00:00+08:00", 2, 1)
    assert "TLS handshake failed" in down["zz-002"]["reason"] and down["zz-002"]["kind"] == "certify"
    assert (down["hy-001"]["runs"], down["hy-001"]["meta"]["city"]) == (0, "衡阳市")
    assert context["totals"]["unreachable"] == 2 and context["totals"]["sites"] == 5
    rows = {s["id"]: s["down"] for s in context["sites"]}
    assert rows["zz-002"] and not rows["cs-001"]
    # The province trend's axis: dates, not ISO timestamps.
    assert (context["province"]["first_at"], context["province"]["last_at"]) == ("2026-03-03", "2026-03-09")


def test_the_page_says_bilingually_which_sites_are_down(with_attempts: Path, tmp_path: Path) -> None:
    page = write_dashboard(with_attempts, tmp_path / "d.html", now=NOW)
    assert page.unreachable == ("hy-001", "zz-002")
    html = page.path.read_text(encoding="utf-8")
    section = html[html.index('<ul id="unreachable">'):html.index("</ul>", html.index('<ul id="unreachable">'))]
    assert "无法连接 unreachable since 2026-03-08 09:00 (+08:00)" in section and "从未运行 never run" in section
    assert 'data-site="hy-001"' in section and 'data-site="cs-001"' not in section
    assert "pw-zz-002" not in html  # the reason was masked when recorded
    assert "T09:05:00" not in html[html.index('<svg id="province-trend"'):html.index("</svg>")]


def test_without_attempts_the_section_says_none(ledger: Path, tmp_path: Path) -> None:
    html = write_dashboard(ledger, tmp_path / "d.html", now=NOW).path.read_text(encoding="utf-8")
    assert "every site's latest attempt ended with a verdict" in html


@pytest.mark.slow
def test_a_real_browser_shows_the_unreachable_sites(with_attempts: Path, tmp_path: Path) -> None:
    browser = chromium()
    page = write_dashboard(with_attempts, tmp_path / "dashboard.html", now=NOW)
    shot = tmp_path / "dashboard.png"
    done = headless(browser, tmp_path / "profile-1", f"--screenshot={shot}", "--window-size=1280,1600",
                    page.path.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    # Filtered to 株洲市 in the link: of the two unreachable sites, zz-002 stays shown.
    dom = headless(browser, tmp_path / "profile-2", "--dump-dom", page.path.as_uri() + "#city=株洲市")
    assert dom.returncode == 0, dom.stderr[-2000:]
    listed = re.findall(r'<li class="site-row( hidden)?" data-site="([^"]+)"', dom.stdout)
    assert {site for hidden, site in listed if not hidden} == {"zz-002"} and len(listed) == 2


def test_the_command_names_the_unreachable_sites(with_attempts: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboard", "--ledger", str(with_attempts), "--out", str(tmp_path / "d.html")])
    assert result.exit_code == 0, result.output
    assert "5 sites, 9 runs, 2 regressed, 2 unreachable: hy-001, zz-002" in result.output
