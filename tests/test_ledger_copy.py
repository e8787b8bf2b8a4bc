"""`hsa-cert ledger copy`: a ledger's runs into another (SQLite or a province's PostgreSQL ledger), every
site's hash chain still valid in the target, nothing copied twice, and a target whose history of a site
differs from the source's refused with nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from reporting_samples import info, scenario
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError, UsageError
from harness.model import Outcome
from harness.reporting.chain import verify_chain
from harness.reporting.ledger import append_run, load_outcomes, load_runs
from harness.reporting.ledger_attempts import append_attempt, load_attempts
from harness.reporting.ledger_chain import chain_head, load_chain
from harness.reporting.ledger_copy import copy_ledger, table_shapes
from harness.reporting.ledger_load import append_load_run, load_load_runs
from harness.reporting.ledger_schema import TABLES
from harness.reporting.record import RunRecord

SCENARIOS = (scenario("a.one", Outcome.PASSED), scenario("a.two", Outcome.FAILED, interface="2206"),
             scenario("a.three", Outcome.PASSED, area="inpatient", interface="2304"))


def _certify(where: Any, runs: Path, run_id: str, site: str = "site-a", *, chained: bool = True) -> None:
    """A run as certify appends it: with a manifest on disk that names the site's previous chain digest."""
    digest = None
    run_dir = runs / run_id
    if chained:
        head = chain_head(where, site)
        run_dir.mkdir(parents=True)
        manifest = json.dumps({"run_id": run_id, "site_id": site,
                               "previous": {"chain_digest": head[1] if head else ""}}).encode()
        (run_dir / "manifest.json").write_bytes(manifest)
        digest = hashlib.sha256(manifest).hexdigest()
    append_run(where, RunRecord(info(run_id, site=site), SCENARIOS), verdict="certified", exit_code=0,
               out_dir=str(run_dir), manifest_digest=digest)


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "province" / "ledger.sqlite"
    runs = tmp_path / "runs"
    _certify(source, runs, "a-0", chained=False)  # recorded before the ledger had a chain
    _certify(source, runs, "a-1")
    _certify(source, runs, "b-1", site="site-b")
    _certify(source, runs, "a-2")
    _certify(source, runs, "b-2", site="site-b")
    append_load_run(source, {"run": {"run_id": "load-1", "exit_code": 0}, "load": {
        "site": {"id": "site-a"}, "duration_s": 60.0, "total": {"count": 1200, "errors": 0},
        "interfaces": {"2207": {"count": 1200}}}}, verdict="passed")
    append_attempt(source, "site-c", kind="matrix", reason="the site is not reachable")  # a site that never ran
    return source


def _rows(where: Any) -> list[dict[str, Any]]:
    """The runs without the numbers each ledger gives them itself."""
    return [{k: v for k, v in run.to_json().items() if k != "seq"} for run in load_runs(where)]


def _chains(where: Any) -> list[tuple[Any, ...]]:
    return [(c.run_id, c.site_id, c.manifest_digest, c.previous_digest, c.chain_digest) for c in load_chain(where)]


def test_the_schema_statements_name_every_table_with_a_key() -> None:
    shapes = {shape.name: shape for shape in table_shapes()}
    assert set(shapes) == TABLES
    assert (shapes["runs"].key, shapes["runs"].serial) == (("run_id",), "seq")
    assert shapes["outcomes"].key == ("run_id", "scenario_id")
    assert shapes["chain"].key == ("run_id",)
    assert (shapes["attempts"].key, shapes["attempts"].serial) == (("attempt_id",), "seq")
    assert [s.name for s in table_shapes()].index("runs") == 0  # runs before what refers to them


def test_a_sqlite_ledger_copied_into_a_new_one_keeps_every_row_and_chain(tmp_path: Path) -> None:
    source, target = _source(tmp_path), tmp_path / "shared" / "ledger.sqlite"
    report = copy_ledger(source, target)
    assert report.copied == {"runs": 5, "chain": 4, "outcomes": 15, "load_runs": 1, "attempts": 1}
    assert set(report.skipped.values()) == {0} and report.sites == 2
    assert set(report.copied) == TABLES  # a table added to the schema later is copied too
    assert [r.to_json() | {"seq": 0} for r in load_load_runs(target)] == [
        r.to_json() | {"seq": 0} for r in load_load_runs(source)]
    assert _rows(target) == _rows(source)
    assert _chains(target) == _chains(source)
    assert load_outcomes(target, "a-2") == load_outcomes(source, "a-2")
    assert [a.to_json() | {"seq": 0} for a in load_attempts(target)] == [
        a.to_json() | {"seq": 0} for a in load_attempts(source)]
    checked = verify_chain(target)
    assert checked.intact and (checked.runs, checked.chained) == (5, 4), checked.render()

    again = copy_ledger(source, target)
    assert set(again.copied.values()) == {0}
    assert again.skipped == {"runs": 5, "chain": 4, "outcomes": 15, "load_runs": 1, "attempts": 1}
    assert len(load_runs(target)) == 5


