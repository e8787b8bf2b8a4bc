"""Every transaction of the platform, walked in process through `requests` mounted under `responses`,
and every successful answer checked against the output schema."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
import requests
import responses
from platform_samples import CATALOGUE, ENDPOINT, ITEMS, Flow, persona

from harness.platform import Platform, PlatformConfig
from harness.platform.inprocess import mount
from harness.platform.samples import fee_lines, person_input, settle_input, total, visit_input
from harness.specs import load_registry

BASE = "http://platform.test"


@pytest.fixture(scope="module")
def walk() -> Iterator[dict[str, Any]]:
    """One walk through all 44 transactions (41 + the A versions); yields {infno: [(envelope, response), …]}."""
    seen: dict[str, Any] = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        platform = mount(rsps, BASE, PlatformConfig(db_path=":memory:"))
        session = requests.Session()

        def send(envelope: dict[str, Any]) -> dict[str, Any]:
            answer = session.post(BASE + ENDPOINT, json=envelope).json()
            seen.setdefault(envelope["infno"], []).append((envelope, answer))
            return answer

        _walk_everything(Flow(send), Flow(send, CATALOGUE.institution("P52010200001")), session, seen)
        seen["_platform"] = platform
        yield seen
        platform.close()


def _walk_everything(flow: Flow, shop: Flow, session: requests.Session, seen: dict[str, Any]) -> None:
    flow.sign_in()
    shop.sign_in()
    emp, card = persona("filed-employee"), persona("filed-card")
    flow.ok("1101", person_input(card), card)
    flow.ok("2001", {"data": {"psn_no": emp.psn_no, "insutype": "310", "fixmedins_code": flow.his.fixmedins_code,
                              "med_type": "11", "begntime": "2024-06-01 08:00:00"}}, emp)
    # outpatient: a second batch is uploaded and cancelled (2205); a spare registration is cancelled (2202)
    mdtrt_id, amount = flow.register(emp, [("consult", 1), ("cefaclor", 2)])
    flow.ok("2204", {"feedetail": fee_lines(emp, mdtrt_id, [(ITEMS["amoxicillin"], 1)], chrg_bchno="B2",
                                            first_sn=50)}, emp)
    flow.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B2", "psn_no": emp.psn_no}}, emp)
    flow.presettle(emp, mdtrt_id, amount)
    settled = flow.settle(emp, mdtrt_id, amount)["setlinfo"]
    today = settled["setl_time"][:10]
    flow.ok("5201", {"data": {"psn_no": emp.psn_no, "begntime": "2000-01-01 00:00:00",
                              "endtime": "2999-12-31 23:59:59", "med_type": "11"}}, emp)
    flow.ok("5203", {"data": {"psn_no": emp.psn_no, "setl_id": settled["setl_id"], "mdtrt_id": mdtrt_id}}, emp)
    flow.reverse(emp, mdtrt_id, settled["setl_id"])
    spare, _ = flow.register(emp)
    visit = next(e for e, _ in seen["2201"][::-1])["input"]["data"]
    flow.ok("2202", {"data": {"psn_no": emp.psn_no, "mdtrt_id": spare, "ipt_otp_no": visit["ipt_otp_no"]}}, emp)
    # a settlement undone by 冲正
    again, amount2 = flow.register(emp)
    flow.settle(emp, again, amount2)
    flow.ok("2601", {"data": {"psn_no": emp.psn_no, "omsgid": flow.last["msgid"], "oinfno": "2207"}}, emp)
    # the A versions (IF §3.2): 2203A with the maternity facts, 2206A, 2207A, reversed by 2208
    a_visit, amount_a = flow.register(emp)
    visit_a = visit_input(emp, a_visit)
    visit_a["mdtrtinfo"].update(matn_type="", geso_val=0)
    flow.ok("2203A", visit_a, emp)
    flow.ok("2206A", settle_input(emp, a_visit, "B1", amount_a, presettle=True), emp)
    settled_a = flow.ok("2207A", settle_input(emp, a_visit, "B1", amount_a), emp)["setlinfo"]
    flow.reverse(emp, a_visit, settled_a["setl_id"])
    # inpatient: change, fees with a refund, fee cancellation, discharge and its cancellation, interim and final
    emp2 = persona("filed-employee-2")
    stay, rows = flow.admit(emp2, [("bed", 2), ("nursing", 2), ("infusion", 4)])
    admission = seen["2401"][-1][0]["input"]["mdtrtinfo"]
    flow.ok("2403", {"adminfo": {**admission, "mdtrt_id": stay, "ipt_otp_no": admission["ipt_no"]},
                     "diseinfo": []}, emp2)
    refund = fee_lines(emp2, stay, [(ITEMS["infusion"], -1)], first_sn=90, inpatient=True)
    refund[0]["init_feedetl_sn"] = rows[2]["feedetl_sn"]
    flow.ok("2301", {"feedetail": refund}, emp2)
    flow.ok("2302", {"data": [{"feedetl_sn": rows[1]["feedetl_sn"], "mdtrt_id": stay, "psn_no": emp2.psn_no}]}, emp2)
    due = total([rows[0], rows[2], *refund])
    flow.ok("2303", {"data": {**seen["2401"][-1][0]["input"]["mdtrtinfo"], "medfee_sumamt": due, "psn_setlway": "01",
                              "mdtrt_id": stay, "acct_used_flag": "1", "mid_setl_flag": "1"}}, emp2)
    flow.settle_inpatient(emp2, stay, due, mid_setl_flag="1")
    late = fee_lines(emp2, stay, [(ITEMS["nursing"], 1)], first_sn=95, inpatient=True)
    flow.ok("2301", {"feedetail": late}, emp2)
    flow.discharge(emp2, stay)
    flow.ok("2405", {"data": {"mdtrt_id": stay, "psn_no": emp2.psn_no}}, emp2)
    flow.discharge(emp2, stay)
    final = flow.settle_inpatient(emp2, stay, total(late))["setlinfo"]
    flow.reverse(emp2, stay, final["setl_id"], infno="2305")
    cancelled, _ = flow.admit(emp2, [])
    flow.ok("2404", {"data": {"mdtrt_id": cancelled, "psn_no": emp2.psn_no}}, emp2)
    # pharmacy
    drugs = fee_lines(emp, "", [(ITEMS["amoxicillin"], 2)])
    druginfo = {"psn_no": emp.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": emp.certno, "psn_cert_type": "01",
                "certno": emp.certno, "psn_type": emp.psn_type, "psn_name": emp.psn_name,
                "begntime": "2024-06-01 09:00:00", "medfee_sumamt": total(drugs), "insutype": "310",
                "acct_used_flag": "1", "med_type": "41"}
    shop.ok("2101", {"druginfo": druginfo, "drugdetail": drugs}, emp)
    bought = shop.ok("2102", {"druginfo": druginfo, "drugdetail": drugs}, emp)["setlinfo"]
    shop.reverse(emp, bought["mdtrt_id"], bought["setl_id"], infno="2103")
    # filings and their queries
    res = persona("filed-resident")
    sn = flow.ok("2501", {"refmedin": {"psn_no": res.psn_no, "insutype": "390", "diag_code": "J18.900",
                                       "diag_name": "肺炎", "reflin_medins_no": "H51010400001",
                                       "reflin_medins_name": "成都市锦江区人民医院（测试）",
                                       "mdtrtarea_admdvs": "510104",
                                       "hosp_agre_refl_flag": "1", "refl_type": "3", "refl_date": today,
                                       "refl_rea": "病情需要", "refl_opnn": "同意转院", "begndate": today}},
                 res)["result"]["trt_dcla_detl_sn"]
    flow.ok("5304", {"data": {"psn_no": res.psn_no, "begntime": "2000-01-01 00:00:00"}}, res)
    flow.ok("2502", {"data": {"trt_dcla_detl_sn": sn, "psn_no": res.psn_no, "memo": "撤销"}}, res)
    sn = flow.ok("2503", {"data": {"psn_no": res.psn_no, "insutype": "390", "opsp_dise_code": "M01600",
                                   "opsp_dise_name": "糖尿病", "insu_optins": res.insuplc_admdvs,
                                   "ide_fixmedins_no": flow.his.fixmedins_code, "ide_fixmedins_name": "测试医院",
                                   "hosp_ide_date": today, "diag_dr_codg": "D001", "diag_dr_name": "张医生",
                                   "begndate": today}}, res)["result"]["trt_dcla_detl_sn"]
    flow.ok("5301", {"data": {"psn_no": res.psn_no}}, res)
    flow.ok("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": res.psn_no, "memo": "撤销"}}, res)
    sn = flow.ok("2505", {"data": {"psn_no": res.psn_no, "biz_appy_type": "03", "begndate": today, "fix_srt_no": "1",
                                   "fixmedins_code": flow.his.fixmedins_code,
                                   "fixmedins_name": flow.his.fixmedins_name}}, res)["result"]["trt_dcla_detl_sn"]
    flow.ok("5302", {"data": {"psn_no": res.psn_no, "biz_appy_type": "03"}}, res)
    flow.ok("2506", {"data": {"trt_dcla_detl_sn": sn, "psn_no": res.psn_no, "memo": "撤销"}}, res)
    # reconciliation: totals, then details through 9101 / 3202 / 9102
    flow.ok("3201", {"data": {"insutype": "310", "clr_type": "11", "setl_optins": "520102", "stmt_begndate": today,
                              "stmt_enddate": today, "medfee_sumamt": 0, "fund_pay_sumamt": 0, "acct_pay": 0,
                              "fixmedins_setl_cnt": 2}})
    detail = f"{settled['setl_id']}\t{mdtrt_id}\t{emp.psn_no}\t{settled['medfee_sumamt']:.2f}\t" \
             f"{settled['fund_pay_sumamt']:.2f}\t{settled['acct_pay']:.2f}\t0\n"
    upload_env = flow.his.envelope("9101", {"fsUploadIn": {"filename": "detail.txt",
                                                           "fixmedins_code": flow.his.fixmedins_code}})
    import json

    reply = session.post(BASE + ENDPOINT, data={"jsonStr": json.dumps(upload_env, ensure_ascii=False)},
                         files={"file": ("detail.txt", detail.encode())}).json()
    seen.setdefault("9101", []).append((upload_env, reply))
    result = flow.ok("3202", {"data": {"setl_optins": "520102", "file_qury_no": reply["output"]["file_qury_no"],
                                       "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": 0,
                                       "fund_pay_sumamt": 0, "cash_payamt": 0, "fixmedins_setl_cnt": 2,
                                       "clr_type": "11"}})["fileinfo"]
    download = flow.his.envelope("9102", {"fsDownloadIn": {"file_qury_no": result["file_qury_no"],
                                                           "filename": result["filename"],
                                                           "fixmedins_code": flow.his.fixmedins_code}})
    got = session.post(BASE + ENDPOINT, json=download)
    seen["_files"] = {"content_type": got.headers["content-type"], "zip": got.content}
    seen.setdefault("9102", []).append((download, None))
    flow.ok("9002", {"signOut": {"sign_no": flow.his.sign_no, "opter_no": "0001"}})


INTERFACES = [spec.infno for spec in load_registry().interfaces()]


@pytest.mark.parametrize("infno", INTERFACES)
def test_every_transaction_succeeds_with_a_schema_valid_answer(walk: dict[str, Any], infno: str) -> None:
    assert infno in walk, f"{infno} was not exercised"
    validator = load_registry().validator("baseline")
    for envelope, answer in walk[infno]:
        if answer is None:  # 9102 answers a file
            continue
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        problems = validator.validate_response(infno, answer)
        assert not problems, "\n".join(p.render() for p in problems)
        assert answer["inf_refmsgid"][:6] == "520000" and len(answer["inf_refmsgid"]) == 30
        assert len(answer["refmsg_time"]) == len(answer["respond_time"]) == 17
        assert envelope["msgid"]


def test_reconciliation_result_file_is_a_zip_of_tab_separated_rows(walk: dict[str, Any]) -> None:
    files = walk["_files"]
    assert files["content_type"] == "application/octet-stream"
    with zipfile.ZipFile(io.BytesIO(files["zip"])) as archive:
        (name,) = archive.namelist()
        lines = archive.read(name).decode("utf-8").splitlines()
    cols = [line.split("\t") for line in lines]
    assert all(len(c) == 10 for c in cols)
    balanced = [c for c in cols if c[4] == "0"]
    assert len(balanced) == 1 and balanced[0][3]  # the uploaded settlement matches and carries its msgid
    centre_only = [c for c in cols if c[4] == "1"]
    assert centre_only and all(c[1] == c[2] == "" and c[3] for c in centre_only)  # the 2208 row: msgid, no ids


def test_the_walk_leaves_balances_and_the_ledger_consistent(walk: dict[str, Any]) -> None:
    platform: Platform = walk["_platform"]
    emp = persona("filed-employee")
    with platform.db.reading() as conn:
        balc = conn.execute("SELECT balc_cents FROM persons WHERE psn_no = ?", (emp.psn_no,)).fetchone()[0]
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM settlements GROUP BY status").fetchall())
    # every settlement of filed-employee was reversed or 冲正'd: the balance is back where it started
    assert D(balc) / 100 == D(emp.balc)
    assert statuses.get("voided") == 1 and statuses.get("reversed") == 4  # 2208, 2208 of 2207A, 2305, 2103
