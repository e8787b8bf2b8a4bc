"""`ScenarioPlugin`: pytest's hooks for a list of scenarios, run one item at a time by the engine's Runner."""

from __future__ import annotations

import gc
import traceback
from array import array
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.model import Failure, Grade, Outcome, Scenario, ScenarioResult
from harness.pytest_plugin.items import ScenarioItem, ScenarioRoot
from harness.pytest_plugin.views import COUNTED_PASS, DESELECTED, Ids, InRunOrder, Positions, ReportedCount
from harness.reporting.allure import DeferredWriter, StepRecorder, label_advisories, label_scenario
from harness.reporting.allure_ids import apply_stable_ids
from harness.reporting.curl import curl_command
from harness.reporting.junit import JunitSpool
from harness.reporting.masking import Masker
from harness.reporting.spool import slim_result
from harness.runner import Runner
from harness.runner.pool import ScenarioPool
from harness.runner.safety import internal_error_reason
from harness.scenarios.catalogue import run_order
from harness.specs import GRADE_LABELS, effective_grade
from harness.specs.findings_zh import title_en, title_zh
from harness.verdict import is_advisory, is_must_finding

_SELECTION_BATCH = 512  # throwaway items judged by -k at a time
# A backstop for a caller that turned automatic collection off (run_pytest leaves it on): objects the cyclic
# collector tracks, net, since its last pass; past this a full collection runs between scenarios.
_GROWTH_BEFORE_COLLECTION = 500_000


