"""The ledger: every certify run appended, for the pass-rate trend, run-to-run diffs and the hash chain.

Where it lives (`ledger_backend.py`): `reports/ledger.sqlite` by default, a SQLite file
(`ledger_sqlite.py`); or a province's shared ledger on PostgreSQL (`ledger_pg.py`), from
`--ledger postgresql://…` or $HSA_CERT_LEDGER. The queries here are the same for both. Runs are ordered
by insertion (`seq`), not by clock, so a skewed clock on one machine cannot reorder a site's history.

Schema version 2 added `inconclusive`, `advisories` and `coverage` to `runs` (NULL for older runs).
Their old `pass_rate` values keep the definition they were recorded with (passed / (total - not
applicable)); runs recorded since use passed / (passed + failed), with coverage beside it.

The `chain` table (added beside `runs`, so older ledgers gain it empty) links a site's runs: each
row holds the run's manifest digest (`manifest.py`), the previous chained run's chain digest, and
its own chain digest, SHA-256 of "<previous chain digest>\n<manifest digest>". Removing, reordering
or rewriting a run breaks the links (`chain.verify_chain`).

Concurrent writers (several certify processes, the workers of `matrix`): `append_run` reads the site's
chain head and inserts in one transaction that holds the site's append lock. A certify run builds its
manifest from the head before it appends, so it holds the lock from reading the head to appending
(`hold_site`): every ledger call inside the block uses the held transaction.

The `load_runs` table (added beside `runs`, so older ledgers gain it empty) records every `hsa-cert load`
run: its kind ("load"), verdict and exit code, the shape and duration, and as JSON each service-level
objective's verdict and each interface's count, errors and p50/p95/p99. Load runs are kept apart from
`runs`, whose pass rates, diffs and chain are about conformance scenarios.

The `attempts` table (added beside `runs`, so older ledgers gain it empty) records every certify or
matrix attempt that ended without a verdict (exit 3: the site unreachable, TLS refused): the site, when,
the kind ("certify" / "matrix") and the reason with any password masked. An attempt is not a
certification: it has no run row, no outcomes and no chain link; the dashboard shows from it the sites
that are down, also those that never had a run.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.model import Outcome
from harness.reporting.ledger_backend import (
    LEDGER_ENV,
    MASK,
    LedgerLocation,
    LedgerSession,
    default_ledger_path,
    ledger_location,
    open_backend,
)
from harness.reporting.record import RunRecord, pass_rate

__all__ = ["LEDGER_ENV", "ChainLink", "LedgerAttempt", "LedgerLocation", "LedgerRun", "LoadLedgerRun", "RunDiff",
           "append_attempt", "append_load_run", "append_run", "chain_digest", "chain_head", "default_ledger_path",
           "describe", "diff_outcomes", "hold_site", "interface_rates", "ledger_exists", "ledger_location",
           "load_attempts", "load_chain", "load_load_runs", "load_outcomes", "load_runs", "mask_reason",
           "new_since_certified", "previous_run", "rates_by", "reading"]

FAILING = frozenset({Outcome.FAILED, Outcome.ERROR})


@dataclass(frozen=True, slots=True)
class _Held:
    key: str
    session: LedgerSession
    writing: bool


# The session of the enclosing `hold_site` / `reading` block in this thread (or task), if any.
_HELD: ContextVar[_Held | None] = ContextVar("hsa_cert_ledger_held", default=None)


def describe(where: LedgerLocation) -> str:
    """The ledger as messages and pages name it: the file, or the server's URL with its password masked."""
    return open_backend(where).location


def ledger_exists(where: LedgerLocation) -> bool:
    """A ledger to read: the SQLite file is there (a server's ledger always is)."""
    return open_backend(where).exists()


@contextmanager
def _connect(where: LedgerLocation, *, create: bool, site: str | None = None) -> Iterator[LedgerSession]:
    backend = open_backend(where)
    held = _HELD.get()
    if held is not None and held.key == backend.key:
        if (create or site is not None) and not held.writing:
            raise RuntimeError("a ledger write inside a reading() block")
        if site is not None:
            held.session.lock_site(site)
        yield held.session
        return
    with backend.session(create=create, site=site) as session:
        yield session


@contextmanager
def _holding(where: LedgerLocation, *, site: str | None) -> Iterator[None]:
    backend = open_backend(where)
    held = _HELD.get()
    if held is not None and held.key == backend.key:  # already inside a block on this ledger
        with _connect(where, create=site is not None, site=site):
            yield
        return
    with backend.session(create=site is not None, site=site) as session:
        token = _HELD.set(_Held(backend.key, session, writing=site is not None))
        try:
            yield
        finally:
            _HELD.reset(token)


def hold_site(where: LedgerLocation, site_id: str) -> AbstractContextManager[None]:
    """`with hold_site(ledger, site):` the site's appends wait for this block; every ledger call inside it
    runs in its one transaction (committed at the end, rolled back on an error). certify seals a run in it:
    the previous run it links its manifest to is still the site's last run when it appends."""
    return _holding(where, site=site_id)


@contextmanager
def reading(where: LedgerLocation) -> Iterator[None]:
    """`with reading(ledger):` the reads inside share one session (one connection to a server, one
    consistent view); nothing to hold when there is no ledger yet (the reads report that themselves)."""
    if not ledger_exists(where):
        yield
        return
    with _holding(where, site=None):
        yield


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


