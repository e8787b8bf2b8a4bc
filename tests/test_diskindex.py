"""The run's indices by scenario id on disk (harness/runner/diskindex.py), and a run that holds none of its scenarios:
memory that does not grow with the number of scenarios (issue 14)."""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine_samples import FakeSite, person_step, scenario, site

from harness.model import Outcome, Scenario
from harness.pytest_plugin import ScenarioPlugin, run_pytest
from harness.reporting.kept import KeptResults
from harness.runner import Runner
from harness.runner.diskindex import DiskIndex, ScenariosById
from harness.specs import load_registry
from harness.transport import CallableTarget


def test_a_key_maps_to_its_integers_and_keeps_its_first_place_when_stored_again() -> None:
    index = DiskIndex(2)
    try:
        index.put("b", 1, 2)
        index.put("a", 3, 4)
        index.put("b", 5, -6)
        assert index.get("b") == (5, -6) and index.get("a") == (3, 4) and index.get("c") is None
        assert index.get(7) is None and "a" in index and "c" not in index and len(index) == 2
        assert list(index) == ["b", "a"]
        assert index.delete("b") and not index.delete("b") and list(index) == ["a"] and len(index) == 1
        with pytest.raises(ValueError):
            index.put("x", 1)
        big = 2**62
        index.put("一\udcff", big, -big)  # any text a site may have put in an id; 64-bit integers
        assert index.get("一\udcff") == (big, -big)
    finally:
        index.close()


def test_iteration_reads_batches_and_goes_on_past_keys_stored_meanwhile() -> None:
    index = DiskIndex(1)
    try:
        for n in range(1200):
            index.put(f"k{n}", n)
        seen = []
        for key in index:
            seen.append(key)
            if key == "k0":
                index.put("late", 0)
        assert seen == [f"k{n}" for n in range(1200)] + ["late"]
    finally:
        index.close()


def test_threads_store_and_read_at_once() -> None:
    index = DiskIndex(1)

    def store(start: int) -> None:
        for n in range(start, start + 300):
            index.put(str(n), n)
            assert index.get(str(n)) == (n,)

    threads = [threading.Thread(target=store, args=(start,)) for start in (0, 1000, 2000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(index) == 900 and index.get("2299") == (2299,)
    index.close()


def _three() -> list[Scenario]:
    return [scenario((person_step(),), id=f"person.sample.{name}", area="person") for name in ("a", "b", "c")]


def test_scenarios_by_id_is_the_dict_the_sequence_makes_without_copying_it() -> None:
    listed = [*_three(), dataclasses.replace(_three()[0], title="again")]  # an id given twice: the last one wins
    by_id = ScenariosById(listed)
    expected = {s.id: s for s in listed}
    try:
        assert dict(by_id) == expected and list(by_id) == list(expected) and len(by_id) == 3
        assert by_id["person.sample.a"] is listed[3] and by_id.get("nope") is None and "person.sample.b" in by_id
        with pytest.raises(KeyError):
            by_id["nope"]
    finally:
        by_id.close()


class _MadeOnDemand(Sequence[Scenario]):
    """`times` copies of `base` with ids `<id>~n`, each made when asked for."""

    def __init__(self, base: list[Scenario], times: int) -> None:
        self.base, self.times = base, times

    def __len__(self) -> int:
        return len(self.base) * self.times

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self):
            raise IndexError(index)
        copy, at = divmod(index, len(self.base))
        return dataclasses.replace(self.base[at], id=f"{self.base[at].id}~{copy}")


def _copies_alive() -> int:
    """Copies made by `_MadeOnDemand` that something still holds (Scenario has no weak references)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Scenario) and "~" in o.id)


@pytest.mark.parametrize("keyword", [None, "person.sample.b"])
def test_a_run_holds_none_of_its_scenarios_and_keeps_their_order(tmp_path: Path, keyword: str | None) -> None:
    # run_pytest, as a run does (pytester's hook recorder would keep every item, and each item its scenario)
    scenarios = _MadeOnDemand(_three(), 20)
    runner = Runner(CallableTarget(FakeSite({})), load_registry(), "baseline", site(), seed=3)
    kept = KeptResults()
    plugin = ScenarioPlugin(scenarios, runner, results=kept)
    by_id = ScenariosById(scenarios)
    try:
        assert run_pytest(plugin, root=tmp_path, keyword=keyword) == 0
        expected = [s.id for s in (scenarios[i] for i in range(len(scenarios))) if keyword is None or keyword in s.id]
        assert _copies_alive() <= 2  # those the plugin was last asked for; none held by the run
        results = plugin.ordered_results()
        assert plugin.selected == expected and [r.scenario_id for r in results] == expected
        assert all(r.outcome is Outcome.PASSED for r in results) and len(kept) == len(expected)
        assert [by_id[r.scenario_id].id for r in results] == expected
        assert _copies_alive() <= 2
    finally:
        kept.close()
        by_id.close()
