"""The failure text of a scenario pytest reports (and junit.xml and Allure show): expected versus actual, the
clause, and a curl line reproducing the failing request. Plain text from a scenario and its result: no pytest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.model import Outcome, Scenario, ScenarioResult
from harness.reporting.curl import curl_command
from harness.specs import GRADE_LABELS
from harness.specs.findings_zh import title_en, title_zh
from harness.verdict import is_must_finding


def describe_failure(scenario: Scenario, result: ScenarioResult, *, header_env: Mapping[str, str]) -> str:
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
    exchange = failing_exchange(result, scenario)
    if exchange is not None:
        lines += ["", f"reproduce ({exchange.infno}, {exchange.url}):",
                  "  " + curl_command(exchange, header_env=header_env)]
    return "\n".join(lines)


def failing_exchange(result: ScenarioResult, scenario: Scenario) -> Any:
    """The exchange to reproduce: a lost one the scenario did not design, else the step of the first MUST
    finding, else the first step with a finding; None if no step sent anything."""
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
