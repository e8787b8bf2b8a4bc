"""The pytest plugin: one pytest item per scenario, run by the engine's Runner.

Scenarios are not test files: a `ScenarioPlugin` instance, given the scenarios and a Runner, claims
the collection root and yields one `ScenarioItem` per scenario, in the given order except that those
tagged `run-last` run after all others (node id `<area>::<scenario id>`:
allure-pytest needs a `::` in node ids; `-k` matches the scenario id, area, interface, kind, level,
capabilities and archetype). Outcomes map onto pytest's: passed (advisories, i.e. SHOULD / MAY
findings, shown in Allure as a label, a parameter and an attachment); failed (a MUST finding, Allure
"failed"); error (infrastructure, reported as ERROR and shown by Allure as "broken"); inconclusive
(refused for an unrecognised reason), not provisioned and not applicable are skipped with their
reason (Allure "skipped": never counted as passed).

`run_pytest()` drives pytest in process with the plugin and an empty ini file, so the project's own
tests and configuration are never collected. The only module of harness/ that imports pytest.

The package: `items` (a scenario as a pytest item and the collection root), `plugin` (`ScenarioPlugin`: the
hooks, the lazy run loop), `execution` (`ScenarioExecution`, what the plugin is besides its hooks: one item's
run, the results kept; no pytest), `failure_text` (expected versus actual, the clause, a curl line; no pytest),
`views` (run order by position, and the light stand-ins pytest's reporter keeps), `run` (`run_pytest`). Only
this package imports pytest.
"""

from __future__ import annotations

from harness.pytest_plugin.items import ScenarioBroken, ScenarioFailed, ScenarioItem
from harness.pytest_plugin.plugin import ScenarioPlugin
from harness.pytest_plugin.run import run_pytest

__all__ = ["ScenarioBroken", "ScenarioFailed", "ScenarioItem", "ScenarioPlugin", "run_pytest"]
