"""The platform's working set: in-memory copies of the rows every business call reads.

SQLite (the file, db.py) stays the durable record and the only place anything is written: every change
is written there, in the call's transaction, as before. What a call reads over and over — the person,
the visit, the person's filings, the sign-in, whether a msgid was seen — is kept here once read, so
that the calls of one visit after the first read no row for them (a read is a statement of its own,
with the row turned into Python objects, and the hot path of a settlement had eight of them).

Why the copies cannot disagree with the file:
- They are read-through: an entry is only ever what a read of the file inside a transaction returned,
  and a missing entry is read from the file. At start (and after a restart, kill -9 included) the set
  is empty: it is rebuilt from the durable store by the reads themselves, never from anything else.
- Every write of those rows goes through the functions of `state` (and `forget_sign_ins` here), which
  update or drop the entry in the same breath as the SQL; nothing else in the platform writes them.
- A rollback (a refused call's savepoint, a failed group commit) may undo writes the set has seen:
  the database then drops every entry (`forget`), and the next reads refill it from the file.
- Another connection that commits to the file (another process on the same `--db`, a tool): SQLite's
  `PRAGMA data_version` changes, the database sees it when its next transaction begins, and drops
  everything, the msgid index too (`reset`).
- The msgid index is a superset: a bitmap with the bit of every (fixmedins_code, msgid) recorded in
  `messages` set, and those of calls rolled back since. A msgid whose bit is clear was never recorded (no
  statement needed to know it); one whose bit is set is looked up in the file as before, so a stale bit or
  two msgids sharing a bit cost a read, never a wrong answer.

Memory is bounded and does not grow with the run: a kind of row copies holds at most ROWS_KEPT entries (when
full it is emptied and refills with what is read next: the visits in progress, the persons being served),
and the msgid bitmap is MSGID_BITS bits (1 MB) however many messages were recorded (with a hundred thousand
about one new msgid in a hundred is looked up for nothing; with two million, one in five).
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = [
    "MSGID_BITS", "ROWS_KEPT", "Connection", "WorkingSet", "forget_sign_ins", "is_signed_in", "may_know_msgid",
    "msgid_bit", "remember_msgid", "working",
]


ROWS_KEPT = 2_048  # copies of one kind (persons, visits, filings of a person, sign-ins): more than are in progress
MSGID_BITS = 1 << 23  # the msgid bitmap: 1 MB


class WorkingSet:
    """The copies of one database connection (see the module docstring)."""

    __slots__ = ("filings", "msgids", "persons", "signins", "visits")

    def __init__(self) -> None:
        self.persons: dict[str, Any] = {}  # psn_no -> state.Person
        self.visits: dict[str, Any] = {}  # mdtrt_id -> state.Visit
        self.filings: dict[str, tuple[Any, ...]] = {}  # psn_no -> the person's active state.Filings
        self.signins: set[tuple[str, str]] = set()  # (sign_no, fixmedins_code) read as active
        self.msgids: bytearray | None = None  # the bitmap of those recorded (`msgid_bit`); None = not loaded

    def forget(self) -> None:
        """Drop the row copies (after a rollback); the msgid index stays: it may only have extra entries."""
        self.persons.clear()
        self.visits.clear()
        self.filings.clear()
        self.signins.clear()

    def reset(self) -> None:
        """Drop everything (another connection changed the file)."""
        self.forget()
        self.msgids = None

    @staticmethod
    def keep(copies: dict[Any, Any], key: Any, value: Any) -> None:
        """Keep one copy, emptying its kind first when it is full (bounded memory)."""
        if len(copies) >= ROWS_KEPT:
            copies.clear()
        copies[key] = value


class Connection(sqlite3.Connection):
    """The platform's SQLite connection, carrying the working set of its database (`working`)."""

    working: WorkingSet


def working(conn: Any) -> WorkingSet | None:
    """The working set of a platform connection (None for a plain sqlite3 connection: read the file)."""
    return getattr(conn, "working", None)


def is_signed_in(conn: Any, sign_no: str, fixmedins_code: str) -> bool:
    """An active sign-in `sign_no` of the institution (9001 made it, no 9002 ended it)."""
    ws = working(conn)
    if ws is not None and (sign_no, fixmedins_code) in ws.signins:
        return True
    row = conn.execute("SELECT 1 FROM signins WHERE sign_no = ? AND fixmedins_code = ? AND active = 1",
                       (sign_no, fixmedins_code)).fetchone()  # fmt: skip
    if row is not None and ws is not None:
        if len(ws.signins) >= ROWS_KEPT:
            ws.signins.clear()
        ws.signins.add((sign_no, fixmedins_code))
    return row is not None


def forget_sign_ins(conn: Any) -> None:
    """After a sign-out (a write that ends sign-ins): the sign-ins are read from the file again."""
    ws = working(conn)
    if ws is not None:
        ws.signins.clear()


def msgid_bit(fixmedins_code: str, msgid: str) -> int:
    """The bit of an institution's msgid in the bitmap (Python's string hash: this process only)."""
    return hash((fixmedins_code, msgid)) & (MSGID_BITS - 1)


def _set(bits: bytearray, bit: int) -> None:
    bits[bit >> 3] |= 1 << (bit & 7)


def may_know_msgid(conn: Any, fixmedins_code: str, msgid: str) -> bool:
    """False when the institution's msgid was certainly never recorded; True when it may have been."""
    ws = working(conn)
    if ws is None:
        return True
    if ws.msgids is None:
        ws.msgids = bytearray(MSGID_BITS // 8)
        for code, recorded in conn.execute("SELECT fixmedins_code, msgid FROM messages"):
            _set(ws.msgids, msgid_bit(code, recorded))
    bit = msgid_bit(fixmedins_code, msgid)
    return bool(ws.msgids[bit >> 3] & (1 << (bit & 7)))


def remember_msgid(conn: Any, fixmedins_code: str, msgid: str) -> None:
    """A message was recorded in `messages` (in the caller's transaction)."""
    ws = working(conn)
    if ws is not None and ws.msgids is not None:
        _set(ws.msgids, msgid_bit(fixmedins_code, msgid))
