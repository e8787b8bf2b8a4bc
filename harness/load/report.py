"""The load run's evidence: the `load` object of results.json, the console table, a small HTML
page (a percentile table per interface and a latency-over-time chart as inline SVG, no scripts) and
Allure results (one per service-level objective, the page attached)."""

from __future__ import annotations

import html
import json
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.load.slo import InterfaceStats

__all__ = ["allure_results", "load_document", "render_html", "render_table", "write_evidence"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22", "#393b79", "#637939")


def load_document(interfaces: Mapping[str, InterfaceStats], total: InterfaceStats, verdicts: Mapping[str, Any],
                  *, run: Mapping[str, Any], timeline: list[dict[str, Any]],
                  errors: Mapping[str, int]) -> dict[str, Any]:
    """The `load` object: per interface count, errors, p50/p95/p99 (ms) and its SLO verdicts; per
    objective its verdict; `passed` when every objective holds."""
    per_interface: dict[str, Any] = {}
    for infno, stats in interfaces.items():
        slo = {oid: v["per_interface"][infno] for oid, v in verdicts.items() if infno in v["per_interface"]}
        per_interface[infno] = {**stats.to_json(), "slo": slo}
    return {
        "passed": all(v["holds"] for v in verdicts.values()),
        **run,
        "interfaces": per_interface,
        "total": total.to_json(),
        "slo": dict(verdicts),
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:50]),
        "timeline": timeline,
    }


def _pad(text: str, width: int) -> str:
    """`text` cut and padded to `width` terminal columns (a Chinese character takes two)."""
    out, used = "", 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used + size > width:
            break
        out, used = out + char, used + size
    return out + " " * (width - used)


