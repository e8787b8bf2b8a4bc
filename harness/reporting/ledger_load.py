"""Load runs in the ledger: every `hsa-cert load` run, kept apart from the conformance runs.

The `load_runs` table (added beside `runs`, so older ledgers gain it empty) records every `hsa-cert load`
run: its kind ("load"), verdict and exit code, the shape and duration, and as JSON each service-level
objective's verdict and each interface's count, errors and p50/p95/p99. Load runs are kept apart from
`runs`, whose pass rates, diffs and chain are about conformance scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.reporting.ledger_backend import LedgerLocation
from harness.reporting.ledger_session import _connect

__all__ = ["LoadLedgerRun", "append_load_run", "load_load_runs"]


@dataclass(frozen=True, slots=True)
class LoadLedgerRun:
    """One `hsa-cert load` run as the ledger keeps it."""

    seq: int
    run_id: str
    site_id: str
    kind: str
    started_at: str
    cert_profile: str
    shape: str
    duration_s: float
    workers: int
    answers: int
    errors: int
    rate_per_s: float
    verdict: str  # "slo met" | "slo not met" | "incomplete"
    exit_code: int | None
    out_dir: str
    slo: dict[str, Any]
    interfaces: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


_LOAD_FIGURES = ("count", "errors", "p50_ms", "p95_ms", "p99_ms")


def append_load_run(where: LedgerLocation, document: Mapping[str, Any], *, verdict: str, out_dir: str = "") -> None:
    """Append a load run from its results.json document (`run` and `load`)."""
    run, load = document.get("run") or {}, document.get("load") or {}
    interfaces = {infno: {k: row.get(k) for k in _LOAD_FIGURES}
                  for infno, row in (load.get("interfaces") or {}).items()}
    slo = {oid: {"holds": bool(v.get("holds")), "description": v.get("description", ""),
                 "per_interface": v.get("per_interface") or {}} for oid, v in (load.get("slo") or {}).items()}
    total = load.get("total") or {}
    with _connect(where, create=True) as conn:
        conn.run(
            "INSERT INTO load_runs (run_id, site_id, kind, started_at, finished_at, cert_profile, shape, duration_s,"
            " workers, answers, errors, rate_per_s, verdict, exit_code, out_dir, slo, interfaces, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (str(run.get("run_id", "")), str((load.get("site") or {}).get("id", "")), str(run.get("kind", "load")),
             run.get("started_at"), run.get("finished_at"), load.get("cert_profile"),
             (load.get("shape") or {}).get("name"), load.get("duration_s"), load.get("workers", 0),
             total.get("count", 0), total.get("errors", 0), load.get("rate_per_s", 0.0), verdict,
             run.get("exit_code"), out_dir, json.dumps(slo, ensure_ascii=False), json.dumps(interfaces),
             datetime.now(UTC).isoformat(timespec="seconds")))


def load_load_runs(where: LedgerLocation, site: str | None = None) -> list[LoadLedgerRun]:
    """Load runs oldest first, of one site or of all."""
    with _connect(where, create=False) as conn:
        query = "SELECT * FROM load_runs" + (" WHERE site_id = ?" if site is not None else "") + " ORDER BY seq"
        rows = conn.rows(query, (site,) if site is not None else ())
    return [LoadLedgerRun(**{name: (json.loads(row[name] or "{}") if name in ("slo", "interfaces") else row[name])
                             for name in LoadLedgerRun.__dataclass_fields__}) for row in rows]
