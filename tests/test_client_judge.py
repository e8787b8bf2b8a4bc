"""The client judge: rules, plans, the built-in HIS's mutation score, `client serve` over real HTTP, checklist."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from harness.cli import app
from harness.client.checklist import checklist_data, checklist_html, checklist_text
from harness.client.selftest import drive, run_selftest
from harness.client.session import ClientSession, load_plan
from harness.errors import ConfigError
from harness.hisdriver import BUGS, HisDriver, Lost, Reply
from harness.judge.request_rules import msgid_problem, msgid_style_problem, null_paths
from harness.model import Grade, Outcome
from harness.personas import load_catalogue
from harness.reporting.console import text_width

ROOT = Path(__file__).resolve().parents[1]


def _must(verdicts: list[Any]) -> set[str]:
    return {f.clause for v in verdicts for f in v.failures if f.grade is Grade.MUST}


def test_msgid_format_and_the_profile_style() -> None:
    assert msgid_problem("H52010200001202401011200000001", "H52010200001") == ""
    assert msgid_problem("H5201020000120240101120000", "H52010200001") == ""
    assert "at most 30" in msgid_problem("9ed92f8df9b94c84888dd56237ff1d7e7", "H52010200001")
    assert "timestamp" in msgid_problem("H52010200001202413011200000001", "H52010200001")
    assert msgid_problem("H52010200002202401011200000001", "H52010200001")
    assert msgid_style_problem("H52010200001202401011200000001", "H52010200001", "code12-ts14-seq4") == ""
    assert "code12-ts14" in msgid_style_problem("H52010200001202401011200000001", "H52010200001", "code12-ts14")


def test_a_spec_msgid_of_the_other_length_is_only_an_advisory_in_guangdong() -> None:
    verdicts = drive("hospital-outpatient", profile="guangdong")
    sign_in = next(v for v in verdicts if v.case_id == "sign-in")
    assert sign_in.outcome is Outcome.PASSED
    assert {(f.clause, f.grade) for f in sign_in.failures} == {("CLI-MSGID-STYLE", Grade.SHOULD)}


def test_null_strings_are_found_anywhere_in_the_message() -> None:
    message = {"sign_no": "null", "input": {"data": {"card_sn": "NULL", "x": ["ok", "null"]}}, "cainfo": ""}
    assert sorted(null_paths(message)) == ["/input/data/card_sn", "/input/data/x/1", "/sign_no"]


def test_conforming_his_passes_every_case_of_every_plan() -> None:
    for plan in ("hospital-outpatient", "hospital-inpatient", "pharmacy", "causes"):
        verdicts = drive(plan)
        assert [v.case_id for v in verdicts if v.outcome is not Outcome.PASSED] == [], plan
        assert [f.clause for v in verdicts for f in v.failures] == [], plan


@pytest.mark.parametrize(("bug", "clause"), [
    ("uuid-msgid", "ENV.req.msgid"), ("no-sign-in", "CLI-SIGN-IN-FIRST"), ("stale-sign-no", "CLI-SIGN-NO-RENEWED"),
    ("wrong-insuplc", "CLI-INSUPLC"), ("empty-mdtrtarea", "ENV.req.mdtrtarea_admvs"),
    ("wrong-api-name", "CLI-API-NAME"), ("no-2601", "CLI-FAULT-RESOLVE"),
    ("new-msgid-resend", "CLI-FAULT-BLIND-RESEND"), ("settle-twice", "CLI-SETTLE-TWICE"),
    ("sumamt-off", "CLI-MONEY-SUM"), ("row-amount-off", "CLI-MONEY-ROW"), ("unknown-setl-id", "CLI-REF-IDS"),
    ("retry-refused", "CLI-REFUSED-RETRY"), ("eod-off", "CLI-EOD-TOTALS"), ("no-visit-info", "CLI-SEQ-ORDER"),
    ("fee-reupload", "CLI-FEE-REUPLOAD"), ("wrong-oinfno", "CLI-REF-IDS"),
])  # fmt: skip
def test_each_planted_client_bug_is_caught_by_its_must_rule(bug: str, clause: str) -> None:
    assert clause in _must(drive("hospital-outpatient", [bug]))


def test_no_discharge_is_caught_on_the_inpatient_plan() -> None:
    assert "CLI-DISCHARGE-FIRST" in _must(drive("hospital-inpatient", ["no-discharge"]))


@pytest.mark.parametrize(("bug", "clause"), [("text-plain", "CLI-CONTENT-TYPE"), ("null-strings", "CLI-NULL-STRING")])
def test_habits_of_the_spec_sample_are_only_advisories(bug: str, clause: str) -> None:
    # the Hunan spec's own envelope sample sends text/plain and "null" in dev_no, dev_safe_info, cainfo
    verdicts = drive("hospital-outpatient", [bug])
    assert all(v.outcome is Outcome.PASSED for v in verdicts)
    graded = {(f.clause, f.grade) for v in verdicts for f in v.failures}
    assert graded == {(clause, Grade.SHOULD)}


def test_selftest_report_shape_and_score() -> None:
    report = run_selftest(plans=("hospital-outpatient", "hospital-inpatient"), bugs=["uuid-msgid", "no-discharge",
                                                                                    "text-plain"])
    assert report["conforming"]["pass_rate"] == 1.0
    assert [(m["name"], m["caught"], m["grade"]) for m in report["mutants"]] == [
        ("uuid-msgid", True, "MUST"), ("no-discharge", True, "MUST"), ("text-plain", True, "SHOULD")]
    assert report["score"] == 1.0
    assert len(BUGS) >= 15


def test_cli_selftest_json_in_ci() -> None:
    result = CliRunner().invoke(app, ["client", "selftest", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["conforming"]["pass_rate"] == 1.0 and report["score"] == 1.0
    assert {"name", "caught"} <= set(report["mutants"][0])
    assert len(report["mutants"]) >= 15 and all(m["caught"] for m in report["mutants"])


def test_a_plan_that_breaks_the_schema_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("plan: bad\ntitle: t\ntitle_zh: t\narea: outpatient\ncases:\n  - id: x\n    title: t\n"
                   "    title_zh: t\n    flow: ['22O7']\n    operator: {do: a, do_zh: a, expect: b, expect_zh: b}\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_plan(str(bad))
    assert "22O7" in info.value.render()


def test_checklist_is_bilingual_in_every_form() -> None:
    plan = load_plan("hospital-outpatient")
    text = checklist_text(plan)
    assert "邹婷婷" in text and "filed-employee" in text and "2207 (lost)" in text and "冲正" in text
    assert max(text_width(line) for line in text.splitlines()) <= 100  # a terminal
    page = checklist_html(plan)
    assert "@page { size: A4" in page and "break-inside: avoid" in page and "应显示 expect" in page
    data = checklist_data(plan)
    assert data["cases"][1]["persona"]["mdtrt_cert_no"] == load_catalogue().persona("filed-employee").mdtrt_cert_no
    assert data["cases"][3]["platform"]["kind"] == "drop-after-commit"


def test_strict_mode_refuses_what_the_default_lets_through() -> None:
    plan = load_plan("hospital-outpatient")
    for strict, expected in ((False, 0), (True, -1)):
        session = ClientSession(plan, strict=strict)
        try:
            driver = HisDriver(_in_process(session), load_catalogue(), session.judge.profile, bugs={"uuid-msgid"})
            answer = driver.send(driver.envelope("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "i"}}))
            assert answer["infcode"] == expected
        finally:
            session.close()


def _in_process(session: ClientSession) -> Any:
    from harness.client.selftest import in_process_post

    return in_process_post(session)


# --- `client serve` over real HTTP, as an outside check would use it -------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_post(base: str) -> Any:
    http = requests.Session()

    def post(path: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            response = http.post(base + path, data=body, headers=headers, timeout=10)
            return Reply(response.status_code, response.content)
        except requests.RequestException as exc:
            raise Lost(str(exc)) from exc

    return post


SHORT_PLAN = """plan: short
title: "Outpatient, without the 35 s delay case"
title_zh: "门诊（不含延迟用例）"
area: outpatient
cases:
"""


def _short_plan(tmp_path: Path) -> Path:
    full = (ROOT / "scenarios" / "client" / "hospital-outpatient.yaml").read_text(encoding="utf-8")
    cases = full.split("cases:\n", 1)[1].split("  - id: ")
    kept = [c for c in cases[1:] if not c.startswith("settlement-timeout")]
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_PLAN + "".join("  - id: " + c for c in kept), encoding="utf-8")
    return path


@pytest.mark.parametrize(("bugs", "exit_code"), [((), 0), (("uuid-msgid",), 1)])
def test_client_serve_judges_a_his_over_http(tmp_path: Path, bugs: tuple[str, ...], exit_code: int) -> None:
    port = _free_port()
    out = tmp_path / "evidence"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    plan_path = _short_plan(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "harness", "client", "serve", "--port", str(port), "--out",
                               str(out), "--plan", str(plan_path), "--profile", "baseline"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(base + "/__admin/session", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        plan = load_plan(str(plan_path))
        from harness.specs import load_registry

        driver = HisDriver(_http_post(base), load_catalogue(), load_registry().profile("baseline"), bugs=set(bugs))
        for case in plan.cases:
            assert requests.post(base + "/__admin/session/case", json={"action": "start", "case": case.id}).ok
            driver.perform(case.id, case.persona)
            requests.post(base + "/__admin/session/case", json={"action": "end", "case": case.id})
        requests.post(base + "/__admin/session/finish", timeout=5)
        assert server.wait(timeout=120) == exit_code, server.stderr.read().decode()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary = results["summary"]
    assert {"total", "passed", "failed", "pass_rate"} <= set(summary) and summary["total"] == len(plan.cases)
    for name in ("junit.xml", "certificate.html", "certification.json", "exchanges.jsonl"):
        assert (out / name).is_file(), name
    assert any((out / "allure-results").glob("*-result.json"))
    if exit_code == 0:
        assert summary["pass_rate"] == 1.0 and results["findings"] == []
    else:
        msgid_findings = [f for f in results["findings"] if f["clause"] == "ENV.req.msgid"]
        assert msgid_findings and all(f["grade"] == "MUST" and len(f["msgid"]) == 32 for f in msgid_findings)
        entry = next(s for s in results["scenarios"] if s["failures"])
        assert {"clause", "grade", "msgid"} <= set(entry["failures"][0])


def test_same_msgid_resend_is_not_a_second_settlement_and_a_refusal_is_not_retried() -> None:
    plan = load_plan("hospital-outpatient")
    session = ClientSession(plan)
    try:
        from harness.platform.samples import fee_lines, register_input, settle_input, sign_in_input, visit_input

        catalogue = load_catalogue()
        driver = HisDriver(_in_process(session), catalogue, session.judge.profile)
        who = catalogue.persona("filed-employee")
        session.start_case("settle")
        driver.his.sign_no = driver.call("9001", sign_in_input())["signinoutb"]["sign_no"]
        driver._person(who)
        mdtrt_id = driver.call("2201", register_input(who, "MZ1"), who)["data"]["mdtrt_id"]
        driver.call("2203", visit_input(who, mdtrt_id), who)
        rows = fee_lines(who, mdtrt_id, [(catalogue.item("consult"), 1)], chrg_bchno="B1")
        driver.call("2204", {"feedetail": rows}, who)
        driver.call("2206", settle_input(who, mdtrt_id, "B1", rows[0]["det_item_fee_sumamt"], presettle=True), who)
        settle = driver.envelope("2207", settle_input(who, mdtrt_id, "B1", rows[0]["det_item_fee_sumamt"]), who)
        first, again = driver.send(settle), driver.send(dict(settle))
        assert first["infcode"] == 0 and again == first  # answered from the record
        session.end_case("settle")
        session.start_case("refused-not-filed")
        nobody = catalogue.persona("not-filed")
        driver._person(nobody)
        mdtrt_id = driver.call("2201", register_input(nobody, "MZ2"), nobody)["data"]["mdtrt_id"]
        driver.call("2203", visit_input(nobody, mdtrt_id), nobody)
        rows = fee_lines(nobody, mdtrt_id, [(catalogue.item("consult"), 1)], chrg_bchno="B2")
        driver.call("2204", {"feedetail": rows}, nobody)
        presettle = driver.envelope("2206", settle_input(nobody, mdtrt_id, "B2", rows[0]["det_item_fee_sumamt"],
                                                         presettle=True), nobody)
        assert driver.send(presettle)["infcode"] == -1
        driver.send(dict(presettle))
        session.end_case("refused-not-filed")
        verdicts = {v.case_id: v for v in session.finish()}
    finally:
        session.close()
    assert [f.clause for f in verdicts["settle"].failures] == []
    assert [f.clause for f in verdicts["refused-not-filed"].failures] == ["CLI-REFUSED-RETRY"]


def test_without_case_marks_exchanges_are_correlated_by_persona_and_flow(tmp_path: Path) -> None:
    full = (ROOT / "scenarios" / "client" / "hospital-outpatient.yaml").read_text(encoding="utf-8")
    cases = full.split("cases:\n", 1)[1].split("  - id: ")
    normal = ("sign-in", "settle", "settle-and-cancel", "refused-not-filed", "end-of-day")
    path = tmp_path / "normal.yaml"
    path.write_text(SHORT_PLAN + "".join("  - id: " + c for c in cases[1:] if c.split("\n", 1)[0] in normal),
                    encoding="utf-8")
    plan = load_plan(str(path))
    session = ClientSession(plan)
    try:
        driver = HisDriver(_in_process(session), load_catalogue(), session.judge.profile)
        for case in plan.cases:  # no case start/end: the judge places each exchange itself
            driver.perform(case.id, case.persona)
        verdicts = session.finish()
    finally:
        session.close()
    assert [(v.case_id, v.outcome) for v in verdicts] == [(c.id, Outcome.PASSED) for c in plan.cases]
    assert [o.infno for o in verdicts[-1].observed] == ["3201", "9002"]
