"""A run's indices by scenario id, on disk: memory that does not grow with the number of scenarios.

A run of twenty thousand scenarios kept four dictionaries keyed by scenario id to its end (where each scenario's
spooled record is, where its slim result is, how often the runner ran it, the scenario itself): ~40 bytes an
entry each, and their tables, reallocated as they doubled, left the heap fragmented (issue 14). A `DiskIndex`
maps a key to a fixed number of integers in a private temporary SQLite database (`sqlite3.connect("")`: a file
SQLite removes when it is closed) whose page cache is small, so that its memory stays the same however many
keys it holds. A key stored again keeps its first place in the iteration order (as a dict's does). Thread-safe.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence

from harness.model import Scenario

__all__ = ["DiskIndex", "ScenariosById"]

_CACHE_KIB = 256  # SQLite's page cache for one index; the rest of its pages stay in the temporary file
_BATCH = 512  # keys read at a time when iterating


class DiskIndex:
    """key (str) -> `width` integers; `get` gives a tuple of them, or None for a key never stored."""

    def __init__(self, width: int = 1) -> None:
        self.width = width
        self._lock = threading.Lock()
        # A private temporary database: no journal and no syncing (nothing in it outlives the run).
        self._conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in (f"cache_size = -{_CACHE_KIB}", "journal_mode = OFF", "synchronous = OFF",
                       "temp_store = FILE"):
            self._conn.execute(f"PRAGMA {pragma}")
        columns = ", ".join(f"v{i} INTEGER NOT NULL" for i in range(width))
        self._conn.execute(f"CREATE TABLE entries (key BLOB PRIMARY KEY, {columns})")  # UTF-8, lone surrogates too
        names = ", ".join(f"v{i}" for i in range(width))
        self._select = f"SELECT {names} FROM entries WHERE key = ?"
        self._insert = f"INSERT OR IGNORE INTO entries (key, {names}) VALUES (?, {', '.join('?' * width)})"
        self._update = f"UPDATE entries SET {', '.join(f'v{i} = ?' for i in range(width))} WHERE key = ?"
        self._count = 0

    def put(self, key: str, *values: int) -> None:
        if len(values) != self.width:
            raise ValueError(f"{self.width} values a key, got {len(values)}")
        stored = _stored(key)
        with self._lock:
            if self._conn.execute(self._insert, (stored, *values)).rowcount:  # a new key: one statement
                self._count += 1
            else:  # a key stored again (a re-run scenario): its values change, its place (rowid) stays
                self._conn.execute(self._update, (*values, stored))

    def get(self, key: object) -> tuple[int, ...] | None:
        if not isinstance(key, str):
            return None
        with self._lock:
            row = self._conn.execute(self._select, (_stored(key),)).fetchone()
        return tuple(row) if row is not None else None

    def delete(self, key: str) -> bool:
        """Forget `key`; whether it was there."""
        with self._lock:
            gone = self._conn.execute("DELETE FROM entries WHERE key = ?", (_stored(key),)).rowcount > 0
            self._count -= gone
        return gone

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        """The keys in the order they were first stored, read a batch at a time (a snapshot of each batch)."""
        after = 0
        while True:
            with self._lock:
                rows = self._conn.execute("SELECT rowid, key FROM entries WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                          (after, _BATCH)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield from (bytes(key).decode("utf-8", "surrogatepass") for _rowid, key in rows)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _stored(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


class ScenariosById(Mapping[str, Scenario]):
    """scenario id -> Scenario over a run's scenario sequence, which it does not copy: the index holds each id's
    position, on disk, and the scenario is read from the sequence when asked for (a sequence that makes its
    scenarios on demand keeps making them so). An id given twice maps to its last scenario, as a dict made from
    the sequence would."""

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        self._scenarios = scenarios
        self._positions = DiskIndex(1)
        for position, scenario in enumerate(scenarios):
            self._positions.put(scenario.id, position)

    def __getitem__(self, scenario_id: str) -> Scenario:
        found = self._positions.get(scenario_id)
        if found is None:
            raise KeyError(scenario_id)
        return self._scenarios[found[0]]

    def __contains__(self, scenario_id: object) -> bool:
        return scenario_id in self._positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def close(self) -> None:
        self._positions.close()