def test_runs_added_to_the_source_since_are_appended_to_the_chain(tmp_path: Path) -> None:
    source, target = _source(tmp_path), tmp_path / "shared.sqlite"
    copy_ledger(source, target)
    _certify(target, tmp_path / "runs", "b-3", site="site-b")  # the shared ledger moved on for site b
    _certify(source, tmp_path / "runs", "a-3")  # and the province's file for site a
    report = copy_ledger(source, target)
    assert (report.copied["runs"], report.skipped["runs"]) == (1, 5)
    assert [r.run_id for r in load_runs(target, "site-a")] == ["a-0", "a-1", "a-2", "a-3"]
    assert verify_chain(target).intact, verify_chain(target).render()


def test_a_target_whose_history_of_a_site_differs_is_refused_with_nothing_written(tmp_path: Path) -> None:
    source, target = _source(tmp_path), tmp_path / "shared.sqlite"
    other = tmp_path / "elsewhere"
    _certify(target, other, "a-0", chained=False)
    _certify(target, other, "a-other")  # site a's chain on another runner: not the source's
    before = _rows(target)
    with pytest.raises(ConfigError, match="site-a differs") as refused:
        copy_ledger(source, target)
    assert "a-other in the target and a-1 in the source" in refused.value.detail
    assert _rows(target) == before  # site b, which alone could be copied, was not either

    result = CliRunner().invoke(app, ["ledger", "copy", "--from", str(source), "--to", str(target)])
    assert result.exit_code == 2, result.output
    assert "differs from the source's" in result.output and "nothing was written" in result.output


def test_copying_a_ledger_into_itself_or_from_nothing_is_refused(tmp_path: Path) -> None:
    source = _source(tmp_path)
    with pytest.raises(UsageError, match="same ledger"):
        copy_ledger(source, source)
    with pytest.raises(ConfigError, match="No ledger to copy from"):
        copy_ledger(tmp_path / "missing.sqlite", tmp_path / "target.sqlite")
    assert not (tmp_path / "target.sqlite").exists()


def test_the_command_copies_then_verify_chain_passes_on_the_target(tmp_path: Path) -> None:
    source, target = _source(tmp_path), tmp_path / "shared.sqlite"
    runner = CliRunner()
    first = runner.invoke(app, ["ledger", "copy", "--from", str(source), "--to", str(target)])
    assert first.exit_code == 0, first.output
    assert "copied:  5 runs, 4 chain, 15 outcomes, 1 load_runs" in first.output
    second = runner.invoke(app, ["ledger", "copy", "--from", str(source), "--to", str(target)])
    assert "copied:  0 runs, 0 chain, 0 outcomes, 0 load_runs" in second.output
    assert "skipped: 5 runs, 4 chain, 15 outcomes, 1 load_runs" in second.output
    checked = runner.invoke(app, ["verify", "--chain", "--ledger", str(target)])
    assert checked.exit_code == 0, checked.output


@pytest.mark.slow
def test_a_sqlite_ledger_moves_onto_the_provinces_postgresql_ledger(pg_server, tmp_path: Path) -> None:
    source, url = _source(tmp_path), pg_server.new_database("copy_into")
    runner = CliRunner()
    first = runner.invoke(app, ["ledger", "copy", "--from", str(source), "--to", url])
    assert first.exit_code == 0, first.output
    assert "copied:  5 runs, 4 chain, 15 outcomes, 1 load_runs" in first.output
    assert pg_server.password not in first.output and ":***@" in first.output
    assert _rows(url) == _rows(source) and _chains(url) == _chains(source)
    checked = runner.invoke(app, ["verify", "--chain", "--ledger", url])
    assert checked.exit_code == 0, checked.output
    second = runner.invoke(app, ["ledger", "copy", "--from", str(source), "--to", url])
    assert "copied:  0 runs, 0 chain, 0 outcomes, 0 load_runs" in second.output, second.output
    assert len(load_runs(url)) == 5
    back = tmp_path / "back" / "ledger.sqlite"  # and back again, server to file
    assert copy_ledger(url, back).copied["runs"] == 5
    assert _rows(back) == _rows(source) and _chains(back) == _chains(source)


@pytest.mark.slow
def test_a_diverging_postgresql_ledger_is_refused_without_its_password(pg_server, tmp_path: Path) -> None:
    source, url = _source(tmp_path), pg_server.new_database("copy_diverges")
    _certify(url, tmp_path / "elsewhere", "b-elsewhere", site="site-b")
    result = CliRunner().invoke(app, ["ledger", "copy", "--from", str(source), "--to", url])
    assert result.exit_code == 2, result.output
    assert "site-b differs" in result.output and pg_server.password not in result.output
    assert [r.run_id for r in load_runs(url)] == ["b-elsewhere"]  # site a was not copied either
