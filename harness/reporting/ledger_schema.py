"""The ledger's tables, written once for every store (SQLite and PostgreSQL).

The statements name three types by placeholder, which each store fills with its own:
`{serial}` an integer key that grows with every insert (the ledger's order), `{real}` a double,
`{bigint}` a 64-bit integer. Changes are additive only: a new table is added to `STATEMENTS` (and
`TABLES`), a new column of `runs` to the `CREATE TABLE` and to `ADDED_COLUMNS`, so that an older
ledger gains it the first time it is opened.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ADDED_COLUMNS", "SCHEMA_VERSION", "STATEMENTS", "TABLES", "fill"]

SCHEMA_VERSION = 2  # SQLite's user_version; version 2 added the ADDED_COLUMNS to runs
TABLES = frozenset({"runs", "chain", "outcomes", "load_runs", "attempts"})
STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS runs (
    seq {serial},
    run_id TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    site_name TEXT, environment TEXT, cert_profile TEXT, province_profile TEXT, spec_version TEXT,
    suite_fingerprint TEXT, harness_version TEXT, seed {bigint}, started_at TEXT, finished_at TEXT,
    total INTEGER, passed INTEGER, failed INTEGER, error INTEGER, not_provisioned INTEGER,
    not_applicable INTEGER, pass_rate {real}, verdict TEXT, exit_code INTEGER, out_dir TEXT, recorded_at TEXT,
    inconclusive INTEGER, advisories INTEGER, coverage {real}
)""",
    "CREATE INDEX IF NOT EXISTS runs_by_site ON runs (site_id, seq)",
    """CREATE TABLE IF NOT EXISTS chain (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
    site_id TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    previous_digest TEXT NOT NULL,
    chain_digest TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS outcomes (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    scenario_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    level TEXT, area TEXT, interface TEXT,
    PRIMARY KEY (run_id, scenario_id)
)""",
    # every `hsa-cert load` run, apart from `runs` (whose pass rates, diffs and chain are about conformance)
    """CREATE TABLE IF NOT EXISTS load_runs (
    seq {serial},
    run_id TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'load',
    started_at TEXT, finished_at TEXT, cert_profile TEXT, shape TEXT, duration_s {real}, workers INTEGER,
    answers {bigint}, errors {bigint}, rate_per_s {real}, verdict TEXT, exit_code INTEGER, out_dir TEXT,
    slo TEXT NOT NULL DEFAULT '{{}}',
    interfaces TEXT NOT NULL DEFAULT '{{}}',
    recorded_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS load_runs_by_site ON load_runs (site_id, seq)",
    # every certify/matrix attempt that ended without a verdict (the site unreachable, TLS refused, the
    # circuit breaker open before a run could be recorded): not a run, no chain link, no outcomes; the
    # dashboard shows a site that is down from here even when it never had a run
    """CREATE TABLE IF NOT EXISTS attempts (
    seq {serial},
    attempt_id TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    out_dir TEXT,
    recorded_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS attempts_by_site ON attempts (site_id, seq)",
)
# Columns of runs added after version 1 of the ledger, added to an older ledger when it is opened.
ADDED_COLUMNS = (("inconclusive", "INTEGER"), ("advisories", "INTEGER"), ("coverage", "{real}"))


def fill(text: str, types: Mapping[str, str]) -> str:
    """A statement (or a column type) in a store's own types: `types` maps serial, real and bigint."""
    return text.format(**types)
