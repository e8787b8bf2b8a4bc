"""The ledger: every certify run appended to SQLite, for the pass-rate trend and run-to-run diffs.

`reports/ledger.sqlite` by default (`--ledger PATH` or $HSA_CERT_LEDGER overrides). Runs are ordered
by insertion (`seq`), not by clock, so a skewed clock on one machine cannot reorder a site's history.

Schema version 2 added `inconclusive`, `advisories` and `coverage` to `runs`; a version-1 ledger gets
the columns (NULL for its old runs) the first time it is opened. Its old `pass_rate` values keep the
definition they were recorded with (passed / (total - not applicable)); runs recorded since use
passed / (passed + failed), with coverage beside it.

The `chain` table (added beside `runs`, so older ledgers gain it empty) links a site's runs: each
row holds the run's manifest digest (`manifest.py`), the previous chained run's chain digest, and
its own chain digest, SHA-256 of "<previous chain digest>\n<manifest digest>". Removing, reordering
or rewriting a run breaks the links (`chain.verify_chain`).

The `load_runs` table (added beside `runs`, so older ledgers gain it empty) records every `hsa-cert load`
run: its kind ("load"), verdict and exit code, the shape and duration, and as JSON each service-level
objective's verdict and each interface's count, errors and p50/p95/p99. Load runs are kept apart from
`runs`, whose pass rates, diffs and chain are about conformance scenarios.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.model import Outcome
from harness.reporting.record import RunRecord, pass_rate

__all__ = ["LEDGER_ENV", "ChainLink", "LedgerRun", "LoadLedgerRun", "RunDiff", "append_load_run", "append_run",
           "chain_digest", "chain_head", "default_ledger_path", "diff_outcomes", "interface_rates", "load_chain",
           "load_load_runs", "load_outcomes", "load_runs", "new_since_certified", "previous_run", "rates_by"]

LEDGER_ENV = "HSA_CERT_LEDGER"
FAILING = frozenset({Outcome.FAILED, Outcome.ERROR})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    site_name TEXT, environment TEXT, cert_profile TEXT, province_profile TEXT, spec_version TEXT,
    suite_fingerprint TEXT, harness_version TEXT, seed INTEGER, started_at TEXT, finished_at TEXT,
    total INTEGER, passed INTEGER, failed INTEGER, error INTEGER, not_provisioned INTEGER,
    not_applicable INTEGER, pass_rate REAL, verdict TEXT, exit_code INTEGER, out_dir TEXT, recorded_at TEXT,
    inconclusive INTEGER, advisories INTEGER, coverage REAL
);
CREATE INDEX IF NOT EXISTS runs_by_site ON runs (site_id, seq);
CREATE TABLE IF NOT EXISTS chain (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
    site_id TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    previous_digest TEXT NOT NULL,
    chain_digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    scenario_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    level TEXT, area TEXT, interface TEXT,
    PRIMARY KEY (run_id, scenario_id)
);
CREATE TABLE IF NOT EXISTS load_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'load',
    started_at TEXT, finished_at TEXT, cert_profile TEXT, shape TEXT, duration_s REAL, workers INTEGER,
    answers INTEGER, errors INTEGER, rate_per_s REAL, verdict TEXT, exit_code INTEGER, out_dir TEXT,
    slo TEXT NOT NULL DEFAULT '{}',        -- objective id -> {holds, description, per_interface}
    interfaces TEXT NOT NULL DEFAULT '{}', -- infno -> {count, errors, p50_ms, p95_ms, p99_ms}
    recorded_at TEXT
);
CREATE INDEX IF NOT EXISTS load_runs_by_site ON load_runs (site_id, seq);
"""
# Columns added after version 1 of the ledger, added to an older file when it is opened (additive only).
_ADDED_COLUMNS = (("inconclusive", "INTEGER"), ("advisories", "INTEGER"), ("coverage", "REAL"))
SCHEMA_VERSION = 2


def _migrate(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for name, kind in _ADDED_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def default_ledger_path(reports_dir: Path | None = None) -> Path:
    override = os.environ.get(LEDGER_ENV, "").strip()
    if override:
        return Path(override)
    return (reports_dir or Path("reports")) / "ledger.sqlite"


@contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.is_file():
        raise ConfigError(
            "No ledger yet",
            location=str(path),
            hint="run `hsa-cert certify` first, or pass the ledger's path with --ledger",
        )
    try:
        conn = sqlite3.connect(path, timeout=30)
    except sqlite3.Error as exc:
        raise ConfigError("Cannot open the ledger", location=str(path), detail=str(exc)) from exc
    # closing() matters on Windows: an open handle keeps the file locked.
    with closing(conn):
        conn.row_factory = sqlite3.Row
        try:
            conn.executescript(_SCHEMA)
            _migrate(conn)
            with conn:
                yield conn
        except sqlite3.IntegrityError as exc:
            raise ConfigError("This run is already in the ledger", location=str(path), detail=str(exc),
                              hint="each run id is recorded once; certify again for a new run") from exc
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                "The ledger is not a readable hsa-cert ledger", location=str(path), detail=str(exc),
                hint="move the file aside; a new ledger is started on the next certify run",
            ) from exc


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


