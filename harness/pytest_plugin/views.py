"""Sequences over the run order by position (no copy of the scenarios), and the light stand-ins pytest's
terminal reporter keeps for each item instead of its node id and report."""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from harness.model import Outcome, Scenario, ScenarioResult


class InRunOrder(Sequence[ScenarioResult]):
    """The selected scenarios' results in run order, read one at a time from the plugin's store."""

    def __init__(self, order: Sequence[Scenario], results: Mapping[str, ScenarioResult], reason: str) -> None:
        self._order = order
        self._results = results
        self._reason = reason

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        scenario = self._order[index]
        found = self._results.get(scenario.id)
        if found is None:
            found = ScenarioResult(scenario_id=scenario.id, outcome=Outcome.ERROR, clauses=scenario.clauses,
                                   duration_ms=0.0, reason=self._reason)
        return found


class Positions(Sequence[Scenario]):
    """Scenarios in run order, by their positions in the run's scenario sequence (8 bytes a scenario)."""

    def __init__(self, scenarios: Sequence[Scenario], positions: array[int]) -> None:
        self._scenarios = scenarios
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._scenarios[position] for position in self._positions[index]]
        return self._scenarios[self._positions[index]]


class Ids(Sequence[str]):
    """The ids of scenarios in run order, read from them when asked for; equal to a list of the same ids."""

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        self._scenarios = scenarios

    def __len__(self) -> int:
        return len(self._scenarios)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [scenario.id for scenario in self._scenarios[index]]
        return self._scenarios[index].id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which have none

    def __repr__(self) -> str:
        return repr(list(self))


class ReportedCount:
    """Stands in for the terminal reporter's set of reported node ids: it only ever adds to it and counts it."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = 0

    def add(self, _nodeid: object) -> None:
        self._count += 1

    def __len__(self) -> int:
        return self._count


class CountedPass:
    """Stands in for a passed scenario's report in the terminal reporter's statistics: counted, nothing else."""

    __slots__ = ()
    nodeid = head_line = longreprtext = capstdout = capstderr = caplog = ""
    when = "call"
    outcome = "passed"
    passed = True
    failed = skipped = False
    count_towards_summary = True
    longrepr = None
    duration = 0.0
    location = ("", None, "")
    sections: tuple[tuple[str, str], ...] = ()
    user_properties: tuple[tuple[str, object], ...] = ()


COUNTED_PASS = CountedPass()
DESELECTED = object()  # stands in for a deselected item in the terminal reporter's statistics: counted, nothing else
