"""`ScenarioPlugin`: pytest's hooks for a list of scenarios, run one item at a time by the engine's Runner.

The hooks claim the collection root, select the scenarios as pytest's `-k` would (throwaway items, a batch at a
time), run them in a lazy loop (each item made right before it runs and let go after) and keep what pytest's
reporter holds small. What an item's run does is `ScenarioExecution`'s (`execution`), which needs no pytest.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import pytest

from harness.model import Outcome, Scenario
from harness.pytest_plugin.execution import ScenarioExecution
from harness.pytest_plugin.items import ScenarioItem, ScenarioRoot
from harness.pytest_plugin.views import COUNTED_PASS, DESELECTED, Ids, Positions, ReportedCount
from harness.reporting.allure import DeferredWriter
from harness.reporting.allure_ids import apply_stable_ids
from harness.runner.safety import internal_error_reason
from harness.scenarios.catalogue import run_order

_SELECTION_BATCH = 512  # throwaway items judged by -k at a time


class ScenarioPlugin(ScenarioExecution):
    """Pass an instance to pytest (plugins=[...]): it provides the items and runs them (`ScenarioExecution`)."""

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
            self.pool.start(self._order)  # read as scheduled: a lazy sequence is never copied whole

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

    # --- reporting ----------------------------------------------------------------------------

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
