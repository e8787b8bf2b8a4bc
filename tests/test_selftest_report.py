"""The self-test's judgement and report, with a fake SuiteRunner (a plain function), and the CLI's usage paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import UsageError
from harness.model import Level, Scenario
from harness.selftest import (
    CATALOGUE,
    REPORT_FORMAT,
    Baseline,
    FailureNote,
    MutantSpec,
    Relevance,
    SelftestReport,
    SuiteResult,
    judge_mutant,
    load_baseline,
    plan,
    run_selftest,
    suite_result_from_document,
    write_baseline,
)

GOLDEN = FailureNote("output.setlinfo.hifp_pay differs from the reference platform's golden value", "2207.out.x")
SUM = FailureNote("medfee_sumamt is not fund_pay_sumamt + psn_part_amt + hosp_part_amt", "R-MONEY-SUM")


def scenario(sid: str, area: str = "outpatient", kind: str = "flow") -> Scenario:
    return Scenario(id=sid, title=sid, title_zh=sid, clauses=(), capabilities=(), level=Level.MANDATORY, area=area,
                    interface="2207", archetype=None, steps=(), kind=kind)


SCENARIOS = [scenario("a"), scenario("b"), scenario("c", "inpatient"), scenario("n", "protocol", "negative")]
MONEY = MutantSpec("shares-dont-add-up", "money", "R-MONEY-SUM", Relevance(areas=("outpatient",)))
GOLD = MutantSpec("pool-share-truncated", "money", "2207.out.setlinfo.hifp_pay", Relevance(areas=("inpatient",)))
SILENT = MutantSpec("reverse-twice", "rules", "R-REVERSE-ONCE", Relevance(kinds=("negative",)))


def clean(**outcomes: str) -> SuiteResult:
    return SuiteResult(outcomes={s.id: outcomes.get(s.id, "passed") for s in SCENARIOS}, seconds=1.0)


def fake_runner(ids: tuple[str, ...] | None, faults: tuple[str, ...]) -> SuiteResult:
    """Outpatient scenario `b` breaks the money sum under MONEY; `c` only misses a golden value under GOLD."""
    chosen = [s.id for s in SCENARIOS if ids is None or s.id in ids]
    outcomes = {sid: "passed" for sid in chosen}
    failures: dict[str, tuple[FailureNote, ...]] = {}
    if faults == (MONEY.fault,) and "b" in outcomes:
        outcomes["b"], failures["b"] = "failed", (SUM, SUM, GOLDEN)
    if faults == (GOLD.fault,) and "c" in outcomes:
        outcomes["c"], failures["c"] = "failed", (GOLDEN,)
    return SuiteResult(outcomes=outcomes, failures=failures, seconds=0.5)


def test_a_mutant_is_caught_by_scenarios_that_passed_clean_and_fail_now() -> None:
    run = SuiteResult(outcomes={"a": "failed", "b": "error", "c": "passed", "n": "failed"},
                      failures={"a": (SUM,), "b": (FailureNote("infrastructure error: HTTP 500", ""),)})
    result = judge_mutant(MONEY, clean(n="failed"), run)  # n failed clean too: it proves nothing
    assert result.caught and result.caught_by == ("a", "b") and result.status == "caught"
    assert result.clauses_flagged == ("R-MONEY-SUM",) and not result.reference_only and not result.errors_only
    assert judge_mutant(MONEY, clean(), SuiteResult({"a": "passed"})).status == "missed"
    only_errors = judge_mutant(MONEY, clean(), SuiteResult({"a": "error"}, {"a": (FailureNote("x", ""),)}))
    assert only_errors.errors_only


def test_a_catch_by_golden_amounts_alone_is_marked_reference_only() -> None:
    assert judge_mutant(GOLD, clean(), SuiteResult({"c": "failed"}, {"c": (GOLDEN,)})).reference_only
    assert not judge_mutant(GOLD, clean(), SuiteResult({"c": "failed"}, {"c": (GOLDEN, SUM)})).reference_only


def test_plan_runs_the_whole_suite_clean_and_per_mutant_only_the_relevant_scenarios_when_asked() -> None:
    full = plan(SCENARIOS, [MONEY, SILENT], relevant_only=False)
    assert [(t.label, t.scenario_ids) for t in full] == [("(clean)", None), (MONEY.name, None), (SILENT.name, None)]
    relevant = plan(SCENARIOS, [MONEY, SILENT], relevant_only=True)
    assert [(t.scenario_ids, t.faults) for t in relevant[1:]] == [(("a", "b"), (MONEY.fault,)),
                                                                   (("n",), (SILENT.fault,))]
    assert relevant[0].scenario_ids is None


def test_run_selftest_reports_score_misses_and_the_exit_code() -> None:
    lines: list[str] = []
    report = run_selftest(fake_runner, SCENARIOS, [MONEY, GOLD, SILENT], baseline=Baseline("b.json"),
                          progress=lines.append)
    assert [m.status for m in report.mutants] == ["caught", "caught", "missed"]
    assert report.score == pytest.approx(2 / 3) and report.clean_ok and report.exit_code == 0
    assert len(lines) == 5 and "clean run + 3 mutant run(s)" in lines[0]
    data = report.to_json()
    assert data["format"] == REPORT_FORMAT and data["mode"] == "full" and data["published_score"] is False
    assert (data["caught"], data["total"], data["missed"]) == (2, 3, ["reverse-twice"])
    assert data["reference_only"] == ["pool-share-truncated"]
    first = data["mutants"][0]
    assert {"name", "category", "clause", "description", "relevance", "status", "caught_by", "caught_by_count",
            "clauses_flagged", "reference_only", "scenarios_run", "seconds"} <= set(first)
    assert first["caught_by"] == ["b"] and first["clauses_flagged"] == ["R-MONEY-SUM", "2207.out.x"]
    assert set(data["timing"]) == {"clean_s", "mutants_s", "wall_s", "jobs"}
    text = report.render_text()
    assert "mutation score: 2/3 = 0.667" in text and "MISSED  reverse-twice" in text
    assert "missed reverse-twice: " + CATALOGUE["reverse-twice"].description in text
    assert "on a real site: 1/3" in text and "self-test PASSED" in text


def test_worker_processes_give_the_same_judgement_as_one_process() -> None:
    one = run_selftest(fake_runner, SCENARIOS, [MONEY, GOLD, SILENT], relevant_only=True)
    two = run_selftest(fake_runner, SCENARIOS, [MONEY, GOLD, SILENT], relevant_only=True, jobs=2)
    assert [(m.spec.name, m.caught_by) for m in two.mutants] == [(m.spec.name, m.caught_by) for m in one.mutants]
    assert two.jobs == 2 and two.clean_ok


def test_relevant_only_runs_say_so_and_a_regression_or_false_failure_fails_the_self_test() -> None:
    baseline = Baseline("b.json", frozenset({"reverse-twice", "shares-dont-add-up"}), exists=True)
    report = run_selftest(fake_runner, SCENARIOS, [MONEY, SILENT], relevant_only=True, baseline=baseline)
    assert report.mode == "relevant-only" and report.regressions == ["reverse-twice"] and report.exit_code == 1
    text = report.render_text()
    assert "RELEVANT-ONLY run" in text and "not the published score" in text and "NOW MISSED: reverse-twice" in text
    assert report.to_json()["mutants"][0]["scenarios_run"] == 2

    def broken(ids: tuple[str, ...] | None, faults: tuple[str, ...]) -> SuiteResult:
        result = fake_runner(ids, faults)
        return SuiteResult({**result.outcomes, "a": "failed"}, {"a": (SUM,)}) if not faults else result

    bad = run_selftest(broken, SCENARIOS, [MONEY])
    assert bad.false_failures == [("a", "failed", SUM.title)] and bad.exit_code == 1
    assert "1 FALSE FAILURE(S)" in bad.render_text()


SIGNING = MutantSpec("no-verify", "protocol", "R-GATEWAY-SIGNATURE", Relevance(ids=("n",)), signing=True)


def test_a_signing_mutant_is_not_exercised_under_a_profile_that_signs_nothing() -> None:
    assert [t.label for t in plan(SCENARIOS, [MONEY, SIGNING], relevant_only=False)] == ["(clean)", MONEY.name]
    assert [t.label for t in plan(SCENARIOS, [MONEY, SIGNING], relevant_only=False, signing=True)] == [
        "(clean)", MONEY.name, SIGNING.name]
    baseline = Baseline("b.json", frozenset({"no-verify"}), exists=True)  # caught under a signing profile before
    report = run_selftest(fake_runner, SCENARIOS, [MONEY, SIGNING], baseline=baseline)
    assert [m.status for m in report.mutants] == ["caught", "not exercised"]
    assert report.score == 1.0 and report.missed == [] and report.regressions == [] and report.exit_code == 0
    data = report.to_json()
    assert (data["caught"], data["total"], data["not_exercised"]) == (1, 1, ["no-verify"])
    assert data["mutants"][1]["signing"] is True and data["mutants"][1]["scenarios_run"] == 0
    text = report.render_text()
    assert "mutation score: 1/1" in text and "not exercised under this profile (left out of the score): no-verify" \
        in text and "idle    no-verify" in text
    signed = run_selftest(fake_runner, SCENARIOS, [MONEY, SIGNING], baseline=baseline, signing=True)
    assert [m.status for m in signed.mutants] == ["caught", "missed"] and signed.regressions == ["no-verify"]


def test_suite_result_from_a_results_document() -> None:
    document = {"run": {"exit_code": 1}, "scenarios": [
        {"id": "a", "outcome": "passed", "failures": []},
        {"id": "b", "outcome": "failed", "failures": [{"title": SUM.title, "clause": "R-MONEY-SUM"}]},
        {"id": "c", "outcome": "error", "reason": "2207 at http://x: timeout", "failures": []},
    ]}
    result = suite_result_from_document(document, 1.23456)
    assert result.outcomes == {"a": "passed", "b": "failed", "c": "error"} and result.exit_code == 1
    assert result.failures["b"] == (SUM,) and "timeout" in result.failures["c"][0].title
    assert result.seconds == 1.235 and result.not_passed() == ["b", "c"]


def full_report(*, relevant_only: bool = False) -> SelftestReport:
    def runner(ids: tuple[str, ...] | None, faults: tuple[str, ...]) -> SuiteResult:
        broken = bool(faults) and faults != (CATALOGUE["reverse-twice"].fault,)
        return SuiteResult({s.id: "failed" if broken else "passed" for s in SCENARIOS}, seconds=0.1)

    return run_selftest(runner, SCENARIOS, list(CATALOGUE.values()), relevant_only=relevant_only)


def test_baseline_round_trip_and_only_from_a_complete_full_run(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    report = full_report()
    assert report.complete
    write_baseline(report, path)
    loaded = load_baseline(path)
    assert loaded.exists and loaded.caught == frozenset(CATALOGUE) - {"reverse-twice", "no-verify"}
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["missed"] == ["reverse-twice"] and written["not_exercised"] == ["no-verify"]
    assert written["recorded"]["total"] == len(CATALOGUE) - 1
    with pytest.raises(UsageError, match="only from a full run"):
        write_baseline(full_report(relevant_only=True), path)
    with pytest.raises(UsageError, match="does not exist"):
        load_baseline(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text('{"caught": "everything"}', encoding="utf-8")
    with pytest.raises(UsageError, match="not a self-test baseline"):
        load_baseline(tmp_path / "bad.json")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["selftest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_lists_the_catalogue() -> None:
    code, out, _ = invoke("--list", "--json")
    assert code == 0
    rows = json.loads(out)["platform"]
    assert [r["name"] for r in rows] == list(CATALOGUE)
    assert {"name", "category", "clause", "description", "relevance"} == set(rows[0])
    code, out, _ = invoke("--list", "--mutant", "reverse-twice")
    assert code == 0 and "reverse-twice" in out and "R-REVERSE-ONCE" in out and "shares-dont-add-up" not in out


@pytest.mark.parametrize(("args", "message"), [
    (["--mutant", "no-such-mutant"], "unknown mutant 'no-such-mutant'"),
    (["--write-baseline", "--relevant-only"], "--write-baseline needs a full run of every mutant"),
    (["--baseline", "no/such/baseline.json"], "does not exist"),
    (["--jobs", "0"], "Invalid value for '--jobs'"),
    (["--province", "atlantis", "--mutant", "no-verify"], "unknown province profile 'atlantis'"),
    (["--province", "hunan", "--only", "proxy"], "--province and -k apply to the platform mutants only"),
    (["-k", "gateway", "--mutation", "gateway-refusal-accepted"], "--province and -k apply to the platform mutants"),
    (["--province", "hunan", "--write-baseline"], "the default baseline records the baseline profile's full run"),
])
def test_cli_usage_errors_exit_2_before_running_anything(args: list[str], message: str) -> None:
    code, _out, err = invoke(*args)
    assert code == 2 and message in err
