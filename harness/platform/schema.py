"""The platform database's schema: the tables of the file, and the pool's annual totals in memory.

`SCHEMA` creates the tables of the database file (idempotent; `MIGRATIONS` adds the columns an older
file lacks). `POOL_TOTALS` creates, in the connection's TEMP schema (memory: `temp_store=MEMORY`), the
pool's payments per person, kind of care and calendar year of setl_time over every settlement row that is
not voided (reversal rows are negative, so they net out), kept by TEMP triggers on `main.settlements` in the
same transaction (and savepoint) as the settlement rows: the annual cap is one lookup, not a sum over a
person's history. They are derived data, rebuilt from `settlements` every time the file is opened
(`POOL_TOTALS_REBUILD`, one grouped scan): being in memory, they cost a settlement's commit no page of
the write-ahead log (they were a table of the file, one more page per settlement and reversal).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "POOL_TOTALS", "POOL_TOTALS_REBUILD", "SCHEMA", "SCHEMA_VERSION", "SERIAL_BLOCK"]

SCHEMA_VERSION = "1"
SERIAL_BLOCK = 64  # counter values reserved per write (see Database.next_serial)
# Columns added since a table was first created: (table, column, how to add it to an older database).
MIGRATIONS = (("messages", "exchange_id", "ALTER TABLE messages ADD COLUMN exchange_id INTEGER"),
               ("exchanges", "request_headers",
                "ALTER TABLE exchanges ADD COLUMN request_headers TEXT NOT NULL DEFAULT '{}'"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS persons (
    psn_no TEXT PRIMARY KEY,
    certno TEXT NOT NULL,
    mdtrt_cert_no TEXT NOT NULL,
    card_no TEXT NOT NULL DEFAULT '',
    insuplc_admdvs TEXT NOT NULL,
    insutype TEXT NOT NULL,
    balc_cents INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS persons_certno ON persons(certno);
CREATE INDEX IF NOT EXISTS persons_cert ON persons(mdtrt_cert_no);
CREATE TABLE IF NOT EXISTS filings (
    trt_dcla_detl_sn TEXT PRIMARY KEY,
    psn_no TEXT NOT NULL,
    kind TEXT NOT NULL,               -- xregion | chronic | fixmedins | referral
    biz_appy_type TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',  -- treating region covered (xregion / referral)
    fixmedins_codes TEXT NOT NULL DEFAULT '[]',  -- designated institutions, [] = any in the region
    opsp_dise_code TEXT NOT NULL DEFAULT '',
    begndate TEXT NOT NULL,
    enddate TEXT,
    status TEXT NOT NULL DEFAULT 'active',  -- active | cancelled
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL DEFAULT '',      -- fixmedins_code, '' = seeded
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS filings_psn ON filings(psn_no);
CREATE TABLE IF NOT EXISTS signins (
    sign_no TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    opter_no TEXT NOT NULL,
    sign_time TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS signins_opter ON signins(fixmedins_code, opter_no, active);
CREATE TABLE IF NOT EXISTS visits (
    mdtrt_id TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    psn_no TEXT NOT NULL,
    kind TEXT NOT NULL,               -- outpatient | inpatient | pharmacy
    insutype TEXT NOT NULL,
    med_type TEXT NOT NULL,
    begntime TEXT NOT NULL,
    endtime TEXT,                     -- discharge time (inpatient)
    discharged_at TEXT,               -- when 2402 was received
    status TEXT NOT NULL,             -- open | discharged | cancelled
    ipt_otp_no TEXT NOT NULL DEFAULT '',
    insuplc_admdvs TEXT NOT NULL DEFAULT '',
    mdtrtarea_admvs TEXT NOT NULL DEFAULT '',
    dise_codg TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS visits_psn ON visits(psn_no);
-- Fee rows are never deleted (cancelled ones keep their row): a plain rowid key numbers them exactly as
-- AUTOINCREMENT did, without rewriting sqlite_sequence on every 2204 (databases created before keep theirs).
CREATE TABLE IF NOT EXISTS fees (
    id INTEGER PRIMARY KEY,
    mdtrt_id TEXT NOT NULL,
    feedetl_sn TEXT NOT NULL,
    chrg_bchno TEXT NOT NULL DEFAULT '',
    init_feedetl_sn TEXT NOT NULL DEFAULT '',
    amount_cents INTEGER NOT NULL,
    setl_id TEXT,                     -- settlement that consumed the row
    status TEXT NOT NULL DEFAULT 'active',  -- active | cancelled
    classification TEXT NOT NULL,     -- the result row as sent
    data TEXT NOT NULL                -- the input row as received
);
CREATE INDEX IF NOT EXISTS fees_visit ON fees(mdtrt_id, status);
CREATE TABLE IF NOT EXISTS settlements (
    setl_id TEXT PRIMARY KEY,
    mdtrt_id TEXT NOT NULL,
    psn_no TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    infno TEXT NOT NULL,
    kind TEXT NOT NULL,               -- settle | reversal
    orig_setl_id TEXT,                -- reversal rows: the settlement reversed
    status TEXT NOT NULL,             -- settled | reversed | voided (冲正)
    msgid TEXT NOT NULL,              -- medins_setl_id
    insutype TEXT NOT NULL,
    clr_type TEXT NOT NULL,
    clr_optins TEXT NOT NULL,
    care TEXT NOT NULL,               -- outpatient | chronic | inpatient | pharmacy (annual caps)
    mid_setl_flag TEXT NOT NULL DEFAULT '0',
    setl_time TEXT NOT NULL,
    medfee_cents INTEGER NOT NULL,
    fund_cents INTEGER NOT NULL,
    acct_cents INTEGER NOT NULL,
    cash_cents INTEGER NOT NULL,
    hifp_cents INTEGER NOT NULL,
    setlinfo TEXT NOT NULL,
    setldetail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS settlements_visit ON settlements(mdtrt_id);
DROP INDEX IF EXISTS settlements_person;  -- replaced by pool_totals
-- Reconciliation (recon.py) selects by substr(setl_time, 1, 10), which no index on setl_time serves: this
-- index only narrowed it to the institution (in a test environment, nearly every row) and cost every
-- settlement and reversal a page written.
DROP INDEX IF EXISTS settlements_recon;
-- The response a replay answers with is the recorded exchange's (exchange_id), written once; databases
-- from before the column hold it in `response` (and get the column added, see _MIGRATIONS).
CREATE TABLE IF NOT EXISTS messages (
    fixmedins_code TEXT NOT NULL,
    msgid TEXT NOT NULL,
    infno TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    response TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL,
    effect TEXT NOT NULL DEFAULT '{}',  -- what the message changed, for 2601
    corrected INTEGER NOT NULL DEFAULT 0,  -- undone by 2601
    received_at TEXT NOT NULL,
    exchange_id INTEGER,
    PRIMARY KEY (fixmedins_code, msgid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    file_qury_no TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL,               -- upload | result
    content BLOB NOT NULL,
    created_at TEXT NOT NULL,
    dld_endtime TEXT NOT NULL
);
-- Exchanges are never deleted, so a plain rowid key numbers them exactly as AUTOINCREMENT did, without
-- rewriting sqlite_sequence on every request (databases created before keep their AUTOINCREMENT).
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    path TEXT NOT NULL,
    infno TEXT NOT NULL DEFAULT '',
    msgid TEXT NOT NULL DEFAULT '',
    fixmedins_code TEXT NOT NULL DEFAULT '',
    valid INTEGER NOT NULL,
    violations TEXT NOT NULL DEFAULT '[]',
    http_status INTEGER NOT NULL,
    infcode INTEGER,
    err_msg TEXT,
    fault TEXT NOT NULL DEFAULT '',
    replayed INTEGER NOT NULL DEFAULT 0,
    elapsed_ms REAL NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    request_headers TEXT NOT NULL DEFAULT '{}'
);
-- The pool's annual totals were a table of this file, kept by triggers, until they became a table of the
-- connection's in-memory TEMP schema (see POOL_TOTALS): a file from before loses them here.
DROP TRIGGER IF EXISTS main.pool_totals_insert;
DROP TRIGGER IF EXISTS main.pool_totals_update;
DROP TRIGGER IF EXISTS main.pool_totals_delete;
DROP TABLE IF EXISTS main.pool_totals;
DELETE FROM meta WHERE key = 'pool_totals';  -- (so that an older version opening this file rebuilds its own)
"""