class ScenarioPlugin:
    """Pass an instance to pytest (plugins=[...]): it provides the items and runs them."""

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

    # --- collection ---------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if path != parent.config.rootpath:
            return None
        root = ScenarioRoot.from_parent(parent, path=path)
        root.plugin = self
        self._root = root
        return root

    def item_for(self, scenario: Scenario) -> ScenarioItem:
        assert self._root is not None, "the plugin's collection root is made first"
        return ScenarioItem.from_parent(self._root, name=scenario.id, nodeid=f"{scenario.area}::{scenario.id}",
                                        scenario=scenario, plugin=self)

    def pytest_configure(self, config: pytest.Config) -> None:
        self._config = config

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Scenarios tagged `run-last` (the end-of-run reconciliation) after every other item, whatever was given."""
        items[:] = run_order(items, lambda item: item.scenario.tags if isinstance(item, ScenarioItem) else ())

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            self._order = [item.scenario for item in session.items if isinstance(item, ScenarioItem)]
        else:
            self._order = Positions(self.scenarios, self._select(session))
        self.selected = Ids(self._order)
        self._allure = session.config.pluginmanager.get_plugin("allure_listener")
        if self._allure is not None:
            writer = DeferredWriter(self.masker)
            self._writer = writer if writer.start() else None
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if isinstance(getattr(reporter, "_progress_nodeids_reported", None), set):
            # pytest keeps the node id of every reported test to count its progress: a count does the same for
            # items that each report once (twenty thousand node ids, ~8 MB)
            reporter._progress_nodeids_reported = ReportedCount()  # type: ignore[union-attr]
        self.runner.emit("run-started", total=len(self.selected))
        if self.pool is not None:  # in run order (run-last at the end, -k applied): what the items will take
            self.pool.start(list(self._order))

    def _select(self, session: pytest.Session) -> array[int]:
        """The positions of the scenarios that -k (and any other plugin's selection) keeps, in run order: pytest's
        own selection hooks judge throwaway items, a batch at a time, exactly as they judge collected ones."""
        chosen = array("q")
        scenarios = self.scenarios
        ordered = run_order(range(len(scenarios)), lambda position: scenarios[position].tags)
        for start in range(0, len(ordered), _SELECTION_BATCH):
            positions = ordered[start:start + _SELECTION_BATCH]
            batch: list[pytest.Item] = [self.item_for(scenarios[position]) for position in positions]
            made = {id(item): position for item, position in zip(batch, positions, strict=True)}  # batch keeps them
            session.config.hook.pytest_collection_modifyitems(session=session, config=session.config, items=batch)
            chosen.extend(made[id(item)] for item in batch if id(item) in made)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        deselected = getattr(reporter, "stats", {}).get("deselected")
        if deselected:  # the terminal reporter only counts them: it need not keep the throwaway items
            deselected[:] = [DESELECTED] * len(deselected)
        return chosen

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """pytest's loop over the selected scenarios, each item made right before it runs (and the next one, which
        pytest's setup state wants to see) and let go once it finished."""
        if session.config.option.collectonly or session.items or session.testsfailed:
            return None  # pytest's own loop (it lists the items, or reports collection errors)
        session.testscollected = len(self._order)
        item = self._enter(self._order[0]) if self._order else None
        for index in range(len(self._order)):
            assert item is not None
            nextitem = self._enter(self._order[index + 1]) if index + 1 < len(self._order) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            self._items.pop(item.nodeid, None)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
            item = nextitem
        return True

    def _enter(self, scenario: Scenario) -> ScenarioItem:
        item = self.item_for(scenario)
        self._items[item.nodeid] = item
        return item

    # --- running ------------------------------------------------------------------------------

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

    # Plain hooks keyed by node id rather than wrappers around every phase: ~1000 items run three phases each.

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Once the teardown is reported (allure-pytest has set its ids, the result is still open): ours win.
        (The item, with its full result, is let go by the loop right after.)"""
        if self.junit is not None:
            try:
                self.junit.report(report.nodeid, report.when, report.outcome, report.duration, report.longrepr)
            except Exception as exc:  # junit.xml misses this case; the run goes on
                self.runner.emit("report-error", reason=f"junit.xml, {report.nodeid}: {internal_error_reason(exc)}")
        if report.when != "teardown":
            return
        item = self._items.get(report.nodeid)
        if item is None:
            return
        if self._allure is not None:
            apply_stable_ids(self._allure, item.scenario)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        """What pytest keeps of a finished scenario to the end of the session, made small (issue 14): the terminal
        reporter, which keeps every report for its summary line, keeps one shared placeholder that counts the same
        for a passed scenario. (The item itself is let go by the loop.)"""
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        stats = getattr(reporter, "stats", None)
        if not isinstance(stats, dict) or set(str(getattr(reporter, "reportchars", ""))) & {"P", "A"}:
            return  # -rP / -rA list the passed ones: their reports stay
        setup_teardown = stats.get("")
        while setup_teardown and getattr(setup_teardown[-1], "nodeid", None) == nodeid:
            setup_teardown.pop()
        passed = stats.get("passed")
        if passed and getattr(passed[-1], "nodeid", None) == nodeid:
            passed[-1] = COUNTED_PASS

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if report.when == "call" and report.failed:
            item = self._items.get(report.nodeid)
            if item is not None and item.result is not None and item.result.outcome is Outcome.ERROR:
                return "error", "E" if self.letters else "", "ERROR"
        if not self.letters and report.when == "call":
            return report.outcome, "", report.outcome.upper()
        return None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.pool is not None:
            self.pool.stop()
        if self.junit is not None:
            try:
                self.junit.write()
            except Exception as exc:
                self.runner.emit("report-error", reason=f"junit.xml could not be written: {internal_error_reason(exc)}")
            finally:
                self.junit.close()
        self.runner.emit("run-finished", results=len(self.results), stop_reason=self.stop_reason or "")

    @pytest.hookimpl(tryfirst=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._writer is not None:
            self._writer.stop()
            for error in self._writer.errors:
                self.runner.emit("report-error", reason=f"an Allure result could not be written: {error}")
            self._writer = None

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

    # --- failure text -------------------------------------------------------------------------

    def describe(self, scenario: Scenario, result: ScenarioResult) -> str:
        """Expected versus actual, the clause, and a curl line reproducing the failing request."""
        lines = [f"{scenario.id} — {scenario.title_zh}", f"{scenario.title}",
                 f"clauses: {', '.join(scenario.clauses)} | level: {scenario.level.value} | "
                 f"grade: {GRADE_LABELS[scenario.grade]} | archetype: {scenario.archetype or '-'} | "
                 f"source: {scenario.source or '-'}"]
        if result.outcome is Outcome.ERROR:
            lines += ["", f"INFRASTRUCTURE ERROR (not a conformance finding): {result.reason}"]
        musts = sum(1 for f in result.failures if is_must_finding(f))
        if musts != len(result.failures):
            lines += ["", f"{musts} MUST finding(s) fail the scenario; {len(result.failures) - musts} advisory or "
                      "inconclusive finding(s) are listed after them"]
        for failure in result.failures:
            step = f"step {failure.step + 1}" if failure.step is not None and failure.step >= 0 else "sign-in"
            zh = title_zh(failure)
            lines += ["", f"[{failure.severity.value} · {GRADE_LABELS.get(failure.grade, failure.grade)}] "
                      f"{title_en(failure)}", *([f"  中文:     {zh}"] if zh else []), f"  clause:   {failure.clause}",
                      f"  where:    {step}"]
            if failure.expected or failure.actual:
                lines += [f"  expected: {failure.expected}", f"  actual:   {failure.actual}"]
            if failure.detail:
                lines += [f"  {line}" for line in failure.detail.splitlines()]
        exchange = self._failing_exchange(result, scenario)
        if exchange is not None:
            lines += ["", f"reproduce ({exchange.infno}, {exchange.url}):",
                      "  " + curl_command(exchange, header_env=self.header_env)]
        return "\n".join(lines)

    @staticmethod
    def _failing_exchange(result: ScenarioResult, scenario: Scenario) -> Any:
        flow = (*scenario.steps, *scenario.teardown)
        for step in result.steps:
            designed = 0 <= step.index < len(flow) and flow[step.index].fault and step.infno == flow[step.index].infno
            if step.exchange is not None and step.exchange.error and not designed:  # not a loss the scenario made
                return step.exchange
        steps = {s.index: s for s in result.steps if s.exchange is not None and not s.teardown}
        for failure in result.failures:
            if is_must_finding(failure) and failure.step in steps:
                return steps[failure.step].exchange
        for step in result.steps:
            if step.exchange is not None and step.failures:
                return step.exchange
        return None


