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

Memory stays bounded however long the run: the scenarios are read from the caller's sequence as they are
scheduled (never copied whole), a stretch between two lone scenarios is cut every SEGMENT_SCENARIOS (one
more wait for the longest lane, no other change: each person still sees the serial order), a scenario's
slot exists from its segment's start until its item takes it, and no segment starts while more than
SEGMENT_SCENARIOS results wait to be taken (the items are slower than the Runners when the site is fast,
and each result holds its exchanges).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.model import Outcome, RunEvent, Scenario, ScenarioResult
from harness.runner.ledger import Ledger
from harness.runner.safety import internal_error_reason

if TYPE_CHECKING:
    from harness.runner.engine import Runner
    from harness.siteconfig import SiteConfig

__all__ = ["ALONE_INFNOS", "ALONE_TAGS", "SEGMENT_SCENARIOS", "ScenarioPool", "lanes_of", "must_run_alone",
           "person_of", "segments_of"]

# Interfaces whose effect or answer covers the whole institution: 3201/3202 reconcile everything
# settled; 9002 signs the operator out.
ALONE_INFNOS = frozenset({"3201", "3202", "9002"})
ALONE_TAGS = frozenset({"run-last", "isolation", "reconciliation", "fault", "alone"})
# The most scenarios in one segment, and the most results waiting for their items before the next segment starts.
SEGMENT_SCENARIOS = 256


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


Entry = tuple[Scenario, tuple[str, int] | None]


def segments_of(site: SiteConfig, scenarios: Iterable[Scenario], most: int | None = None) -> Iterator[list[Entry]]:
    """The scenarios (with their persons) cut into segments, read as they are needed: a lone scenario (a segment
    of one, marked by the caller through `must_run_alone`), or the scenarios between two lone ones, at most
    `most` of them to a segment (the caller splits a segment into one lane per person)."""
    counts: dict[str, int] = {}
    current: list[Entry] = []
    for scenario in scenarios:
        person = None
        if scenario.archetype:
            source = site.stand_in(scenario.archetype) or scenario.archetype
            counts[source] = counts.get(source, -1) + 1
            person = person_of(site, scenario, counts[source])
        entry = (scenario, person)
        if must_run_alone(scenario):
            if current:
                yield current
                current = []
            yield [entry]
        else:
            current.append(entry)
            if most is not None and len(current) >= most:
                yield current
                current = []
    if current:
        yield current


def lanes_of(site: SiteConfig, scenarios: Sequence[Scenario]) -> list[list[Entry]]:
    """Every segment of `scenarios`, uncut between lone scenarios (`segments_of`)."""
    return list(segments_of(site, scenarios))


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
        self._slots: dict[str, _Slot] = {}  # the scheduled scenarios whose items have not taken them yet
        self._changed = threading.Condition()  # guards _slots, _finished, _wanted
        self._finished = False  # the scheduler ended (every scenario ran, or the pool stopped)
        self._wanted: str | None = None  # an item waits for a scenario not scheduled yet
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
        """Start running `scenarios` (in run order) in the background; they are read as they are scheduled."""
        self._thread = threading.Thread(target=self._schedule, args=(scenarios,), name="hsa-cert-pool", daemon=True)
        self._thread.start()

    def take(self, scenario_id: str) -> tuple[ScenarioResult | None, list[RunEvent]]:
        """The scenario's result and its buffered events; (None, []) when the pool stopped before running it."""
        with self._changed:
            slot = self._slots.get(scenario_id)
            while slot is None and not self._finished:  # not scheduled yet: the scheduler may go on regardless
                self._wanted = scenario_id
                self._changed.notify_all()
                self._changed.wait()
                slot = self._slots.get(scenario_id)
            self._wanted = None
        if slot is None:
            return None, []
        slot.done.wait()
        with self._changed:
            self._slots.pop(scenario_id, None)  # handed out once: the pool keeps nothing of it
            self._changed.notify_all()
        return slot.result, slot.events

    def stop(self) -> None:
        """Stop scheduling, wait for the scenarios in flight; give the run the first sign-in exchange."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.main.sign_in_exchange is None:
            self.main.sign_in_exchange = next((w.sign_in_exchange for w in self.workers if w.sign_in_exchange), None)

    # --- scheduling -------------------------------------------------------------------------------

    def _schedule(self, scenarios: Sequence[Scenario]) -> None:
        try:
            with ThreadPoolExecutor(max_workers=len(self.workers), thread_name_prefix="hsa-cert-job") as executor:
                for segment in segments_of(self.site, scenarios, SEGMENT_SCENARIOS):
                    if not self._open_segment(segment):
                        break
                    if len(segment) == 1 and must_run_alone(segment[0][0]):
                        self._run_one(*segment[0], ledger=self.main.ledger)
                        continue
                    lanes: dict[object, list[Entry]] = {}
                    for entry in segment:  # a scenario without a person is a lane of its own
                        lanes.setdefault(entry[1] if entry[1] is not None else entry[0].id, []).append(entry)
                    # The longest lanes first: the segment ends when its longest lane ends.
                    ordered = sorted(lanes.values(), key=len, reverse=True)
                    wait([executor.submit(self._run_lane, lane) for lane in ordered])
                    self._merge(segment)
        finally:
            with self._changed:
                self._finished = True
                for slot in self._slots.values():  # whatever did not run: its item learns so at once
                    slot.done.set()
                self._changed.notify_all()

    def _open_segment(self, segment: list[Entry]) -> bool:
        """Wait until few enough results wait for their items, then give the segment's scenarios their slots;
        False when the pool is stopping."""
        with self._changed:
            self._changed.wait_for(lambda: self._stop.is_set() or self._wanted is not None
                                   or len(self._slots) <= SEGMENT_SCENARIOS)
            if self._stop.is_set():
                return False
            for scenario, _person in segment:
                self._slots[scenario.id] = _Slot()
            self._changed.notify_all()
        return True

    def _run_lane(self, lane: list[Entry]) -> None:
        for scenario, person in lane:
            if self._stop.is_set():
                return
            self._run_one(scenario, person, ledger=Ledger(daybook=self.main.ledger.daybook, parent=self.main.ledger))

    def _merge(self, segment: list[Entry]) -> None:
        """The scenarios' own ledgers into the run's, in run order (what a serial run would have recorded)."""
        for scenario, _person in segment:
            own = self._ledgers.pop(scenario.id, None)
            if own is not None:
                self.main.ledger.absorb(own)
                own.close()  # its rows are the run's now (a temporary database each: harness.runner.ledgerrows)

    def _run_one(self, scenario: Scenario, person: tuple[str, int] | None, *, ledger: Ledger) -> None:
        with self._changed:
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
        slot = self._slots.get(event.scenario_id)  # (a dict read is atomic; the slot's item waits for it to be done)
        if slot is not None:
            slot.events.append(event)