POOL_TOTALS = """
CREATE TEMP TABLE IF NOT EXISTS pool_totals (
    psn_no TEXT NOT NULL,
    care TEXT NOT NULL,
    year TEXT NOT NULL,
    hifp_cents INTEGER NOT NULL,
    PRIMARY KEY (psn_no, care, year)
) WITHOUT ROWID;
CREATE TEMP TRIGGER IF NOT EXISTS pool_totals_insert AFTER INSERT ON main.settlements WHEN NEW.status != 'voided'
BEGIN
    INSERT INTO pool_totals(psn_no, care, year, hifp_cents)
    VALUES (NEW.psn_no, NEW.care, substr(NEW.setl_time, 1, 4), NEW.hifp_cents)
    ON CONFLICT(psn_no, care, year) DO UPDATE SET hifp_cents = hifp_cents + excluded.hifp_cents;
END;
CREATE TEMP TRIGGER IF NOT EXISTS pool_totals_update
AFTER UPDATE OF psn_no, care, setl_time, status, hifp_cents ON main.settlements
BEGIN
    UPDATE pool_totals SET hifp_cents = hifp_cents - OLD.hifp_cents
    WHERE OLD.status != 'voided' AND psn_no = OLD.psn_no AND care = OLD.care AND year = substr(OLD.setl_time, 1, 4);
    INSERT INTO pool_totals(psn_no, care, year, hifp_cents)
    SELECT NEW.psn_no, NEW.care, substr(NEW.setl_time, 1, 4), NEW.hifp_cents WHERE NEW.status != 'voided'
    ON CONFLICT(psn_no, care, year) DO UPDATE SET hifp_cents = hifp_cents + excluded.hifp_cents;
END;
CREATE TEMP TRIGGER IF NOT EXISTS pool_totals_delete AFTER DELETE ON main.settlements WHEN OLD.status != 'voided'
BEGIN
    UPDATE pool_totals SET hifp_cents = hifp_cents - OLD.hifp_cents
    WHERE psn_no = OLD.psn_no AND care = OLD.care AND year = substr(OLD.setl_time, 1, 4);
END;
"""

POOL_TOTALS_REBUILD = (
    "INSERT INTO temp.pool_totals(psn_no, care, year, hifp_cents)"
    " SELECT psn_no, care, substr(setl_time, 1, 4), SUM(hifp_cents) FROM main.settlements WHERE status != 'voided'"
    " GROUP BY psn_no, care, substr(setl_time, 1, 4)"
)
