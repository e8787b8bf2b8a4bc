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
- The msgid index is a superset: the hashes of every (fixmedins_code, msgid) recorded in `messages`, plus
  those of calls rolled back since. A msgid whose hash is not in it was never recorded (no statement
  needed to know it); one in it is looked up in the file as before, so a stale extra entry or a hash
  collision costs a read, never a wrong answer.

Memory is bounded: a kind of row copies holds at most ROWS_KEPT entries (when full it is emptied and
refills with what is read next: the visits in progress, the persons being served), and past MSGIDS_KEPT
recorded messages the index is given up and every msgid is looked up in the file, as before it existed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = [
    "MSGIDS_KEPT", "ROWS_KEPT", "Connection", "WorkingSet", "forget_sign_ins", "is_signed_in", "may_know_msgid",
    "remember_msgid", "working",
]


ROWS_KEPT = 10_000  # copies of one kind (persons, visits, filings of a person, sign-ins)
MSGIDS_KEPT = 2_000_000  # msgid hashes (some 60 MB): a long load run's worth


class WorkingSet:
    """The copies of one database connection (see the module docstring)."""

    __slots__ = ("filings", "msgids", "msgids_given_up", "persons", "signins", "visits")

    def __init__(self) -> None:
        self.persons: dict[str, Any] = {}  # psn_no -> state.Person
        self.visits: dict[str, Any] = {}  # mdtrt_id -> state.Visit
        self.filings: dict[str, tuple[Any, ...]] = {}  # psn_no -> every state.Filing of the person
        self.signins: set[tuple[str, str]] = set()  # (sign_no, fixmedins_code) read as active
        self.msgids: set[int] | None = None  # hash((fixmedins_code, msgid)) of those recorded; None = not loaded
        self.msgids_given_up = False  # more than MSGIDS_KEPT recorded: every msgid is looked up in the file

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
        self.msgids_given_up = False

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


def may_know_msgid(conn: Any, fixmedins_code: str, msgid: str) -> bool:
    """False when the institution's msgid was certainly never recorded; True when it may have been."""
    ws = working(conn)
    if ws is None or ws.msgids_given_up:
        return True
    if ws.msgids is None:
        if conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] > MSGIDS_KEPT:
            ws.msgids_given_up = True
            return True
        ws.msgids = {hash((r[0], r[1])) for r in conn.execute("SELECT fixmedins_code, msgid FROM messages")}
    return hash((fixmedins_code, msgid)) in ws.msgids


def remember_msgid(conn: Any, fixmedins_code: str, msgid: str) -> None:
    """A message was recorded in `messages` (in the caller's transaction)."""
    ws = working(conn)
    if ws is not None and ws.msgids is not None:
        if len(ws.msgids) >= MSGIDS_KEPT:
            ws.msgids, ws.msgids_given_up = None, True
        else:
            ws.msgids.add(hash((fixmedins_code, msgid)))
