"""The Allure HTML report: built by Allure 3 from the run's results, with the site's history and its trend.

No Python import of Allure here: the report is built by the Allure 3 command line under Node, run as
a subprocess (installed on first use by `allure_install`). Without Node or npm the report is skipped
with a "note:" (nothing else depends on it). The report must make no network request: what Allure
generates is cleaned and scanned by `allure_offline` before it is announced.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.reporting.allure_install import AllureUnavailable, Progress, ensure_allure
from harness.reporting.allure_offline import external_urls, neutralise_network

__all__ = [
    "CHARTS",
    "ReportOutcome",
    "generate_report",
]

GENERATE_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    ok: bool
    report_dir: Path | None
    message: str
    neutralised: tuple[str, ...] = field(default_factory=tuple)


# The runs of a site kept in its history.jsonl (Allure drops the oldest past this): the trend and each
# scenario's history reach this far back; the ledger keeps every run.
HISTORY_RUNS = 100
TREND_RUNS = 30  # runs shown in the trend charts

# The "charts" section of the report, built by Allure 3 from the current results and the site's history: the pass
# rate now and its trend across the site's runs first, then what changed since the previous run (issue 14).
# Allure counts every result: its rate is passed / all, where hsa-cert's pass rate leaves out what did not run
# (skipped: inconclusive, not provisioned, not applicable; broken: infrastructure errors); both are shown.
CHARTS: tuple[dict[str, object], ...] = (
    {"type": "currentStatus", "title": "通过率 Pass rate (passed / all results)", "metric": "passed"},
    {"type": "statusDynamics", "title": "通过率趋势 Pass-rate trend across this site's runs", "limit": TREND_RUNS},
    {"type": "statusTransitions", "title": "修复与回退 Fixed and regressed since the previous run",
     "limit": TREND_RUNS},
    {"type": "stabilityDistribution", "title": "各业务域稳定性 Stability by business area", "groupBy": "epic",
     "skipStatuses": ["skipped", "unknown"], "threshold": 90},
    {"type": "durationDynamics", "title": "耗时趋势 Duration trend"},
)


def write_config(path: Path, *, output: Path, history: Path, name: str, environment: str,
                 variables: Mapping[str, str], append_history: bool = True) -> None:
    config = {
        "name": name,
        "output": str(output),
        "historyPath": str(history),
        "historyLimit": HISTORY_RUNS,
        "appendHistory": append_history,
        "environment": environment,
        "variables": dict(variables),
        "plugins": {
            "awesome": {
                "options": {
                    "singleFile": True,  # opens from disk by double-click, and is one file to hand over
                    "reportName": name,
                    "reportLanguage": "zh",
                    "groupBy": ["epic", "feature", "story"],
                    "charts": [dict(chart) for chart in CHARTS],
                }
            }
        },
    }
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def generate_report(
    results_dirs: Sequence[Path],
    output: Path,
    *,
    history: Path,
    name: str,
    environment: str,
    variables: Mapping[str, str] | None = None,
    progress: Progress = lambda _m: None,
    append_history: bool = True,
) -> ReportOutcome:
    """Build the report; never raises for a missing or failing Allure (returns ok=False and why)."""
    try:
        node, cli = ensure_allure(progress)
    except AllureUnavailable as exc:  # the run is not affected: a note, not an error
        return ReportOutcome(False, None, "note:" + exc.render().removeprefix("error:"))
    # Absolute paths: Allure runs in the run directory and resolves relative ones against it.
    output, history = output.resolve(), history.resolve()
    results_dirs = [Path(d).resolve() for d in results_dirs]
    output.parent.mkdir(parents=True, exist_ok=True)
    history.parent.mkdir(parents=True, exist_ok=True)
    config = output.parent / "allurerc.json"
    write_config(config, output=output, history=history, name=name, environment=environment,
                 variables=variables or {}, append_history=append_history)
    cmd = [node, str(cli), "generate", *map(str, results_dirs), "--config", str(config), "--output", str(output)]
    progress(f"building the Allure report into {output} …")
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        proc = subprocess.run(cmd, cwd=output.parent, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S,
                              env=env, encoding="utf-8", errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        return ReportOutcome(False, None, f"error: Allure report generation failed\n  {exc}")
    if proc.returncode != 0 or not (output / "index.html").is_file():
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        return ReportOutcome(False, None, f"error: Allure report generation failed (exit {proc.returncode})\n  {tail}")
    neutralised = neutralise_network(output)
    leftover = external_urls(output)
    if leftover:
        listed = ", ".join(sorted({url for _f, url in leftover})[:5])
        return ReportOutcome(False, output, f"warning: the Allure report still names external URLs ({listed}); "
                             "do not open it on a machine with network access before checking", tuple(neutralised))
    return ReportOutcome(True, output, f"Allure report: {output / 'index.html'}", tuple(neutralised))
