"""Seeding the platform's state from the synthetic-person catalogue, idempotently.

At every start: persons the database does not know yet are inserted (a person already there keeps
its balance and everything that happened to it); seeded filings (异地就医备案 and 门诊慢特病备案,
which the insured make through their insured region) are inserted, or have their dates refreshed,
because the catalogue defines them as offsets from "today" — so a long-lived database keeps the
archetypes' guaranteed behaviour. A filing's status (e.g. cancelled) is never reset.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from harness.personas import filing_dates
from harness.platform.calc import dec
from harness.platform.db import Database
from harness.platform.state import cents, dumps

__all__ = ["seed_state"]


def seed_state(db: Database, catalogue: Any, today: date | None = None) -> int:
    """Insert the catalogue's people and filings; returns the number of people added."""
    day = today or date.today()
    added = 0
    with db.transaction() as conn:
        for persona in catalogue.personas:
            data = persona.to_json()
            cursor = conn.execute(
                "INSERT OR IGNORE INTO persons(psn_no, certno, mdtrt_cert_no, card_no, insuplc_admdvs, insutype,"
                " balc_cents, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (persona.psn_no, persona.certno, persona.mdtrt_cert_no, persona.card_no, persona.insuplc_admdvs,
                 persona.insutype, cents(dec(persona.balc)), dumps(data)),
            )  # fmt: skip
            added += cursor.rowcount
            for filing in persona.filings:
                _upsert_filing(conn, persona.psn_no, filing, day, kind="xregion")
            for filing in persona.chronic:
                _upsert_filing(conn, persona.psn_no, filing, day, kind="chronic")
        db.set_meta(conn, "seed", str(catalogue.seed))
    db.working.forget()  # persons and filings written here: read them from the file again
    return added


def _upsert_filing(conn: Any, psn_no: str, filing: Any, day: date, *, kind: str) -> None:
    begin, end = filing_dates(filing, day)
    conn.execute(
        "INSERT INTO filings(trt_dcla_detl_sn, psn_no, kind, biz_appy_type, region, fixmedins_codes, opsp_dise_code,"
        " begndate, enddate, status, filed_at, filed_by, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, '', ?)"
        " ON CONFLICT(trt_dcla_detl_sn) DO UPDATE SET begndate = excluded.begndate, enddate = excluded.enddate,"
        " filed_at = excluded.filed_at",
        (
            filing["trt_dcla_detl_sn"], psn_no, kind, filing.get("biz_appy_type", ""),
            filing.get("mdtrtarea_admvs", ""), json.dumps(list(filing.get("fixmedins_codes", ()))),
            filing.get("opsp_dise_code", ""), begin.isoformat(), end.isoformat() if end else None,
            f"{begin.isoformat()} 00:00:00", dumps(dict(filing)),
        ),
    )  # fmt: skip
