"""A province's shared ledger on PostgreSQL (psycopg 3; the only module that imports it).

`--ledger postgresql://user:password@host:port/db` (or $HSA_CERT_LEDGER): every runner, and every
worker of `hsa-cert matrix`, appends its runs to one central ledger. The tables are those of the
SQLite ledger (same columns, same queries); they are created in the URL's database (its current
schema: `?options=-csearch_path%3Dname` picks another) by the first runner that finds them missing.

Concurrent writers: the appends of one site are serialized by a transaction-scoped advisory lock on
the site id (`pg_advisory_xact_lock`), taken before the site's chain head is read, so two runs of one
site can never both link to the same previous run; runs of different sites do not wait for each
other. A writer that dies releases its lock with its connection.

The password is never shown: messages use the URL with it masked, and the driver's own messages
have it taken out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row

from harness.errors import ConfigError, InfrastructureError
from harness.reporting.ledger_backend import mask_secrets, mask_url
from harness.reporting.ledger_schema import ADDED_COLUMNS, STATEMENTS, TABLES, fill

__all__ = ["PostgresLedger"]

CONNECT_TIMEOUT_S = 15
# A run of a site waits at most this long for another runner sealing a run of the same site (seconds, normally).
LOCK_TIMEOUT = "600s"
_SCHEMA_LOCK = "hsa-cert ledger schema"
_SITE_LOCK = "hsa-cert ledger site "
_TYPES = {"serial": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION", "bigint": "BIGINT"}
_LATEST_COLUMNS = frozenset(name for name, _kind in ADDED_COLUMNS)
_ready: set[str] = set()  # URLs whose schema this process has seen complete


def _sql(text: str) -> str:
    """The ledger's queries use `?` (the SQLite style); psycopg's placeholder is %s."""
    return text.replace("?", "%s")


class _Session:
    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._conn.execute(_sql(sql), tuple(params)).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(_sql(sql), tuple(params))

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_sql(sql), [tuple(row) for row in rows])

    def lock_site(self, site_id: str) -> None:
        # Held until this transaction commits or rolls back; a hash collision only makes two sites wait.
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_SITE_LOCK + site_id,))


def _missing(conn: psycopg.Connection[dict[str, Any]]) -> tuple[frozenset[str], frozenset[str]]:
    """(tables missing, latest columns of runs missing) in the URL's current schema."""
    found = conn.execute("SELECT table_name, column_name FROM information_schema.columns"
                         " WHERE table_schema = current_schema() AND table_name = ANY(%s)", (sorted(TABLES),)
                         ).fetchall()
    columns = {row["column_name"] for row in found if row["table_name"] == "runs"}
    return TABLES - {row["table_name"] for row in found}, _LATEST_COLUMNS - columns


def _ensure_schema(conn: psycopg.Connection[dict[str, Any]], url: str) -> None:
    if url in _ready:
        return
    if any(_missing(conn)):
        # Several runners finding an empty database at once: one creates, the others wait for it and look again
        # (DDL on tables that others already write to would take their locks: run only what is missing).
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_SCHEMA_LOCK,))
        tables, columns = _missing(conn)
        if tables:
            for statement in STATEMENTS:
                conn.execute(fill(statement, _TYPES))
        for name, kind in ADDED_COLUMNS:
            if name in columns and "runs" not in tables:  # a new runs table has them all
                conn.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {name} {fill(kind, _TYPES)}")
    conn.commit()
    _ready.add(url)


class PostgresLedger:
    def __init__(self, url: str) -> None:
        self.url = url
        self.key = f"postgresql:{url}"
        self.location = mask_url(url)

    def exists(self) -> bool:
        return True  # a server's ledger is there once reachable; an empty one has no runs

    def _error(self, exc: Exception, *, hint: str = "") -> dict[str, Any]:
        return {"location": self.location, "detail": mask_secrets(str(exc).strip(), self.url), "hint": hint}

    @contextmanager
    def session(self, *, create: bool, site: str | None = None) -> Iterator[_Session]:
        try:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row)
        except psycopg.ProgrammingError as exc:  # libpq could not read the URL
            raise ConfigError("The ledger URL is not usable", **self._error(exc, hint=(
                "postgresql://user:password@host:port/database[?sslmode=…]"))) from None
        except psycopg.Error as exc:
            raise InfrastructureError(
                "Cannot reach the ledger's database", **self._error(exc, hint=(
                    "check the URL given with --ledger or $HSA_CERT_LEDGER, and that the server accepts "
                    "this runner"))) from None
        with closing(conn):
            try:
                conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                _ensure_schema(conn, self.url)
                session = _Session(conn)
                if site is not None:
                    session.lock_site(site)
                yield session
                conn.commit()
            except psycopg.Error as exc:
                _rollback(conn)
                if isinstance(exc, pg_errors.UniqueViolation):
                    raise ConfigError("This run is already in the ledger", **self._error(exc, hint=(
                        "each run id is recorded once; certify again for a new run"))) from None
                if isinstance(exc, pg_errors.LockNotAvailable):
                    raise InfrastructureError("Another runner held this site's ledger lock too long", **self._error(
                        exc, hint=f"a run of the same site was still being sealed after {LOCK_TIMEOUT}; try again"
                    )) from None
                if isinstance(exc, psycopg.OperationalError):
                    raise InfrastructureError("The ledger's database failed", **self._error(exc)) from None
                raise ConfigError("The ledger's database refused the ledger's queries", **self._error(exc, hint=(
                    "the database must hold an hsa-cert ledger (or nothing), and the URL's user may create "
                    "and write its tables"))) from None
            except BaseException:
                _rollback(conn)
                raise


def _rollback(conn: psycopg.Connection[dict[str, Any]]) -> None:
    with suppress(psycopg.Error):  # the connection may be the thing that broke
        conn.rollback()