def append_load_run(path: Path, document: Mapping[str, Any], *, verdict: str, out_dir: str = "") -> None:
    """Append a load run from its results.json document (`run` and `load`)."""
    run, load = document.get("run") or {}, document.get("load") or {}
    interfaces = {infno: {k: row.get(k) for k in _LOAD_FIGURES}
                  for infno, row in (load.get("interfaces") or {}).items()}
    slo = {oid: {"holds": bool(v.get("holds")), "description": v.get("description", ""),
                 "per_interface": v.get("per_interface") or {}} for oid, v in (load.get("slo") or {}).items()}
    total = load.get("total") or {}
    with _connect(path, create=True) as conn:
        conn.execute(
            "INSERT INTO load_runs (run_id, site_id, kind, started_at, finished_at, cert_profile, shape, duration_s,"
            " workers, answers, errors, rate_per_s, verdict, exit_code, out_dir, slo, interfaces, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (str(run.get("run_id", "")), str((load.get("site") or {}).get("id", "")), str(run.get("kind", "load")),
             run.get("started_at"), run.get("finished_at"), load.get("cert_profile"),
             (load.get("shape") or {}).get("name"), load.get("duration_s"), load.get("workers", 0),
             total.get("count", 0), total.get("errors", 0), load.get("rate_per_s", 0.0), verdict,
             run.get("exit_code"), out_dir, json.dumps(slo, ensure_ascii=False), json.dumps(interfaces),
             datetime.now(UTC).isoformat(timespec="seconds")))


def load_load_runs(path: Path, site: str | None = None) -> list[LoadLedgerRun]:
    """Load runs oldest first, of one site or of all."""
    with _connect(path, create=False) as conn:
        query = "SELECT * FROM load_runs" + (" WHERE site_id = ?" if site is not None else "") + " ORDER BY seq"
        rows = conn.execute(query, (site,) if site is not None else ()).fetchall()
    return [LoadLedgerRun(**{name: (json.loads(row[name] or "{}") if name in ("slo", "interfaces") else row[name])
                             for name in LoadLedgerRun.__dataclass_fields__}) for row in rows]


