"""Reading and writing the platform's state rows (inside the caller's transaction).

Small typed views over the SQLite tables of `db.py`; handlers never write SQL for the common
records themselves. Institution isolation is enforced here: a visit or settlement is found only
for the institution that created it (another institution's id reads as "does not exist").

Persons, visits and filings, once read, are kept in the connection's working set (workingset.py): the
functions here are the only writers of those rows, and keep it true (a changed balance replaces the
person's copy, a changed visit or filing drops its copy, to be read again).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from harness.platform.calc import money
from harness.platform.codec import dump_default_str, parse_json
from harness.platform.workingset import working

__all__ = [
    "SETTLING_COLUMNS",
    "Filing",
    "Person",
    "Settlement",
    "Visit",
    "cents",
    "from_cents",
    "load_person",
    "load_settlement",
    "load_visit",
]


def cents(amount: Decimal) -> int:
    scaled = amount.scaleb(2)
    if scaled == scaled.to_integral_value():  # a cent amount (every amount stored): exactly what money() keeps
        return int(scaled)
    return int(money(amount).scaleb(2))  # exact: a cent amount times 100


def from_cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)  # exactly two decimal places, as quantize(0.01) of value / 100


def dumps(value: Any) -> str:
    return dump_default_str(value)


@dataclass(frozen=True, slots=True)
class Person:
    psn_no: str
    data: Mapping[str, Any]  # the seeded persona (spec field names)
    balc: Decimal

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)

    @property
    def insutype(self) -> str:
        return str(self.data.get("insutype", ""))

    def age_on(self, day: date) -> int:
        brdy = date.fromisoformat(str(self.data.get("brdy") or day.isoformat()))
        return day.year - brdy.year - ((day.month, day.day) < (brdy.month, brdy.day))

    @property
    def insuplc_admdvs(self) -> str:
        return str(self.data.get("insuplc_admdvs", ""))


@functools.lru_cache(maxsize=4096)
def _person_data(text: str) -> Mapping[str, Any]:
    """A person's seeded data never changes (only the balance does): parse each text once."""
    return MappingProxyType(parse_json(text))


def load_person(conn: sqlite3.Connection, psn_no: str) -> Person | None:
    ws = working(conn)
    person = ws.persons.get(psn_no) if ws is not None else None
    if person is not None:
        return person
    row = conn.execute("SELECT psn_no, data, balc_cents FROM persons WHERE psn_no = ?", (psn_no,)).fetchone()
    if row is None:
        return None
    person = Person(row["psn_no"], _person_data(row["data"]), from_cents(row["balc_cents"]))
    if ws is not None:
        ws.keep(ws.persons, psn_no, person)
    return person


def find_person_by_cert(conn: sqlite3.Connection, cert_no: str) -> Person | None:
    row = conn.execute(
        "SELECT psn_no FROM persons WHERE mdtrt_cert_no = ? OR certno = ? OR card_no = ? LIMIT 1",
        (cert_no, cert_no, cert_no),
    ).fetchone()
    return None if row is None else load_person(conn, row["psn_no"])


def set_balance(conn: sqlite3.Connection, psn_no: str, balc: Decimal) -> None:
    stored = cents(balc)
    conn.execute("UPDATE persons SET balc_cents = ? WHERE psn_no = ?", (stored, psn_no))
    ws = working(conn)
    person = ws.persons.get(psn_no) if ws is not None else None
    if person is not None:  # the copy as a read would now give it
        ws.persons[psn_no] = Person(psn_no, person.data, from_cents(stored))


@dataclass(frozen=True, slots=True)
class Visit:
    mdtrt_id: str
    fixmedins_code: str
    psn_no: str
    kind: str
    insutype: str
    med_type: str
    begntime: str
    endtime: str | None
    discharged_at: str | None
    status: str
    ipt_otp_no: str
    insuplc_admdvs: str
    mdtrtarea_admvs: str
    dise_codg: str
    data: Mapping[str, Any]


# The columns of a Visit in field order, `data` last: rows become Visits positionally (hot path).
_VISIT_SQL = "SELECT {} FROM visits WHERE mdtrt_id = ? AND fixmedins_code = ?".format(
    ", ".join(f.name for f in dataclass_fields(Visit))
)


def load_visit(conn: sqlite3.Connection, mdtrt_id: str, fixmedins_code: str) -> Visit | None:
    ws = working(conn)
    visit = ws.visits.get(mdtrt_id) if ws is not None else None
    if visit is not None:
        return visit if visit.fixmedins_code == fixmedins_code else None
    row = conn.execute(_VISIT_SQL, (mdtrt_id, fixmedins_code)).fetchone()
    if row is None:
        return None
    visit = Visit(*row[:-1], data=_stored_json(row[-1]))
    if ws is not None:
        ws.keep(ws.visits, mdtrt_id, visit)
    return visit


@functools.lru_cache(maxsize=1024)  # the visits in progress: each is read by every call about it
def _stored_json(text: str) -> Mapping[str, Any]:
    """A stored JSON object, parsed once per distinct text (a visit is read by every call about it) and
    read-only: handlers build a new dict to change it (`dict(visit.data, …)`), never edit it in place."""
    return MappingProxyType(parse_json(text))


@functools.lru_cache(maxsize=1024)
def _codes(text: str) -> tuple[str, ...]:
    return tuple(parse_json(text))


def update_visit(conn: sqlite3.Connection, mdtrt_id: str, **changes: Any) -> None:
    if "data" in changes:
        changes["data"] = dumps(changes["data"])
    cols = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(f"UPDATE visits SET {cols} WHERE mdtrt_id = ?", (*changes.values(), mdtrt_id))
    ws = working(conn)
    if ws is not None:
        ws.visits.pop(mdtrt_id, None)


