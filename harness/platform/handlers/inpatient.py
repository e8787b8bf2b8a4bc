"""Inpatient: admission 2401/2403/2404, fee details 2301/2302, discharge 2402/2405, settlement
2303 (pre-settlement and interim, `mid_setl_flag`), 2304 and its reversal 2305.

Admission is never refused for a missing filing: a person admitted without one may file during
the stay (补备案) and is then settled directly; the filing is checked at (pre-)settlement.
Refund rows (退单) are 2301 rows with a negative `cnt` that name the original row in
`init_feedetl_sn`, at the original unit price, for no more than what is left of it.
An interim settlement (`mid_setl_flag` 1) settles the rows uploaded so far and leaves the stay
open; the final settlement (`mid_setl_flag` 0) needs the discharge (2402) and happens once.
"""

from __future__ import annotations

import json
from typing import Any

from harness.platform.booking import reverse_requested
from harness.platform.calc import dec
from harness.platform.context import Call, handler
from harness.platform.handlers.outpatient import _insert_visit, check_identity, fee_input, store_fee
from harness.platform.refusals import Refusal
from harness.platform.settling import (
    active_settlements,
    check_sum,
    person_for,
    run_checks,
    settle_rows,
    stored_rows,
    visit_for,
)
from harness.platform.state import SETTLING_COLUMNS, active_fees, has_live_settlement, update_visit


def _final_settlement(call: Call, mdtrt_id: str) -> bool:
    return has_live_settlement(call.conn, mdtrt_id, final_only=True)


@handler("2401")
def admit(call: Call) -> dict[str, Any]:
    info = call.obj("mdtrtinfo")
    person = person_for(call, str(info.get("psn_no") or ""))
    check_identity(person, info)
    if info.get("insutype") != person.insutype:
        raise Refusal("", f"参保人无险种 {info.get('insutype')} 的有效参保信息")
    mdtrt_id = call.new_id("M", "mdtrt_id")
    _insert_visit(call, mdtrt_id=mdtrt_id, psn_no=person.psn_no, kind="inpatient", insutype=person.insutype,
                  med_type=str(info.get("med_type") or "21"), begntime=str(info.get("begntime") or call.now_text),
                  ipt_otp_no=str(info.get("ipt_no") or ""), dise_codg=str(info.get("dise_codg") or ""),
                  data={"mdtrtinfo": info, "diseinfo": call.node("diseinfo") or [],
                        "exp_content": info.get("exp_content")})  # fmt: skip
    return {"result": {"mdtrt_id": mdtrt_id, "exp_content": ""}}


@handler("2403")
def change_admission(call: Call) -> None:
    info = call.obj("adminfo")
    visit = visit_for(call, str(info.get("mdtrt_id") or ""), str(info.get("psn_no") or ""), "inpatient")
    if _final_settlement(call, visit.mdtrt_id):
        raise Refusal("", "该就诊已结算，不能变更入院信息")
    diseinfo = {d.get("diag_srt_no"): d for d in visit.data.get("diseinfo", []) if isinstance(d, dict)}
    for row in call.node("diseinfo") or []:
        diseinfo[row.get("diag_srt_no")] = row  # same sort number updates, a new one adds
    data = dict(visit.data, adminfo=info, diseinfo=list(diseinfo.values()))
    update_visit(call.conn, visit.mdtrt_id, begntime=str(info.get("begntime") or visit.begntime),
                 med_type=str(info.get("med_type") or visit.med_type),
                 ipt_otp_no=str(info.get("ipt_otp_no") or visit.ipt_otp_no), data=data)  # fmt: skip
    return None


@handler("2404")
def cancel_admission(call: Call) -> None:
    data = call.obj("data")
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), str(data.get("psn_no") or ""), "inpatient")
    if active_settlements(call, visit.mdtrt_id):
        raise Refusal("", "该就诊已结算，不能撤销入院")
    update_visit(call.conn, visit.mdtrt_id, status="cancelled")
    call.conn.execute("UPDATE fees SET status = 'cancelled' WHERE mdtrt_id = ?", (visit.mdtrt_id,))
    return None


@handler("2402")
def discharge(call: Call) -> None:
    info = call.obj("dscginfo")
    visit = visit_for(call, str(info.get("mdtrt_id") or ""), str(info.get("psn_no") or ""), "inpatient")
    if visit.status == "discharged":
        raise Refusal("", "该就诊已办理出院")
    data = dict(visit.data, dscginfo=info, dscg_diseinfo=call.node("diseinfo") or [])
    update_visit(call.conn, visit.mdtrt_id, status="discharged", endtime=str(info.get("endtime") or call.now_text),
                 discharged_at=call.now_precise, data=data)  # fmt: skip
    return None


