"""The slim result of every scenario of a run, kept on disk instead of in memory.

The end of a run reads each scenario's slim result (`spool.slim_result`: outcome, findings, no exchanges) for the
verdict, results.json's head, the console summary and the evidence files; a run of twenty thousand scenarios
holding them all took ~10 MB that grew with the run (issue 14). `KeptResults` is the mapping the pytest plugin
stores them in: each result is pickled to a temporary file as it is stored and read back when asked for; memory
keeps two machine integers and a dictionary slot a scenario. Only this process writes and reads the file, and
`close` removes it (a `tempfile.TemporaryFile`: on Windows too).
"""

from __future__ import annotations

import copyreg
import io
import pickle
import tempfile
import threading
from array import array
from collections.abc import Iterator, MutableMapping
from types import MappingProxyType
from typing import Any, ClassVar

from harness.model import ScenarioResult

__all__ = ["KeptResults"]


def read_only(data: dict[str, Any]) -> MappingProxyType[str, Any]:
    """A read-only mapping again (what pickle stores for one: the type itself cannot be looked up by name)."""
    return MappingProxyType(data)


class _Pickler(pickle.Pickler):
    # slim_result shares read-only empty evidence mappings, which pickle cannot store as they are
    dispatch_table: ClassVar[dict[Any, Any]] = {
        **copyreg.dispatch_table, MappingProxyType: lambda proxy: (read_only, (dict(proxy),))}


class KeptResults(MutableMapping[str, ScenarioResult]):
    """scenario id -> slim result, on disk; a result stored again (a re-run scenario) replaces the earlier one."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="hsa-cert-kept-")  # noqa: SIM115 - closed by close()
        self._row: dict[str, int] = {}
        self._offsets = array("q")  # per row: offset, length
        self._lock = threading.Lock()  # the plugin stores from the pytest thread; --jobs readers may come from others

    def __setitem__(self, scenario_id: str, result: ScenarioResult) -> None:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
        data = buffer.getvalue()
        with self._lock:
            at = self._file.seek(0, io.SEEK_END)
            self._file.write(data)
            self._row[scenario_id] = len(self._offsets) // 2
            self._offsets.extend((at, len(data)))

    def __getitem__(self, scenario_id: str) -> ScenarioResult:
        row = self._row[scenario_id]
        at, length = self._offsets[row * 2], self._offsets[row * 2 + 1]
        with self._lock:
            self._file.seek(at)  # flushes what was written before reading it back
            data = self._file.read(length)
        result: Any = pickle.loads(data)  # written by this object, in this process
        return result

    def __delitem__(self, scenario_id: str) -> None:
        del self._row[scenario_id]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._row))

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, scenario_id: object) -> bool:
        return scenario_id in self._row

    def close(self) -> None:
        with self._lock:
            self._file.close()
