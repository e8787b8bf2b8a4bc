"""A province's shared ledger on PostgreSQL: the same answers as SQLite, appends of a site serialized,
many writers at once keeping every site's hash chain intact, and no password anywhere it is shown.

Against a real server the tests start (the `pg_server` fixture in conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from reporting_samples import info, scenario
from test_load_evidence import _document as load_sample
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ConfigError, InfrastructureError
from harness.model import Outcome
from harness.reporting.chain import verify_chain
from harness.reporting.dashboard import build_context
from harness.reporting.history import load_history
from harness.reporting.ledger import (
    append_run,
    ledger_location,
    load_outcomes,
    load_runs,
    new_since_certified,
    previous_run,
)
from harness.reporting.ledger_backend import mask_secrets, mask_url
from harness.reporting.ledger_chain import chain_digest, chain_head, load_chain
from harness.reporting.ledger_load import append_load_run, load_load_runs
from harness.reporting.ledger_rates import interface_rates, rates_by
from harness.reporting.ledger_session import hold_site
from harness.reporting.record import RunRecord

pytestmark = pytest.mark.slow

FIRST = RunRecord(info("run-1"), (
    scenario("a.stays", Outcome.PASSED, interface="2207"),
    scenario("a.breaks", Outcome.PASSED, interface="2207"),
    scenario("a.heals", Outcome.FAILED, interface="2206", area="inpatient"),
))
SECOND = RunRecord(info("run-2"), (
    scenario("a.stays", Outcome.PASSED, interface="2207"),
    scenario("a.breaks", Outcome.FAILED, interface="2207"),
    scenario("a.heals", Outcome.PASSED, interface="2206", area="inpatient"),
    scenario("a.added", Outcome.PASSED, interface="2208"),
))


def _fill(where: Any) -> None:
    append_run(where, FIRST, verdict="certified", exit_code=0, out_dir="", manifest_digest="a" * 64)
    append_run(where, RunRecord(info("other-1", site="other-site"), FIRST.scenarios), verdict="x", exit_code=1)
    append_run(where, SECOND, verdict="not certified", exit_code=1, manifest_digest="b" * 64)
    append_load_run(where, load_sample(), verdict="slo met", out_dir="out1")


def _answers(where: Any) -> dict[str, Any]:
    runs = load_runs(where)
    return {
        "runs": [{k: v for k, v in r.to_json().items() if k != "seq"} for r in runs],
        "site": [r.run_id for r in load_runs(where, "test-site")],
        "previous": previous_run(where, "test-site", before_run_id="run-2").run_id,
        "outcomes": load_outcomes(where, "run-2"),
        "interfaces": interface_rates(where, ["run-1", "run-2"]),
        "areas": rates_by(where, ["run-1", "run-2"], "area"),
        "new": new_since_certified(where, "test-site"),
        "chain": [(c.run_id, c.site_id, c.manifest_digest, c.previous_digest, c.chain_digest)
                  for c in load_chain(where)],
        "head": chain_head(where, "test-site"),
        "history": [h.to_json() for h in load_history(where)],
        "load": [{k: v for k, v in r.to_json().items() if k != "seq"} for r in load_load_runs(where)],
    }


def test_postgresql_answers_exactly_as_sqlite(pg_server, tmp_path: Path) -> None:
    url = pg_server.new_database("parity")
    sqlite = tmp_path / "ledger.sqlite"
    _fill(url)
    _fill(sqlite)
    on_pg, on_sqlite = _answers(url), _answers(sqlite)
    assert on_pg == on_sqlite
    assert on_pg["interfaces"]["2207"] == {"run-1": 1.0, "run-2": 0.5}
    assert [r["verdict"] for r in on_pg["load"]] == ["slo met"] and on_pg["load"][0]["interfaces"]["2207"]
    assert on_pg["head"] == ("run-2", chain_digest(chain_digest("", "a" * 64), "b" * 64))
    report = verify_chain(url, check_dirs=False)
    assert report.intact and (report.runs, report.chained) == (3, 2)
    with pytest.raises(ConfigError, match="already in the ledger"):
        append_run(url, FIRST, verdict="certified", exit_code=0)


def test_a_rewritten_chain_row_on_the_server_breaks_the_chain(pg_server) -> None:
    url = pg_server.new_database("tamper")
    _fill(url)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE chain SET manifest_digest = %s WHERE run_id = 'run-1'", ("c" * 64,))
    report = verify_chain(url, check_dirs=False)
    assert not report.intact
    assert any(run == "run-1" and "edited" in what for run, what in report.problems), report.render()


def test_a_server_ledger_missing_a_later_column_or_table_gains_it(pg_server, monkeypatch) -> None:
    from harness.reporting import ledger_pg

    url = pg_server.new_database("older")
    append_run(url, FIRST, verdict="certified", exit_code=0)
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN coverage")
        conn.execute("DROP TABLE chain")
    monkeypatch.setattr(ledger_pg, "_ready", set())  # another process, meeting the older ledger
    append_run(url, SECOND, verdict="not certified", exit_code=1, manifest_digest="b" * 64)
    old, new = load_runs(url)
    assert (old.coverage, new.coverage) == (None, SECOND.summary.coverage)
    assert [c.chain_digest is not None for c in load_chain(url)] == [False, True]


def _waiting_for_a_lock(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return int(row[0]) if row else 0


def test_a_sites_appends_wait_for_its_holder_and_other_sites_do_not(pg_server) -> None:
    """While one runner seals a run of site s1 (head read, manifest built), another run of s1 waits; its link
    then follows the holder's run. A run of s2 goes through meanwhile."""
    url = pg_server.new_database("holding")
    first = RunRecord(info("s1-a", site="s1"), FIRST.scenarios)
    second = RunRecord(info("s1-b", site="s1"), FIRST.scenarios)
    other = RunRecord(info("s2-a", site="s2"), FIRST.scenarios)
    failures: list[BaseException] = []

    def append(record: RunRecord, digest: str) -> None:
        try:
            append_run(url, record, verdict="certified", exit_code=0, manifest_digest=digest)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    with hold_site(url, "s1"):
        assert chain_head(url, "s1") is None
        waiter = threading.Thread(target=append, args=(second, "2" * 64))
        waiter.start()
        while _waiting_for_a_lock(url) < 1:  # until the second writer of s1 queues on the site's lock
            waiter.join(0.05)
            assert waiter.is_alive(), failures
        bystander = threading.Thread(target=append, args=(other, "3" * 64))
        bystander.start()
        bystander.join(120)  # a guard against a hang, not a measurement: s2 does not wait for s1
        assert not bystander.is_alive() and not failures
        append_run(url, first, verdict="certified", exit_code=0, manifest_digest="1" * 64)
    waiter.join(120)
    assert not waiter.is_alive() and not failures, failures
    links = {c.run_id: c for c in load_chain(url)}
    assert links["s1-a"].previous_digest == ""
    assert links["s1-b"].previous_digest == links["s1-a"].chain_digest
    assert links["s2-a"].previous_digest == ""
    assert verify_chain(url, check_dirs=False).intact


