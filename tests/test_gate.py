"""The gate: each exit code in the case that calls for it, and the known-failures baseline."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from reporting_samples import info, scenario

from harness.errors import ConfigError, UsageError
from harness.model import Level, Outcome
from harness.reporting.gate import Baseline, GatePolicy, KnownFailure, evaluate, load_baseline, parse_pass_rate
from harness.reporting.record import RunRecord

TODAY = date(2025, 3, 1)


def run(*rows: tuple[str, Outcome] | tuple[str, Outcome, Level]) -> RunRecord:
    return RunRecord(info(), tuple(scenario(*row) for row in rows))


def policy(**over: object) -> GatePolicy:
    return GatePolicy(today=TODAY, **over)  # type: ignore[arg-type]


def test_all_mandatory_passed_is_certified_exit_0() -> None:
    result = evaluate(run(("a.one", Outcome.PASSED), ("a.two", Outcome.PASSED),
                          ("a.opt", Outcome.FAILED, Level.OPTIONAL), ("a.na", Outcome.NOT_APPLICABLE)), policy())
    assert (result.exit_code, result.verdict, result.findings) == (0, "certified", ())


def test_a_failed_mandatory_scenario_exits_1_naming_it_and_its_clause() -> None:
    result = evaluate(run(("a.one", Outcome.PASSED), ("a.bad", Outcome.FAILED)), policy())
    assert result.exit_code == 1 and result.verdict == "not certified"
    (finding,) = result.findings
    assert finding.rule == "mandatory" and finding.scenario == "a.bad" and finding.clauses == ("R-MONEY-SUM",)
    assert "a.bad" in result.render() and "R-MONEY-SUM" in result.render()


def test_a_not_provisioned_mandatory_scenario_is_a_finding() -> None:
    result = evaluate(run(("a.one", Outcome.PASSED), ("a.np", Outcome.NOT_PROVISIONED)), policy())
    assert result.exit_code == 1 and "not provisioned" in result.findings[0].message


def test_an_infrastructure_error_exits_3_before_findings() -> None:
    result = evaluate(run(("a.bad", Outcome.FAILED), ("a.down", Outcome.ERROR)), policy())
    assert result.exit_code == 3 and result.verdict == "incomplete"
    assert [f.scenario for f in result.infra] == ["a.down"]


def test_min_pass_rate() -> None:
    record = run(("a.one", Outcome.PASSED), ("a.two", Outcome.PASSED), ("a.opt", Outcome.FAILED, Level.OPTIONAL))
    assert record.pass_rate == pytest.approx(2 / 3, abs=1e-4)
    assert evaluate(record, policy(min_pass_rate=0.6)).exit_code == 0
    result = evaluate(record, policy(min_pass_rate=0.9))
    assert result.exit_code == 1 and [f.rule for f in result.findings] == ["min-pass-rate"]


@pytest.mark.parametrize(("text", "value"), [("0.95", 0.95), ("95", 0.95), ("95%", 0.95), ("1", 1.0), ("0", 0.0)])
def test_pass_rate_forms(text: str, value: float) -> None:
    assert parse_pass_rate(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["150%", "-1", "abc"])
def test_a_bad_pass_rate_is_a_usage_error_exit_2(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_pass_rate(text)
    assert err.value.exit_code == 2


def test_regression_against_the_previous_run() -> None:
    current = run(("a.one", Outcome.PASSED), ("a.opt", Outcome.FAILED, Level.OPTIONAL))
    previous = {"a.one": Outcome.PASSED, "a.opt": Outcome.PASSED}
    assert evaluate(current, policy(), previous).exit_code == 0  # optional: only the regression rule sees it
    result = evaluate(current, policy(fail_on_regression=True), previous, previous_run_id="run-1")
    assert result.exit_code == 1
    assert [(f.rule, f.scenario) for f in result.findings] == [("regression", "a.opt")]
    assert "run-1" in result.findings[0].message and result.compared_with == "run-1"


def test_regression_without_a_previous_run_is_noted_not_failed() -> None:
    result = evaluate(run(("a.one", Outcome.PASSED)), policy(fail_on_regression=True), None)
    assert result.exit_code == 0 and "regression check skipped" in result.notes[0]


def _baseline(*entries: KnownFailure) -> Baseline:
    return Baseline("known-failures.toml", entries)


def test_a_known_failure_is_waived_until_it_expires() -> None:
    record = run(("a.one", Outcome.PASSED), ("a.bad", Outcome.FAILED))
    live = _baseline(KnownFailure("a.bad", "HIS ticket 42", date(2025, 6, 30)))
    result = evaluate(record, policy(baseline=live, fail_on_regression=True), {"a.bad": Outcome.PASSED})
    assert result.exit_code == 0 and result.waived == ("a.bad",)
    expired = _baseline(KnownFailure("a.bad", "HIS ticket 42", date(2025, 2, 28)))
    result = evaluate(record, policy(baseline=expired))
    assert result.exit_code == 1
    assert {f.rule for f in result.findings} == {"baseline-expired", "mandatory"}
    assert "expired on 2025-02-28" in result.render()


def test_an_expired_entry_fails_the_gate_even_when_the_scenario_passes() -> None:
    record = run(("a.one", Outcome.PASSED))
    result = evaluate(record, policy(baseline=_baseline(KnownFailure("a.one", "r", date(2024, 1, 1)))))
    assert result.exit_code == 1 and result.findings[0].rule == "baseline-expired"


def test_a_known_failure_that_now_passes_is_reported() -> None:
    record = run(("a.one", Outcome.PASSED), ("a.fixed", Outcome.PASSED))
    baseline = _baseline(KnownFailure("a.fixed", "r", date(2026, 1, 1)), KnownFailure("a.gone", "r", date(2026, 1, 1)))
    result = evaluate(record, policy(baseline=baseline))
    assert result.exit_code == 0
    assert any("a.fixed now passes" in n for n in result.notes)
    assert any("a.gone is not in this run" in n for n in result.notes)


def test_infrastructure_errors_are_never_waived() -> None:
    record = run(("a.down", Outcome.ERROR))
    result = evaluate(record, policy(baseline=_baseline(KnownFailure("a.down", "r", date(2026, 1, 1)))))
    assert result.exit_code == 3


def test_the_example_baseline_loads() -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "known-failures.example.toml"
    baseline = load_baseline(path)
    assert baseline.entries and all(e.reason and isinstance(e.expires, date) for e in baseline.entries)


def test_the_example_baseline_names_scenarios_of_the_default_suite() -> None:
    from harness.scenarios.catalogue import load_suites
    from harness.specs import load_registry

    path = Path(__file__).resolve().parents[1] / "fixtures" / "known-failures.example.toml"
    ids = {s.id for s in load_suites(load_registry(), "baseline")}
    unknown = [e.scenario for e in load_baseline(path).entries if e.scenario not in ids]
    assert not unknown, f"the example baseline names scenarios that do not exist: {unknown}"


def test_a_waived_mandatory_failure_is_never_plainly_certified() -> None:
    record = run(("a.ok", Outcome.PASSED), ("a.broken", Outcome.FAILED))
    entry = KnownFailure("a.broken", "vendor fix pending", date(2099, 12, 31))
    result = evaluate(record, policy(baseline=_baseline(entry)))
    assert result.exit_code == 0 and result.waived == ("a.broken",)
    assert result.verdict == "certified with waivers" and result.verdict != "certified"
    assert result.to_json()["waivers"] == [{"scenario": "a.broken", "reason": "vendor fix pending",
                                            "expires": "2099-12-31"}]
    assert "a.broken until 2099-12-31: vendor fix pending" in result.render()
    clean = evaluate(record, policy())
    assert clean.verdict == "not certified"


@pytest.mark.parametrize(("text", "message"), [
    ('[[known_failure]]\nscenario = "a"\nexpires = 2025-01-01\n', "'reason'"),
    ('[[known_failure]]\nscenario = "a"\nreason = "r"\nexpires = "soon"\n', "'expires'"),
    ('[[known_failure]]\nscenario = "a"\nreason = "r"\nexpires = 2025-01-01\n' * 2, "listed twice"),
    ("known_failures = 1\n", "unknown key"),
    ("[[known_failure]\n", "not valid TOML"),
])
def test_a_bad_baseline_is_a_config_error_exit_2(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kf.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_baseline(path)
    assert err.value.exit_code == 2 and message in err.value.render() and str(path) in err.value.render()


def test_criteria_are_listed_for_the_certificate() -> None:
    result = evaluate(run(("a.one", Outcome.PASSED)),
                      replace(policy(min_pass_rate=0.95, fail_on_regression=True), baseline=_baseline()))
    assert len(result.criteria) == 4 and "95.0%" in result.criteria[1]
