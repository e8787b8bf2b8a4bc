"""The ledger: every certify run appended, for the pass-rate trend, run-to-run diffs and the hash chain.

Where it lives (`ledger_backend.py`): `reports/ledger.sqlite` by default, a SQLite file
(`ledger_sqlite.py`); or a province's shared ledger on PostgreSQL (`ledger_pg.py`), from
`--ledger postgresql://…` or $HSA_CERT_LEDGER. The queries here are the same for both. Runs are ordered
by insertion (`seq`), not by clock, so a skewed clock on one machine cannot reorder a site's history.

Schema version 2 added `inconclusive`, `advisories` and `coverage` to `runs` (NULL for older runs).
Their old `pass_rate` values keep the definition they were recorded with (passed / (total - not
applicable)); runs recorded since use passed / (passed + failed), with coverage beside it.

This module holds the runs and their outcomes. Beside it: `ledger_session` (which session a call runs in,
`hold_site`, `reading`), `ledger_chain` (the hash chain), `ledger_load` (load runs), `ledger_attempts`
(attempts without a verdict), `ledger_rates` (pass rates per interface or area, run-to-run diffs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.model import Outcome
from harness.reporting.ledger_backend import (
    LEDGER_ENV,
    LedgerLocation,
    default_ledger_path,
    ledger_location,
)
from harness.reporting.ledger_chain import _chain_of, _head_of, chain_digest
from harness.reporting.ledger_session import _connect, ledger_exists
from harness.reporting.record import RunRecord

__all__ = ["LEDGER_ENV", "LedgerLocation", "LedgerRun", "append_run", "default_ledger_path", "ledger_location",
           "load_outcomes", "load_runs", "new_since_certified", "previous_run"]


@dataclass(frozen=True, slots=True)
class LedgerRun:
    seq: int
    run_id: str
    site_id: str
    environment: str
    cert_profile: str
    spec_version: str
    suite_fingerprint: str
    started_at: str
    total: int
    passed: int
    failed: int
    error: int
    not_provisioned: int
    not_applicable: int
    pass_rate: float | None
    verdict: str
    exit_code: int | None
    out_dir: str
    inconclusive: int | None = None  # None: recorded before the ledger kept it
    advisories: int | None = None
    coverage: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def append_run(where: LedgerLocation, record: RunRecord, *, verdict: str, exit_code: int, out_dir: str = "",
               manifest_digest: str | None = None) -> None:
    """Append a run; with its manifest digest, also its link in the site's chain. One transaction, holding the
    site's append lock from reading the chain head to inserting (concurrent writers of a site queue)."""
    info, summary = record.info, record.summary
    with _connect(where, create=True, site=info.site_id) as conn:
        head = _head_of(_chain_of(conn, info.site_id)) if manifest_digest else None
        conn.run(
            "INSERT INTO runs (run_id, site_id, site_name, environment, cert_profile, province_profile, spec_version,"
            " suite_fingerprint, harness_version, seed, started_at, finished_at, total, passed, failed, error,"
            " not_provisioned, not_applicable, pass_rate, verdict, exit_code, out_dir, recorded_at, inconclusive,"
            " advisories, coverage)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (info.run_id, info.site_id, info.site_name, info.environment, info.cert_profile, info.province_profile,
             info.spec_version, info.suite_fingerprint, info.harness_version, info.seed, info.started_at,
             info.finished_at, summary.total, summary.passed, summary.failed, summary.error,
             summary.not_provisioned, summary.not_applicable, summary.pass_rate, verdict, exit_code, out_dir,
             datetime.now(UTC).isoformat(timespec="seconds"), summary.inconclusive, len(record.advisories()),
             summary.coverage),
        )
        conn.run_many(
            "INSERT INTO outcomes (run_id, scenario_id, outcome, level, area, interface) VALUES (?, ?, ?, ?, ?, ?)",
            [(info.run_id, s.id, s.outcome.value, s.level.value, s.area, s.interface) for s in record.scenarios],
        )
        if manifest_digest:
            previous = head[1] if head else ""
            conn.run("INSERT INTO chain (run_id, site_id, manifest_digest, previous_digest, chain_digest)"
                         " VALUES (?, ?, ?, ?, ?)", (info.run_id, info.site_id, manifest_digest, previous,
                                                     chain_digest(previous, manifest_digest)))


def _run(row: Mapping[str, Any]) -> LedgerRun:
    return LedgerRun(**{name: row[name] for name in LedgerRun.__dataclass_fields__})


def load_runs(where: LedgerLocation, site: str | None = None) -> list[LedgerRun]:
    """Runs oldest first, of one site or of all."""
    with _connect(where, create=False) as conn:
        if site is None:
            rows = conn.rows("SELECT * FROM runs ORDER BY seq")
        else:
            rows = conn.rows("SELECT * FROM runs WHERE site_id = ? ORDER BY seq", (site,))
    return [_run(r) for r in rows]


def previous_run(where: LedgerLocation, site: str, *, before_run_id: str | None = None) -> LedgerRun | None:
    """The site's latest run, or its latest before `before_run_id`; None if there is none."""
    if not ledger_exists(where):
        return None
    runs = load_runs(where, site)
    if before_run_id is not None:
        seqs = [r.seq for r in runs if r.run_id == before_run_id]
        if seqs:
            runs = [r for r in runs if r.seq < seqs[0]]
    return runs[-1] if runs else None


def load_outcomes(where: LedgerLocation, run_id: str) -> dict[str, Outcome]:
    with _connect(where, create=False) as conn:
        rows = conn.rows("SELECT scenario_id, outcome FROM outcomes WHERE run_id = ?", (run_id,))
    return {r["scenario_id"]: Outcome(r["outcome"]) for r in rows}


CERTIFIED_VERDICTS = ("certified", "certified with waivers")


def new_since_certified(where: LedgerLocation, site: str) -> tuple[frozenset[str], dict[str, str]] | None:
    """For pending scenarios: the scenario ids of the site's last certified run, and for each scenario
    first run after it, the start of that run. None when the site was never certified."""
    if not ledger_exists(where):
        return None
    runs = load_runs(where, site)
    certified = [r for r in runs if r.verdict in CERTIFIED_VERDICTS]
    if not certified:
        return None
    last = certified[-1]
    known = frozenset(load_outcomes(where, last.run_id))
    first_seen: dict[str, str] = {}
    for run in runs:
        if run.seq > last.seq:
            for sid in load_outcomes(where, run.run_id):
                if sid not in known:
                    first_seen.setdefault(sid, run.started_at)
    return known, first_seen
