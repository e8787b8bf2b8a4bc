"""`hsa-cert history`: the pass-rate trend per site (overall and per interface) and the last diff, and the
site's load runs (`hsa-cert load`): each run's SLO verdict, the latest one's percentiles per interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.reporting.console import text_width
from harness.reporting.ledger import LedgerLocation, LedgerRun, load_outcomes, load_runs
from harness.reporting.ledger_load import LoadLedgerRun, load_load_runs
from harness.reporting.ledger_rates import RunDiff, diff_outcomes, interface_rates
from harness.reporting.ledger_session import reading

__all__ = ["SiteHistory", "load_history", "render_history"]

TREND_COLUMNS = 8  # runs shown side by side in the per-interface table


@dataclass(frozen=True, slots=True)
class SiteHistory:
    site_id: str
    runs: tuple[LedgerRun, ...]  # oldest first
    interfaces: Mapping[str, Mapping[str, float | None]]  # infno -> run_id -> pass rate (last runs)
    diff: RunDiff | None  # latest run against the one before it
    load_runs: tuple[LoadLedgerRun, ...] = ()  # `hsa-cert load` runs, oldest first

    def to_json(self) -> dict[str, Any]:
        shown = [r.run_id for r in self.runs[-TREND_COLUMNS:]]
        return {
            "site_id": self.site_id,
            "runs": [r.to_json() for r in self.runs],
            "interfaces": {
                infno: [{"run_id": rid, "pass_rate": rates.get(rid)} for rid in shown]
                for infno, rates in self.interfaces.items()
            },
            "diff": None if self.diff is None else {
                "from": self.runs[-2].run_id,
                "to": self.runs[-1].run_id,
                **self.diff.to_json(),
            },
            "load_runs": [r.to_json() for r in self.load_runs],
        }


def load_history(ledger: LedgerLocation, site: str | None = None) -> list[SiteHistory]:
    with reading(ledger):  # one session for all the reads (one connection to a server's ledger)
        return _load_history(ledger, site)


def _load_history(ledger: LedgerLocation, site: str | None) -> list[SiteHistory]:
    runs = load_runs(ledger, site)
    sites: dict[str, list[LedgerRun]] = {}
    for run in runs:
        sites.setdefault(run.site_id, []).append(run)
    loads: dict[str, list[LoadLedgerRun]] = {}
    for load in load_load_runs(ledger, site):
        loads.setdefault(load.site_id, []).append(load)
        sites.setdefault(load.site_id, [])
    histories = []
    for site_id, site_runs in sorted(sites.items()):
        diff = None
        if len(site_runs) >= 2:
            before, after = site_runs[-2].run_id, site_runs[-1].run_id
            diff = diff_outcomes(load_outcomes(ledger, before), load_outcomes(ledger, after))
        shown = [r.run_id for r in site_runs[-TREND_COLUMNS:]]
        histories.append(SiteHistory(site_id, tuple(site_runs), interface_rates(ledger, shown), diff,
                                     tuple(loads.get(site_id, ()))))
    return histories


LISTED_IDS = 20  # per change list in the text view; --json has every id


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def render_history(histories: list[SiteHistory], interface_names: Mapping[str, str] | None = None) -> str:
    names = interface_names or {}
    if not histories:
        return "no runs recorded for this site"
    out: list[str] = []
    for h in histories:
        out.append(f"site {h.site_id}: {len(h.runs)} run(s)")
        if not h.runs:
            out[-1] = f"site {h.site_id}: no conformance run"
            out.extend(_render_load_runs(h.load_runs, names))
            continue
        out.append(f"  {'run id':<28} {'started':<20} {'profile':<20} {'env':<9} {'pass rate':>9} "
                   f"{'passed/total':>13} {'coverage':>8} {'inconcl.':>8} {'advisory':>8}  verdict")
        for r in h.runs:
            out.append(f"  {r.run_id:<28} {r.started_at[:19]:<20} {r.cert_profile:<20} {r.environment:<9} "
                       f"{_pct(r.pass_rate):>9} {f'{r.passed}/{r.total}':>13} {_pct(r.coverage):>8} "
                       f"{_count(r.inconclusive):>8} {_count(r.advisories):>8}  {r.verdict}")
        shown = h.runs[-TREND_COLUMNS:]
        out.append("  pass rate per interface (oldest → latest):")
        for infno, rates in h.interfaces.items():
            label = f"{infno} {names.get(infno, '')}".strip()
            cells = " ".join(f"{_pct(rates.get(r.run_id)):>7}" for r in shown)
            out.append(f"    {label}{' ' * max(1, 26 - text_width(label))}{cells}")
        if h.diff is None:
            out.append("  no previous run to compare with")
        else:
            out.append(f"  changes {h.runs[-2].run_id} → {h.runs[-1].run_id}:")
            if h.diff.empty:
                out.append("    none")
            for title, ids in (("newly failing", h.diff.newly_failing), ("fixed", h.diff.fixed),
                               ("new scenarios", h.diff.new), ("removed scenarios", h.diff.removed)):
                if ids:
                    out.append(f"    {title} ({len(ids)}):")
                    out.extend(f"      {sid}" for sid in ids[:LISTED_IDS])
                    if len(ids) > LISTED_IDS:
                        out.append(f"      … and {len(ids) - LISTED_IDS} more (--json lists them all)")
        out.extend(_render_load_runs(h.load_runs, names))
    return "\n".join(out).rstrip() + "\n"


def _render_load_runs(runs: tuple[LoadLedgerRun, ...], names: Mapping[str, str]) -> list[str]:
    """The site's load runs (kind load): one line each, then the latest run's percentiles and SLO verdicts."""
    if not runs:
        return [""]
    out = [f"  load runs 负载测试 ({len(runs)}):",
           f"    {'run id':<28} {'started':<20} {'profile':<20} {'shape':<13} {'seconds':>7} {'answers':>8} "
           f"{'errors':>6} {'per s':>7}  verdict"]
    for r in runs:
        out.append(f"    {r.run_id:<28} {str(r.started_at)[:19]:<20} {r.cert_profile!s:<20} {r.shape!s:<13} "
                   f"{r.duration_s or 0:>7g} {r.answers or 0:>8} {r.errors or 0:>6} {r.rate_per_s or 0:>7g}"
                   f"  {r.verdict}")
    last = runs[-1]
    out.append(f"  latest load run {last.run_id}, per interface (ms):")
    for infno, row in last.interfaces.items():
        label = f"{infno} {names.get(infno, '')}".strip()
        out.append(f"    {label}{' ' * max(1, 26 - text_width(label))}count {row.get('count')}, errors "
                   f"{row.get('errors')}, p50 {row.get('p50_ms', 0):g}, p95 {row.get('p95_ms', 0):g}, "
                   f"p99 {row.get('p99_ms', 0):g}")
    for oid, verdict in last.slo.items():
        out.append(f"    {'holds' if verdict.get('holds') else 'FAILS'}  {oid}: {verdict.get('description', '')}")
    out.append("")
    return out
