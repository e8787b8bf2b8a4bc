"""The rows of a run's ledger (harness.runner.ledger) in a private temporary SQLite database, not in memory.

A run settles or reverses something in about two scenarios of five; each row held as objects (a dataclass, four
Decimals, its msgid and setl_id, the msgid's key in a set) took ~700 bytes to the end of the run, twenty thousand
scenarios ~6 MB, and left long-lived small objects all over the heap (issue 14). `LedgerRows` keeps them in a
SQLite database that SQLite removes when it is closed (`sqlite3.connect("")`), with a small page cache; it reads
as a list of `LedgerRow` (each made when read) and does in SQL what the ledger asked of the whole list: void the
rows of a msgid, find a settlement by setl_id, select (and mark reconciled) the rows a 3201 covers. Texts are
stored as UTF-8 (lone surrogates too: a site's answer may hold any text), so that equality and order are those
of Python's strings; amounts as the Decimal's own text, read back equal and with the same exponent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.runner.ledger import LedgerRow

__all__ = ["SUMMED", "LedgerRows", "RowFilter", "row_condition", "sum_amounts"]

_CACHE_KIB = 256
SUMMED = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")  # a 3201's totals, in this order
_ZERO = Decimal("0.00")
_BATCH = 256  # rows read at a time when iterating

# What a 3201 covers: fixmedins_code, insutype, clr_type, clearing agency, first and last date, kind (None, or an
# empty agency or date: no condition)
RowFilter = tuple[str, str | None, str | None, str, str, str, str | None]


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _str(value: bytes) -> str:
    return bytes(value).decode("utf-8", "surrogatepass")


class LedgerRows:
    """A ledger's rows, in the order they were added; `rows[i]`, `len`, iteration and `bool` as a list's."""

    def __init__(self) -> None:
        from harness.runner.ledger import LedgerRow  # the row type lives with the ledger, which imports this

        self._row_type = LedgerRow
        names = [f.name for f in fields(LedgerRow)]
        self._names = names
        self._money = frozenset(f.name for f in fields(LedgerRow) if f.type in ("Decimal", Decimal))
        self._flags = frozenset(("voided", "reconciled"))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None  # made with the first row: most ledgers never get one
        self._count = 0

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            for pragma in (f"cache_size = -{_CACHE_KIB}", "journal_mode = OFF", "synchronous = OFF"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute(f"CREATE TABLE rows ({', '.join(self._names)})")
            conn.execute("CREATE INDEX rows_msgid ON rows (msgid)")
            conn.execute("CREATE INDEX rows_setl_id ON rows (setl_id)")
            conn.execute("CREATE TABLE msgids (code BLOB NOT NULL, msgid BLOB NOT NULL, PRIMARY KEY (code, msgid))")
            self._conn = conn
        return self._conn

    # --- the list -----------------------------------------------------------------------------

    def _stored(self, row: LedgerRow) -> tuple[Any, ...]:
        out: list[Any] = []
        for name in self._names:
            value = getattr(row, name)
            if name in self._flags:
                out.append(int(bool(value)))
            elif name in self._money:
                out.append(str(value))
            else:
                out.append(_text(value))
        return tuple(out)

    def _row(self, record: tuple[Any, ...]) -> LedgerRow:
        values: dict[str, Any] = {}
        for name, value in zip(self._names, record, strict=True):
            if name in self._flags:
                values[name] = bool(value)
            elif name in self._money:
                values[name] = Decimal(value)
            else:
                values[name] = _str(value)
        return self._row_type(**values)

    def append(self, row: LedgerRow) -> None:
        with self._lock:
            self._db().execute(f"INSERT INTO rows VALUES ({', '.join('?' * len(self._names))})", self._stored(row))
            self._count += 1

    def extend(self, rows: Iterable[LedgerRow]) -> None:
        for row in rows:
            self.append(row)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> LedgerRow:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("ledger row index out of range")
        with self._lock:
            record = self._db().execute("SELECT * FROM rows WHERE rowid = ?", (index + 1,)).fetchone()
        return self._row(record)

    def __iter__(self) -> Iterator[LedgerRow]:
        return self._where("1", ())

    def _where(self, condition: str, parameters: tuple[Any, ...]) -> Iterator[LedgerRow]:
        """The rows meeting an SQL condition, in order, read a batch at a time."""
        return (self._row(record) for record in self._records("*", condition, parameters))

    def _records(self, columns: str, condition: str, parameters: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """`columns` of the rows meeting an SQL condition, in order, read a batch at a time."""
        after = 0
        while True:
            with self._lock:
                if self._conn is None:
                    return
                records = self._conn.execute(f"SELECT rowid, {columns} FROM rows WHERE rowid > ? AND ({condition}) "
                                             f"ORDER BY rowid LIMIT {_BATCH}", (after, *parameters)).fetchall()
            if not records:
                return
            after = records[-1][0]
            yield from (record[1:] for record in records)

    def _mark_reconciled(self, condition: str, parameters: tuple[Any, ...]) -> None:
        with self._lock:
            assert self._conn is not None
            self._conn.execute(f"UPDATE rows SET reconciled = 1 WHERE {condition}", parameters)

    # --- what the ledger asks -------------------------------------------------------------------

    def void(self, msgid: str) -> None:
        """Mark every row of `msgid` voided (a 冲正 of it succeeded)."""
        with self._lock:
            if self._conn is not None:
                self._conn.execute("UPDATE rows SET voided = 1 WHERE msgid = ?", (_text(msgid),))

    def settlement(self, setl_id: str) -> LedgerRow | None:
        """The first settlement row of `setl_id`."""
        return next(self._where("setl_id = ? AND kind = ?", (_text(setl_id), _text("settle"))), None)

    def covered(self, wanted: RowFilter, *, mark: bool) -> list[LedgerRow]:
        """The standing rows a 3201 covers (see `Ledger.totals` for the filter); `mark`: note them reconciled."""
        condition, parameters = row_condition(wanted)
        chosen = list(self._where(condition, parameters))
        if mark and chosen:
            self._mark_reconciled(condition, parameters)
            for row in chosen:
                row.reconciled = True
        return chosen

    def sums(self, wanted: RowFilter, *, mark: bool) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
        """How many standing rows a 3201 covers and their medfee_sumamt, fund_pay_sumamt, acct_pay and psn_cash_pay,
        each summed from Decimal("0.00") in row order; `mark`: note the rows reconciled. Read a batch at a time: the
        end-of-run reconciliation covers every row of the run, which made as objects at once grew with the run."""
        condition, parameters = row_condition(wanted)
        found = sum_amounts(self._records(", ".join(SUMMED), condition, parameters))
        if mark and found[0]:
            self._mark_reconciled(condition, parameters)
        return found

    def unreconciled(self, fixmedins_code: str) -> list[LedgerRow]:
        return list(self._where("fixmedins_code = ? AND voided = 0 AND reconciled = 0", (_text(fixmedins_code),)))

    def seen(self, code: str, msgid: str) -> bool:
        with self._lock:
            if self._conn is None:
                return False
            found = self._conn.execute("SELECT 1 FROM msgids WHERE code = ? AND msgid = ?",
                                       (_text(code), _text(msgid))).fetchone()
        return found is not None

    def note(self, code: str, msgid: str) -> None:
        with self._lock:
            self._db().execute("INSERT OR IGNORE INTO msgids VALUES (?, ?)", (_text(code), _text(msgid)))

    def noted(self) -> Iterator[tuple[str, str]]:
        with self._lock:
            pairs = self._conn.execute("SELECT code, msgid FROM msgids").fetchall() if self._conn else []
        return ((_str(code), _str(msgid)) for code, msgid in pairs)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._count = 0


def sum_amounts(records: Iterable[Sequence[str]]) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
    """How many records, and their SUMMED amounts (stored as text) each summed from Decimal("0.00") in order."""
    count, totals = 0, [_ZERO] * 4
    for record in records:
        count += 1
        for at, text in enumerate(record):
            totals[at] += Decimal(text)
    return count, totals[0], totals[1], totals[2], totals[3]


def row_condition(wanted: RowFilter, encode: Callable[[str], Any] = _text) -> tuple[str, tuple[Any, ...]]:
    """The SQL condition (and its parameters, each made by `encode` as the rows' values were stored) of the standing
    rows a 3201 covers: what `harness.runner.ledger.covers` says of one row."""
    code, insutype, clr_type, optins, begin, end, kind = wanted
    parts = ["voided = 0", "fixmedins_code = ?"]
    parameters: list[Any] = [encode(code)]
    if insutype is not None:
        parts.append("insutype = ?")
        parameters.append(encode(insutype))
    if clr_type is not None:
        parts.append("clr_type = ?")
        parameters.append(encode(clr_type))
    if optins:  # a row without a clearing agency counts for the agency asked
        parts.append("(clr_optins = ? OR clr_optins = ?)")
        parameters.extend((encode(""), encode(optins)))
    if begin:
        parts.append("setl_date >= ?")
        parameters.append(encode(begin))
    if end:
        parts.append("setl_date <= ?")
        parameters.append(encode(end))
    if kind is not None:
        parts.append("kind = ?")
        parameters.append(encode(kind))
    return " AND ".join(parts), tuple(parameters)
