"""The ledger and `history`: two runs of a site, the trend and the right difference between them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from reporting_samples import info, scenario

from harness.errors import ConfigError
from harness.model import Outcome
from harness.reporting.history import load_history, render_history
from harness.reporting.ledger import append_run, load_outcomes, load_runs, previous_run
from harness.reporting.ledger_rates import diff_outcomes
from harness.reporting.record import RunRecord

FIRST = RunRecord(info("run-1"), (
    scenario("a.stays", Outcome.PASSED, interface="2207"),
    scenario("a.breaks", Outcome.PASSED, interface="2207"),
    scenario("a.heals", Outcome.FAILED, interface="2206"),
    scenario("a.dropped", Outcome.PASSED, interface="2206"),
))
SECOND = RunRecord(info("run-2"), (
    scenario("a.stays", Outcome.PASSED, interface="2207"),
    scenario("a.breaks", Outcome.FAILED, interface="2207"),
    scenario("a.heals", Outcome.PASSED, interface="2206"),
    scenario("a.added", Outcome.PASSED, interface="2208"),
))


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "reports" / "ledger.sqlite"
    append_run(path, FIRST, verdict="not certified", exit_code=1, out_dir="reports/test-site/run-1")
    append_run(path, RunRecord(info("other-1", site="other-site"), FIRST.scenarios), verdict="x", exit_code=1)
    append_run(path, SECOND, verdict="not certified", exit_code=1)
    return path


def test_runs_and_outcomes_are_stored(ledger: Path) -> None:
    runs = load_runs(ledger, "test-site")
    assert [r.run_id for r in runs] == ["run-1", "run-2"]
    assert (runs[0].total, runs[0].passed, runs[0].failed, runs[0].pass_rate) == (4, 3, 1, 0.75)
    assert (runs[0].cert_profile, runs[0].spec_version, runs[0].environment) == ("hospital-outpatient", "v1.1.27",
                                                                                 "embedded")
    assert load_outcomes(ledger, "run-2")["a.breaks"] is Outcome.FAILED
    assert previous_run(ledger, "test-site").run_id == "run-2"
    assert previous_run(ledger, "test-site", before_run_id="run-2").run_id == "run-1"
    assert previous_run(ledger, "nobody") is None
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] == 12


def test_history_shows_both_runs_and_the_difference(ledger: Path) -> None:
    (history,) = load_history(ledger, "test-site")
    assert [r.run_id for r in history.runs] == ["run-1", "run-2"]
    assert history.diff is not None
    assert history.diff.newly_failing == ("a.breaks",)
    assert history.diff.fixed == ("a.heals",)
    assert history.diff.new == ("a.added",)
    assert history.diff.removed == ("a.dropped",)
    assert history.interfaces["2207"] == {"run-1": 1.0, "run-2": 0.5}
    assert history.interfaces["2208"] == {"run-2": 1.0}
    text = render_history([history], {"2207": "门诊结算"})
    assert "run-1" in text and "run-2" in text and "75.0%" in text
    assert "2207 门诊结算" in text and "newly failing (1)" in text and "a.breaks" in text
    data = history.to_json()
    assert data["diff"] == {"from": "run-1", "to": "run-2", "newly_failing": ["a.breaks"], "fixed": ["a.heals"],
                            "new": ["a.added"], "removed": ["a.dropped"]}
    assert data["interfaces"]["2206"] == [{"run_id": "run-1", "pass_rate": 0.5}, {"run_id": "run-2", "pass_rate": 1.0}]


def test_all_sites_when_none_is_named(ledger: Path) -> None:
    histories = load_history(ledger)
    assert [h.site_id for h in histories] == ["other-site", "test-site"]
    assert histories[0].diff is None
    assert "no previous run" in render_history(histories)


def test_a_run_id_is_recorded_once(ledger: Path) -> None:
    with pytest.raises(ConfigError, match="already in the ledger"):
        append_run(ledger, SECOND, verdict="x", exit_code=0)
    assert len(load_runs(ledger, "test-site")) == 2


def test_diff_counts_errors_as_failing_and_ignores_not_provisioned_changes() -> None:
    diff = diff_outcomes({"x": Outcome.PASSED, "y": Outcome.ERROR, "z": Outcome.PASSED},
                         {"x": Outcome.ERROR, "y": Outcome.PASSED, "z": Outcome.NOT_PROVISIONED})
    assert (diff.newly_failing, diff.fixed, diff.new, diff.removed) == (("x",), ("y",), (), ())


def test_a_missing_or_corrupt_ledger_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No ledger yet"):
        load_runs(tmp_path / "none.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError) as err:
        load_runs(bad)
    assert err.value.exit_code == 2 and str(bad) in err.value.render()
