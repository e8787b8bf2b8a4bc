"""Durable state of the foreign site in one SQLite file: it persists across runs, like a real test env.

One connection guarded by a lock: the HTTP server is threaded, SQLite is not asked to be. Amounts
are stored as text (exact decimals); answers that must be replayed are stored as JSON text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from .data import PERSONS

SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS account (psn_no TEXT PRIMARY KEY, balc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signin (sign_no TEXT PRIMARY KEY, opter TEXT NOT NULL, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS answer (fixmedins_code TEXT, msgid TEXT, infno TEXT, digest TEXT, body TEXT,
                                   PRIMARY KEY (fixmedins_code, msgid));
CREATE TABLE IF NOT EXISTS visit (mdtrt_id TEXT PRIMARY KEY, fixmedins_code TEXT, psn_no TEXT, insutype TEXT,
                                  ipt_otp_no TEXT, med_type TEXT, status TEXT NOT NULL, msgid TEXT,
                                  emergency INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS fee (mdtrt_id TEXT, feedetl_sn TEXT, chrg_bchno TEXT, row TEXT,
                                setl_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (mdtrt_id, feedetl_sn));
CREATE TABLE IF NOT EXISTS setl (setl_id TEXT PRIMARY KEY, mdtrt_id TEXT, psn_no TEXT, fixmedins_code TEXT,
                                 insutype TEXT, clr_type TEXT, setl_date TEXT, msgid TEXT, kind TEXT,
                                 orig_setl_id TEXT, reversed_by TEXT NOT NULL DEFAULT '', answer TEXT,
                                 chrg_bchno TEXT NOT NULL DEFAULT '');
"""


def plain(value: Any) -> Any:
    """JSON-ready: decimals become JSON numbers (2-place amounts survive the float round trip exactly)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


class Store:
    def __init__(self, path: Path | str) -> None:
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)
        for person in PERSONS:
            self.db.execute("INSERT OR IGNORE INTO account VALUES (?, ?)", (person.psn_no, str(person.balc)))

    # --- plumbing ---------------------------------------------------------------------------
    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return self.db.execute(sql, args).fetchall()

    def run(self, sql: str, *args: Any) -> None:
        self.db.execute(sql, args)

    def next(self, name: str) -> int:
        self.run("INSERT INTO counter VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1", name)
        row = self.one("SELECT value FROM counter WHERE name = ?", name)
        assert row is not None
        return int(row["value"])

    def transaction(self) -> _Tx:
        return _Tx(self.db)

    # --- accounts -----------------------------------------------------------------------------
    def balance(self, psn_no: str) -> Decimal:
        row = self.one("SELECT balc FROM account WHERE psn_no = ?", psn_no)
        return Decimal(row["balc"]) if row else Decimal("0.00")

    def add_balance(self, psn_no: str, delta: Decimal) -> None:
        self.run("UPDATE account SET balc = ? WHERE psn_no = ?", str(self.balance(psn_no) + delta), psn_no)

    # --- recorded answers (msgid replay) ------------------------------------------------------
    def recorded(self, fixmedins_code: str, msgid: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM answer WHERE fixmedins_code = ? AND msgid = ?", fixmedins_code, msgid)

    def record(self, fixmedins_code: str, msgid: str, infno: str, digest: str, body: dict[str, Any]) -> None:
        self.run("INSERT OR REPLACE INTO answer VALUES (?, ?, ?, ?, ?)", fixmedins_code, msgid, infno, digest,
                 dumps(body))

    def forget(self, fixmedins_code: str, msgid: str) -> None:
        self.run("DELETE FROM answer WHERE fixmedins_code = ? AND msgid = ?", fixmedins_code, msgid)


class _Tx:
    """BEGIN IMMEDIATE … COMMIT, rolled back when the handler raises (a refusal changes nothing)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
