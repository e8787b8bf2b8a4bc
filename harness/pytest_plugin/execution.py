"""`ScenarioExecution`: what running a scenario item does, apart from pytest's hooks so that it needs no pytest.

`ScenarioPlugin` (`plugin`) is one: it adds the hooks. An item's run takes its result from the engine's Runner
(or, with `--jobs`, from the pool that ran it ahead, its events replayed), sets the item's Allure labels and
steps, masks the personal values seen, keeps the result (the full one to the spool, a slim one in memory or on
disk, so that memory does not grow with the run), and stops the run when the breaker opens.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.model import Failure, Grade, Outcome, Scenario, ScenarioResult
from harness.pytest_plugin.failure_text import describe_failure
from harness.pytest_plugin.views import InRunOrder
from harness.reporting.allure import DeferredWriter, StepRecorder, label_advisories, label_scenario
from harness.reporting.junit import JunitSpool
from harness.reporting.masking import Masker
from harness.reporting.spool import slim_result
from harness.runner import Runner
from harness.runner.pool import ScenarioPool
from harness.runner.safety import internal_error_reason
from harness.specs import effective_grade
from harness.verdict import is_advisory

if TYPE_CHECKING:  # the items are pytest's: made by the plugin, only passed in here
    from harness.pytest_plugin.items import ScenarioItem, ScenarioRoot

# A backstop for a caller that turned automatic collection off (run_pytest leaves it on): objects the cyclic
# collector tracks, net, since its last pass; past this a full collection runs between scenarios.
_GROWTH_BEFORE_COLLECTION = 500_000


class ScenarioExecution:
    """The run's state and one item's run; `ScenarioPlugin` adds pytest's hooks."""

    def __init__(self, scenarios: Sequence[Scenario], runner: Runner, *,
                 interface_names: Mapping[str, str] | None = None, masked: bool = True,
                 header_env: Mapping[str, str] | None = None,
                 on_result: Callable[[Scenario, ScenarioResult], None] | None = None, letters: bool = True,
                 masker: Masker | None = None, pool: ScenarioPool | None = None,
                 spool: Callable[[ScenarioResult], None] | None = None,
                 results: MutableMapping[str, ScenarioResult] | None = None) -> None:
        # Not copied: a run of twenty thousand scenarios holds none of them longer than the caller does (a sequence
        # that makes each scenario when asked for keeps doing so; the run refers to scenarios by position).
        self.scenarios = scenarios if isinstance(scenarios, Sequence) else list(scenarios)
        self.pool = pool  # `--jobs`: the scenarios run ahead on the pool's Runners; items take their results
        self.letters = letters  # False: no progress letter (dot) per scenario; the CLI draws its own progress
        self.runner = runner
        self.interface_names = dict(interface_names or {})
        self.masked = masked
        # The run's masker: junit texts, Allure results and attachments pass through it before they are written.
        self.masker = masker or Masker(enabled=masked)
        self.header_env = dict(header_env or {})
        self.on_result = on_result
        # Each scenario's full result goes to `spool` as it ends (the session's ResultSpool writes it to disk);
        # `results` keeps only a slim result per scenario (no exchanges): a dict, or the session's KeptResults,
        # which keeps them on disk, so that memory does not grow with the run.
        self.spool = spool
        self.results: MutableMapping[str, ScenarioResult] = results if results is not None else {}
        self.selected: Sequence[str] = []  # the ids of `_order` (a view over it)
        self.stop_reason: str | None = None
        self._allure: Any = None
        self._writer: DeferredWriter | None = None
        self._root: ScenarioRoot | None = None
        # the selected scenarios in run order (-k applied, run-last at the end): their positions in `scenarios`
        self._order: Sequence[Scenario] = []
        self._items: dict[str, ScenarioItem] = {}  # the items alive: the one running and the next
        # junit.xml, each test case written to a spool file as it ends (run_pytest sets it; pytest's --junitxml
        # would keep every case's XML element to the end of the session)
        self.junit: JunitSpool | None = None

    def execute(self, item: ScenarioItem) -> ScenarioResult:
        scenario = item.scenario
        recorder = None
        if self._allure is not None:
            # allure's open test result of this item: labels and steps are set on it directly (see StepRecorder).
            logger = getattr(self._allure, "allure_logger", None)
            test = logger.get_test(None) if logger is not None else None
            label_scenario(scenario, self.interface_names.get(scenario.interface, ""), test)
            recorder = StepRecorder(self.interface_names, masked=self.masked, header_env=self.header_env,
                                    test=test, writer=self._writer, grade_of=self._grade_of(scenario),
                                    masker=self.masker)
            self.runner.add_listener(recorder)
        try:
            result = self._run(scenario) if self.pool is None else self._take(scenario)
        except Exception as exc:  # the runner keeps what it sent; this is the last resort (no result of its own)
            result = ScenarioResult(scenario_id=scenario.id, outcome=Outcome.ERROR, clauses=scenario.clauses,
                                    duration_ms=0.0, reason=internal_error_reason(exc),
                                    internal_error="".join(traceback.format_exception(exc)))
        finally:
            if recorder is not None:
                self.runner.remove_listener(recorder)
        if self.masker.enabled:  # the personal values this scenario sent or got are masked wherever they appear
            for step in result.steps:
                if step.exchange is not None:
                    self.masker.see(step.exchange.request_body)
                    self.masker.see(step.exchange.response_json)
        if self._allure is not None and result.outcome is Outcome.PASSED:
            try:
                label_advisories([f for f in result.failures if is_advisory(f)], test, self.masker)
            except Exception as exc:
                self.runner.emit("report-error", reason=f"Allure advisories of {scenario.id}: "
                                 f"{internal_error_reason(exc)}")
        item.result = result
        self._keep(scenario, result)
        if self.on_result is not None:
            self.on_result(scenario, result)
        breaker = self.runner.breaker_reason if self.pool is None else self.pool.breaker_reason
        if breaker is not None and self.stop_reason is None and (self.pool is None or self._pool_stopped(result)):
            self.stop_reason = breaker
            item.session.shouldstop = f"hsa-cert: {breaker}"
        if gc.get_count()[0] > _GROWTH_BEFORE_COLLECTION:
            gc.collect()  # run_pytest turns automatic collection off; a very long run still gets its cycles reclaimed
        return result

    def _run(self, scenario: Scenario) -> ScenarioResult:
        return self.runner.run_scenario(scenario)

    def _take(self, scenario: Scenario) -> ScenarioResult:
        """`--jobs`: the pool's result, its events replayed to this item's listeners as if it ran now."""
        assert self.pool is not None
        result, events = self.pool.take(scenario.id)
        for event in events:
            self.runner.deliver(event)
        if result is None:  # the pool stopped (a worker's breaker opened) before it ran this scenario
            reason = self.pool.breaker_reason or "the run was interrupted"
            result = ScenarioResult(scenario_id=scenario.id, outcome=Outcome.ERROR, clauses=scenario.clauses,
                                    duration_ms=0.0, reason=f"not run: {reason}")
        return result

    def _pool_stopped(self, result: ScenarioResult) -> bool:
        """The run stops at the scenario that opened the breaker, or at the first one the pool did not run."""
        assert self.pool is not None
        return self.pool.opened_by == result.scenario_id or result.reason.startswith("not run: ")

    def _keep(self, scenario: Scenario, result: ScenarioResult) -> None:
        """A scenario's result as it ends: the full one to the spool, a slim one (`slim_result`) in `results`."""
        if self.spool is not None:
            try:
                self.spool(result)
            except Exception as exc:  # results.json then has the slim entry; the run goes on
                self.runner.emit("report-error", reason=f"the result of {scenario.id} could not be spooled: "
                                 f"{internal_error_reason(exc)}")
        self.results[scenario.id] = slim_result(result)

    def ordered_results(self) -> Sequence[ScenarioResult]:
        """Slim results (`slim_result`) of the selected scenarios in run order, each read from `results` when asked
        for; those never run are ERROR with the reason."""
        reason = f"not run: {self.stop_reason}" if self.stop_reason else "not run: the run was interrupted"
        return InRunOrder(self._order, self.results, reason)

    def _grade_of(self, scenario: Scenario) -> Callable[[Failure], Grade]:
        """A finding's effective grade in this scenario (what the runner stores on the result's failures)."""
        profile = getattr(self.runner, "profile", None)
        return lambda failure: effective_grade(failure, scenario.grade, profile)

    def describe(self, scenario: Scenario, result: ScenarioResult) -> str:
        """Expected versus actual, the clause, and a curl line reproducing the failing request (`failure_text`)."""
        return describe_failure(scenario, result, header_env=self.header_env)
