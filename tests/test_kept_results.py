"""KeptResults: the run's slim results on disk, read back equal; the plugin's run-order view over them."""

from __future__ import annotations

from types import MappingProxyType

from harness.model import Failure, Grade, Outcome, ScenarioResult
from harness.reporting.kept import KeptResults
from harness.reporting.spool import slim_result
from harness.verdict import exit_code, group_summaries


def _result(sid: str, outcome: Outcome = Outcome.PASSED, *, failures: tuple[Failure, ...] = ()) -> ScenarioResult:
    return ScenarioResult(scenario_id=sid, outcome=outcome, clauses=("R-1", "ENV.req.msgid"), duration_ms=12.5,
                          failures=failures, reason="" if outcome is Outcome.PASSED else "why 为何")


def test_a_stored_result_reads_back_equal_and_a_rerun_replaces_it() -> None:
    unsure = Failure(title="refused 拒绝", clause="R-1", expected="0", actual="-1", grade=Grade.MAY,
                     evidence={"inconclusive": True, "answer": {"psn_name": "张三"}})
    must = Failure(title="sum", clause="R-2", expected="1.00", actual="2.00", evidence={"x": 1})
    slim = slim_result(_result("a", Outcome.FAILED, failures=(unsure, must)))
    assert isinstance(slim.failures[0].evidence, MappingProxyType)  # what pickle cannot store as it is
    kept = KeptResults()
    try:
        kept["a"] = slim
        kept["b"] = _result("b")
        assert kept["a"] == slim and kept["a"] is not slim and kept["b"] == _result("b")
        assert kept["a"].failures[0].evidence == {"inconclusive": True}
        assert isinstance(kept["a"].failures[0].evidence, MappingProxyType)
        assert kept["a"].failures[1].evidence == {}
        kept["a"] = _result("a")  # the scenario ran again
        assert kept["a"] == _result("a") and len(kept) == 2 and list(kept) == ["a", "b"]
        assert "b" in kept and "c" not in kept and kept.get("c") is None
        del kept["b"]
        assert list(kept) == ["a"]
    finally:
        kept.close()


def test_the_verdict_reads_results_one_at_a_time() -> None:
    results = [_result("a"), _result("b", Outcome.FAILED), _result("c", Outcome.ERROR)]
    assert exit_code(iter(results), {}) == 3
    assert exit_code(iter(results[:2]), {}) == 1
    assert exit_code(iter(results[:1]), {}) == 0
    groups = group_summaries(iter(results), {}, "area")
    assert list(groups) == ["(unknown)"] and groups["(unknown)"].total == 3 and groups["(unknown)"].failed == 1


def test_the_console_findings_read_results_once_and_count_them_all() -> None:
    from harness.reporting.console import render_findings

    results = []
    for i in range(30):
        failures = [Failure(title=f"should {i}", clause="R-2", grade=Grade.SHOULD)] * 2
        if i % 3 == 0:
            failures.append(Failure(title=f"must {i}", clause="R-1"))
        results.append(_result(f"s{i}", Outcome.FAILED if i % 3 == 0 else Outcome.PASSED, failures=tuple(failures)))
    text = render_findings(iter(results))  # a one-shot iterator: results read back from disk one at a time
    lines = text.splitlines()
    assert lines[0].endswith("failures 不符合项: 10 in 10 scenario(s)")
    assert any(line.endswith("advisories 建议项: 60 in 30 scenario(s)") for line in lines)
    assert "  … and 40 more (results.json)" in lines and "  s0  [R-1] must 0" in lines
    assert sum(1 for line in lines if "[R-2] should" in line) == 20  # the first 20 listed, the rest counted