def render_table(load: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    header = f"{'infno':<6} {'interface':<16} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    lines = [header, "-" * len(header)]
    for infno, row in load["interfaces"].items():
        lines.append(f"{infno:<6} {_pad(names.get(infno, ''), 16)} {row['count']:>7} {row['errors']:>6} "
                     f"{row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} {row['p99_ms']:>8.0f}")
    t = load["total"]
    lines.append(f"{'all':<6} {'':<16} {t['count']:>7} {t['errors']:>6} {t['p50_ms']:>8.0f} {t['p95_ms']:>8.0f} "
                 f"{t['p99_ms']:>8.0f}")
    lines.append("")
    lines.append("service-level objectives (服务水平目标):")
    for oid, v in load["slo"].items():
        mark = "holds   " if v["holds"] else "FAILS   "
        lines.append(f"  {mark}{oid}: {v['description']}  (observed: {_observed(v)})")
    return "\n".join(lines)


def _observed(verdict: Mapping[str, Any]) -> str:
    seen = ", ".join(f"{infno} {o['observed']:g}" for infno, o in verdict["per_interface"].items())
    return seen or str(verdict.get("reason", ""))


def _chart(timeline: list[dict[str, Any]], width: int = 760, height: int = 260) -> str:
    series: dict[str, list[tuple[float, float]]] = {}
    for point in timeline:
        for key, value in point.items():
            if isinstance(value, dict):
                series.setdefault(key, []).append((float(point["t"]), float(value["mean_ms"])))
    if not series:
        return "<p>no samples</p>"
    t_max = max(t for pts in series.values() for t, _ in pts) or 1.0
    y_max = max(v for pts in series.values() for _, v in pts) or 1.0
    left, bottom = 50, 30
    def x(t: float) -> float:
        return left + (width - left - 10) * t / t_max
    def y(v: float) -> float:
        return height - bottom - (height - bottom - 10) * v / y_max
    legend_rows = (len(series) + 5) // 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20 * legend_rows}"'
             ' font-family="sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="10" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
             f'<text x="{left - 4}" y="14" text-anchor="end">{y_max:.0f}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>',
             f'<text x="{width - 10}" y="{height - 12}" text-anchor="end">{t_max:.0f} s</text>',
             f'<text x="{left + 4}" y="{height - 12}">mean latency per second (ms) over the run</text>']
    for n, (name, pts) in enumerate(sorted(series.items())):
        colour = PALETTE[n % len(PALETTE)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        lx, ly = left + 120 * (n % 6), height + 14 + 20 * (n // 6)
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{ly}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(load: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    rows = "".join(
        f"<tr><td>{html.escape(i)}</td><td>{html.escape(names.get(i, ''))}</td><td>{r['count']}</td>"
        f"<td>{r['errors']}</td><td>{r['p50_ms']:.0f}</td><td>{r['p95_ms']:.0f}</td><td>{r['p99_ms']:.0f}</td></tr>"
        for i, r in load["interfaces"].items())
    slo = "".join(
        f"<tr class='{'ok' if v['holds'] else 'bad'}'><td>{'holds' if v['holds'] else 'FAILS'}</td>"
        f"<td>{html.escape(oid)}</td><td>{html.escape(v['description'])}</td><td>{html.escape(v['title_zh'])}</td>"
        f"<td>{html.escape(_observed(v))}</td></tr>"
        for oid, v in load["slo"].items())
    verdict = "SLOs hold 服务水平达标" if load["passed"] else "an SLO fails 服务水平未达标"
    site = html.escape(str(load.get("site", {}).get("id", "")))
    shape = html.escape(str(load.get("shape", {}).get("name", "")))
    total = load["total"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hsa-cert load</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
.ok td:first-child{{color:#2a2}}.bad td:first-child{{color:#c22;font-weight:bold}}</style>
</head><body><h1>hsa-cert load: {html.escape(verdict)}</h1>
<p>site {site}, shape {shape}, {load.get('duration_s', 0):g} s, peak {load.get('peak_users', 0)} users,
{load.get('workers', 0)} workers, {total['count']} answers, {total['errors']} errors</p>
<h2>Service-level objectives</h2><table><tr><th>verdict</th><th>objective</th><th>limit</th><th>目标</th>
<th>observed</th></tr>{slo}</table>
<h2>Percentiles per interface (ms)</h2><table><tr><th>infno</th><th>interface</th><th>count</th><th>errors</th>
<th>p50</th><th>p95</th><th>p99</th></tr>{rows}</table>
<h2>Latency over time</h2>{_chart(load.get('timeline', []))}
</body></html>
"""


def allure_results(folder: Path, load: Mapping[str, Any], page: str, *, start_ms: int, stop_ms: int) -> None:
    """One Allure result per objective (passed when it holds), each with the load page attached, in
    the Allure 2 results format (plain JSON files; `allure generate` or `hsa-cert report` reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    attachment = f"{uuid.uuid4()}-attachment.html"
    (folder / attachment).write_text(page, encoding="utf-8")
    for oid, verdict in load["slo"].items():
        result = {
            "uuid": str(uuid.uuid4()), "historyId": f"load:{oid}", "testCaseId": f"load:{oid}",
            "name": f"SLO {oid}: {verdict['description']}" + (f" {verdict['title_zh']}" if verdict["title_zh"] else ""),
            "fullName": f"load.slo.{oid}", "status": "passed" if verdict["holds"] else "failed", "stage": "finished",
            "start": start_ms, "stop": stop_ms,
            "statusDetails": {"message": f"observed: {_observed(verdict)}"},
            "labels": [{"name": "parentSuite", "value": "load"}, {"name": "suite", "value": "service levels"},
                       {"name": "feature", "value": "SLA 服务水平"}],
            "parameters": [{"name": infno, "value": f"{seen['observed']:g}"}
                           for infno, seen in verdict["per_interface"].items()],
            "attachments": [{"name": "load report", "source": attachment, "type": "text/html"}],
        }
        (folder / f"{result['uuid']}-result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def write_evidence(out: Path, document: Mapping[str, Any], names: Mapping[str, str] | None = None, *,
                   start_ms: int = 0, stop_ms: int = 0) -> None:
    """DIR/results.json (with the `load` object), DIR/load.html and DIR/allure-results/ (one result per SLO)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    page = render_html(document["load"], names)
    (out / "load.html").write_text(page, encoding="utf-8")
    allure_results(out / "allure-results", document["load"], page, start_ms=start_ms, stop_ms=stop_ms)
