"""Attempts that ended without a verdict (exit 3): kept in the ledger beside the runs, never as a run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from reporting_samples import info, scenario
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError, InfrastructureError
from harness.load.embedded import free_port
from harness.matrix import SiteJob, certify_site
from harness.model import Outcome
from harness.reporting.certify import note_breaker_stop, record_attempt
from harness.reporting.history import load_history
from harness.reporting.ledger import append_run, load_runs
from harness.reporting.ledger_attempts import append_attempt, load_attempts, mask_reason
from harness.reporting.ledger_chain import load_chain
from harness.reporting.ledger_copy import copy_ledger
from harness.reporting.record import RunRecord

RUN = RunRecord(info("run-1"), (scenario("a.one", Outcome.PASSED, interface="2207"),))
FIXTURES = Path(__file__).parents[1] / "fixtures" / "sites"



def test_an_attempt_round_trips_with_its_password_masked_and_leaves_runs_and_chain_alone(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    append_run(ledger, RUN, verdict="certified", exit_code=0, manifest_digest="a" * 64)
    written = append_attempt(ledger, "test-site", kind="certify", out_dir="reports/x",
                             reason="the site is not reachable: refused (https://bob:hunter22@10.0.0.9:8443)")
    append_attempt(ledger, "down-site", kind="matrix", reason="TLS handshake failed: token=abcdef&x=1")
    first, second = load_attempts(ledger)
    assert first == written and first.attempt_id != second.attempt_id
    assert (first.site_id, first.kind, first.exit_code, first.out_dir) == ("test-site", "certify", 3, "reports/x")
    assert "hunter22" not in first.reason and "https://bob:***@10.0.0.9:8443" in first.reason
    assert second.reason == "TLS handshake failed: token=***&x=1"
    assert [a.site_id for a in load_attempts(ledger, "down-site")] == ["down-site"]
    assert [r.run_id for r in load_runs(ledger)] == ["run-1"]  # an attempt is not a run
    assert [c.run_id for c in load_chain(ledger)] == ["run-1"]
    (history,) = load_history(ledger, "test-site")  # `hsa-cert history` reads runs only
    assert [r.run_id for r in history.runs] == ["run-1"]
    shown = CliRunner().invoke(app, ["history", "--ledger", str(ledger)])
    assert shown.exit_code == 0 and "site test-site: 1 run(s)" in shown.output, shown.output
    assert "down-site" not in shown.output


def test_masking_keeps_what_is_not_a_secret() -> None:
    text = "refused (http://10.0.0.1:8080/api?x=1) key file site.toml"
    assert mask_reason(text) == text
    assert mask_reason("password=p@ss;") == "password=***;"


def test_an_older_ledger_gains_the_table_when_opened(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    append_run(ledger, RUN, verdict="certified", exit_code=0)
    with sqlite3.connect(ledger) as conn:
        conn.execute("DROP TABLE attempts")
    assert load_attempts(ledger) == []  # a read opens it: the table is there, empty
    append_attempt(ledger, "test-site", kind="certify", reason="down")
    assert len(load_attempts(ledger)) == 1


def test_ledger_copy_copies_attempts_once(tmp_path: Path) -> None:
    source, target = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    append_run(source, RUN, verdict="certified", exit_code=0, manifest_digest="a" * 64)
    append_attempt(source, "never-ran", kind="matrix", reason="the site is not reachable")
    report = copy_ledger(source, target)
    assert report.copied["attempts"] == 1
    assert [a.site_id for a in load_attempts(target)] == ["never-ran"]
    again = copy_ledger(source, target)
    assert again.copied["attempts"] == 0 and again.skipped["attempts"] == 1


def test_noting_an_attempt_in_an_unreachable_ledger_never_raises(tmp_path: Path) -> None:
    said: list[str] = []
    error = InfrastructureError("the site is not reachable: refused", location="http://127.0.0.1:9")
    url = f"postgresql://u:secret@127.0.0.1:{free_port()}/ledger?connect_timeout=2"
    assert record_attempt(url, "s", error, kind="certify", progress=said.append) is False
    assert said and "could not be noted" in said[0] and "secret" not in said[0]
    assert record_attempt(tmp_path / "l.sqlite", "s", error, kind="certify") is True
    (attempt,) = load_attempts(tmp_path / "l.sqlite")
    assert attempt.reason == "the site is not reachable: refused (http://127.0.0.1:9)"



def test_an_attempt_is_noted_with_its_error_s_title_and_exit_code(tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite"
    assert record_attempt(ledger, "s", ConfigError("no ledger yet"), kind="certify") is True
    (attempt,) = load_attempts(ledger)
    assert (attempt.reason, attempt.exit_code, attempt.out_dir) == ("no ledger yet", ConfigError("x").exit_code, "")


def test_a_breaker_stop_an_unreachable_ledger_cannot_take_is_said(tmp_path: Path) -> None:
    said: list[str] = []
    url = f"postgresql://u:secret@127.0.0.1:{free_port()}/ledger?connect_timeout=2"
    outcome = SimpleNamespace(exit_code=3, record=RUN, run_dir=tmp_path / "run-1")
    stop = {"run": {"stop_reason": "circuit breaker open"}}
    assert note_breaker_stop(url, outcome, stop, kind="certify", progress=said.append) is False
    assert said and "could not be noted" in said[0]


def down_site(tmp_path: Path) -> Path:
    """A site config whose base_url is a closed port on this machine."""
    site = tmp_path / "down.toml"
    site.write_text((FIXTURES / "example-province.toml").read_text(encoding="utf-8")
                    .replace('id = "hn-changsha-demo"', 'id = "down-site"')
                    .replace('base_url = "https://10.43.1.20:8443"', f'base_url = "http://127.0.0.1:{free_port()}"'),
                    encoding="utf-8")
    return site


def test_certify_of_an_unreachable_site_exits_3_and_notes_the_attempt(tmp_path: Path) -> None:
    site = down_site(tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    result = CliRunner().invoke(app, ["certify", "--site", str(site), "--ledger", str(ledger), "--no-allure",
                                      "--reports-dir", str(tmp_path / "reports"), "-k", "nothing-matches"])
    assert result.exit_code == 3, result.output
    (attempt,) = load_attempts(ledger)
    assert (attempt.site_id, attempt.kind, attempt.exit_code) == ("down-site", "certify", 3)
    assert "not reachable" in attempt.reason
    assert load_runs(ledger) == []
    history = CliRunner().invoke(app, ["history", "--ledger", str(ledger)])  # no run yet: history still answers
    assert history.exit_code == 0 and "no runs recorded" in history.output, history.output


def test_a_matrix_site_that_is_down_is_noted_as_a_matrix_attempt(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    job = SiteJob("down-site", str(down_site(tmp_path)), str(tmp_path / "m" / "down-site"), str(ledger),
                  str(tmp_path), keyword="nothing-matches")
    result = certify_site(job)
    assert (result.verdict, result.exit_code) == ("error", 3)
    (attempt,) = load_attempts(ledger)
    assert (attempt.site_id, attempt.kind, attempt.out_dir) == ("down-site", "matrix", job.out_dir)
    assert load_runs(ledger) == []


def test_a_run_the_circuit_breaker_stopped_is_also_noted_as_an_attempt(tmp_path: Path) -> None:
    """TLS refused or the site gone after the first connection: the run is sealed as incomplete (exit 3) and,
    with the breaker's reason, noted as an attempt (so the dashboard says the site is unreachable)."""
    ledger = tmp_path / "ledger.sqlite"
    append_run(ledger, RUN, verdict="incomplete", exit_code=3)

    def outcome(code: int) -> SimpleNamespace:
        return SimpleNamespace(exit_code=code, record=RUN, run_dir=tmp_path / "run-1")

    stop = {"run": {"stop_reason": "circuit breaker open after 5 consecutive infrastructure errors (last: 9001 "
                                   "TLS handshake failed at https://ops:pw-xyz@10.0.0.9/api)"}}
    assert note_breaker_stop(ledger, outcome(1), stop, kind="certify") is False  # findings: a verdict
    assert note_breaker_stop(ledger, outcome(3), {"run": {"stop_reason": ""}}, kind="certify") is False
    assert load_attempts(ledger) == []  # an infrastructure error without the breaker is not "unreachable"
    assert note_breaker_stop(ledger, outcome(3), stop, kind="matrix") is True
    (attempt,) = load_attempts(ledger)
    assert (attempt.site_id, attempt.kind, attempt.out_dir) == ("test-site", "matrix", str(tmp_path / "run-1"))
    assert "TLS handshake failed" in attempt.reason and "pw-xyz" not in attempt.reason
    assert [r.run_id for r in load_runs(ledger)] == ["run-1"]


@pytest.mark.slow
def test_attempts_round_trip_on_postgresql(pg_server) -> None:
    url = pg_server.new_database("attempts")
    append_run(url, RUN, verdict="certified", exit_code=0, manifest_digest="a" * 64)
    written = append_attempt(url, "test-site", kind="matrix", reason="refused (https://u:pw-123456@h:1)")
    (read,) = load_attempts(url)
    assert read == written and "pw-123456" not in read.reason
    assert [r.run_id for r in load_runs(url)] == ["run-1"]
