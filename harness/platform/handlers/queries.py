"""Queries that let a harness prove state: 5201 visits and 5203 one settlement.

Both see only the calling institution's records (isolation): another institution's visit or
settlement reads as 就诊信息不存在 / 结算信息不存在. A settlement undone by 2601 冲正 no longer
exists; a settlement reversed by 2208/2305/2103 still does, and so does its (negative) reversal.
"""

from __future__ import annotations

from typing import Any

from harness.platform.calc import dec
from harness.platform.context import Call, handler
from harness.platform.envelope import wire_decimal
from harness.platform.refusals import Refusal
from harness.platform.settling import person_for
from harness.platform.state import load_settlement, load_visit


@handler("5201")
def visits(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    begin = str(data.get("begntime") or "")
    end = str(data.get("endtime") or "9999-12-31 23:59:59")
    med_type = str(data.get("med_type") or "")
    sql = "SELECT mdtrt_id FROM visits WHERE psn_no = ? AND fixmedins_code = ? AND begntime BETWEEN ? AND ?"
    args: list[Any] = [person.psn_no, call.fixmedins_code, begin, end]
    if data.get("mdtrt_id"):
        sql += " AND mdtrt_id = ?"
        args.append(data["mdtrt_id"])
    rows = []
    for row in call.conn.execute(sql + " ORDER BY begntime", args).fetchall():
        visit = load_visit(call.conn, row["mdtrt_id"], call.fixmedins_code)
        if visit is None or (med_type and visit.med_type != med_type) or visit.status == "cancelled":
            continue
        info = visit.data.get("mdtrtinfo") or {}
        rows.append({
            "mdtrt_id": visit.mdtrt_id, "psn_no": person.psn_no, "psn_cert_type": person["psn_cert_type"] or "01",
            "certno": person["certno"], "psn_name": person["psn_name"], "gend": person["gend"],
            "naty": person["naty"], "brdy": person["brdy"], "age": float(person.age_on(call.today)),
            "insutype": visit.insutype, "psn_type": person["psn_type"], "cvlserv_flag": person["cvlserv_flag"] or "0",
            "insu_optins": person.insuplc_admdvs, "emp_name": person["emp_name"], "begntime": visit.begntime,
            "endtime": visit.endtime or visit.begntime, "mdtrt_cert_type": info.get("mdtrt_cert_type"),
            "med_type": visit.med_type, "ipt_otp_no": visit.ipt_otp_no, "dise_codg": visit.dise_codg or None,
        })  # fmt: skip
    if data.get("mdtrt_id") and not rows:
        raise Refusal("not-found")
    return {"mdtrtinfo": rows}


@handler("5203")
def settlement(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    psn_no = str(data.get("psn_no") or "")
    person = person_for(call, psn_no)
    owner = call.fixmedins_code
    if call.switches.on("cross-institution-read"):
        row = call.conn.execute("SELECT fixmedins_code FROM settlements WHERE setl_id = ?", (data.get("setl_id"),))
        owner = next((r["fixmedins_code"] for r in row), owner)
    if load_visit(call.conn, str(data.get("mdtrt_id") or ""), owner) is None:
        raise Refusal("not-found")
    found = load_settlement(call.conn, str(data.get("setl_id") or ""), owner)
    if found is None or found.mdtrt_id != data.get("mdtrt_id") or found.psn_no != psn_no or found.status == "voided":
        raise Refusal("reversal-unknown")
    info = dict(found.setlinfo)
    visit = load_visit(call.conn, found.mdtrt_id, owner)
    info.update(
        pay_loc="4" if person.insuplc_admdvs[:2] != call.mdtrtarea_admvs[:2] else "3",
        fixmedins_code=found.fixmedins_code,
        fixmedins_name=call.institution.fixmedins_name or str(call.envelope.get("fixmedins_name") or ""),
        begndate=(visit.begntime if visit else found.setl_time)[:10],
        enddate=((visit.endtime or found.setl_time) if visit else found.setl_time)[:10],
        psn_pay=info.get("psn_part_amt"),
        cash_payamt=info.get("psn_cash_pay"),
        refd_setl_flag="1" if found.kind == "reversal" else "0",
        year=found.setl_time[:4],
        balc=wire_decimal(dec(info.get("balc") or 0)),
    )
    return {"setlinfo": info, "setldetail": list(found.setldetail)}
