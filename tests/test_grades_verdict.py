"""Pass rate (conformance over what ran) and coverage beside it, with literal figures: the verdict module,
the gate at its thresholds, inconclusive and advisory scenarios, results.json and the ledger's migration."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from engine_samples import person_step, scenario
from reporting_samples import info
from reporting_samples import scenario as record_scenario

from harness.model import Failure, Grade, Level, Outcome, ScenarioResult, Severity
from harness.reporting.console import render_findings
from harness.reporting.gate import GatePolicy, evaluate, parse_pass_rate
from harness.reporting.history import load_history, render_history
from harness.reporting.ledger import append_run, load_runs
from harness.reporting.record import FailureRecord, RunRecord, ScenarioRecord
from harness.reporting.results_json import results_document
from harness.reporting.results_reader import record_from_results
from harness.verdict import coverage, pass_rate, summarize_outcomes

P, F, E, NP, NA, INC = (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.NOT_PROVISIONED,
                        Outcome.NOT_APPLICABLE, Outcome.INCONCLUSIVE)


def test_pass_rate_and_coverage_arithmetic() -> None:
    assert pass_rate(3, 1) == 0.75
    assert pass_rate(2, 1) == 0.6667
    assert pass_rate(0, 4) == 0.0
    assert pass_rate(0, 0) is None  # no scenario ran to a verdict
    assert coverage(4, 10, 2) == 0.5  # 4 ran of the 8 that apply
    assert coverage(0, 3, 0) == 0.0
    assert coverage(0, 3, 3) is None  # nothing applies


def test_summary_of_every_outcome() -> None:
    s = summarize_outcomes([P, P, P, F, INC, NP, NP, NA, E])
    assert (s.total, s.passed, s.failed, s.inconclusive, s.not_provisioned, s.not_applicable, s.error) == \
        (9, 3, 1, 1, 2, 1, 1)
    assert s.pass_rate == 0.75  # 3 / (3 + 1): inconclusive, not provisioned and errors are not conformance
    assert s.coverage == 0.625  # (3 + 1 + 1) ran / (9 - 1) apply
    assert s.outcome is E
    nothing = summarize_outcomes([])
    assert (nothing.pass_rate, nothing.coverage) == (None, None)
    only_gaps = summarize_outcomes([NP, NA])
    assert (only_gaps.pass_rate, only_gaps.coverage) == (None, 0.0)


def _run(*rows: tuple[str, Outcome, Level]) -> RunRecord:
    return RunRecord(info(), tuple(record_scenario(*row) for row in rows))


# 3 passed and 1 failed (optional, so the gate's mandatory rule does not decide): pass rate exactly 0.75.
AT_THRESHOLD = _run(("a.1", P, Level.MANDATORY), ("a.2", P, Level.MANDATORY), ("a.3", P, Level.MANDATORY),
                    ("a.opt", F, Level.OPTIONAL))


def test_the_gate_at_exactly_the_pass_rate_threshold() -> None:
    assert AT_THRESHOLD.pass_rate == 0.75
    assert evaluate(AT_THRESHOLD, GatePolicy(min_pass_rate=0.75)).exit_code == 0
    result = evaluate(AT_THRESHOLD, GatePolicy(min_pass_rate=0.7501))
    assert result.exit_code == 1 and [f.rule for f in result.findings] == ["min-pass-rate"]
    assert "75.0%" in result.findings[0].message


def test_the_gate_at_exactly_the_coverage_threshold() -> None:
    record = _run(("a.1", P, Level.MANDATORY), ("a.2", P, Level.MANDATORY), ("a.np", NP, Level.OPTIONAL),
                  ("a.na", NA, Level.MANDATORY))
    assert (record.pass_rate, record.coverage) == (1.0, 0.6667)  # 2 ran of the 3 that apply
    assert evaluate(record, GatePolicy(min_coverage=0.6667)).exit_code == 0
    result = evaluate(record, GatePolicy(min_coverage=parse_pass_rate("67%", "--min-coverage")))
    assert result.exit_code == 1 and [f.rule for f in result.findings] == ["min-coverage"]
    assert "coverage ≥ 67.0%" in " ".join(GatePolicy(min_coverage=0.67).criteria())
    assert evaluate(record, GatePolicy()).exit_code == 0  # no coverage threshold configured: coverage is reported


def test_no_scenario_ran_at_all() -> None:
    record = _run(("a.np", NP, Level.OPTIONAL), ("a.na", NA, Level.MANDATORY))
    assert (record.pass_rate, record.coverage) == (None, 0.0)
    result = evaluate(record, GatePolicy(min_pass_rate=0.5, min_coverage=0.5))
    assert result.exit_code == 1
    assert [f.rule for f in result.findings] == ["min-pass-rate", "min-coverage"]
    assert "n/a (no scenario ran)" in result.findings[0].message
    empty = RunRecord(info(), ())
    assert (empty.pass_rate, empty.coverage) == (None, None)
    assert evaluate(empty, GatePolicy(min_pass_rate=0.5)).exit_code == 1


def test_an_inconclusive_mandatory_scenario_is_listed_never_passed_never_deciding() -> None:
    unsure = FailureRecord(title="refused for an unrecognised reason: '系统繁忙'", clause="R-CAUSE-NOT-FILED",
                           grade="MAY", inconclusive=True)
    record = RunRecord(info(), (record_scenario("a.ok", P), record_scenario("a.ok2", P),
                                _with_failures(record_scenario("a.unsure", INC), (unsure,))))
    s = record.summary
    assert (s.passed, s.failed, s.inconclusive, s.pass_rate, s.coverage) == (2, 0, 1, 1.0, 1.0)
    result = evaluate(record, GatePolicy())
    assert result.exit_code == 0 and result.findings == ()
    assert any("1 scenario(s) inconclusive" in n and "a.unsure" in n for n in result.notes)
    assert [x.id for x in record.inconclusive()] == ["a.unsure"]
    assert record.advisories() == []  # an inconclusive finding is not an advisory


def _with_failures(record: ScenarioRecord, failures: tuple[FailureRecord, ...]) -> ScenarioRecord:
    return replace(record, failures=failures)


def test_advisories_of_a_passed_scenario_are_counted_not_deciding() -> None:
    advice = FailureRecord(title="over-length psn_no accepted", clause="2207.in.data.psn_no", grade="SHOULD")
    record = RunRecord(info(), (_with_failures(record_scenario("a.long", P), (advice,)),
                                record_scenario("a.ok", P)))
    result = evaluate(record, GatePolicy(min_pass_rate=1.0))
    assert result.exit_code == 0
    assert any("1 advisory finding(s)" in n for n in result.notes)
    data = record.to_json()
    assert data["summary"]["advisories"] == 1 and data["summary"]["pass_rate"] == 1.0
    assert data["scenarios"][0]["failures"][0]["grade"] == "SHOULD"
    assert RunRecord.from_json(data).advisories()[0][1].grade == "SHOULD"


def test_a_certification_record_written_before_grades_still_reads() -> None:
    data = _run(("a.1", F, Level.MANDATORY)).to_json()
    for s in data["scenarios"]:
        s.pop("grade")
        for f in s["failures"]:
            f.pop("grade")
            f.pop("inconclusive")
    again = RunRecord.from_json(data)
    assert again.scenarios[0].grade == "MUST" and again.scenarios[0].failures[0].grade == "MUST"
    assert evaluate(again, GatePolicy()).exit_code == 1


def test_results_json_carries_grades_advisories_inconclusive_and_coverage() -> None:
    base = scenario((person_step(),))
    scenarios = {"s.must": replace(base, id="s.must"), "s.should": replace(base, id="s.should", grade=Grade.SHOULD),
                 "s.unsure": replace(base, id="s.unsure"), "s.np": replace(base, id="s.np")}
    advisory = Failure(title="too long accepted", clause="2207.in.data.psn_no", grade=Grade.SHOULD)
    must = Failure(title="money wrong", clause="R-MONEY-SUM", severity=Severity.CRITICAL)
    unsure = Failure(title="refused: 系统繁忙", clause="R-CAUSE-NOT-FILED", grade=Grade.MAY,
                     evidence={"inconclusive": True})
    results = [ScenarioResult("s.must", F, ("R-MONEY-SUM",), 1.0, failures=(must, advisory)),
               ScenarioResult("s.should", P, ("R-X",), 1.0, failures=(advisory,)),
               ScenarioResult("s.unsure", INC, ("R-X",), 1.0, failures=(unsure,)),
               ScenarioResult("s.np", NP, ("R-X",), 0.0, reason="no identity")]
    doc = results_document(results, scenarios, run={"run_id": "r"})
    summary = doc["summary"]
    assert (summary["passed"], summary["failed"], summary["inconclusive"], summary["not_provisioned"]) == (1, 1, 1, 1)
    assert summary["pass_rate"] == 0.5 and summary["coverage"] == 0.75
    assert summary["advisories"] == 2
    assert summary["grades"] == {"MUST": 3, "SHOULD": 1, "MAY": 0}
    entries = {e["id"]: e for e in doc["scenarios"]}
    assert entries["s.should"]["grade"] == "SHOULD" and entries["s.must"]["grade"] == "MUST"
    assert [f["grade"] for f in entries["s.must"]["failures"]] == ["MUST", "SHOULD"]
    record = record_from_results(doc, info(), scenarios=scenarios)  # what certify builds from results.json
    assert [s.id for s in record.inconclusive()] == ["s.unsure"] and record.inconclusive()[0].failures[0].inconclusive
    assert len(record.advisories()) == 2 and record.grades() == {"MUST": 3, "SHOULD": 1, "MAY": 0}
    text = render_findings(results, scenarios)
    assert "必须 MUST failures 不符合项: 1 in 1 scenario(s)" in text
    assert "应当 SHOULD advisories 建议项: 2 in 2 scenario(s)" in text
    assert "inconclusive 无法判定: 1 scenario(s)" in text and "系统繁忙" in text


def _v1_ledger(path: Path) -> None:
    """A ledger as version 1 of hsa-cert wrote it (no inconclusive, advisories, coverage), with one run."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
        CREATE TABLE runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE,
            site_id TEXT NOT NULL, site_name TEXT, environment TEXT, cert_profile TEXT, province_profile TEXT,
            spec_version TEXT, suite_fingerprint TEXT, harness_version TEXT, seed INTEGER, started_at TEXT,
            finished_at TEXT, total INTEGER, passed INTEGER, failed INTEGER, error INTEGER,
            not_provisioned INTEGER, not_applicable INTEGER, pass_rate REAL, verdict TEXT, exit_code INTEGER,
            out_dir TEXT, recorded_at TEXT);
        CREATE TABLE outcomes (run_id TEXT NOT NULL REFERENCES runs (run_id), scenario_id TEXT NOT NULL,
            outcome TEXT NOT NULL, level TEXT, area TEXT, interface TEXT, PRIMARY KEY (run_id, scenario_id));
        INSERT INTO runs (run_id, site_id, environment, cert_profile, spec_version, suite_fingerprint, started_at,
            total, passed, failed, error, not_provisioned, not_applicable, pass_rate, verdict, exit_code, out_dir)
            VALUES ('old-1', 'test-site', 'embedded', 'hospital-outpatient', 'v1.1.27', 'f', '2025-01-01T00:00:00',
            2, 1, 1, 0, 0, 0, 0.5, 'not certified', 1, '');
        INSERT INTO outcomes VALUES ('old-1', 'a.1', 'passed', 'mandatory', 'outpatient', '2207');
        INSERT INTO outcomes VALUES ('old-1', 'a.2', 'failed', 'mandatory', 'outpatient', '2207');
        PRAGMA user_version = 1;
        """)


def test_an_old_ledger_opens_and_gains_the_new_counts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _v1_ledger(path)
    advice = FailureRecord(title="too long", clause="2207.in.data.psn_no", grade="SHOULD")
    record = RunRecord(info("new-1"), (_with_failures(record_scenario("a.1", P), (advice,)),
                                       record_scenario("a.2", INC), record_scenario("a.3", NP)))
    append_run(path, record, verdict="certified", exit_code=0)
    old, new = load_runs(path, "test-site")
    assert (old.run_id, old.inconclusive, old.advisories, old.coverage, old.pass_rate) == ("old-1", None, None,
                                                                                           None, 0.5)
    assert (new.inconclusive, new.advisories, new.coverage, new.pass_rate) == (1, 1, 0.6667, 1.0)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    text = render_history(load_history(path, "test-site"))
    assert "inconcl." in text and "advisory" in text
    new_line = next(line for line in text.splitlines() if "new-1" in line)
    assert "66.7%" in new_line and "100.0%" in new_line


@pytest.mark.parametrize("name", ["min_pass_rate", "min_coverage"])
def test_thresholds_are_listed_as_criteria(name: str) -> None:
    criteria = " ".join(GatePolicy(**{name: 0.9}).criteria())
    assert ("pass rate ≥ 90.0%" if name == "min_pass_rate" else "coverage ≥ 90.0%") in criteria
    assert "no MUST finding" in criteria


def test_a_mutant_that_breaks_only_a_should_rule_is_caught_as_an_advisory() -> None:
    from harness.selftest.catalogue import CATALOGUE
    from harness.selftest.results import FailureNote, SuiteResult, judge_mutant

    spec = CATALOGUE["replay-refused"]
    clean = SuiteResult(outcomes={"idem.replay": "passed", "other": "passed"})
    advised = SuiteResult(outcomes={"idem.replay": "passed", "other": "passed"},
                          failures={"idem.replay": (FailureNote("replay refused", "R-MSGID-REPLAY", "SHOULD"),)})
    result = judge_mutant(spec, clean, advised)
    assert result.caught and result.advisory_only and result.caught_by == ("idem.replay",)
    assert result.to_json()["advisory_only"] is True
    failing = SuiteResult(outcomes={"idem.replay": "failed", "other": "passed"},
                          failures={"idem.replay": (FailureNote("money", "R-MONEY-SUM"),)})
    assert not judge_mutant(spec, clean, failing).advisory_only
    assert not judge_mutant(spec, clean, clean).caught
