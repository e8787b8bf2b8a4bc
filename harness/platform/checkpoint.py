"""WAL checkpoints on their own thread, so that a request never waits for one.

With `journal_mode=WAL` and `synchronous=NORMAL` a commit only appends to the WAL (no fsync): a
committed transaction is in the operating system's hands and survives a killed process. The fsyncs
happen when the WAL is copied back into the database file (a checkpoint). SQLite's automatic
checkpoint runs inside whichever commit crosses the threshold, so one request in every few dozen
paid 5–15 ms for it. Here a second connection on a daemon thread runs `PRAGMA wal_checkpoint(PASSIVE)`
once a second, or sooner when the writer says enough has been committed; a passive checkpoint never
blocks the writer. Each checkpoint copies every page changed since the last one once, and the pages
every commit touches (the file header, counters, index roots) are most of a commit's pages: so a
checkpoint about once a second under load copies and syncs far less than one every few dozen commits
did (measured: settlements ran 3-5 % faster next to the echo baseline of `bench/platform.py`). The
WAL holds up to COMMITS_PER_CHECKPOINT commits (a settlement writes about 11 pages: some 45 MB).
The writer keeps SQLite's automatic checkpoint at a high threshold as a backstop, should this
thread ever fall behind. Durability against a killed process is unchanged: it never depended on the
checkpoint. Against a power cut, what was committed since the last checkpoint (at most about a second)
may be lost, as with any WAL database at synchronous=NORMAL.
"""

from __future__ import annotations

import sqlite3
import threading

__all__ = ["BACKSTOP_PAGES", "Checkpointer", "checkpoint_now"]

COMMITS_PER_CHECKPOINT = 1024  # the bound on the WAL when commits come faster than one a millisecond
IDLE_INTERVAL_S = 1.0
BACKSTOP_PAGES = 20000  # ≈ 80 MB of WAL: only reached if the checkpoint thread cannot keep up


def checkpoint_now(path: str, *, uri: bool = False) -> tuple[int, int]:
    """One passive checkpoint now, on the caller's thread and a connection of its own: (WAL frames, frames
    copied into the file). `POST /__admin/checkpoint` runs it so that a benchmark charges the copy of a phase's
    pages to that phase, instead of to whichever phase the checkpoint thread happens to run in next."""
    conn = sqlite3.connect(path, isolation_level=None, uri=uri)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(copied)
    finally:
        conn.close()


class Checkpointer:
    """Runs passive WAL checkpoints of one database file on a background thread."""

    def __init__(self, path: str, *, uri: bool = False) -> None:
        self._path = path
        self._uri = uri
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._commits = 0
        self._thread = threading.Thread(target=self._run, name="hsa-platform-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Called by the writer after each commit (under its lock)."""
        self._commits += 1
        if self._commits >= COMMITS_PER_CHECKPOINT:
            self._commits = 0
            self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, uri=self._uri)
        except sqlite3.Error:
            return  # the writer's backstop checkpoint still runs
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            while not self._stop.is_set():
                self._wake.wait(IDLE_INTERVAL_S)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # busy or transient: the next round (or the backstop) catches up
        finally:
            conn.close()
