"""SQLite state of the reference platform: schema, connection, one transaction per state change.

One connection serves the whole process, guarded by a re-entrant lock: every call to the platform
runs inside exactly one `BEGIN IMMEDIATE … COMMIT`, so concurrent callers are serialised and eight
simultaneous settlements of one visit produce exactly one settlement. A file database uses WAL
with `synchronous=NORMAL`: a committed transaction survives a killed process (kill -9), which is
the durability the platform promises (not power loss). Checkpoints (the WAL copied back into the
file, with its fsyncs) run on a thread of their own (checkpoint.py), not inside a request.
`":memory:"` keeps everything in memory.

The file is the platform's only record: every change is written to it in the call's transaction. Two things
live in memory beside it, both derived from it and rebuilt from it at every start (kill -9 included): the
working set (workingset.py: the persons, visits, filings, sign-ins and msgids calls read, kept once read;
dropped on any rollback and when another connection commits, `PRAGMA data_version`), and the pool's annual
totals (schema.py: a TEMP table kept by TEMP triggers in the same transaction as the settlement rows).

Group commit (the HTTP server's choice, app.py): the calls the event loop has ready at once may share one
`BEGIN IMMEDIATE … COMMIT` (`open_group` / `commit_group`), each call's transaction then being a savepoint
in it (a refusal still rolls back only its own call). No answer of the group is sent before its COMMIT, so
an answer the client saw is as durable as before; what the group shares is the pages every commit writes
(the rightmost leaves of the exchange log, the messages, the settlements and their indexes, the file
header), which are most of a call's pages: a commit costs about as much for one call as for four.

Money is stored as integer cents (exact sums in SQL); JSON columns hold the messages as sent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import ConfigError
from harness.platform.checkpoint import BACKSTOP_PAGES, Checkpointer, checkpoint_now
from harness.platform.schema import MIGRATIONS, POOL_TOTALS, POOL_TOTALS_REBUILD, SCHEMA, SCHEMA_VERSION, SERIAL_BLOCK
from harness.platform.workingset import Connection, WorkingSet

__all__ = ["SCHEMA_VERSION", "Database"]

class Database:
    """The single SQLite connection of a platform process, with its lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.in_memory = path == ":memory:" or path.startswith("file::memory:")
        if not self.in_memory:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(
                    "The platform database directory does not exist",
                    location=str(parent),
                    hint="create the directory or pass another --db PATH",
                )
        try:
            self.conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, uri=path.startswith("file:"), factory=Connection
            )
        except sqlite3.Error as exc:
            raise ConfigError("Cannot open the platform database", location=path, detail=str(exc)) from exc
        self.conn.row_factory = sqlite3.Row
        self.working = self.conn.working = WorkingSet()  # the rows calls read, kept once read (workingset.py)
        self._data_version = -1  # PRAGMA data_version the working set and pool totals were last derived at
        self._seen_version = -1  # ... and the one seen when the current transaction began (kept on its commit)
        self.lock = threading.RLock()
        self._serials: dict[str, list[int]] = {}  # counter -> [last value handed out, end of its reserved block]
        self._checkpointer: Checkpointer | None = None
        self._group = False  # a group transaction is open (open_group); transactions are savepoints in it
        try:
            self._prepare(path)
        except sqlite3.DatabaseError as exc:  # e.g. "file is not a database": --db names some other file
            self.conn.close()
            raise ConfigError("The platform database cannot be used", location=path, detail=str(exc),
                              hint="--db names a file that is not an hsa-cert platform database; pass another "
                                   "path (a new file is created and seeded)") from exc

    def _prepare(self, path: str) -> None:
        """WAL, the schema and its migrations, the meta rows, the checkpointer."""
        if not self.in_memory:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA temp_store=MEMORY")  # temporary b-trees (a reconciliation's ORDER BY) in memory
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)
        self.conn.executescript(POOL_TOTALS)
        for table, column, ddl in MIGRATIONS:
            if column not in {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}:
                self.conn.execute(ddl)
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            # (the pool's annual totals were derived from the file by _check_others as this transaction began)
        if not self.in_memory:
            self._checkpointer = Checkpointer(path, uri=path.startswith("file:"))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: commits on normal exit, rolls back on any exception (in an open group: a
        savepoint, released on normal exit, rolled back on any exception; the group's COMMIT commits it)."""
        with self.lock:
            if self._group:
                yield from self._savepoint()
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_others()
                yield self.conn
            except BaseException:
                self._serials.clear()  # a block reserved in this transaction is reserved no more
                self.working.forget()  # nor are the rows it read or wrote
                self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._serials.clear()  # not committed: neither is the reservation
                self.working.forget()
                raise
            self._data_version = self._seen_version
            if self._checkpointer is not None:
                self._checkpointer.committed()

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("SAVEPOINT unit")
        try:
            yield self.conn
        except BaseException:
            self._serials.clear()  # a block reserved in this unit is reserved no more
            self.working.forget()  # nor the rows it read or wrote
            if self.conn.in_transaction:  # (an error SQLite answers by rolling back everything leaves none)
                self.conn.execute("ROLLBACK TO unit")
                self.conn.execute("RELEASE unit")
            raise
        self.conn.execute("RELEASE unit")

    def _check_others(self) -> None:
        """At the start of a transaction, what is derived from the file is derived again when another
        connection has committed to it since (and at the first transaction after opening it): the working set
        is dropped (workingset.py) and the pool's annual totals rebuilt (schema.py). Kept once the transaction
        commits (a rolled-back one undid the rebuild: the next transaction does it again)."""
        if self.in_memory:  # a new, private database: nothing to derive, no other connection
            return
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self.working.reset()
            self.conn.execute("DELETE FROM temp.pool_totals")
            self.conn.execute(POOL_TOTALS_REBUILD)
        self._seen_version = version

    @property
    def grouping(self) -> bool:
        return self._group

    def open_group(self) -> None:
        """Open a group transaction; the lock stays held by this thread until `commit_group`."""
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self._check_others()
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.lock.release()
            raise
        self._group = True

    def commit_group(self) -> None:
        """Commit the open group (on any failure, roll it back and raise: none of its answers may be sent)."""
        try:
            self._group = False
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._serials.clear()
                self.working.forget()
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self._data_version = self._seen_version
            if self._checkpointer is not None:
                self._checkpointer.committed()
        finally:
            self.lock.release()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Read without a write transaction (still serialised with writers by the lock)."""
        with self.lock:
            yield self.conn

    def next_serial(self, conn: sqlite3.Connection, name: str) -> int:
        """The next value of a durable counter (inside the caller's transaction): unique for the database's life.

        `seq.<name>` in meta is the highest value handed out or reserved. Values are reserved in blocks of
        SERIAL_BLOCK, so most calls write nothing: a restart skips what its block had left (ids have gaps,
        never repeats), and a rolled-back transaction drops the blocks (see `transaction`), so a block is
        only used after the transaction that reserved it commits — or with the rows that used it gone.
        """
        block = self._serials.get(name)
        if block is None or block[0] >= block[1]:
            key = f"seq.{name}"
            row = conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ? RETURNING value",
                               (SERIAL_BLOCK, key)).fetchone()  # fmt: skip
            if row is None:
                row = conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) RETURNING value",
                                   (key, str(SERIAL_BLOCK))).fetchone()  # fmt: skip
            end = int(row["value"])
            block = self._serials[name] = [end - SERIAL_BLOCK, end]
        block[0] += 1
        return block[0]

    def get_meta(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def checkpoint(self) -> tuple[int, int]:
        """A passive WAL checkpoint now (checkpoint.checkpoint_now): (WAL frames, frames copied); (0, 0) in memory."""
        return (0, 0) if self._checkpointer is None else checkpoint_now(self.path, uri=self.path.startswith("file:"))

    def close(self) -> None:
        if self._checkpointer is not None:  # first, so that the writer's close is the last one and removes the WAL
            self._checkpointer.stop()
            self._checkpointer = None
        with self.lock:
            self.conn.close()