def chain_digest(previous_digest: str, manifest_digest: str) -> str:
    return hashlib.sha256(f"{previous_digest}\n{manifest_digest}".encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    seq: int
    run_id: str
    site_id: str
    out_dir: str
    manifest_digest: str | None  # None: the run was recorded before the chain
    previous_digest: str | None
    chain_digest: str | None


def load_chain(path: Path, site: str | None = None) -> list[ChainLink]:
    """Every run of a site (or of all sites) with its chain link, in ledger order."""
    query = ("SELECT r.seq, r.run_id, r.site_id, r.out_dir, c.manifest_digest, c.previous_digest, c.chain_digest"
             " FROM runs r LEFT JOIN chain c ON c.run_id = r.run_id")
    with _connect(path, create=False) as conn:
        rows = (conn.execute(query + " WHERE r.site_id = ? ORDER BY r.seq", (site,)) if site is not None
                else conn.execute(query + " ORDER BY r.seq")).fetchall()
    return [ChainLink(*tuple(r)) for r in rows]


def chain_head(path: Path, site: str) -> tuple[str, str] | None:
    """(run id, chain digest) of the site's latest chained run; None if none is chained."""
    if not path.is_file():
        return None
    links = load_chain(path, site)
    chained = [link for link in links if link.chain_digest]
    if not chained:
        return None
    return chained[-1].run_id, str(chained[-1].chain_digest)


def append_run(path: Path, record: RunRecord, *, verdict: str, exit_code: int, out_dir: str = "",
               manifest_digest: str | None = None) -> None:
    """Append a run; with its manifest digest, also its link in the site's chain (same transaction)."""
    info, summary = record.info, record.summary
    head = chain_head(path, info.site_id) if manifest_digest else None
    with _connect(path, create=True) as conn:
        conn.execute(
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
        conn.executemany(
            "INSERT INTO outcomes (run_id, scenario_id, outcome, level, area, interface) VALUES (?, ?, ?, ?, ?, ?)",
            [(info.run_id, s.id, s.outcome.value, s.level.value, s.area, s.interface) for s in record.scenarios],
        )
        if manifest_digest:
            previous = head[1] if head else ""
            conn.execute("INSERT INTO chain (run_id, site_id, manifest_digest, previous_digest, chain_digest)"
                         " VALUES (?, ?, ?, ?, ?)", (info.run_id, info.site_id, manifest_digest, previous,
                                                     chain_digest(previous, manifest_digest)))


def _run(row: sqlite3.Row) -> LedgerRun:
    return LedgerRun(**{name: row[name] for name in LedgerRun.__dataclass_fields__})


def load_runs(path: Path, site: str | None = None) -> list[LedgerRun]:
    """Runs oldest first, of one site or of all."""
    with _connect(path, create=False) as conn:
        if site is None:
            rows = conn.execute("SELECT * FROM runs ORDER BY seq").fetchall()
        else:
            rows = conn.execute("SELECT * FROM runs WHERE site_id = ? ORDER BY seq", (site,)).fetchall()
    return [_run(r) for r in rows]


def previous_run(path: Path, site: str, *, before_run_id: str | None = None) -> LedgerRun | None:
    """The site's latest run, or its latest before `before_run_id`; None if there is none."""
    if not path.is_file():
        return None
    runs = load_runs(path, site)
    if before_run_id is not None:
        seqs = [r.seq for r in runs if r.run_id == before_run_id]
        if seqs:
            runs = [r for r in runs if r.seq < seqs[0]]
    return runs[-1] if runs else None


def load_outcomes(path: Path, run_id: str) -> dict[str, Outcome]:
    with _connect(path, create=False) as conn:
        rows = conn.execute("SELECT scenario_id, outcome FROM outcomes WHERE run_id = ?", (run_id,)).fetchall()
    return {r["scenario_id"]: Outcome(r["outcome"]) for r in rows}


CERTIFIED_VERDICTS = ("certified", "certified with waivers")


def new_since_certified(path: Path, site: str) -> tuple[frozenset[str], dict[str, str]] | None:
    """For pending scenarios: the scenario ids of the site's last certified run, and for each scenario
    first run after it, the start of that run. None when the site was never certified."""
    if not path.is_file():
        return None
    runs = load_runs(path, site)
    certified = [r for r in runs if r.verdict in CERTIFIED_VERDICTS]
    if not certified:
        return None
    last = certified[-1]
    known = frozenset(load_outcomes(path, last.run_id))
    first_seen: dict[str, str] = {}
    for run in runs:
        if run.seq > last.seq:
            for sid in load_outcomes(path, run.run_id):
                if sid not in known:
                    first_seen.setdefault(sid, run.started_at)
    return known, first_seen


def interface_rates(path: Path, run_ids: list[str]) -> dict[str, dict[str, float | None]]:
    """infno -> run_id -> pass rate, for the given runs."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with _connect(path, create=False) as conn:
        rows = conn.execute(
            f"SELECT interface, run_id, SUM(outcome = 'passed') AS passed,"
            f" SUM(outcome = 'failed') AS failed FROM outcomes WHERE run_id IN ({marks})"
            f" GROUP BY interface, run_id",
            run_ids,
        ).fetchall()
    rates: dict[str, dict[str, float | None]] = {}
    for r in rows:
        rates.setdefault(r["interface"] or "-", {})[r["run_id"]] = pass_rate(r["passed"], r["failed"])
    return dict(sorted(rates.items()))


def rates_by(path: Path, run_ids: list[str], column: str) -> dict[str, dict[str, float | None]]:
    """run_id -> area (or interface, level) -> pass rate, for the given runs (the dashboard's heat map)."""
    if column not in ("area", "interface", "level"):
        raise ValueError(f"no outcome column {column!r}")
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with _connect(path, create=False) as conn:
        rows = conn.execute(
            f"SELECT run_id, {column} AS name, SUM(outcome = 'passed') AS passed, SUM(outcome = 'failed') AS failed"
            f" FROM outcomes WHERE run_id IN ({marks}) GROUP BY run_id, {column}", run_ids).fetchall()
    rates: dict[str, dict[str, float | None]] = {}
    for r in rows:
        rates.setdefault(r["run_id"], {})[r["name"] or "-"] = pass_rate(r["passed"], r["failed"])
    return rates


@dataclass(frozen=True, slots=True)
class RunDiff:
    """What changed between two runs of a site, scenario ids sorted."""

    newly_failing: tuple[str, ...]  # failed or error now, not before
    fixed: tuple[str, ...]  # failed or error before, passed now
    new: tuple[str, ...]  # in this run only
    removed: tuple[str, ...]  # in the previous run only

    @property
    def empty(self) -> bool:
        return not (self.newly_failing or self.fixed or self.new or self.removed)

    def to_json(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


def diff_outcomes(previous: Mapping[str, Outcome], current: Mapping[str, Outcome]) -> RunDiff:
    common = previous.keys() & current.keys()
    return RunDiff(
        newly_failing=tuple(sorted(s for s in common if current[s] in FAILING and previous[s] not in FAILING)),
        fixed=tuple(sorted(s for s in common if previous[s] in FAILING and current[s] is Outcome.PASSED)),
        new=tuple(sorted(current.keys() - previous.keys())),
        removed=tuple(sorted(previous.keys() - current.keys())),
    )