@dataclass(frozen=True, slots=True)
class LedgerAttempt:
    """A certify or matrix attempt that ended without a verdict, as the ledger keeps it."""

    seq: int
    attempt_id: str
    site_id: str
    kind: str  # "certify" | "matrix"
    at: str  # ISO 8601, when it ended
    exit_code: int | None
    reason: str  # passwords masked
    out_dir: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# A password in a URL's user part (scheme://user:secret@host) or as a key=value (query string, message text).
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^\s:/@]*:)[^\s@/]+@")
_KEY_SECRET = re.compile(r"(?i)\b((?:password|passwd|pwd|secret|secret_key|token|access_token|sk)\s*[=:]\s*)"
                         r"[^\s&,;'\"]+")


def mask_reason(text: str) -> str:
    """The reason an attempt failed, as the ledger may keep it: a URL's password and password=/token= values masked."""
    return _KEY_SECRET.sub(rf"\1{MASK}", _URL_PASSWORD.sub(rf"\1{MASK}@", text))


def append_attempt(where: LedgerLocation, site_id: str, *, kind: str, reason: str, exit_code: int = 3,
                   out_dir: str = "", at: str | None = None) -> LedgerAttempt:
    """Record an attempt that ended without a verdict (the runs table and the site's chain are not touched)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    attempt_id = f"{now.replace(':', '').replace('+0000', 'Z')}-{secrets.token_hex(4)}"
    values = (attempt_id, site_id, kind, at or now, exit_code, mask_reason(reason), out_dir, now)
    with _connect(where, create=True) as conn:
        conn.run("INSERT INTO attempts (attempt_id, site_id, kind, at, exit_code, reason, out_dir, recorded_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        row = conn.rows("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,))[0]
    return LedgerAttempt(**{name: row[name] for name in LedgerAttempt.__dataclass_fields__})


def load_attempts(where: LedgerLocation, site: str | None = None) -> list[LedgerAttempt]:
    """Attempts without a verdict, oldest first (ledger order), of one site or of all."""
    with _connect(where, create=False) as conn:
        query = "SELECT * FROM attempts" + (" WHERE site_id = ?" if site is not None else "") + " ORDER BY seq"
        rows = conn.rows(query, (site,) if site is not None else ())
    return [LedgerAttempt(**{name: row[name] for name in LedgerAttempt.__dataclass_fields__}) for row in rows]


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


_CHAIN_QUERY = ("SELECT r.seq, r.run_id, r.site_id, r.out_dir, c.manifest_digest, c.previous_digest,"
                " c.chain_digest FROM runs r LEFT JOIN chain c ON c.run_id = r.run_id")


def _chain_of(conn: LedgerSession, site: str | None) -> list[ChainLink]:
    rows = (conn.rows(_CHAIN_QUERY + " WHERE r.site_id = ? ORDER BY r.seq", (site,)) if site is not None
            else conn.rows(_CHAIN_QUERY + " ORDER BY r.seq"))
    return [ChainLink(**r) for r in rows]


def _head_of(links: list[ChainLink]) -> tuple[str, str] | None:
    chained = [link for link in links if link.chain_digest]
    if not chained:
        return None
    return chained[-1].run_id, str(chained[-1].chain_digest)


def load_chain(where: LedgerLocation, site: str | None = None) -> list[ChainLink]:
    """Every run of a site (or of all sites) with its chain link, in ledger order."""
    with _connect(where, create=False) as conn:
        return _chain_of(conn, site)


def chain_head(where: LedgerLocation, site: str) -> tuple[str, str] | None:
    """(run id, chain digest) of the site's latest chained run; None if none is chained."""
    if not ledger_exists(where):
        return None
    return _head_of(load_chain(where, site))


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


# Portable counts (PostgreSQL does not sum booleans).
_COUNT_PASSED = "SUM(CASE WHEN outcome = 'passed' THEN 1 ELSE 0 END) AS passed"
_COUNT_FAILED = "SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS failed"


def interface_rates(where: LedgerLocation, run_ids: list[str]) -> dict[str, dict[str, float | None]]:
    """infno -> run_id -> pass rate, for the given runs."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with _connect(where, create=False) as conn:
        rows = conn.rows(
            f"SELECT interface, run_id, {_COUNT_PASSED}, {_COUNT_FAILED} FROM outcomes WHERE run_id IN ({marks})"
            f" GROUP BY interface, run_id",
            run_ids,
        )
    rates: dict[str, dict[str, float | None]] = {}
    for r in rows:
        rates.setdefault(r["interface"] or "-", {})[r["run_id"]] = pass_rate(r["passed"], r["failed"])
    return dict(sorted(rates.items()))


def rates_by(where: LedgerLocation, run_ids: list[str], column: str) -> dict[str, dict[str, float | None]]:
    """run_id -> area (or interface, level) -> pass rate, for the given runs (the dashboard's heat map)."""
    if column not in ("area", "interface", "level"):
        raise ValueError(f"no outcome column {column!r}")
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with _connect(where, create=False) as conn:
        rows = conn.rows(
            f"SELECT run_id, {column} AS name, {_COUNT_PASSED}, {_COUNT_FAILED}"
            f" FROM outcomes WHERE run_id IN ({marks}) GROUP BY run_id, {column}", run_ids)
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