# What settling reads of a fee row (settling.py): not the stored input row, a third of a row's text.
SETTLING_COLUMNS = "id, chrg_bchno, classification"


def active_fees(conn: sqlite3.Connection, mdtrt_id: str, *, unsettled_only: bool = True,
                columns: str = "*") -> list[sqlite3.Row]:  # fmt: skip
    sql = f"SELECT {columns} FROM fees WHERE mdtrt_id = ? AND status = 'active'"
    if unsettled_only:
        sql += " AND setl_id IS NULL"
    return conn.execute(sql + " ORDER BY id", (mdtrt_id,)).fetchall()


@dataclass(frozen=True, slots=True)
class Settlement:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    infno: str
    kind: str
    orig_setl_id: str | None
    status: str
    msgid: str
    insutype: str
    clr_type: str
    clr_optins: str
    care: str
    mid_setl_flag: str
    setl_time: str
    setlinfo: Mapping[str, Any]
    setldetail: list[Mapping[str, Any]]


def load_settlement(conn: sqlite3.Connection, setl_id: str, fixmedins_code: str) -> Settlement | None:
    row = conn.execute(
        "SELECT * FROM settlements WHERE setl_id = ? AND fixmedins_code = ?", (setl_id, fixmedins_code)
    ).fetchone()
    return None if row is None else _settlement(row)


def _settlement(row: sqlite3.Row) -> Settlement:
    skip = {"setlinfo", "setldetail", "medfee_cents", "fund_cents", "acct_cents", "cash_cents", "hifp_cents"}
    fields = {k: v for k, v in dict(row).items() if k not in skip}
    return Settlement(**fields, setlinfo=parse_json(row["setlinfo"]), setldetail=parse_json(row["setldetail"]))


def settlements_of_visit(conn: sqlite3.Connection, mdtrt_id: str) -> list[Settlement]:
    rows = conn.execute("SELECT * FROM settlements WHERE mdtrt_id = ? ORDER BY setl_time, setl_id", (mdtrt_id,))
    return [_settlement(r) for r in rows.fetchall()]


def has_live_settlement(conn: sqlite3.Connection, mdtrt_id: str, *, final_only: bool = False) -> bool:
    """A settlement of the visit that is neither reversed nor voided (final_only: not an interim one)."""
    sql = "SELECT 1 FROM settlements WHERE mdtrt_id = ? AND kind = 'settle' AND status = 'settled'"
    if final_only:
        sql += " AND mid_setl_flag != '1'"
    return conn.execute(sql + " LIMIT 1", (mdtrt_id,)).fetchone() is not None


def pool_used(conn: sqlite3.Connection, psn_no: str, care: str, year: str) -> Decimal:
    """The pool's payments to a person for one kind of care in a calendar year (reversals net out).

    The sum of `hifp_cents` over the person's settlement rows of that care and year that are not
    voided, kept up to date by the triggers of `pool_totals` (db.py)."""
    row = conn.execute(
        "SELECT hifp_cents FROM pool_totals WHERE psn_no = ? AND care = ? AND year = ?", (psn_no, care, year)
    ).fetchone()
    return from_cents(0 if row is None else int(row[0]))


@dataclass(frozen=True, slots=True)
class Filing:
    trt_dcla_detl_sn: str
    psn_no: str
    kind: str
    biz_appy_type: str
    region: str
    fixmedins_codes: tuple[str, ...]
    opsp_dise_code: str
    begndate: str
    enddate: str | None
    status: str
    filed_at: str
    filed_by: str
    data: Mapping[str, Any]


# The columns of a Filing in field order: rows become Filings positionally (hot path).
_FILING_COLUMNS = ", ".join(f.name for f in dataclass_fields(Filing))
_FIXMEDINS_CODES = [f.name for f in dataclass_fields(Filing)].index("fixmedins_codes")


def filings_of(conn: sqlite3.Connection, psn_no: str, kinds: tuple[str, ...]) -> list[Filing]:
    """A person's active filings of `kinds`, ordered by begndate, then trt_dcla_detl_sn.

    A person has a handful of active filings: filtering and sorting them here is cheaper than SQL's IN list
    and sort (Python orders str as SQLite's BINARY collation orders their UTF-8 text). Only the active ones
    are read and kept: a test person filed and cancelled again by every run of a long suite has thousands
    of cancelled ones, which no call reads."""
    ws = working(conn)
    active = ws.filings.get(psn_no) if ws is not None else None
    if active is None:
        rows = conn.execute(f"SELECT {_FILING_COLUMNS} FROM filings WHERE psn_no = ? AND status = 'active'",
                            (psn_no,)).fetchall()  # fmt: skip
        active = tuple(_filing(r) for r in rows)
        if ws is not None:
            ws.keep(ws.filings, psn_no, active)
    found = [f for f in active if f.kind in kinds]
    found.sort(key=lambda f: (f.begndate, f.trt_dcla_detl_sn))
    return found


def forget_filings(conn: sqlite3.Connection, psn_no: str) -> None:
    """After a write to a person's filings: they are read from the file again."""
    ws = working(conn)
    if ws is not None:
        ws.filings.pop(psn_no, None)


def _filing(row: sqlite3.Row) -> Filing:
    values = list(row)
    values[_FIXMEDINS_CODES] = _codes(values[_FIXMEDINS_CODES])
    values[-1] = _stored_json(values[-1])
    return Filing(*values)


def load_filing(conn: sqlite3.Connection, sn: str) -> Filing | None:
    row = conn.execute(f"SELECT {_FILING_COLUMNS} FROM filings WHERE trt_dcla_detl_sn = ?", (sn,)).fetchone()
    return None if row is None else _filing(row)
