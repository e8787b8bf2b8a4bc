"""Attempts in the ledger: certify or matrix runs that ended without a verdict.

The `attempts` table (added beside `runs`, so older ledgers gain it empty) records every certify or
matrix attempt that ended without a verdict (exit 3: the site unreachable, TLS refused): the site, when,
the kind ("certify" / "matrix") and the reason with any password masked. An attempt is not a
certification: it has no run row, no outcomes and no chain link; the dashboard shows from it the sites
that are down, also those that never had a run.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.reporting.ledger_backend import MASK, LedgerLocation
from harness.reporting.ledger_session import _connect

__all__ = ["LedgerAttempt", "append_attempt", "load_attempts", "mask_reason"]


@dataclass(frozen=True, slots=True)
class LedgerAttempt:
    """A certify or matrix attempt that ended without a verdict, as the ledger keeps it."""

    seq: int
    attempt_id: str
    site_id: str
    kind: str  # "certify" | "matrix"
    at: str  # ISO 8601, when it ended
    exit_code: int | None
    reason: str  # passwords masked
    out_dir: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# A password in a URL's user part (scheme://user:secret@host) or as a key=value (query string, message text).
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^\s:/@]*:)[^\s@/]+@")
_KEY_SECRET = re.compile(r"(?i)\b((?:password|passwd|pwd|secret|secret_key|token|access_token|sk)\s*[=:]\s*)"
                         r"[^\s&,;'\"]+")


def mask_reason(text: str) -> str:
    """The reason an attempt failed, as the ledger may keep it: a URL's password and password=/token= values masked."""
    return _KEY_SECRET.sub(rf"\1{MASK}", _URL_PASSWORD.sub(rf"\1{MASK}@", text))


def append_attempt(where: LedgerLocation, site_id: str, *, kind: str, reason: str, exit_code: int = 3,
                   out_dir: str = "", at: str | None = None) -> LedgerAttempt:
    """Record an attempt that ended without a verdict (the runs table and the site's chain are not touched)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    attempt_id = f"{now.replace(':', '').replace('+0000', 'Z')}-{secrets.token_hex(4)}"
    values = (attempt_id, site_id, kind, at or now, exit_code, mask_reason(reason), out_dir, now)
    with _connect(where, create=True) as conn:
        conn.run("INSERT INTO attempts (attempt_id, site_id, kind, at, exit_code, reason, out_dir, recorded_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        row = conn.rows("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,))[0]
    return LedgerAttempt(**{name: row[name] for name in LedgerAttempt.__dataclass_fields__})


def load_attempts(where: LedgerLocation, site: str | None = None) -> list[LedgerAttempt]:
    """Attempts without a verdict, oldest first (ledger order), of one site or of all."""
    with _connect(where, create=False) as conn:
        query = "SELECT * FROM attempts" + (" WHERE site_id = ?" if site is not None else "") + " ORDER BY seq"
        rows = conn.rows(query, (site,) if site is not None else ())
    return [LedgerAttempt(**{name: row[name] for name in LedgerAttempt.__dataclass_fields__}) for row in rows]