# One writer process: M runs, each sealed like certify seals one (head read under the site's hold, manifest
# written naming the previous run, then the ledger row and its link), alternating between two sites.
WRITER = r"""
import hashlib, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[5])
from reporting_samples import info, scenario
from harness.model import Outcome
from harness.reporting.ledger import append_run
from harness.reporting.ledger_chain import chain_head
from harness.reporting.ledger_session import hold_site
from harness.reporting.record import RunRecord

url, writer, runs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
for n in range(runs):
    site = f"site-{(writer + n) % 2}"
    run_id = f"w{writer}-r{n}"
    record = RunRecord(info(run_id, site=site), tuple(
        scenario(f"s.{k}", Outcome.PASSED if (k + n) % 3 else Outcome.FAILED, interface="2207") for k in range(4)))
    run_dir = out / run_id
    run_dir.mkdir(parents=True)
    with hold_site(url, site):
        head = chain_head(url, site)
        manifest = {"run_id": run_id, "site_id": site,
                    "previous": {"run_id": head[0], "chain_digest": head[1]} if head else None}
        data = json.dumps(manifest, sort_keys=True).encode()
        (run_dir / "manifest.json").write_bytes(data)
        append_run(url, record, verdict="certified", exit_code=0, out_dir=str(run_dir),
                   manifest_digest=hashlib.sha256(data).hexdigest())
"""


