"""The embedded ledger store: one SQLite file (`reports/ledger.sqlite` by default).

Schema version 2 added `inconclusive`, `advisories` and `coverage` to `runs`; a version-1 ledger gets
the columns (NULL for its old runs) the first time it is opened; the `chain` table is added to a file
without it. The schema is written only when something is missing, so that a reader never needs the
write lock.

Appends are serialized by the file: a writing session begins `BEGIN IMMEDIATE` (the database's one
write lock, taken at the start, so that the site's chain head it reads is still the head when it
writes). SQLite has no finer lock, so `lock_site` locks every site of the file; readers go on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, InfrastructureError
from harness.reporting.ledger_schema import ADDED_COLUMNS, SCHEMA_VERSION, STATEMENTS, TABLES, fill

__all__ = ["SqliteLedger"]

BUSY_TIMEOUT_S = 120  # another writer holds the file (a certify sealing its run): wait this long
_TYPES = {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "bigint": "INTEGER"}


class _Session:
    def __init__(self, conn: sqlite3.Connection, *, writing: bool) -> None:
        self._conn = conn
        self._writing = writing

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, tuple(params))

    def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, (tuple(row) for row in rows))

    def lock_site(self, site_id: str) -> None:
        if not self._writing:  # a reading session cannot take the write lock half-way without a race
            raise RuntimeError("lock_site in a reading session of the SQLite ledger")


def _ensure_schema(conn: sqlite3.Connection) -> None:
    # The chain table came without a version of its own: a version-2 file may lack it.
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION and tables >= TABLES:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in STATEMENTS:
            conn.execute(fill(statement, _TYPES))
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for name, kind in ADDED_COLUMNS:
            if name not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {fill(kind, _TYPES)}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.key = f"sqlite:{path.resolve()}"
        self.location = str(path)

    def exists(self) -> bool:
        return self.path.is_file()

    @contextmanager
    def session(self, *, create: bool, site: str | None = None) -> Iterator[_Session]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise ConfigError("No ledger yet", location=self.location,
                              hint="run `hsa-cert certify` first, or pass the ledger's path with --ledger")
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError("Cannot open the ledger", location=self.location, detail=str(exc)) from exc
        writing = create or site is not None
        # closing() matters on Windows: an open handle keeps the file locked.
        with closing(conn):
            conn.row_factory = sqlite3.Row
            try:
                _ensure_schema(conn)
                conn.execute("BEGIN IMMEDIATE" if writing else "BEGIN")
                try:
                    yield _Session(conn, writing=writing)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise ConfigError("This run is already in the ledger", location=self.location, detail=str(exc),
                                  hint="each run id is recorded once; certify again for a new run") from exc
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _unreadable(self.location, exc) from exc
                raise InfrastructureError("The ledger stayed locked by another writer", location=self.location,
                                          detail=str(exc), hint="try again when the other certify has finished"
                                          ) from exc
            except sqlite3.DatabaseError as exc:
                raise _unreadable(self.location, exc) from exc


def _unreadable(location: str, exc: Exception) -> ConfigError:
    return ConfigError("The ledger is not a readable hsa-cert ledger", location=location, detail=str(exc),
                       hint="move the file aside; a new ledger is started on the next certify run")
