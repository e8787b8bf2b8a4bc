"""`hsa-cert dashboard`: the provincial rollout on one static page, built from the ledger.

One self-contained HTML file (inline CSS, inline SVG drawn here, a few lines of inline script for the
filters; no library, no font, no image, no request of any kind), bilingual:

- a site × business-area heat map of the latest run's pass rates;
- a pass-rate trend per site (its last runs) and for the province (after each run recorded, the
  aggregate pass rate over every site's latest run: passed / (passed + failed), summed over sites);
- the sites that regressed since their previous run, with the scenarios that broke;
- the sites not run for `stale_days`;
- the sites that could not be reached: their latest attempt (the ledger's `attempts`) ended without a
  verdict and is newer than their latest run, also a site that never had a run;
- filters by city, level and vendor (site-config metadata: [site] city / level / vendor).

Rendered through reporting/certificate.py's jinja2 environment (autoescape on): everything from a site
is data. The SVG coordinates are numbers computed here; the template only places them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.reporting.certificate import AREA_LABELS, render_page
from harness.reporting.ledger import LedgerLocation, LedgerRun, load_outcomes, load_runs
from harness.reporting.ledger_attempts import LedgerAttempt, load_attempts
from harness.reporting.ledger_rates import diff_outcomes, rates_by
from harness.reporting.ledger_session import describe, reading

__all__ = ["META_KEYS", "DashboardPage", "build_context", "site_metadata_from_runs", "write_dashboard"]

META_KEYS = ("city", "level", "vendor")
SITE_TREND_RUNS = 20  # runs per site sparkline
PROVINCE_POINTS = 120  # the province line is sampled down to this many points
MAX_BROKEN = 12  # scenarios listed per regressed site (the rest counted)
CHART_W, CHART_H, PAD = 640, 200, 28
SPARK_W, SPARK_H = 160, 36


@dataclass(frozen=True, slots=True)
class DashboardPage:
    path: Path
    sites: int
    runs: int
    regressed: tuple[str, ...] = field(default_factory=tuple)
    unreachable: tuple[str, ...] = field(default_factory=tuple)  # latest attempt without a verdict


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str) -> str:
    """The date of a timestamp as it was recorded (its own offset): the trend axis shows days, not ISO times."""
    moment = _parse_time(text)
    return moment.date().isoformat() if moment else text


def _minute(text: str) -> str:
    """A timestamp as a reader scans it, to the minute, in its own offset: 2026-03-08 09:00 (+08:00)."""
    moment = _parse_time(text)
    if moment is None:
        return text
    offset = f"{moment:%z}"
    return f"{moment:%Y-%m-%d %H:%M} ({offset[:3]}:{offset[3:5]})"


def _unreachable(by_site: Mapping[str, Sequence[LedgerRun]], attempts: Sequence[LedgerAttempt]) -> dict[str, dict]:
    """site -> the attempts without a verdict since its latest run (every one when it has none), when its latest
    attempt is newer than its latest run: since (the first of them), the latest's reason, kind and count."""
    after: dict[str, list[LedgerAttempt]] = {}
    for attempt in attempts:
        runs = by_site.get(attempt.site_id)
        last_run = _parse_time(runs[-1].started_at) if runs else None
        moment = _parse_time(attempt.at)
        if last_run is None or moment is None or moment > last_run:
            after.setdefault(attempt.site_id, []).append(attempt)
    down: dict[str, dict] = {}
    for site_id, found in sorted(after.items()):
        first, last = found[0], found[-1]
        down[site_id] = {"id": site_id, "since": first.at, "since_shown": _minute(first.at), "latest_at": last.at,
                         "latest_shown": _minute(last.at), "reason": last.reason, "kind": last.kind,
                         "attempts": len(found), "exit_code": last.exit_code, "out_dir": last.out_dir,
                         "runs": len(by_site.get(site_id, ()))}
    return down


