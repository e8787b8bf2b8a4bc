"""A load run's evidence like a conformance run's: the certificate page in its folder, the ledger entry
(kind "load", SLO verdicts, per-interface figures), `hsa-cert history` showing it, the exit codes
(slow: the command end to end, including a site that cannot be reached)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.load import InterfaceStats, judge, load_objectives
from harness.load.embedded import free_port
from harness.load.report import load_document
from harness.reporting.history import load_history, render_history
from harness.reporting.ledger import append_run, load_runs
from harness.reporting.ledger_load import append_load_run, load_load_runs
from harness.reporting.load_evidence import finish_load_evidence, load_verdict, render_load_certificate


def _document(*, p95_2207: float = 20.0, exit_code: int | None = None, site_name: str = "测试医院",
              run_id: str = "20261207-120000-abcd") -> dict:
    stats = {"2207": InterfaceStats(10, 0, 10, p95_2207, p95_2207 + 10), "1101": InterfaceStats(12, 0, 5, 6, 7)}
    verdicts = judge(load_objectives("hospital-outpatient"), stats)
    run = {"site": {"id": "site-a", "name": site_name, "base_url": "http://127.0.0.1:1"},
           "shape": {"name": "steady", "description": "d"}, "cert_profile": "hospital-outpatient", "duration_s": 60,
           "elapsed_s": 60.0, "peak_users": 6, "workers": 0, "faults": [], "rate_per_s": 0.4}
    load = load_document(stats, InterfaceStats(22, 0, 6, p95_2207, p95_2207 + 10), verdicts, run=run, timeline=[],
                         errors={})
    code = exit_code if exit_code is not None else (0 if load["passed"] else 1)
    return {"run": {"run_id": run_id, "kind": "load", "started_at": "2026-12-07T12:00:00+08:00",
                    "finished_at": "2026-12-07T12:01:00+08:00", "exit_code": code}, "load": load}


def test_the_verdict_follows_the_objectives_and_an_unreached_site_is_incomplete() -> None:
    assert load_verdict(_document()) == "slo met"
    assert load_verdict(_document(p95_2207=1500)) == "slo not met"
    assert load_verdict(_document(exit_code=3)) == "incomplete"


def test_the_certificate_shows_every_objective_and_the_percentiles_per_interface() -> None:
    page = render_load_certificate(_document(p95_2207=1500), digest="d" * 64, interface_names={"2207": "门诊结算"})
    assert "服务水平未达标" in page and "SERVICE LEVELS NOT MET" in page
    for oid in ("settlement-p99", "outpatient-settlement-p95", "error-rate"):
        assert oid in page
    assert "未达标 FAILS" in page and "(fails: 2207)" in page
    assert "门诊结算" in page and ">1500<" in page and ">1510<" in page  # p95 and p99 of 2207
    assert "d" * 64 in page
    passing = render_load_certificate(_document(), digest="", interface_names={})
    assert "服务水平达标" in passing and "FAILS" not in passing


def test_site_values_on_the_certificate_are_escaped() -> None:
    page = render_load_certificate(_document(site_name="<script>x</script>"), digest="")
    assert "<script>x" not in page and "&lt;script&gt;" in page


def test_a_load_run_is_recorded_in_the_ledger_with_its_kind_verdicts_and_figures(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    append_load_run(ledger, _document(), verdict="slo met", out_dir="out1")
    append_load_run(ledger, _document(p95_2207=1500, run_id="r2"), verdict="slo not met", out_dir="out2")
    first, second = load_load_runs(ledger)
    assert (first.kind, first.site_id, first.verdict, first.exit_code) == ("load", "site-a", "slo met", 0)
    assert first.interfaces["2207"] == {"count": 10, "errors": 0, "p50_ms": 10, "p95_ms": 20.0, "p99_ms": 30.0}
    assert second.slo["outpatient-settlement-p95"]["holds"] is False
    assert second.slo["outpatient-settlement-p95"]["per_interface"]["2207"] == {"observed": 1500.0, "holds": False}
    assert (second.answers, second.shape, second.exit_code) == (22, "steady", 1)
    assert load_load_runs(ledger, "another-site") == []
    assert load_runs(ledger) == []  # conformance runs' pass rates, diffs and chain are not touched


def test_history_shows_a_sites_load_runs_and_the_latest_ones_percentiles(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    append_load_run(ledger, _document(), verdict="slo met")
    append_load_run(ledger, _document(p95_2207=1500, run_id="r2"), verdict="slo not met")
    [history] = load_history(ledger)
    assert history.site_id == "site-a" and len(history.load_runs) == 2
    text = render_history([history], {"2207": "门诊结算"})
    assert "load runs" in text and "slo met" in text and "slo not met" in text
    assert "2207 门诊结算" in text and "p95 1500" in text and "FAILS  outpatient-settlement-p95" in text
    assert history.to_json()["load_runs"][1]["verdict"] == "slo not met"


def test_history_keeps_conformance_and_load_runs_of_a_site_together(tmp_path: Path) -> None:
    from reporting_samples import mixed_record

    ledger = tmp_path / "ledger.sqlite"
    record = mixed_record()
    append_run(ledger, record, verdict="certified", exit_code=0)
    document = _document()
    document["load"]["site"]["id"] = record.info.site_id
    append_load_run(ledger, document, verdict="slo met")
    [history] = load_history(ledger)
    assert len(history.runs) == 1 and len(history.load_runs) == 1
    text = render_history([history])
    assert "pass rate per interface" in text and "load runs" in text


def test_finishing_writes_the_certificate_with_the_results_digest_and_records_the_run(tmp_path: Path) -> None:
    document = _document()
    (tmp_path / "results.json").write_text(json.dumps(document), encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    path, verdict = finish_load_evidence(tmp_path, document, ledger=ledger)
    assert verdict == "slo met" and path == tmp_path / "certificate.html"
    digest = hashlib.sha256((tmp_path / "results.json").read_bytes()).hexdigest()
    assert f'content="{digest}"' in path.read_text(encoding="utf-8")
    assert [r.out_dir for r in load_load_runs(ledger)] == [str(tmp_path)]
    finish_load_evidence(tmp_path, {**document, "run": {**document["run"], "run_id": "again"}}, ledger=None)
    assert len(load_load_runs(ledger)) == 1  # ledger=None: not recorded


# --- the command (slow) ------------------------------------------------------------------------------------


def _hsa(tmp_path: Path, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_a_load_run_writes_its_certificate_and_history_shows_it(tmp_path: Path) -> None:
    proc = _hsa(tmp_path, "load", "--duration", "6", "--out", "out", "--ledger", "ledger.sqlite",
                "--fault", "2207:delay=1200")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    page = (tmp_path / "out" / "certificate.html").read_text(encoding="utf-8")
    assert "服务水平未达标" in page and "outpatient-settlement-p95" in page
    [run] = load_load_runs(tmp_path / "ledger.sqlite")
    assert run.verdict == "slo not met" and run.exit_code == 1 and run.interfaces["2207"]["p95_ms"] >= 1100
    history = _hsa(tmp_path, "history", "--ledger", "ledger.sqlite")
    assert history.returncode == 0, history.stderr
    assert run.run_id in history.stdout and "slo not met" in history.stdout


@pytest.mark.slow
def test_a_site_that_cannot_be_reached_is_an_incomplete_run(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "embedded.toml"
    site = tmp_path / "site.toml"
    site.write_text(source.read_text(encoding="utf-8").replace(
        'base_url = "http://127.0.0.1:8080"', f'base_url = "http://127.0.0.1:{free_port()}"'), encoding="utf-8")
    proc = _hsa(tmp_path, "load", "--site", str(site), "--duration", "3", "--out", "out", "--no-ledger")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "incomplete" in proc.stdout and "Traceback" not in proc.stderr
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert document["load"]["incomplete"] is True and document["run"]["exit_code"] == 3
    assert "INCOMPLETE" in (tmp_path / "out" / "certificate.html").read_text(encoding="utf-8")
    assert not (tmp_path / "reports" / "ledger.sqlite").exists()


def test_a_run_that_ends_before_its_verdict_does_not_record_an_earlier_runs_results(tmp_path: Path) -> None:
    from harness.cli.load import _finish

    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(_document(run_id="earlier")), encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    _finish(out, "this-run", str(ledger), False)
    assert not (out / "certificate.html").exists() and not ledger.exists()
    _finish(out, "earlier", str(ledger), False)
    assert (out / "certificate.html").exists() and [r.run_id for r in load_load_runs(ledger)] == ["earlier"]


def test_a_refusal_quoting_a_test_person_is_masked_in_the_evidence(tmp_path: Path) -> None:
    from harness.cli.load import _finish, _identities

    person = _identities(None)[0]
    certno, name = str(person["certno"]), str(person["psn_name"])
    document = _document(run_id="masked")
    document["load"]["errors"] = {f"2207: refused: infcode -1 人员 {name}（{certno}）未备案": 3}
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _finish(out, "masked", None, True)
    for artefact in ("results.json", "certificate.html"):
        text = (out / artefact).read_text(encoding="utf-8")
        assert certno not in text and name not in text and "未备案" in text, artefact
    (out / "results.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _finish(out, "masked", None, True, masked=False)  # --no-mask
    assert certno in (out / "results.json").read_text(encoding="utf-8")
