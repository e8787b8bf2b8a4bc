"""The slim result of every scenario of a run, kept on disk instead of in memory.

The end of a run reads each scenario's slim result (`spool.slim_result`: outcome, findings, no exchanges) for the
verdict, results.json's head, the console summary and the evidence files; a run of twenty thousand scenarios
holding them all took ~10 MB that grew with the run (issue 14). `KeptResults` is the mapping the pytest plugin
stores them in: each result is pickled to a temporary file as it is stored and read back when asked for; where
each one is (offset and length, by scenario id) is itself on disk (`harness.runner.diskindex.DiskIndex`), so memory
keeps nothing a scenario. Only this process writes and reads the files, and `close` removes them (a
`tempfile.TemporaryFile`: on Windows too).
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import pickle
import tempfile
import threading
from collections.abc import Iterator, MutableMapping
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from harness.model import ScenarioResult
from harness.runner.diskindex import DiskIndex

__all__ = ["KeptResults", "RecordFile"]


def read_only(data: dict[str, Any]) -> MappingProxyType[str, Any]:
    """A read-only mapping again (what pickle stores for one: the type itself cannot be looked up by name)."""
    return MappingProxyType(data)


class _Pickler(pickle.Pickler):
    # slim_result shares read-only empty evidence mappings, which pickle cannot store as they are
    dispatch_table: ClassVar[dict[Any, Any]] = {
        **copyreg.dispatch_table, MappingProxyType: lambda proxy: (read_only, (dict(proxy),))}


class RecordFile:
    """An append-only file of byte records, each read back by its offset and length; thread-safe. The run's spool
    files (`spool.ResultSpool`) and the kept results are each one."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._lock = threading.Lock()

    def append(self, data: bytes) -> int:
        """Write `data` at the end (on disk now, not in a buffer); its offset."""
        with self._lock:
            at = self._file.seek(0, io.SEEK_END)  # the end, after any read
            self._file.write(data)
            self._file.flush()
            return at

    def read(self, at: int, length: int) -> bytes:
        with self._lock:
            self._file.seek(at)
            return self._file.read(length)

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._file.close()


class KeptResults(MutableMapping[str, ScenarioResult]):
    """scenario id -> slim result, on disk; a result stored again (a re-run scenario) replaces the earlier one."""

    def __init__(self) -> None:
        self._records = RecordFile(tempfile.TemporaryFile(prefix="hsa-cert-kept-"))  # noqa: SIM115 - close()
        self._where = DiskIndex(2)  # scenario id -> offset, length

    def __setitem__(self, scenario_id: str, result: ScenarioResult) -> None:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
        data = buffer.getvalue()
        self._where.put(scenario_id, self._records.append(data), len(data))  # after the record: never one without

    def __getitem__(self, scenario_id: str) -> ScenarioResult:
        where = self._where.get(scenario_id)
        if where is None:
            raise KeyError(scenario_id)
        result: Any = pickle.loads(self._records.read(*where))  # written by this object, in this process
        return result

    def __delitem__(self, scenario_id: str) -> None:
        if not self._where.delete(scenario_id):
            raise KeyError(scenario_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, scenario_id: object) -> bool:
        return scenario_id in self._where

    def close(self) -> None:
        self._records.close()
        self._where.close()
