"""The run's full results, written as each scenario ends, and the evidence files assembled from them at the end.

A run of thousands of scenarios cannot hold every result with its exchanges until the end (issue 14: 65 MB
per 1,000 scenarios). So the pytest plugin hands each scenario's full result to `ResultSpool.add` as the
scenario ends and keeps only a slim result (outcome, findings, no exchanges); `add` writes the scenario's
results.json entry and its exchanges.jsonl lines to spool files, counts its clause coverage, and lets the
result go. At the end `write_results` and `write_exchanges` stream the files in run order from the spool.

Masking: every record is masked by the run's Masker when it is spooled (after the plugin showed the masker
the scenario's requests and answers), so no personal value is ever on disk unmasked; when the evidence
files are assembled each record passes through the masker again, which by then knows every personal value
of the run, so a value first learnt in a later scenario is masked in an earlier one too, as when the whole
document was masked at once. Masking twice changes nothing else (a masked value masks to itself).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.model import Exchange, Scenario, ScenarioResult
from harness.reporting.coverage import CoverageCounter
from harness.reporting.kept import RecordFile
from harness.reporting.masking import Masker
from harness.reporting.results_json import (
    exchange_line,
    exchange_lines,
    one_line,
    scenario_entry,
    write_results_streamed,
)
from harness.runner.diskindex import DiskIndex
from harness.specs import SpecRegistry
from harness.verdict import is_inconclusive

__all__ = ["ResultSpool", "slim_entry", "slim_result"]

_NO_EVIDENCE: Mapping[str, Any] = MappingProxyType({})
_INCONCLUSIVE: Mapping[str, Any] = MappingProxyType({"inconclusive": True})


def slim_result(result: ScenarioResult) -> ScenarioResult:
    """What a run keeps of a scenario's result to the end: outcome, clauses, duration, reason and findings, without
    the steps (their exchanges) and with each finding's evidence cut to its `inconclusive` flag (the verdict,
    the summary and the console need no more; the spooled record has it all)."""
    failures = tuple(f if not f.evidence else replace(f, evidence=_INCONCLUSIVE if is_inconclusive(f) else _NO_EVIDENCE)
                     for f in result.failures)
    return replace(result, steps=(), failures=failures)


class ResultSpool:
    """Spool files of one run (in a temporary folder, removed by `close`); `add` may be called from several threads."""

    def __init__(self, scenarios: Mapping[str, Scenario], masker: Masker, *, masked: bool = True,
                 registry: SpecRegistry | None = None) -> None:
        self._scenarios = scenarios
        self._masker = masker
        self._masked = masked
        self.coverage = CoverageCounter(registry) if registry is not None else None
        self._folder = tempfile.TemporaryDirectory(prefix="hsa-cert-spool-", ignore_cleanup_errors=True)
        self._entries = RecordFile(open(Path(self._folder.name) / "entries.jsonl", "w+b"))  # noqa: SIM115
        self._exchanges = RecordFile(open(Path(self._folder.name) / "exchanges.jsonl", "w+b"))  # noqa: SIM115
        # scenario id -> (entry offset, entry length, exchanges offset, exchanges length) in the spool files, itself
        # on disk: memory keeps nothing a scenario (issue 14)
        self._where = DiskIndex(4)
        self._lock = threading.Lock()

    def add(self, result: ScenarioResult) -> None:
        """Spool one scenario's full result (masked now), and count its coverage."""
        with self._lock:  # the masker learns as it masks: one scenario at a time
            entry = self._masked_entry(result)
            lines = "".join(line + "\n" for line in exchange_lines(result, self._masker)).encode("utf-8")
            if self.coverage is not None:
                self.coverage.add(result)
            entry_at, exchanges_at = self._entries.append(entry), self._exchanges.append(lines)
            self._where.put(result.scenario_id, entry_at, len(entry), exchanges_at, len(lines))

    def __contains__(self, scenario_id: object) -> bool:
        return scenario_id in self._where

    def _located(self, scenario_id: str) -> tuple[int, ...] | None:
        return self._where.get(scenario_id)

    def _masked_entry(self, result: ScenarioResult) -> bytes:
        entry = scenario_entry(result, self._scenarios.get(result.scenario_id), masked=self._masked)
        return (json.dumps(self._masker.document(entry), ensure_ascii=False) + "\n").encode("utf-8")

    def entries(self, results: Iterable[ScenarioResult]) -> Iterator[dict[str, Any]]:
        """The results.json entries of `results` (slim results, in run order), masked with all the run taught the
        masker: the spooled entry of each, or one made from the slim result (a scenario never run)."""
        for result in results:
            where = self._located(result.scenario_id)
            text = self._entries.read(where[0], where[1]).decode() if where else self._masked_entry(result).decode()
            yield json.loads(self._masker.text(text))

    def write_results(self, path: Path, head: Mapping[str, Any], results: Sequence[ScenarioResult],
                      tail: Mapping[str, Any], *, keep: bool = True) -> list[dict[str, Any]]:
        """results.json from the spool; returns the entries slimmed (`slim_entry`) for the caller's document
        (none with keep=False)."""
        slim: list[dict[str, Any]] = []

        def stream() -> Iterator[dict[str, Any]]:
            for entry in self.entries(results):
                yield entry
                if keep:
                    slim.append(slim_entry(entry, self._scenarios.get(str(entry.get("id")))))

        write_results_streamed(path, head, stream(), tail)
        return slim

    def write_exchanges(self, path: Path, results: Iterable[ScenarioResult], *,
                        run_exchanges: Sequence[Exchange] = ()) -> Path:
        """exchanges.jsonl: the run's own exchanges (sign-in) first, then each scenario's, in run order."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for exchange in run_exchanges:
                out.write(exchange_line("", -1, False, exchange, self._masker) + "\n")
            for result in results:
                where = self._located(result.scenario_id)
                if where is None:
                    continue
                for line in self._exchanges.read(where[2], where[3]).decode().split("\n")[:-1]:
                    out.write(one_line(self._masker.text(line)) + "\n")
        return path

    def close(self) -> None:
        self._entries.close()
        self._exchanges.close()
        self._where.close()
        self._folder.cleanup()

    def __enter__(self) -> ResultSpool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_NOT_KEPT = ("steps",)
_SHARED = ("title", "title_zh", "area", "interface", "kind", "archetype", "fingerprint")  # the Scenario's own strings
_WORDS = ("outcome", "level", "grade")


def slim_entry(entry: Mapping[str, Any], scenario: Scenario | None = None) -> dict[str, Any]:
    """A results.json entry without its steps, its findings' evidence cut to the `inconclusive` flag: what
    certify, the self-test and the matrix read from the run's document (results.json has it whole). Equal
    values share the scenario's strings (twenty thousand entries, each a few hundred bytes smaller)."""
    out = {k: v for k, v in entry.items() if k not in _NOT_KEPT}
    for key in _WORDS:
        if isinstance(out.get(key), str):
            out[key] = sys.intern(out[key])
    if scenario is not None:
        for key in _SHARED:
            if key in out and out[key] == getattr(scenario, key):
                out[key] = getattr(scenario, key)
        if out.get("clauses") == list(scenario.clauses):
            out["clauses"] = list(scenario.clauses)
    out["failures"] = [{**f, "evidence": ({"inconclusive": True} if isinstance(f.get("evidence"), Mapping)
                                          and f["evidence"].get("inconclusive") is True else {})}
                       for f in entry.get("failures") or ()]
    return out