@handler("2405")
def cancel_discharge(call: Call) -> None:
    data = call.obj("data")
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), str(data.get("psn_no") or ""), "inpatient")
    if visit.status != "discharged":
        raise Refusal("", "该就诊未办理出院")
    if _final_settlement(call, visit.mdtrt_id):
        raise Refusal("", "该就诊已结算，不能撤销出院")
    update_visit(call.conn, visit.mdtrt_id, status="open", endtime=None, discharged_at=None)
    return None


def _check_refund(call: Call, mdtrt_id: str, row: dict[str, Any]) -> None:
    original_sn = str(row.get("init_feedetl_sn") or "")
    if not original_sn:
        raise Refusal("", f"退单明细 {row.get('feedetl_sn')} 未填写原费用流水号")
    rows = call.conn.execute(
        "SELECT data, feedetl_sn, init_feedetl_sn FROM fees WHERE mdtrt_id = ? AND status = 'active'"
        " AND (feedetl_sn = ? OR init_feedetl_sn = ?)",
        (mdtrt_id, original_sn, original_sn),
    ).fetchall()
    original = next((json.loads(r["data"]) for r in rows if r["feedetl_sn"] == original_sn), None)
    if original is None:
        raise Refusal("", f"原费用明细 {original_sn} 不存在")
    if dec(original.get("pric")) != dec(row.get("pric")):
        raise Refusal("", f"退单单价与原费用明细 {original_sn} 不一致")
    left = dec(original.get("cnt")) + sum(dec(json.loads(r["data"]).get("cnt")) for r in rows if r["init_feedetl_sn"])
    if -dec(row.get("cnt")) > left:
        raise Refusal("", f"退单数量超过原费用明细 {original_sn} 的剩余数量")


@handler("2301")
def upload_inpatient_fees(call: Call) -> dict[str, Any]:
    results = []
    for row in call.rows("feedetail"):
        visit = visit_for(call, str(row.get("mdtrt_id") or ""), str(row.get("psn_no") or ""), "inpatient")
        if _final_settlement(call, visit.mdtrt_id):
            raise Refusal("", "该就诊已结算，不能上传费用明细")
        fee = fee_input(row)
        if fee.cnt < 0:
            _check_refund(call, visit.mdtrt_id, row)
        results.append(store_fee(call, visit.mdtrt_id, row, fee, chrg_bchno=""))
    call.effect.update(kind="fees")
    return {"result": results}


@handler("2302")
def cancel_inpatient_fees(call: Call) -> None:
    for row in call.rows("data"):
        visit = visit_for(call, str(row.get("mdtrt_id") or ""), str(row.get("psn_no") or ""), "inpatient")
        sn = str(row.get("feedetl_sn") or "")
        fees = active_fees(call.conn, visit.mdtrt_id, unsettled_only=False)
        chosen = [f for f in fees if sn == "0000" or f["feedetl_sn"] == sn]
        if sn != "0000" and any(f["setl_id"] for f in chosen):
            raise Refusal("", f"费用明细 {sn} 已结算，不能撤销")
        unsettled = [f["id"] for f in chosen if not f["setl_id"]]
        if not unsettled:
            raise Refusal("", f"费用明细 {sn} 不存在")
        marks = ",".join("?" for _ in unsettled)
        call.conn.execute(f"UPDATE fees SET status = 'cancelled' WHERE id IN ({marks})", unsettled)
    return None


def _settle_inpatient(call: Call, *, commit: bool) -> dict[str, Any]:
    data = call.obj("data")
    psn_no = str(data.get("psn_no") or "")
    person = person_for(call, psn_no)
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), psn_no, "inpatient")
    if _final_settlement(call, visit.mdtrt_id):
        raise Refusal("duplicate-settlement")
    interim = str(data.get("mid_setl_flag") or "0") == "1"
    fee_rows = active_fees(call.conn, visit.mdtrt_id, columns=SETTLING_COLUMNS)
    rows = stored_rows(fee_rows)
    run_checks(call, person, visit, care="inpatient", med_type=visit.med_type, dise_codg=visit.dise_codg,
               presented_cert_type=data.get("mdtrt_cert_type"), exp_content=data.get("exp_content"))  # fmt: skip
    check_sum(rows, data.get("medfee_sumamt"))
    if commit and not interim and visit.status != "discharged":
        raise Refusal("", "未办理出院，不能进行出院结算（中途结算请传中途结算标志1）")
    return settle_rows(call, person, rows, fee_rows, data, commit=commit, mdtrt_id=visit.mdtrt_id, care="inpatient",
                       med_type=visit.med_type, mid_setl_flag="1" if interim else "0")


@handler("2303")
def presettle_inpatient(call: Call) -> dict[str, Any]:
    return _settle_inpatient(call, commit=False)


@handler("2304")
def settle_inpatient(call: Call) -> dict[str, Any]:
    return _settle_inpatient(call, commit=True)


@handler("2305")
def reverse_inpatient(call: Call) -> dict[str, Any]:
    return reverse_requested(call, "2304")
