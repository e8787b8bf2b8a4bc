"""Parallel scenarios inside one run (`--jobs N`): a pool of Runners, one test person never in two places.

Why the results equal a serial run's. A site's state that one scenario leaves behind and another
meets is a person's (visits, settlements, year-to-date totals) or the whole institution's (what a
3201 reconciles, a fault switched on at the reference platform, a second institution's records).
So the pool:

- cuts the run at every scenario that must run alone (`must_run_alone`: reconciliation 3201/3202,
  sign-out 9002, a step with a platform fault, isolation, `run-last`): everything before it has
  finished when it starts, nothing after it has started;
- between two such scenarios, puts the scenarios of one test person on one lane, in run order, and
  runs the lanes at the same time, each lane on one Runner at a time (its own sign-in and sign_no,
  its own Target). Each person therefore sees exactly the sequence of a serial run;
- gives the k-th scenario of an archetype the person `k mod n` of the n persons the site declares for
  it (`harness.sitepersons`): the same person whatever `--jobs` says, so `--jobs 1` and `--jobs 4`
  send the same bodies;
- records each scenario's settlements in a ledger of its own and merges them into the run's ledger
  in run order before the next scenario that runs alone (the one that reconciles them).

The Runners' events are buffered per scenario and handed out with the result (`take`), so that the
pytest plugin replays them into the scenario's own item (Allure steps, console, progress) when the
item runs. Results are computed ahead of the items; the items consume them in run order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.model import Outcome, RunEvent, Scenario, ScenarioResult
from harness.runner.ledger import Ledger
from harness.runner.safety import internal_error_reason

if TYPE_CHECKING:
    from harness.runner.engine import Runner
    from harness.siteconfig import SiteConfig

__all__ = ["ALONE_INFNOS", "ALONE_TAGS", "ScenarioPool", "lanes_of", "must_run_alone", "person_of"]

# Interfaces whose effect or answer covers the whole institution: 3201/3202 reconcile everything
# settled; 9002 signs the operator out.
ALONE_INFNOS = frozenset({"3201", "3202", "9002"})
ALONE_TAGS = frozenset({"run-last", "isolation", "reconciliation", "fault", "alone"})


def must_run_alone(scenario: Scenario) -> bool:
    """Whether a scenario needs the site to itself (faults at the reference platform are global to it)."""
    steps = (*scenario.steps, *scenario.teardown)
    return bool(ALONE_TAGS.intersection(scenario.tags)) or any(s.infno in ALONE_INFNOS or s.fault for s in steps)


def person_of(site: SiteConfig, scenario: Scenario, count: int) -> tuple[str, int] | None:
    """(archetype whose persons are used, person index) for the `count`-th scenario of its archetype, or None."""
    if not scenario.archetype:
        return None
    source = site.stand_in(scenario.archetype) or scenario.archetype
    persons = max(1, len(site.persons(source)))
    return source, count % persons


def lanes_of(site: SiteConfig, scenarios: Sequence[Scenario]) -> list[list[tuple[Scenario, tuple[str, int] | None]]]:
    """The scenarios (with their persons) cut into segments: a lone scenario, or lanes to run at once.

    Returned flat as segments of lanes: each segment is a list of lanes (a lone scenario is a segment
    of one lane of one scenario, marked by the caller through `must_run_alone`).
    """
    counts: dict[str, int] = {}
    segments: list[list[tuple[Scenario, tuple[str, int] | None]]] = []
    current: list[tuple[Scenario, tuple[str, int] | None]] = []
    for scenario in scenarios:
        person = None
        if scenario.archetype:
            source = site.stand_in(scenario.archetype) or scenario.archetype
            counts[source] = counts.get(source, -1) + 1
            person = person_of(site, scenario, counts[source])
        entry = (scenario, person)
        if must_run_alone(scenario):
            if current:
                segments.append(current)
                current = []
            segments.append([entry])
        else:
            current.append(entry)
    if current:
        segments.append(current)
    return segments


@dataclass
class _Slot:
    """What one scenario produced, once it ran."""

    done: threading.Event = field(default_factory=threading.Event)
    result: ScenarioResult | None = None
    events: list[RunEvent] = field(default_factory=list)


class ScenarioPool:
    """Runs a run's scenarios on `len(workers)` Runners at once; `take(id)` waits for one scenario's result."""

    def __init__(self, main: Runner, workers: Sequence[Runner]) -> None:
        if not workers:
            raise ValueError("a pool needs at least one worker Runner")
        self.main = main  # the run's Runner: its ledger is the run's, its listeners get the replayed events
        self.workers = list(workers)
        self.site = main.site
        self._slots: dict[str, _Slot] = {}
        self._ledgers: dict[str, Ledger] = {}  # scenario id -> its own ledger, until merged into the run's
        self._free: list[Runner] = list(workers)
        self._free_lock = threading.Condition()
        self._stop = threading.Event()
        self.breaker_reason: str | None = None
        self.opened_by: str | None = None  # the scenario whose run opened a worker's breaker
        self._thread: threading.Thread | None = None
        for worker in self.workers:
            worker.add_listener(self._buffer)
            # "reported once per run": one table for the run (which scenario is first may differ from serial)
            worker.first_findings = main.first_findings
            worker.breaker = main.breaker  # consecutive infrastructure errors count across the run, as in serial

    # --- the plugin's side ------------------------------------------------------------------------

    def start(self, scenarios: Sequence[Scenario]) -> None:
        """Start running `scenarios` (in run order) in the background."""
        self._slots = {s.id: _Slot() for s in scenarios}
        self._thread = threading.Thread(target=self._schedule, args=(list(scenarios),), name="hsa-cert-pool",
                                        daemon=True)
        self._thread.start()

    def take(self, scenario_id: str) -> tuple[ScenarioResult | None, list[RunEvent]]:
        """The scenario's result and its buffered events; (None, []) when the pool stopped before running it."""
        slot = self._slots.get(scenario_id)
        if slot is None:
            return None, []
        slot.done.wait()
        self._slots[scenario_id] = _Slot(done=slot.done)  # handed out once: the pool keeps nothing of it
        return slot.result, slot.events

    def stop(self) -> None:
        """Stop scheduling, wait for the scenarios in flight; give the run the first sign-in exchange."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.main.sign_in_exchange is None:
            self.main.sign_in_exchange = next((w.sign_in_exchange for w in self.workers if w.sign_in_exchange), None)

    # --- scheduling -------------------------------------------------------------------------------

    def _schedule(self, scenarios: list[Scenario]) -> None:
        try:
            with ThreadPoolExecutor(max_workers=len(self.workers), thread_name_prefix="hsa-cert-job") as executor:
                for segment in lanes_of(self.site, scenarios):
                    if self._stop.is_set():
                        break
                    if len(segment) == 1 and must_run_alone(segment[0][0]):
                        self._run_one(*segment[0], ledger=self.main.ledger)
                        continue
                    lanes: dict[object, list[tuple[Scenario, tuple[str, int] | None]]] = {}
                    for entry in segment:  # a scenario without a person is a lane of its own
                        lanes.setdefault(entry[1] if entry[1] is not None else entry[0].id, []).append(entry)
                    # The longest lanes first: the segment ends when its longest lane ends.
                    ordered = sorted(lanes.values(), key=len, reverse=True)
                    wait([executor.submit(self._run_lane, lane) for lane in ordered])
                    self._merge(segment)
        finally:
            for slot in self._slots.values():  # whatever did not run: its item learns so at once
                slot.done.set()

    def _run_lane(self, lane: list[tuple[Scenario, tuple[str, int] | None]]) -> None:
        for scenario, person in lane:
            if self._stop.is_set():
                return
            self._run_one(scenario, person, ledger=Ledger(daybook=self.main.ledger.daybook, parent=self.main.ledger))

    def _merge(self, segment: list[tuple[Scenario, tuple[str, int] | None]]) -> None:
        """The scenarios' own ledgers into the run's, in run order (what a serial run would have recorded)."""
        for scenario, _person in segment:
            own = self._ledgers.pop(scenario.id, None)
            if own is not None:
                self.main.ledger.absorb(own)
                own.close()  # its rows are the run's now (a temporary database each: harness.runner.ledgerrows)

    def _run_one(self, scenario: Scenario, person: tuple[str, int] | None, *, ledger: Ledger) -> None:
        slot = self._slots[scenario.id]
        runner = self._acquire()
        try:
            runner.ledger = ledger
            was_open = runner.breaker_open
            try:
                runner.site = self.site.with_person(*person) if person is not None and person[1] else self.site
                slot.result = runner.run_scenario(scenario)
            except Exception as exc:  # the runner keeps what it sent; this is the last resort
                slot.result = ScenarioResult(scenario_id=scenario.id, outcome=Outcome.ERROR,
                                             clauses=scenario.clauses, duration_ms=0.0,
                                             reason=internal_error_reason(exc))
            if runner.breaker_open and not was_open and self.breaker_reason is None:
                self.breaker_reason, self.opened_by = runner.breaker_reason, scenario.id
                self._stop.set()  # like a serial run: nothing is sent after the breaker opened
            if ledger is not self.main.ledger:
                self._ledgers[scenario.id] = ledger
        finally:
            runner.ledger = self.main.ledger
            self._release(runner)
            slot.done.set()

    def _acquire(self) -> Runner:
        with self._free_lock:
            self._free_lock.wait_for(lambda: bool(self._free))
            return self._free.pop(0)

    def _release(self, runner: Runner) -> None:
        with self._free_lock:
            self._free.append(runner)
            self._free_lock.notify()

    def _buffer(self, event: RunEvent) -> None:
        slot = self._slots.get(event.scenario_id)
        if slot is not None:
            slot.events.append(event)

