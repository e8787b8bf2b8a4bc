"""Where the ledger lives, and the one interface both ledger stores implement.

A ledger location is either a SQLite file (the embedded default, `reports/ledger.sqlite`) or a
PostgreSQL URL (`postgresql://user:password@host:port/db`): a province's shared ledger, which every
runner and every `matrix` worker writes to at once. `ledger.py` and the `ledger_*` query modules beside
it (chain, load runs, attempts, rates) hold the queries (plain SQL with `?` placeholders, the same for
both); a backend opens sessions, ensures the schema, maps the store's errors to ours and serializes the
appends of one site:

- `ledger_sqlite.SqliteLedger`: sqlite3, one file (standard library);
- `ledger_pg.PostgresLedger`: psycopg 3, the only module that imports it.

Credentials come only from the URL given (`--ledger` or $HSA_CERT_LEDGER). Everything shown to a
person or written anywhere uses `location`, where the password is masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["LEDGER_ENV", "LedgerBackend", "LedgerLocation", "LedgerSession", "default_ledger_path", "is_url",
           "ledger_folder", "ledger_location", "mask_secrets", "mask_url", "open_backend"]

LEDGER_ENV = "HSA_CERT_LEDGER"
SCHEMES = ("postgresql://", "postgres://")
MASK = "***"
MIN_MASKED_ANYWHERE = 4

# A SQLite file, or a PostgreSQL URL (a str: Path would fold its "//").
LedgerLocation = Path | str


def is_url(where: LedgerLocation) -> bool:
    return isinstance(where, str) and where.strip().lower().startswith(SCHEMES)


def ledger_location(text: str | None, reports_dir: Path | None = None) -> LedgerLocation:
    """What `--ledger TEXT` names: a URL as given, a file as a Path; nothing: the default."""
    text = (text or "").strip()
    if not text:
        return default_ledger_path(reports_dir)
    return text if is_url(text) else Path(text)


def default_ledger_path(reports_dir: Path | None = None) -> LedgerLocation:
    """$HSA_CERT_LEDGER (a file or a URL), else <reports_dir>/ledger.sqlite."""
    override = os.environ.get(LEDGER_ENV, "").strip()
    if override:
        return override if is_url(override) else Path(override)
    return (reports_dir or Path("reports")) / "ledger.sqlite"


def ledger_folder(where: LedgerLocation) -> Path | None:
    """The folder a SQLite ledger lives in (its reports folder); None for a server's ledger."""
    return None if is_url(where) else Path(where).parent


def _password(parts: SplitResult) -> str:
    try:
        return parts.password or ""
    except ValueError:
        return ""


_USERINFO_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def mask_url(url: str) -> str:
    """The URL with its password (in the user part or as ?password=) replaced by ***."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # not a URL urllib can read (e.g. a broken [host]): mask the user part by its shape
        return _USERINFO_PASSWORD.sub(rf"\1{MASK}@", url.strip())
    netloc = parts.netloc
    if _password(parts):
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", rf"\1\2{MASK}", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secrets(text: str, url: str) -> str:
    """A message from the database driver with the URL's password taken out, wherever it appears."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # not a URL urllib can read: the password is what stands between "user:" and "@"
        found = re.search(r"://[^:/@\s]*:([^@\s]*)@", url)
        secrets = {found.group(1)} - {""} if found else set()
    else:
        secrets = {_password(parts), *re.findall(r"(?i)(?:^|&)password=([^&]*)", parts.query)} - {""}
    for secret in sorted(secrets, key=len, reverse=True):
        # A short password is masked where it stands alone (every "p" of a message is not a secret).
        pattern = re.escape(secret) if len(secret) >= MIN_MASKED_ANYWHERE else rf"(?<!\w){re.escape(secret)}(?!\w)"
        text = re.sub(pattern, MASK, text)
    return text


class LedgerSession(Protocol):
    """One transaction on the ledger. SQL uses `?` placeholders; rows come back as dicts by column name."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def lock_site(self, site_id: str) -> None:
        """Serialize the appends of this site until the transaction ends (another writer of it waits)."""
        ...


class LedgerBackend(Protocol):
    key: str  # identity of the store, for sessions held across calls (never shown)
    location: str  # what messages show: a path, or the URL with its password masked

    def exists(self) -> bool:
        """Whether there is a ledger to read (a file not yet written is not; a server always is)."""
        ...

    def session(self, *, create: bool, site: str | None = None) -> AbstractContextManager[LedgerSession]:
        """A transaction, committed when the block ends without error; with `site`, that site's appends
        are serialized from its start (`lock_site`). Store errors come out as HsaCertError."""
        ...


def open_backend(where: LedgerLocation) -> LedgerBackend:
    if is_url(where):
        from harness.reporting.ledger_pg import PostgresLedger  # psycopg is imported only for a server ledger

        return PostgresLedger(str(where).strip())
    from harness.reporting.ledger_sqlite import SqliteLedger

    return SqliteLedger(Path(where))