def site_metadata_from_runs(runs: Sequence[LedgerRun]) -> dict[str, dict[str, str]]:
    """city/level/vendor as recorded in each site's latest run (results.json `run.site`), where still on disk."""
    found: dict[str, dict[str, str]] = {}
    latest = {run.site_id: run for run in runs}
    for site_id, run in latest.items():
        try:
            document = json.loads((Path(run.out_dir) / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue
        site = (document.get("run") or {}).get("site") or {}
        found[site_id] = {key: str(site[key]) for key in META_KEYS if site.get(key)}
    return found


def _rate_color(rate: float | None) -> str:
    """Red (50 % and below) through amber to green (100 %), so that the last few per cent show; grey: none ran."""
    if rate is None:
        return "#d9d9d9"
    return f"hsl({round(max(0.0, rate - 0.5) * 240)}, 70%, 62%)"


def _points(values: Sequence[float | None], width: int, height: int, pad: int) -> list[tuple[float, float, float]]:
    """(x, y, rate) per value that exists; x spreads the whole series over the width, y is 0–100 %."""
    count = len(values)
    out = []
    for index, value in enumerate(values):
        if value is None:
            continue
        x = pad + (width - 2 * pad) * (index / (count - 1) if count > 1 else 0.5)
        y = pad + (height - 2 * pad) * (1 - value)
        out.append((round(x, 1), round(y, 1), value))
    return out


def _polyline(points: Sequence[tuple[float, float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y, _rate in points)


def _province_series(runs: Sequence[LedgerRun]) -> list[tuple[str, float | None]]:
    """After each run (ledger order): the province's pass rate over every site's latest run so far."""
    latest: dict[str, LedgerRun] = {}
    series: list[tuple[str, float | None]] = []
    for run in runs:
        latest[run.site_id] = run
        passed = sum(r.passed or 0 for r in latest.values())
        ran = passed + sum(r.failed or 0 for r in latest.values())
        series.append((run.started_at, round(passed / ran, 4) if ran else None))
    if len(series) > PROVINCE_POINTS:  # keep the last point; sample the rest evenly
        step = len(series) / PROVINCE_POINTS
        series = [series[int(i * step)] for i in range(PROVINCE_POINTS - 1)] + [series[-1]]
    return series


def build_context(ledger: LedgerLocation, *, metadata: Mapping[str, Mapping[str, str]] | None = None,
                  stale_days: int = 7,
                  now: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain values (tests read it; the template only lays it out)."""
    runs = load_runs(ledger)
    now = now or datetime.now(UTC)
    by_site: dict[str, list[LedgerRun]] = {}
    for run in runs:
        by_site.setdefault(run.site_id, []).append(run)
    recorded = site_metadata_from_runs(runs)
    meta = {site_id: {**recorded.get(site_id, {}), **dict((metadata or {}).get(site_id, {}))} for site_id in by_site}
    latest_ids = [site_runs[-1].run_id for site_runs in by_site.values()]
    area_rates = rates_by(ledger, latest_ids, "area")
    down = _unreachable(by_site, load_attempts(ledger))
    areas = sorted({area for rates in area_rates.values() for area in rates})

    sites, regressed, stale = [], [], []
    for site_id, site_runs in sorted(by_site.items()):
        last = site_runs[-1]
        moment = _parse_time(last.started_at)
        age_days = (now - moment).total_seconds() / 86400 if moment else None
        trend = [r.pass_rate for r in site_runs[-SITE_TREND_RUNS:]]
        spark = _points(trend, SPARK_W, SPARK_H, 4)
        rates = area_rates.get(last.run_id, {})
        row = {
            "id": site_id, "runs": len(site_runs), "last_run": last.run_id, "started_at": last.started_at,
            "verdict": last.verdict, "pass_rate": last.pass_rate, "color": _rate_color(last.pass_rate),
            "cells": [{"area": a, "rate": rates.get(a), "color": _rate_color(rates.get(a)), "ran": a in rates}
                      for a in areas],
            "spark": _polyline(spark), "spark_last": spark[-1] if spark else None,
            "meta": {key: meta[site_id].get(key, "") for key in META_KEYS},
            "stale": age_days is None or age_days > stale_days,
            "down": site_id in down,
        }
        sites.append(row)
        if row["stale"]:
            stale.append({"id": site_id, "started_at": last.started_at,
                          "days": None if age_days is None else round(age_days, 1)})
        if len(site_runs) >= 2:
            before = site_runs[-2]
            diff = diff_outcomes(load_outcomes(ledger, before.run_id), load_outcomes(ledger, last.run_id))
            if diff.newly_failing:
                regressed.append({
                    "id": site_id, "from_run": before.run_id, "to_run": last.run_id,
                    "from_rate": before.pass_rate, "to_rate": last.pass_rate,
                    "broken": list(diff.newly_failing[:MAX_BROKEN]),
                    "more": max(0, len(diff.newly_failing) - MAX_BROKEN), "meta": row["meta"],
                })

    unreachable = []
    for site_id, entry in down.items():  # a site without runs: its metadata only from the site configs given
        known = meta.get(site_id) or dict((metadata or {}).get(site_id, {}))
        unreachable.append({**entry, "meta": {key: known.get(key, "") for key in META_KEYS}})
    series = _province_series(runs)
    province = _points([rate for _when, rate in series], CHART_W, CHART_H, PAD)
    latest_runs = [site_runs[-1] for site_runs in by_site.values()]
    certified = sum(1 for r in latest_runs if r.verdict == "certified")
    return {
        "generated_at": now.astimezone().isoformat(timespec="seconds"),
        "ledger": describe(ledger),  # a server's URL without its password
        "stale_days": stale_days,
        "areas": [{"id": a, "zh": AREA_LABELS.get(a, "")} for a in areas],
        "sites": sites,
        "regressed": regressed,
        "stale": stale,
        "unreachable": unreachable,
        "filters": {key: sorted({s["meta"][key] for s in sites if s["meta"][key]}) for key in META_KEYS},
        "province": {
            "line": _polyline(province),
            "dots": province[-1:] if province else [],
            "latest": series[-1][1] if series else None,
            "first_at": _day(series[0][0]) if series else "", "last_at": _day(series[-1][0]) if series else "",
            "points": len(province),
        },
        "chart": {"w": CHART_W, "h": CHART_H, "pad": PAD,
                  "grid": [{"y": round(PAD + (CHART_H - 2 * PAD) * (1 - g / 100), 1), "label": f"{g}%"}
                           for g in (0, 25, 50, 75, 100)]},
        "spark": {"w": SPARK_W, "h": SPARK_H},
        "totals": {"sites": len(sites), "runs": len(runs), "certified": certified,
                   "regressed": len(regressed), "stale": len(stale), "unreachable": len(unreachable)},
    }


def write_dashboard(ledger: LedgerLocation, out: Path, *, metadata: Mapping[str, Mapping[str, str]] | None = None,
                    stale_days: int = 7, now: datetime | None = None) -> DashboardPage:
    with reading(ledger):  # one session for all the page's reads (one connection to a server's ledger)
        context = build_context(ledger, metadata=metadata, stale_days=stale_days, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page("dashboard.html.j2", context), encoding="utf-8", newline="\n")
    return DashboardPage(out, context["totals"]["sites"], context["totals"]["runs"],
                         tuple(r["id"] for r in context["regressed"]), tuple(u["id"] for u in context["unreachable"]))