def test_many_writer_processes_keep_every_sites_chain_intact(pg_server, tmp_path: Path) -> None:
    writers, runs = 4, 6
    url = pg_server.new_database("writers")
    tests_dir = str(Path(__file__).resolve().parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(w), str(runs), str(tmp_path / "runs"),
                               tests_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for w in range(writers)]
    for proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output
    every = load_runs(url)
    assert len(every) == writers * runs
    assert len({r.run_id for r in every}) == writers * runs
    assert sorted({r.site_id for r in every}) == ["site-0", "site-1"]
    assert [len(load_runs(url, s)) for s in ("site-0", "site-1")] == [writers * runs // 2] * 2
    assert sum(len(load_outcomes(url, r.run_id)) for r in every) == writers * runs * 4
    report = verify_chain(url)  # links, digests and each run's manifest naming its previous run
    assert report.intact, report.render()
    assert (report.runs, report.chained, report.elsewhere) == (writers * runs, writers * runs, 0)


def test_the_password_is_masked_in_what_is_shown() -> None:
    url = "postgresql://prov:s3cret-pw@db.example:5432/ledger?sslmode=require&password=other-pw"
    assert mask_url(url) == "postgresql://prov:***@db.example:5432/ledger?sslmode=require&password=***"
    assert mask_secrets("auth failed for s3cret-pw and other-pw", url) == "auth failed for *** and ***"
    assert ledger_location(url) == url and ledger_location("reports/x.sqlite") == Path("reports/x.sqlite")
    short = "postgresql://u:p@h/db"  # a one-letter password is masked where it stands alone, not in every word
    assert mask_secrets("port p of parameter p", short) == "port *** of parameter ***"
    broken = "postgresql://prov:s3cret-pw@[db.example/ledger"  # urllib cannot read it: masked by its shape
    assert mask_url(broken) == "postgresql://prov:***@[db.example/ledger"
    assert mask_secrets("cannot parse s3cret-pw", broken) == "cannot parse ***"


def test_a_url_urllib_cannot_read_is_a_config_error_without_the_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ledger", "copy", "--from", "postgresql://u:s3cret-pw@[bad", "--to",
                                      str(tmp_path / "x.sqlite")])
    assert result.exit_code == 2 and "s3cret-pw" not in result.output, result.output
    assert "The ledger URL is not usable" in result.output


def test_a_url_libpq_cannot_read_is_a_config_error() -> None:
    result = CliRunner().invoke(app, ["history", "--ledger", "postgresql://u:s3cret-pw@127.0.0.1:1/db?bogus=1"])
    assert result.exit_code == 2 and "not usable" in result.output and "s3cret-pw" not in result.output


def test_a_writer_waiting_too_long_for_the_sites_lock_gets_an_infrastructure_error(pg_server, monkeypatch) -> None:
    from harness.reporting import ledger_pg

    url = pg_server.new_database("lock_timeout")
    monkeypatch.setattr(ledger_pg, "LOCK_TIMEOUT", "200ms")
    caught: list[BaseException] = []

    def late() -> None:
        try:
            append_run(url, RunRecord(info("late", site="s1"), FIRST.scenarios), verdict="x", exit_code=1)
        except BaseException as exc:
            caught.append(exc)

    with hold_site(url, "s1"):
        waiter = threading.Thread(target=late)
        waiter.start()
        waiter.join(120)  # the holder keeps the lock until the waiter has given up
    assert not waiter.is_alive()
    assert len(caught) == 1 and isinstance(caught[0], InfrastructureError), caught
    assert "lock too long" in caught[0].render()
    assert [r.run_id for r in load_runs(url)] == []


def test_without_server_binaries_the_tests_skip_here_and_fail_in_ci(monkeypatch) -> None:
    from conftest import _unavailable

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        _unavailable("initdb not found")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needed in CI"):
        _unavailable("initdb not found")


