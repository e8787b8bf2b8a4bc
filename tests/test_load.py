"""hsa-cert load: shapes and SLOs as data, the user flows against the platform, the evidence, and (slow)
the command end to end: a passing run, a delayed settlement failing its SLO, master + two workers.

Locust patches a process for gevent when imported: the command runs in its own process, and these
tests never import harness.load.locust_run (a test checks that the rest of the harness does not either).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from harness.errors import ConfigError, UsageError
from harness.load import InterfaceStats, judge, load_objectives, load_shape, parse_objective, shape_names
from harness.load.embedded import free_port
from harness.load.plan import make_plan
from harness.load.report import load_document, render_html, render_table
from harness.personas import load_catalogue
from harness.platform.config import PlatformConfig
from harness.platform.server import start_background
from harness.siteconfig import embedded_site
from harness.specs import load_registry

PROFILES = ("hospital-full", "hospital-outpatient", "hospital-inpatient", "pharmacy")


# --- shapes -----------------------------------------------------------------------------------------


def test_every_shape_in_the_data_loads_and_ends_with_the_run() -> None:
    assert {"steady", "ramp", "morning-peak"} <= set(shape_names())
    for name in shape_names():
        shape = load_shape(name)
        assert shape.users_at(0, 60) is not None
        assert shape.users_at(59.9, 60) is not None
        assert shape.users_at(60, 60) is None


def test_the_morning_peak_rises_and_falls() -> None:
    shape = load_shape("morning-peak")
    users = [shape.users_at(t, 100)[0] for t in (5, 30, 70, 95)]  # type: ignore[index]
    assert users[1] == shape.peak_users > users[0] and users[1] > users[2] > users[3]


def test_the_default_shape_is_steady_and_a_rate_cap_takes_the_lower_value() -> None:
    shape = load_shape()
    assert shape.name == "steady"
    assert shape.with_rate_limit(5.0).rate_limit_per_s == 5.0
    assert shape.with_rate_limit(5.0).with_rate_limit(2.0).rate_limit_per_s == 2.0
    assert shape.with_rate_limit(None).rate_limit_per_s == shape.rate_limit_per_s


def test_an_unknown_or_malformed_shape_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown load shape"):
        load_shape("lunchtime")
    bad = tmp_path / "shapes.json"
    bad.write_text(json.dumps({"shapes": {"x": {"stages": [{"until": 0.8, "users": 2}, {"until": 0.4, "users": 1}],
                                                 "flows": {"dental": 1}}}}))
    with pytest.raises(ConfigError) as caught:
        load_shape("x", bad)
    assert "increasing" in caught.value.detail and "flows" in caught.value.detail


# --- SLOs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROFILES)
def test_every_certification_profile_carries_a_settlement_and_an_error_objective(name: str) -> None:
    objectives = load_objectives(name)
    assert any(o.percentile == 99 and o.max_ms == 10000 for o in objectives)  # the seeds' 10 s
    assert any(o.max_error_rate == 0.001 and o.interfaces == ("*",) for o in objectives)


def test_objectives_are_judged_per_interface() -> None:
    stats = {"2207": InterfaceStats(100, 0, 10, 900, 1200), "2304": InterfaceStats(10, 0, 10, 4000, 5000),
             "1101": InterfaceStats(100, 1, 5, 6, 7)}
    verdicts = judge(load_objectives("hospital-full"), stats)
    assert verdicts["settlement-p99"]["holds"] is True
    assert verdicts["outpatient-settlement-p95"]["holds"] is True
    assert verdicts["inpatient-settlement-p95"]["holds"] is False
    assert verdicts["inpatient-settlement-p95"]["per_interface"] == {"2304": {"observed": 4000.0, "holds": False}}
    assert verdicts["error-rate"]["holds"] is False  # 1 in 100 on 1101
    assert verdicts["error-rate"]["per_interface"]["2207"]["holds"] is True


def test_an_objective_with_no_measured_interface_is_not_held() -> None:
    verdicts = judge(load_objectives("hospital-inpatient"), {"2207": InterfaceStats(5, 0, 1, 1, 1)})
    assert verdicts["inpatient-settlement-p95"]["holds"] is False
    assert "no evidence" in verdicts["inpatient-settlement-p95"]["reason"]


def test_command_line_objectives() -> None:
    tight = parse_objective("2207:p95<=300")
    assert (tight.interfaces, tight.percentile, tight.max_ms) == (("2207",), 95, 300.0)
    assert parse_objective("2207/2304:p99<=10000").interfaces == ("2207", "2304")
    assert parse_objective("*:errors<=0.001").max_error_rate == 0.001
    for bad in ("2207:p90<=300", "2207 p95 300", "settle:p95<=1"):
        with pytest.raises(UsageError):
            parse_objective(bad)


def test_an_unknown_certification_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        load_objectives("hospital-dental")


# --- the user flows against the platform (no Locust: plain HTTP with the same plan) -----------------------


@pytest.fixture(scope="module")
def platform_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("load-platform") / "platform.sqlite"
    running = start_background(PlatformConfig(db_path=str(db), seed=load_catalogue().seed))
    yield running.url
    running.stop()


def _plan(url: str, shape: str = "steady"):  # type: ignore[no-untyped-def]
    return make_plan(embedded_site(url, catalogue=load_catalogue()), load_registry(), load_shape(shape))


def _caller(url: str, plan, seen: list[tuple[str, str | None]]):  # type: ignore[no-untyped-def]
    session = requests.Session()

    def call(infno: str, envelope: dict) -> dict | None:
        path, headers, body = plan.request(infno, envelope)
        answer = session.post(url + path, data=body, headers=headers, timeout=10)
        output, problem = plan.judge(infno, answer.status_code, answer.content)
        seen.append((infno, problem))
        return output
    return call


def test_users_sign_in_once_and_their_visits_pass_every_step(platform_url: str) -> None:
    plan = _plan(platform_url)
    seen: list[tuple[str, str | None]] = []
    call = _caller(platform_url, plan, seen)
    users = [plan.new_flow() for _ in range(3)]
    for flow in users:
        assert flow.sign_in(call)
    for flow in users:  # interleaved: concurrent users, each with its own visits
        flow.outpatient(call)
    users[0].inpatient(call)
    assert [p for _, p in seen if p] == []
    sequence = [infno for infno, _ in seen]
    assert sequence[:3] == ["9001"] * 3
    assert sequence[3:9] == ["1101", "2201", "2203", "2204", "2206", "2207"]
    assert sequence[-6:] == ["1101", "2401", "2301", "2402", "2303", "2304"]
    assert len({id(u.person) for u in users}) == 3  # the pool hands out different persons


def test_every_visit_of_a_shape_draws_a_flow_from_the_mix() -> None:
    plan = _plan("http://127.0.0.1:1", "morning-peak")
    kinds = {plan.new_flow().pick_flow() for _ in range(200)}
    assert kinds == {"outpatient", "inpatient"}


def test_a_fast_wrong_answer_counts_as_an_error(platform_url: str) -> None:
    plan = _plan(platform_url)
    seen: list[tuple[str, str | None]] = []
    call = _caller(platform_url, plan, seen)
    flow = plan.new_flow()
    flow.sign_in(call)
    flow.outpatient(call)
    good = json.dumps({"infcode": 0, "output": {}})
    assert plan.judge("2207", 503, b"")[1] == "HTTP 503"
    assert plan.judge("2207", 0, None)[1].startswith("no answer")
    assert plan.judge("2207", 200, b"<html>")[1] == "the answer is not JSON"
    refused = json.dumps({"infcode": -1, "err_msg": "busy"}).encode()
    assert "refused" in plan.judge("2207", 200, refused)[1]
    assert "off-schema" in plan.judge("2207", 200, good.encode())[1]


# --- the evidence ---------------------------------------------------------------------------------------


def _document() -> dict:
    stats = {"2207": InterfaceStats(10, 0, 10, 20, 30), "1101": InterfaceStats(10, 0, 5, 6, 7)}
    verdicts = judge(load_objectives("hospital-outpatient"), stats)
    timeline = [{"t": 1.0, "users": 2, "2207": {"count": 5, "errors": 0, "mean_ms": 12.0}},
                {"t": 2.0, "users": 2, "2207": {"count": 5, "errors": 0, "mean_ms": 14.0},
                 "1101": {"count": 10, "errors": 0, "mean_ms": 5.0}}]
    return load_document(stats, InterfaceStats(20, 0, 6, 20, 30), verdicts, run={"duration_s": 2},
                         timeline=timeline, errors={})


def test_the_load_object_has_per_interface_percentiles_and_slo_verdicts() -> None:
    load = _document()
    row = load["interfaces"]["2207"]
    assert {"count", "errors", "p50_ms", "p95_ms", "p99_ms", "slo"} <= set(row)
    assert row["slo"]["outpatient-settlement-p95"] == {"observed": 20.0, "holds": True}
    assert load["passed"] is True and load["slo"]["error-rate"]["holds"] is True


def test_the_console_table_and_the_html_page() -> None:
    load = _document()
    table = render_table(load, {"2207": "门诊结算"})
    assert "2207" in table and "holds" in table and "FAILS" not in table
    page = render_html(load)
    assert page.count("<polyline") == 2 and "<svg" in page and "<td>2207</td>" in page


def test_the_harness_never_imports_locust_outside_a_load_process() -> None:
    code = ("import sys, harness.cli, harness.load, harness.load.run; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


# --- the command (slow: subprocesses, a real platform, seconds of load) ------------------------------------


def _load(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "load", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout)


def test_a_bad_slo_option_is_a_usage_error_before_anything_starts(tmp_path: Path) -> None:
    proc = _load(tmp_path, "--duration", "5", "--slo", "2207:fast")
    assert proc.returncode == 2, proc.stderr
    assert "--slo" in proc.stderr and "Traceback" not in proc.stderr
    proc = _load(tmp_path)
    assert proc.returncode == 2 and "--duration" in proc.stderr


@pytest.mark.slow
def test_a_short_run_against_the_embedded_platform_holds_every_slo(tmp_path: Path) -> None:
    proc = _load(tmp_path, "--duration", "10", "--out", "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    load = json.loads((tmp_path / "out" / "results.json").read_text())["load"]
    for infno in ("9001", "1101", "2201", "2203", "2204", "2206", "2207"):
        row = load["interfaces"][infno]
        assert row["count"] > 0 and row["errors"] == 0 and 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert load["passed"] is True and all(v["holds"] for v in load["slo"].values())
    assert "<svg" in (tmp_path / "out" / "load.html").read_text()
    assert "every SLO holds" in proc.stdout and "2207" in proc.stdout


@pytest.mark.slow
def test_a_delayed_settlement_fails_the_outpatient_settlement_slo(tmp_path: Path) -> None:
    proc = _load(tmp_path, "--duration", "10", "--out", "out", "--fault", "2207:delay=1500")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    load = json.loads((tmp_path / "out" / "results.json").read_text())["load"]
    assert load["slo"]["outpatient-settlement-p95"]["holds"] is False
    assert load["interfaces"]["2207"]["p95_ms"] >= 1400
    assert load["slo"]["settlement-p99"]["holds"] is True  # 1.5 s is within the seeds' 10 s
    assert "FAILS" in proc.stdout


@pytest.mark.slow
def test_a_master_and_two_workers_produce_one_merged_result(tmp_path: Path) -> None:
    port = str(free_port())
    master = subprocess.Popen([sys.executable, "-m", "harness", "load", "--master", "--expect-workers", "2",
                               "--master-port", port, "--duration", "10", "--out", "out"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = [subprocess.Popen([sys.executable, "-m", "harness", "load", "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", port], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        out, _ = master.communicate(timeout=150)
        worker_out = [w.communicate(timeout=60)[0] for w in workers]
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 0, out + "\n".join(worker_out)
    assert all(w.returncode == 0 for w in workers), worker_out
    load = json.loads((tmp_path / "out" / "results.json").read_text())["load"]
    assert load["workers"] == 2 and load["role"] == "master"
    assert load["interfaces"]["2207"]["count"] > 0 and load["total"]["errors"] == 0
    assert load["passed"] is True


def test_processes_of_a_distributed_run_number_msgids_in_their_own_thousand() -> None:
    site = embedded_site("http://127.0.0.1:1", catalogue=load_catalogue())
    from harness.load.flows import his_for_site

    seqs = {k: {int(his_for_site(site, process_index=k, distributed=True).msgid()[-4:]) for _ in range(50)}
            for k in (1, 2)}
    assert all(1000 <= s < 2000 for s in seqs[1]) and all(2000 <= s < 3000 for s in seqs[2])
    lone = his_for_site(site)
    assert len(lone.msgid()) == len(site.fixmedins_code) + 18


@pytest.mark.slow
def test_a_run_against_a_site_config(tmp_path: Path, platform_url: str) -> None:
    source = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "embedded.toml"
    site = tmp_path / "site.toml"
    site.write_text(source.read_text(encoding="utf-8").replace('base_url = "http://127.0.0.1:8080"',
                                                               f'base_url = "{platform_url}"'), encoding="utf-8")
    proc = _load(tmp_path, "--site", str(site), "--duration", "5", "--out", "out", "--cert-profile",
                 "hospital-outpatient", "--shape", "ramp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    load = json.loads((tmp_path / "out" / "results.json").read_text())["load"]
    assert load["site"]["base_url"] == platform_url and load["shape"]["name"] == "ramp"
    assert load["interfaces"]["2207"]["count"] > 0 and load["total"]["errors"] == 0
    assert set(load["slo"]) == {"settlement-p99", "outpatient-settlement-p95", "error-rate"}


def test_each_objective_becomes_an_allure_result_with_the_page_attached(tmp_path: Path) -> None:
    from harness.load.report import write_evidence

    load = _document()
    load["slo"]["error-rate"]["holds"] = False
    write_evidence(tmp_path, {"load": load}, start_ms=1, stop_ms=2)
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure-results").glob("*-result.json")]
    assert {r["historyId"]: r["status"] for r in results} == {
        "load:settlement-p99": "passed", "load:outpatient-settlement-p95": "passed", "load:error-rate": "failed"}
    attached = {a["source"] for r in results for a in r["attachments"]}
    assert len(attached) == 1 and (tmp_path / "allure-results" / attached.pop()).read_text().startswith("<!doctype")


def test_the_help_lists_every_option(tmp_path: Path) -> None:
    proc = _load(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--site", "--shape", "--duration", "--out", "--slo", "--fault", "--master", "--worker"):
        assert option in proc.stdout
