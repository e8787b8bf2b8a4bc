"""The pass-rate trend in the Allure report (issue 14): successive reports of one site show it, from the site's history.

Allure 3 builds its "charts" section from the current results and the site's history.jsonl; hsa-cert configures
which charts (`allure_report.CHARTS`). Building a report needs Node and npm (see test_allure_report.py).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from test_allure_report import needs_node, write_results

from harness.reporting.allure_report import CHARTS, HISTORY_RUNS, generate_report, write_config
from harness.reporting.certify import site_history_path


def _charts(report: Path) -> dict:
    """The report's charts data (widgets/charts.json), embedded in the single-file index.html or beside it."""
    beside = report / "widgets" / "charts.json"
    if beside.is_file():
        return json.loads(beside.read_text(encoding="utf-8"))
    index = (report / "index.html").read_text(encoding="utf-8")
    found = re.search(r'"widgets/charts\.json"\s*,\s*"([A-Za-z0-9+/=]+)"', index)
    assert found, "no charts data in the report"
    return json.loads(base64.b64decode(found.group(1)))


def _by_type(charts: dict) -> dict[str, dict]:
    return {chart["type"]: chart for chart in charts["general"].values()}


def test_the_config_asks_for_the_pass_rate_and_its_trend_and_bounds_the_history(tmp_path: Path) -> None:
    write_config(tmp_path / "allurerc.json", output=tmp_path / "out", history=tmp_path / "h.jsonl", name="n",
                 environment="site", variables={})
    config = json.loads((tmp_path / "allurerc.json").read_text(encoding="utf-8"))
    charts = config["plugins"]["awesome"]["options"]["charts"]
    assert [c["type"] for c in charts][:2] == ["currentStatus", "statusDynamics"]
    assert charts == [dict(c) for c in CHARTS] and all("通过率" in c["title"] for c in charts[:2])
    assert config["historyLimit"] == HISTORY_RUNS and config["appendHistory"] is True


@needs_node
def test_the_second_report_of_a_site_shows_a_trend_of_two_runs(tmp_path: Path) -> None:
    history = site_history_path(tmp_path / "reports", "site-a")  # where certify keeps a site's history
    runs = [write_results(tmp_path / "run1" / "allure-results", {"a.one": "passed", "a.two": "passed",
                                                                 "a.three": "passed"}, start=1000),
            write_results(tmp_path / "run2" / "allure-results", {"a.one": "passed", "a.two": "failed",
                                                                 "a.three": "passed"}, start=2000)]
    reports = []
    for results in runs:
        outcome = generate_report([results], results.parent / "allure-report", history=history,
                                  name="hsa-cert · site-a", environment="site")
        assert outcome.ok and outcome.report_dir is not None, outcome.message
        reports.append(outcome.report_dir)

    first = _by_type(_charts(reports[0]))["statusDynamics"]
    assert len(first["data"]) == 1  # the first run: nothing to compare with yet
    trend = _by_type(_charts(reports[1]))["statusDynamics"]
    assert trend["title"].startswith("通过率趋势 Pass-rate trend")
    points = [point["statistic"] for point in trend["data"]]
    assert len(points) == 2  # the previous run (from history.jsonl) and this one
    assert [(p.get("passed", 0), p.get("failed", 0), p["total"]) for p in points] == [(3, 0, 3), (2, 1, 3)]
    transitions = _by_type(_charts(reports[1]))["statusTransitions"]["data"]
    assert [(t["fixed"], t["regressed"]) for t in transitions] == [(0, 1)]  # a.two regressed
    assert len(history.read_text(encoding="utf-8").splitlines()) == 2