def test_an_unreachable_server_is_an_infrastructure_error_without_the_password(pg_server) -> None:
    url = f"postgresql://{pg_server.user}:wrong-{pg_server.password}@127.0.0.1:{pg_server.port}/postgres"
    with pytest.raises(InfrastructureError) as caught:
        load_runs(url)
    assert pg_server.password not in caught.value.render()
    result = CliRunner().invoke(app, ["history", "--ledger", url])
    assert result.exit_code == 3, result.output
    assert "Cannot reach the ledger" in result.output and pg_server.password not in result.output
    assert f"{pg_server.user}:***@" in result.output


SUBSET = "settle.reverse"


def test_concurrent_certify_runs_share_one_server_ledger(pg_server, tmp_path: Path) -> None:
    """Three `hsa-cert certify` processes of one site at once, one PostgreSQL ledger: the chain verifies, history
    and the dashboard read it back, and the password is in no evidence file and no output."""
    url = pg_server.new_database("certify")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "harness", "certify", "-k", SUBSET, "--seed", str(20 + n), "--out",
         str(tmp_path / f"run-{n}"), "--reports-dir", str(tmp_path / "reports"), "--ledger", url, "--no-allure"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(3)]
    outputs = [proc.communicate(timeout=900)[0] for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output
    runner = CliRunner()
    checked = runner.invoke(app, ["verify", "--chain", "--ledger", url])
    assert checked.exit_code == 0 and "chain intact: 3 chained run(s) of 3" in checked.output, checked.output
    history = runner.invoke(app, ["history", "--ledger", url, "--json"])
    assert history.exit_code == 0, history.output
    (site,) = json.loads(history.output)["sites"]
    assert len(site["runs"]) == 3
    numbers = set()
    for run in load_runs(url):
        manifest = json.loads((Path(run.out_dir) / "manifest.json").read_text(encoding="utf-8"))
        numbers.add(manifest["certificate_number"])
        one = runner.invoke(app, ["verify", run.out_dir, "--ledger", url])
        assert one.exit_code == 0, one.output
    assert len(numbers) == 3, numbers  # each run's certificate number has its own sequence
    page = tmp_path / "dashboard.html"
    shown = runner.invoke(app, ["dashboard", "--ledger", url, "--out", str(page)])
    assert shown.exit_code == 0 and "1 sites, 3 runs" in shown.output, shown.output
    assert build_context(url)["ledger"] == mask_url(url)
    texts = [*outputs, checked.output, history.output, shown.output, page.read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert not [t for t in texts if pg_server.password in t]


def test_two_matrices_write_one_server_ledger_and_the_dashboard_shows_the_trend(pg_server, tmp_path: Path,
                                                                               monkeypatch) -> None:
    """`matrix --jobs 2 --ledger URL` twice over two served sites: four runs in the server's ledger, each site's
    chain intact, the dashboard reads the trend back."""
    from test_matrix import SUBSET as MATRIX_SUBSET
    from test_matrix import free_port, site_toml

    monkeypatch.chdir(tmp_path)
    url = pg_server.new_database("matrix")
    sites = tmp_path / "sites"
    sites.mkdir()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("pg-a", "pg-b"):
            port = free_port()
            servers.append(subprocess.Popen([sys.executable, "-m", "harness", "platform", "serve", "--port", str(port),
                                             "--db", ":memory:"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
            (sites / f"{name}.toml").write_text(site_toml(name, port), encoding="utf-8")
        for port_file in sites.glob("*.toml"):  # wait for each platform (setup, not a measurement)
            port = int(port_file.read_text(encoding="utf-8").split("127.0.0.1:")[1].split('"')[0])
            _wait_for_health(port)
        runner = CliRunner()
        for out in ("m1", "m2"):
            result = runner.invoke(app, ["matrix", str(sites), "--out", out, "--jobs", "2", "-k", MATRIX_SUBSET,
                                         "--ledger", url])
            assert result.exit_code == 0, result.output
            assert pg_server.password not in result.output
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    assert sorted(r.site_id for r in load_runs(url)) == ["pg-a", "pg-a", "pg-b", "pg-b"]
    report = verify_chain(url)
    assert report.intact and (report.runs, report.chained) == (4, 4), report.render()
    context = build_context(url)
    assert context["totals"]["sites"] == 2 and context["totals"]["runs"] == 4
    assert all(site["runs"] == 2 for site in context["sites"])


def _wait_for_health(port: int) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the platform on port {port} did not start") from None
            time.sleep(0.2)
