"""SQLite state of the reference platform: schema, connection, one transaction per state change.

One connection serves the whole process, guarded by a re-entrant lock: every call to the platform
runs inside exactly one `BEGIN IMMEDIATE … COMMIT`, so concurrent callers are serialised and eight
simultaneous settlements of one visit produce exactly one settlement. A file database uses WAL
with `synchronous=NORMAL`: a committed transaction survives a killed process (kill -9), which is
the durability the platform promises (not power loss). Checkpoints (the WAL copied back into the
file, with its fsyncs) run on a thread of their own (checkpoint.py), not inside a request.
`":memory:"` keeps everything in memory.

Group commit (the HTTP server's choice, app.py): the calls the event loop has ready at once may share one
`BEGIN IMMEDIATE … COMMIT` (`open_group` / `commit_group`), each call's transaction then being a savepoint
in it (a refusal still rolls back only its own call). No answer of the group is sent before its COMMIT, so
an answer the client saw is as durable as before; what the group shares is the pages every commit writes
(the exchange log's tree, the file header, index leaves), which are most of a call's pages.

Money is stored as integer cents (exact sums in SQL); JSON columns hold the messages as sent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import ConfigError
from harness.platform.checkpoint import BACKSTOP_PAGES, Checkpointer

__all__ = ["SCHEMA_VERSION", "Database"]

SCHEMA_VERSION = "1"
SERIAL_BLOCK = 64  # counter values reserved per write (see Database.next_serial)
# Columns added since a table was first created: (table, column, how to add it to an older database).
_MIGRATIONS = (("messages", "exchange_id", "ALTER TABLE messages ADD COLUMN exchange_id INTEGER"),
               ("exchanges", "request_headers",
                "ALTER TABLE exchanges ADD COLUMN request_headers TEXT NOT NULL DEFAULT '{}'"))

_SCHEMA = """
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
-- The pool's payments per person, kind of care and calendar year of setl_time, over every
-- settlement row that is not voided (reversal rows are negative, so they net out). Kept by triggers
-- in the same transaction as the settlement rows, so the annual cap is one lookup, not a sum over a
-- person's whole history.
CREATE TABLE IF NOT EXISTS pool_totals (
    psn_no TEXT NOT NULL,
    care TEXT NOT NULL,
    year TEXT NOT NULL,
    hifp_cents INTEGER NOT NULL,
    PRIMARY KEY (psn_no, care, year)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS pool_totals_insert AFTER INSERT ON settlements WHEN NEW.status != 'voided'
BEGIN
    INSERT INTO pool_totals(psn_no, care, year, hifp_cents)
    VALUES (NEW.psn_no, NEW.care, substr(NEW.setl_time, 1, 4), NEW.hifp_cents)
    ON CONFLICT(psn_no, care, year) DO UPDATE SET hifp_cents = hifp_cents + excluded.hifp_cents;
END;
CREATE TRIGGER IF NOT EXISTS pool_totals_update
AFTER UPDATE OF psn_no, care, setl_time, status, hifp_cents ON settlements
BEGIN
    UPDATE pool_totals SET hifp_cents = hifp_cents - OLD.hifp_cents
    WHERE OLD.status != 'voided' AND psn_no = OLD.psn_no AND care = OLD.care AND year = substr(OLD.setl_time, 1, 4);
    INSERT INTO pool_totals(psn_no, care, year, hifp_cents)
    SELECT NEW.psn_no, NEW.care, substr(NEW.setl_time, 1, 4), NEW.hifp_cents WHERE NEW.status != 'voided'
    ON CONFLICT(psn_no, care, year) DO UPDATE SET hifp_cents = hifp_cents + excluded.hifp_cents;
END;
CREATE TRIGGER IF NOT EXISTS pool_totals_delete AFTER DELETE ON settlements WHEN OLD.status != 'voided'
BEGIN
    UPDATE pool_totals SET hifp_cents = hifp_cents - OLD.hifp_cents
    WHERE psn_no = OLD.psn_no AND care = OLD.care AND year = substr(OLD.setl_time, 1, 4);
END;
"""

_POOL_TOTALS_REBUILD = (
    "INSERT INTO pool_totals(psn_no, care, year, hifp_cents)"
    " SELECT psn_no, care, substr(setl_time, 1, 4), SUM(hifp_cents) FROM settlements WHERE status != 'voided'"
    " GROUP BY psn_no, care, substr(setl_time, 1, 4)"
)


class Database:
    """The single SQLite connection of a platform process, with its lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.in_memory = path == ":memory:" or path.startswith("file::memory:")
        if not self.in_memory:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(
                    "The platform database directory does not exist",
                    location=str(parent),
                    hint="create the directory or pass another --db PATH",
                )
        try:
            self.conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, uri=path.startswith("file:")
            )
        except sqlite3.Error as exc:
            raise ConfigError("Cannot open the platform database", location=path, detail=str(exc)) from exc
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self._serials: dict[str, list[int]] = {}  # counter -> [last value handed out, end of its reserved block]
        self._checkpointer: Checkpointer | None = None
        self._group = False  # a group transaction is open (open_group); transactions are savepoints in it
        try:
            self._prepare(path)
        except sqlite3.DatabaseError as exc:  # e.g. "file is not a database": --db names some other file
            self.conn.close()
            raise ConfigError("The platform database cannot be used", location=path, detail=str(exc),
                              hint="--db names a file that is not an hsa-cert platform database; pass another "
                                   "path (a new file is created and seeded)") from exc

    def _prepare(self, path: str) -> None:
        """WAL, the schema and its migrations, the meta rows, the checkpointer."""
        if not self.in_memory:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA temp_store=MEMORY")  # temporary b-trees (a reconciliation's ORDER BY) in memory
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(_SCHEMA)
        for table, column, ddl in _MIGRATIONS:
            if column not in {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}:
                self.conn.execute(ddl)
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            if self.get_meta(conn, "pool_totals") is None:  # a database from before the table existed
                conn.execute("DELETE FROM pool_totals")
                conn.execute(_POOL_TOTALS_REBUILD)
                self.set_meta(conn, "pool_totals", "1")
        if not self.in_memory:
            self._checkpointer = Checkpointer(path, uri=path.startswith("file:"))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: commits on normal exit, rolls back on any exception (in an open group: a
        savepoint, released on normal exit, rolled back on any exception; the group's COMMIT commits it)."""
        with self.lock:
            if self._group:
                yield from self._savepoint()
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self._serials.clear()  # a block reserved in this transaction is reserved no more
                self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._serials.clear()  # not committed: neither is the reservation
                raise
            if self._checkpointer is not None:
                self._checkpointer.committed()

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("SAVEPOINT unit")
        try:
            yield self.conn
        except BaseException:
            self._serials.clear()  # a block reserved in this unit is reserved no more
            if self.conn.in_transaction:  # (an error SQLite answers by rolling back everything leaves none)
                self.conn.execute("ROLLBACK TO unit")
                self.conn.execute("RELEASE unit")
            raise
        self.conn.execute("RELEASE unit")

    @property
    def grouping(self) -> bool:
        return self._group

    def open_group(self) -> None:
        """Open a group transaction; the lock stays held by this thread until `commit_group`."""
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        self._group = True

    def commit_group(self) -> None:
        """Commit the open group (on any failure, roll it back and raise: none of its answers may be sent)."""
        try:
            self._group = False
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._serials.clear()
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            if self._checkpointer is not None:
                self._checkpointer.committed()
        finally:
            self.lock.release()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Read without a write transaction (still serialised with writers by the lock)."""
        with self.lock:
            yield self.conn

    def next_serial(self, conn: sqlite3.Connection, name: str) -> int:
        """The next value of a durable counter (inside the caller's transaction): unique for the database's life.

        `seq.<name>` in meta is the highest value handed out or reserved. Values are reserved in blocks of
        SERIAL_BLOCK, so most calls write nothing: a restart skips what its block had left (ids have gaps,
        never repeats), and a rolled-back transaction drops the blocks (see `transaction`), so a block is
        only used after the transaction that reserved it commits — or with the rows that used it gone.
        """
        block = self._serials.get(name)
        if block is None or block[0] >= block[1]:
            key = f"seq.{name}"
            row = conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ? RETURNING value",
                               (SERIAL_BLOCK, key)).fetchone()  # fmt: skip
            if row is None:
                row = conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) RETURNING value",
                                   (key, str(SERIAL_BLOCK))).fetchone()  # fmt: skip
            end = int(row["value"])
            block = self._serials[name] = [end - SERIAL_BLOCK, end]
        block[0] += 1
        return block[0]

    def get_meta(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        if self._checkpointer is not None:  # first, so that the writer's close is the last one and removes the WAL
            self._checkpointer.stop()
            self._checkpointer = None
        with self.lock:
            self.conn.close()
