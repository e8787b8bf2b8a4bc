"""A scenario as a pytest item, its failure exceptions, and the collection root it hangs from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.model import Outcome, Scenario, ScenarioResult
from harness.reporting.masking import Masker
from harness.runner.safety import internal_error_reason
from harness.specs.findings_zh import reason_both, title_en, title_zh
from harness.verdict import is_inconclusive

if TYPE_CHECKING:  # the plugin makes the items: it imports this module
    from harness.pytest_plugin.plugin import ScenarioPlugin


class ScenarioFailed(AssertionError):
    """A conformance finding (Allure: failed)."""

    def __init__(self, result: ScenarioResult, masker: Masker | None = None) -> None:
        first = result.failures[0] if result.failures else None
        text = f"{title_en(first)} {title_zh(first)}".rstrip() if first is not None else "scenario failed"
        super().__init__((masker or _WRITABLE).text(text))
        self.result = result


class ScenarioBroken(Exception):
    """An infrastructure error (pytest: ERROR, Allure: broken)."""

    def __init__(self, result: ScenarioResult, masker: Masker | None = None) -> None:
        super().__init__((masker or _WRITABLE).text(reason_both(result.reason) or "infrastructure error"))
        self.result = result


_WRITABLE = Masker(enabled=False)  # masks nothing; escapes what a file cannot hold


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, plugin: ScenarioPlugin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.plugin = plugin
        self.funcargs: dict[str, Any] = {}  # allure-pytest reads it
        self.result: ScenarioResult | None = None
        words = {scenario.area, scenario.interface, scenario.kind, scenario.level.value, *scenario.capabilities,
                 *scenario.tags, *([scenario.archetype] if scenario.archetype else [])}
        self.extra_keyword_matches.update(w for w in words if w)

    def runtest(self) -> None:
        result = self.plugin.execute(self)
        masker = self.plugin.masker
        if result.outcome is Outcome.PASSED:
            return
        if result.outcome is Outcome.INCONCLUSIVE:
            why = next((f.title for f in result.failures if is_inconclusive(f)), result.reason)
            pytest.skip(masker.text(f"inconclusive (never counted as passed): {why}"))
        if result.outcome in (Outcome.NOT_PROVISIONED, Outcome.NOT_APPLICABLE):
            pytest.skip(masker.text(f"{result.outcome.value.replace('_', ' ')}: {result.reason}"))
        if result.outcome is Outcome.ERROR:
            raise ScenarioBroken(result, masker)
        raise ScenarioFailed(result, masker)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        error = excinfo.value
        if isinstance(error, ScenarioFailed | ScenarioBroken):
            try:
                return self.plugin.masker.text(self.plugin.describe(self.scenario, error.result))
            except Exception as exc:  # the failure text must never lose the scenario's result
                return self.plugin.masker.text(f"{error}\n(the full failure text could not be made: "
                                               f"{internal_error_reason(exc)})")
        return self.plugin.masker.text(str(super().repr_failure(excinfo, style=style)))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        source = self.scenario.source or "scenarios"
        file, _, line = source.partition(":")
        return Path(file), (int(line) - 1 if line.isdigit() else None), self.scenario.id


class ScenarioRoot(pytest.Directory):
    """Stands in for the collection root. Under --collect-only its children are the scenario items; a run makes
    them one at a time instead (`ScenarioPlugin.pytest_runtestloop`), so that no item outlives its scenario:
    twenty thousand items held from collection to the end of the session took ~40 MB (issue 14)."""

    plugin: ScenarioPlugin

    def collect(self) -> Iterable[pytest.Item]:
        if not self.config.option.collectonly:
            return ()
        return [self.plugin.item_for(scenario) for scenario in self.plugin.scenarios]


