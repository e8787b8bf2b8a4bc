"""The Allure 3 report: built offline from allure-results, history kept per site, no external URL left.

Needs Node and npm (the pinned `allure` npm package is installed once into the cache directory, then
reused). On a developer machine without them the tests that build a report are skipped, with the reason; in CI they
run (and fail without Node).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.reporting.allure_install import ALLURE_HOME_ENV, ALLURE_VERSION, ensure_allure
from harness.reporting.allure_offline import external_urls, neutralise_network
from harness.reporting.allure_report import generate_report

NODE = shutil.which("node")
NPM = shutil.which("npm")
# In CI (.ci/run installs Node and npm) a missing Node is a failure, never a silent skip of the report tests.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
needs_node = pytest.mark.skipif(not IN_CI and (NODE is None or NPM is None),
                                reason="Node.js and npm are needed to build the Allure 3 report (install Node 20+); "
                                "the rest of certify works without them")


def write_results(folder: Path, statuses: dict[str, str], *, start: int) -> Path:
    """Minimal Allure result files, as allure-pytest writes them, one per scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (sid, status) in enumerate(sorted(statuses.items())):
        result = {
            "uuid": f"{start:08d}-0000-4000-8000-{i:012d}",
            "historyId": f"hsa-{sid}",
            "testCaseId": f"hsa-{sid}",
            "name": sid,
            "fullName": f"scenarios#{sid}",
            "status": status,
            "statusDetails": {"message": "expected refusal, got success"} if status == "failed" else {},
            "start": start + i,
            "stop": start + i + 5,
            "labels": [{"name": "epic", "value": "outpatient"}, {"name": "feature", "value": "2207 门诊结算"},
                       {"name": "story", "value": sid}, {"name": "severity", "value": "critical"}],
            "steps": [{"name": "2207 门诊结算", "status": status, "start": start + i, "stop": start + i + 4}],
        }
        (folder / f"{result['uuid']}-result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return folder


def test_the_scanner_finds_analytics_and_neutralising_removes_them(tmp_path: Path) -> None:
    """Independent of Node: the rewrite works on the markup Allure 3.18 emits, inline or embedded."""
    js = 'const a={href:"https://allurereport.org"};const t="https://trace.playwright.dev";' \
         'const ns="http://www.w3.org/2000/svg";const b=`http://${e.url}`;'
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f'<script src="data:text/javascript;base64,{base64.b64encode(js.encode()).decode()}"></script>\n'
        '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n        window.dataLayer = window.dataLayer || [];\n"
        "        function gtag(){dataLayer.push(arguments);}\n        gtag('js', new Date());\n    </script>\n"
        "<script>window.allure = {};</script></body></html>"
    )
    (tmp_path / "index.html").write_text(html, encoding="utf-8")
    found = {url for _f, url in external_urls(tmp_path)}
    assert found == {"https://www.googletagmanager.com/gtag/js?id=G-X", "https://allurereport.org",
                     "https://trace.playwright.dev"}
    neutralise_network(tmp_path)
    assert external_urls(tmp_path) == []
    cleaned = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "gtag" not in cleaned and "window.allure = {}" in cleaned and "Content-Security-Policy" in cleaned


def test_without_node_the_report_is_skipped_with_a_plain_message(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    outcome = generate_report([write_results(tmp_path / "r", {"a.one": "passed"}, start=1)], tmp_path / "out",
                              history=tmp_path / "h.jsonl", name="x", environment="embedded")
    assert not outcome.ok and "Node.js is not installed" in outcome.message
    assert not (tmp_path / "out").exists()


@needs_node
def test_the_report_builds_offline_with_history_and_no_external_urls(tmp_path: Path) -> None:
    messages: list[str] = []
    node, cli = ensure_allure(messages.append)  # installs once into the cache directory (see ALLURE_HOME_ENV)
    assert cli.is_file() and ALLURE_VERSION in cli.parent.joinpath("package.json").read_text(encoding="utf-8")
    history = tmp_path / "reports" / "site-a" / "history.jsonl"
    first = write_results(tmp_path / "run1" / "allure-results", {"a.one": "passed", "a.two": "passed"}, start=1000)
    second = write_results(tmp_path / "run2" / "allure-results", {"a.one": "passed", "a.two": "failed"}, start=2000)

    # The raw Allure output does load analytics: the scan below can fail.
    raw = tmp_path / "raw"
    subprocess.run([node, str(cli), "generate", str(first), "--output", str(raw)], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    assert any("googletagmanager" in url for _f, url in external_urls(raw))

    outcomes = [
        generate_report([results], results.parent / "allure-report", history=history, name="hsa-cert · site-a",
                        environment="embedded", variables={"site": "site-a"})
        for results in (first, second)
    ]
    for outcome in outcomes:
        assert outcome.ok, outcome.message
        assert outcome.report_dir is not None and (outcome.report_dir / "index.html").is_file()
        assert external_urls(outcome.report_dir) == []
        assert "analytics script" in outcome.neutralised
    index = (tmp_path / "run2" / "allure-report" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=\"https?:", index) and "googletagmanager" not in index
    # The app bundle still parses after the rewrite.
    js = re.search(r"data:text/javascript;base64,([A-Za-z0-9+/=]+)", index)
    assert js is not None
    bundle = tmp_path / "app.js"
    bundle.write_bytes(base64.b64decode(js.group(1)))
    subprocess.run([node, "--check", str(bundle)], check=True, timeout=120)

    entries = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 2  # one per run: the trend and each scenario's history
    assert {r["environment"] for r in entries[-1]["testResults"].values()} == {"embedded"}
    assert {r["status"] for r in entries[-1]["testResults"].values()} == {"passed", "failed"}
    config = json.loads((tmp_path / "run2" / "allurerc.json").read_text(encoding="utf-8"))
    assert config["historyPath"] == str(history) and config["environment"] == "embedded"


@needs_node
def test_relative_paths_and_rebuilding_without_appending_history(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # certify passes paths relative to the working directory
    history = Path("reports") / "history.jsonl"
    results = write_results(Path("run") / "allure-results", {"a.one": "passed"}, start=1)
    first = generate_report([results], Path("run") / "allure-report", history=history, name="x", environment="site")
    assert first.ok, first.message
    again = generate_report([results], Path("run") / "allure-report", history=history, name="x",
                            environment="site", append_history=False)
    assert again.ok and len(history.read_text(encoding="utf-8").splitlines()) == 1


def test_the_cache_directory_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.reporting.allure_install import allure_home

    monkeypatch.setenv(ALLURE_HOME_ENV, str(tmp_path / "allure"))
    assert allure_home() == tmp_path / "allure"
    monkeypatch.delenv(ALLURE_HOME_ENV)
    assert allure_home().name == f"allure-{ALLURE_VERSION}" and "hsa-cert" in allure_home().parts
