"""The Runner: one scenario at a time against a Target (see harness.runner for the whole story).

The Runner is assembled from its parts, each a mixin in its own module: `envelope` (envelopes,
templates, preflight), `connection` (sign-in, circuit breaker), `steps` (step execution), `recovery`
(unknown outcomes and designed faults: 2601 冲正) and `evaluate` (judging an answer). This module
holds what ties them together: construction, events, and one scenario's execution and outcome.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from harness.model import (
    Exchange,
    Failure,
    Grade,
    Outcome,
    RunEvent,
    Scenario,
    ScenarioResult,
    Severity,
)
from harness.runner.connection import Breaker, Connection
from harness.runner.diskindex import DiskIndex
from harness.runner.envelope import Envelopes
from harness.runner.evaluate import ResponseJudge, merged_patterns
from harness.runner.ledger import Ledger
from harness.runner.recovery import Recovery
from harness.runner.safety import bounded as _bounded
from harness.runner.safety import internal_error_reason
from harness.runner.state import _NotProvisioned, _Run
from harness.runner.steps import StepRunner
from harness.runner.tamper import tamper_not_applicable
from harness.siteconfig import SiteConfig
from harness.specs import Profile, SpecRegistry, effective_grade
from harness.transport import Target, switch_fault
from harness.verdict import graded_outcome

__all__ = ["DEFAULT_BREAKER_THRESHOLD", "Runner", "internal_error_reason"]  # (the last re-exported from .safety)

DEFAULT_BREAKER_THRESHOLD = 5


class Runner(StepRunner, Recovery, Envelopes, Connection, ResponseJudge):
    """Runs scenarios against one target for one site and profile."""

    def __init__(self, target: Target, registry: SpecRegistry, profile: Profile | str, site: SiteConfig,
                 events: Callable[[RunEvent], None] | None = None, seed: int = 0, *,
                 breaker_threshold: int | None = None, clock: Callable[[], datetime] = datetime.now,
                 fault_switch: Callable[[Mapping[str, Any]], str | None] | None = None) -> None:
        self.target = target
        self.registry = registry
        self.profile = registry.profile(profile) if isinstance(profile, str) else profile
        self.validator = registry.validator(self.profile.id)
        self.site = site
        self.seed = seed
        self.breaker_threshold = breaker_threshold or site.limits.breaker_threshold or DEFAULT_BREAKER_THRESHOLD
        self.clock = clock
        # How a step's `fault` is switched on at the reference platform: None when done, else why not.
        self.fault_switch = fault_switch or (lambda fault: switch_fault(site.base_url, fault,
                                                                        timeout_s=min(site.limits.timeout_s, 5.0)))
        self._listeners: list[Callable[[RunEvent], None]] = [events] if events else []
        self.listener_errors: list[str] = []  # exceptions a listener raised (reported by the session)
        # scenario id -> how often this Runner ran it (fresh serials each time), on disk (made on first use): a dict
        # of every id of a long run lived to its end (issue 14)
        self._executions: DiskIndex | None = None
        self._sign_no: str | None = None
        self._sign_in_failure: Failure | None = None
        self.breaker = Breaker()  # consecutive infrastructure errors; `breaker_reason` once open
        self.sign_in_exchange: Exchange | None = None
        self.ledger = Ledger()  # what this run settled and reversed, for 3201 ({{ ledger.<field> }})
        # Profile values read on every message, taken once (a Profile builds them from its raw dict on each read).
        self._extra_envelope_fields = tuple((self.profile.extra_fields.get("envelope") or {}).items())
        # the profile's err_msg patterns, then the site config's [err_msg_patterns] (compiled once)
        self.err_msg_patterns = merged_patterns(self.profile.err_msg_patterns,
                                                getattr(site, "err_msg_patterns", None) or {})
        self.first_findings: dict[tuple[str, str], str] = {}  # one schema finding per (interface, clause) and run
        self._field_types: dict[str, str] | None = None

    def close(self) -> None:
        """Let the Runner's temporary databases go: its ledger's rows and its execution counts."""
        self.ledger.close()
        if self._executions is not None:
            self._executions.close()
            self._executions = None

    # --- events -------------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[RunEvent], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[RunEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, kind: str, scenario_id: str = "", **payload: Any) -> None:
        self.deliver(RunEvent(kind=kind, scenario_id=scenario_id, payload=payload))

    def deliver(self, event: RunEvent) -> None:
        """Hand an event to the listeners (`--jobs`: the events a worker Runner buffered, replayed in run order)."""
        kind = event.kind
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as exc:  # a reporter's bug must not end the scenario, nor lose what it sent
                self.listener_errors.append(f"{kind}: {internal_error_reason(exc)}")

    # --- one scenario -------------------------------------------------------------------------

    def run_scenario(self, scenario: Scenario) -> ScenarioResult:
        started = time.perf_counter()
        self.emit("scenario-started", scenario.id, title=scenario.title)
        result = self._execute(scenario, started)
        self.emit("scenario-finished", scenario.id, result=result)
        return result

    def _execute(self, scenario: Scenario, started: float) -> ScenarioResult:
        def finish(outcome: Outcome | None, reason: str = "", run: _Run | None = None) -> ScenarioResult:
            # Each finding with its effective grade (the profile's override, capped by the scenario's grade).
            graded = [_bounded(replace(f, grade=effective_grade(f, scenario.grade, self.profile)))
                      for f in (run.failures if run else ())]
            if outcome is None:  # the steps ran: FAILED only for a MUST finding (harness.verdict.graded_outcome)
                outcome = graded_outcome(graded)
            failures = sorted(graded, key=lambda f: (f.grade.rank, f.severity.rank))
            return ScenarioResult(scenario_id=scenario.id, outcome=outcome, clauses=scenario.clauses,
                                  duration_ms=round((time.perf_counter() - started) * 1000, 3),
                                  steps=tuple(run.steps) if run else (), failures=tuple(failures), reason=reason,
                                  internal_error=run.trace if run else "")

        if self.breaker_open:
            return finish(Outcome.ERROR, f"not run: {self.breaker_reason}")
        missing = [cap for cap in scenario.capabilities if cap not in self.site.capabilities]
        if missing:
            return finish(Outcome.NOT_APPLICABLE, f"the site does not declare capability {', '.join(missing)}")
        unoffered = sorted({step.infno for step in scenario.steps if not self.site.offers(step.infno)})
        if unoffered:
            return finish(Outcome.NOT_APPLICABLE, f"the site does not offer {', '.join(unoffered)} (not_offered)")
        faulty = next((s for s in (*scenario.steps, *scenario.teardown) if s.fault), None)
        if faulty is not None and not self.site.reference:
            return finish(Outcome.NOT_APPLICABLE, f"the scenario makes the platform lose an answer ({faulty.fault} "
                          f"on {faulty.infno}), which only the embedded reference platform can do (reference = true)")
        if (untampered := tamper_not_applicable(scenario, self.target)) is not None:
            return finish(Outcome.NOT_APPLICABLE, untampered)
        if self._executions is None:
            self._executions = DiskIndex(1)
        ran = self._executions.get(scenario.id)
        try:
            # the site config does not change during a run: a scenario that ran once (counted below) was provisioned
            if ran is None:
                self._preflight(scenario)
        except _NotProvisioned as exc:
            return finish(Outcome.NOT_PROVISIONED, str(exc))
        count = (ran[0] if ran else 0) + 1
        self._executions.put(scenario.id, count)
        run = _Run(scenario, self._uniq(scenario.id, count))
        stand_in = self.site.stand_in(scenario.archetype)
        if stand_in:  # the site gives one person per behaviour: a variant runs with its fallback's person
            run.notes.append(f"run with the person of {stand_in} (no [identities.{scenario.archetype}]; "
                             f"{stand_in} stands in)")
        try:
            if not self._ensure_signed_in(run):
                outcome = Outcome.ERROR if run.infra else Outcome.FAILED
                return finish(outcome, f"sign-in (9001) failed: {run.infra}" if run.infra else "", run)
            if self._run_steps(run, scenario.steps, teardown=False) and not run.internal:
                self._no_refusal_at_all(run)
        except Exception as exc:  # a bug of the harness: what was sent stays recorded, the teardown still runs
            run.crashed(exc)
        if not self.breaker_open:
            try:
                self._run_steps(run, scenario.teardown, teardown=True)
            except Exception as exc:
                run.crashed(exc)
        if run.internal:
            infra = [run.infra] if run.infra and run.internal not in run.infra else []
            return finish(Outcome.ERROR, "; ".join([run.internal, *infra, *run.notes]), run)
        if run.infra:
            return finish(Outcome.ERROR, "; ".join([run.infra, *run.notes]), run)
        return finish(None, "; ".join(run.notes), run)  # the outcome follows from the graded findings

    def _no_refusal_at_all(self, run: _Run) -> None:
        """A flow whose refusal may come at any step, that no step refused, accepted the person: a MUST finding.

        (When its settlement step expects the refusal, that step already says so; this covers the rest.)
        """
        cause = next((s.expect.may_refuse for s in run.scenario.steps if s.expect.may_refuse), None)
        if cause is None or run.refused_at is not None or run.infra:
            return
        if any(f.grade is Grade.MUST and f.severity is not Severity.WARNING for f in run.failures):
            return  # the flow already failed (e.g. the settlement was accepted): no second word for it
        run.failures.append(Failure(
            title=f"the site accepted the whole flow for a person it must refuse ({self._cause_title(cause)}): no "
                  "step was refused 整个流程未被拒绝", clause=self._clause_of(cause, run.clause),
            severity=Severity.CRITICAL, expected=f"a refusal for {cause} at some step", actual="every step succeeded"))

    def _uniq(self, scenario_id: str, count: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{scenario_id}:{count}".encode()).hexdigest()
        number = int(digest, 16) % 10**11
        return f"{1 + int(digest[0], 16) % 9}{number:011d}"  # 12 digits, never a leading zero

