"""The day book: what the harness settled and reversed at a persistent site, across runs, for 3201.

A site reconciles everything the institution settled in the period, not one run's share, so
against a persistent site the second run of a day would send half the totals ("结算笔数 28 vs 14"). The
3201 answer carries only stmt_rslt and a free-text stmt_rslt_dscr [C], so the site's own totals cannot be
read back to take a baseline; the period is whole dates [C] (stmt_begndate/stmt_enddate are dates, by
settlement time), so no narrower window exists. What is left is to know everything the harness settled
there: the `DayBook`, a small SQLite file per site that every run appends its rows to as they are
recorded (and voids on 冲正). The totals a 3201 sends are then this run's rows plus those of the earlier
runs in the day book, and the first and the tenth run of a day balance alike. Site setting
`recon_scope` = "day" (default) | "run" (a site reset for every run, like the embedded platform).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, fields
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from harness.runner.ledger import LedgerRow
from harness.runner.ledgerrows import SUMMED, RowFilter, row_condition, sum_amounts

__all__ = ["DayBook"]

_COLUMNS = tuple(f.name for f in fields(LedgerRow) if f.name not in ("voided", "reconciled"))
_MONEY = frozenset(SUMMED)


def _stored(value: str) -> str:
    """A value as the day book stores it: a site's answer may carry lone surrogates (a hostile or broken site),
    kept as \\udXXX escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


class DayBook:
    """The harness's durable record of what it settled and reversed at one site, across runs.

    One SQLite file (several sites may share it: rows are keyed by `site`), one row per settlement or
    reversal with the run that made it; a 冲正 marks the row voided. Rows older than `keep_days` are
    dropped when the book is opened. Concurrent runs against one site each add their rows as they go.
    """

    def __init__(self, path: Path | str, site: str, run_id: str, *, keep_days: int = 31,
                 today: date | None = None) -> None:
        self.path, self.site, self.run_id = Path(path), site, run_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used by the run's Runners one at a time (`--jobs`: from several threads, under the lock).
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        columns = ", ".join(f"{name} TEXT NOT NULL" for name in _COLUMNS)
        self._conn.execute(f"CREATE TABLE IF NOT EXISTS rows (site TEXT NOT NULL, run_id TEXT NOT NULL, {columns}, "
                           "voided INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (site, fixmedins_code, msgid, kind))")
        cutoff = (today or date.today()) - timedelta(days=keep_days)
        self._conn.execute("DELETE FROM rows WHERE site = ? AND setl_date < ?", (site, cutoff.isoformat()))

    def add(self, row: LedgerRow) -> None:
        values = [_stored(str(v)) for v in astuple(row)[: len(_COLUMNS)]]
        marks = ", ".join("?" * (len(_COLUMNS) + 2))
        with self._lock:
            self._conn.execute(f"INSERT OR IGNORE INTO rows (site, run_id, {', '.join(_COLUMNS)}) VALUES ({marks})",
                               (self.site, self.run_id, *values))

    def void(self, fixmedins_code: str, msgid: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE rows SET voided = 1 WHERE site = ? AND fixmedins_code = ? AND msgid = ?",
                               (self.site, fixmedins_code, msgid))

    def sums(self, wanted: RowFilter) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
        """How many standing rows of other runs at this site a 3201 covers, and their medfee_sumamt, fund_pay_sumamt,
        acct_pay and psn_cash_pay, each summed from Decimal("0.00") in row order. Selected in SQL and read as they
        are summed: a shared test site's book holds a month of every runner's rows, and every 3201 asks."""
        condition, parameters = row_condition(wanted, _stored)
        with self._lock:
            return sum_amounts(self._conn.execute(
                f"SELECT {', '.join(SUMMED)} FROM rows WHERE site = ? AND run_id != ? AND {condition} ORDER BY rowid",
                (self.site, self.run_id, *parameters)))

    def earlier_runs(self) -> list[LedgerRow]:
        """Standing rows that other runs recorded at this site."""
        with self._lock:
            records = self._conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM rows WHERE site = ? AND run_id != ? "
                                         "AND voided = 0 ORDER BY rowid", (self.site, self.run_id)).fetchall()
        return [LedgerRow(**{name: Decimal(value) if name in _MONEY else value
                             for name, value in zip(_COLUMNS, record, strict=True)}) for record in records]

    def close(self) -> None:
        self._conn.close()
