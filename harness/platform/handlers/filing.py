"""Filings (备案) 2501–2506 and the queries that show them, 5301/5302/5304.

| infno | filing | counts as cross-region |
|---|---|---|
| 2501 转院备案 | `referral`: region `mdtrtarea_admdvs`, institution `reflin_medins_no` | refl_type 2 or 3 |
| 2503 人员慢特病备案 | `chronic`: disease `opsp_dise_code` | no (enables med_type 14) |
| 2505 人员定点备案 | `xregion` (biz_appy_type 06/07/08) else `fixmedins`; region of the named institution | 06/07/08 |

Each answers `result.trt_dcla_detl_sn`. The cancellations (2502/2504/2506) take that number and
the person; an institution cancels only the filings it made itself (seeded filings, made by the
insured person through the insured region, are not the institution's to cancel).
"""

from __future__ import annotations

import json
from typing import Any

from harness.platform.context import Call, handler
from harness.platform.dialect import speak
from harness.platform.refusals import Refusal
from harness.platform.rules import XREGION_BIZ_APPY_TYPES, XREGION_REFL_TYPES
from harness.platform.settling import person_for
from harness.platform.state import Filing, dumps, filings_of, forget_filings, load_filing


def _insert(call: Call, *, psn_no: str, kind: str, biz_appy_type: str = "", region: str = "",
            fixmedins_codes: tuple[str, ...] = (), opsp_dise_code: str = "", begndate: str, enddate: str | None,
            data: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    sn = call.new_id("D", "trt_dcla_detl_sn")
    call.conn.execute(
        "INSERT INTO filings(trt_dcla_detl_sn, psn_no, kind, biz_appy_type, region, fixmedins_codes, opsp_dise_code,"
        " begndate, enddate, status, filed_at, filed_by, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        (sn, psn_no, kind, biz_appy_type, region, json.dumps(list(fixmedins_codes)), opsp_dise_code, begndate,
         enddate or None, call.now_precise, call.fixmedins_code, dumps(data)),
    )  # fmt: skip
    forget_filings(call.conn, psn_no)
    call.effect.update(kind="filing", trt_dcla_detl_sn=sn, psn_no=psn_no)
    return {"result": {"trt_dcla_detl_sn": sn, "exp_content": ""}}


def _cancel(call: Call, kinds: tuple[str, ...]) -> None:
    data = call.obj("data")
    filing = load_filing(call.conn, str(data.get("trt_dcla_detl_sn") or ""))
    if (
        filing is None
        or filing.psn_no != data.get("psn_no")
        or filing.kind not in kinds
        or filing.filed_by != call.fixmedins_code
    ):
        raise Refusal("", "备案信息不存在")
    if filing.status != "active":
        raise Refusal("", "该备案已撤销，不能重复撤销")
    call.conn.execute(
        "UPDATE filings SET status = 'cancelled' WHERE trt_dcla_detl_sn = ?", (filing.trt_dcla_detl_sn,)
    )
    forget_filings(call.conn, filing.psn_no)
    return None


@handler("2501")
def file_referral(call: Call) -> dict[str, Any]:
    data = call.obj("refmedin")
    person = person_for(call, str(data.get("psn_no") or ""))
    refl_type = str(data.get("refl_type") or "")
    return _insert(
        call, psn_no=person.psn_no, kind="referral" if refl_type in XREGION_REFL_TYPES else "referral-local",
        region=str(data.get("mdtrtarea_admdvs") or ""), fixmedins_codes=(str(data.get("reflin_medins_no") or ""),),
        begndate=str(data.get("begndate") or data.get("refl_date") or call.today.isoformat()),
        enddate=data.get("enddate") or None, data=data,
    )  # fmt: skip


@handler("2502")
def cancel_referral(call: Call) -> None:
    return _cancel(call, ("referral", "referral-local"))


@handler("2503")
def file_chronic(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    return _insert(call, psn_no=person.psn_no, kind="chronic", opsp_dise_code=str(data.get("opsp_dise_code") or ""),
                   begndate=str(data.get("begndate") or call.today.isoformat()), enddate=data.get("enddate") or None,
                   data=data)  # fmt: skip


@handler("2504")
def cancel_chronic(call: Call) -> None:
    return _cancel(call, ("chronic",))


@handler("2505")
def file_designated(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    biz = str(data.get("biz_appy_type") or "")
    code = str(data.get("fixmedins_code") or call.fixmedins_code)
    region = call.ctx.ref.institution(code, call.mdtrtarea_admvs).mdtrtarea_admvs
    return _insert(call, psn_no=person.psn_no, kind="xregion" if biz in XREGION_BIZ_APPY_TYPES else "fixmedins",
                   biz_appy_type=biz, region=region, fixmedins_codes=(code,),
                   begndate=str(data.get("begndate") or call.today.isoformat()), enddate=data.get("enddate") or None,
                   data=data)  # fmt: skip


@handler("2506")
def cancel_designated(call: Call) -> None:
    return _cancel(call, ("xregion", "fixmedins"))


def _in_effect(filing: Filing, today: str) -> bool:
    return filing.begndate[:10] <= today and (filing.enddate is None or filing.enddate[:10] >= today)


@handler("5301")
def chronic_filings(call: Call) -> dict[str, Any]:
    person = person_for(call, str(call.obj("data").get("psn_no") or ""))
    today = call.today.isoformat()
    rows = [
        {"opsp_dise_code": f.opsp_dise_code, "opsp_dise_name": f.data.get("opsp_dise_name") or f.opsp_dise_code,
         "begndate": f.begndate[:10], "enddate": f.enddate[:10] if f.enddate else None}
        for f in filings_of(call.conn, person.psn_no, ("chronic",)) if _in_effect(f, today)
    ]  # fmt: skip
    return {"feedetail": rows}


@handler("5302")
def designated_filings(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    biz = str(data.get("biz_appy_type") or "")
    rows = []
    for f in filings_of(call.conn, person.psn_no, ("xregion", "fixmedins")):
        if biz and f.biz_appy_type != biz:
            continue
        codes = f.fixmedins_codes or ("",)
        for i, code in enumerate(codes, start=1):
            inst = call.ctx.ref.institutions.get(code)
            rows.append({
                "psn_no": person.psn_no,
                "insutype": person.insutype,
                "fix_srt_no": str(f.data.get("fix_srt_no") or i),
                "fixmedins_code": code or f.region,
                "fixmedins_name": (inst.fixmedins_name if inst else "") or f.data.get("fixmedins_name")
                or f"{f.region} 全部定点医药机构",
                "begndate": f.begndate[:10],
                "enddate": f.enddate[:10] if f.enddate else None,
                "memo": f"备案号 {f.trt_dcla_detl_sn}，就医地 {f.region}",
            })  # fmt: skip
    return {"psnfixmedin": rows}


@handler("5304")
def referral_filings(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    begin = str(data.get("begntime") or "")[:10]
    end = str(data.get("endtime") or "")[:10] or "9999-12-31"
    rows = []
    for f in filings_of(call.conn, person.psn_no, ("referral", "referral-local")):
        when = str(f.data.get("refl_date") or f.begndate)[:10]
        if not (begin <= when <= end):
            continue
        d = f.data
        rows.append({
            "insutype": d.get("insutype") or person.insutype, "dcla_souc": "01", "psn_no": person.psn_no,
            "psn_cert_type": person["psn_cert_type"] or "01", "certno": person["certno"],
            "psn_name": person["psn_name"],
            "gend": person["gend"], "brdy": person["brdy"], "tel": d.get("tel"), "addr": d.get("addr"),
            "insu_optins": person.insuplc_admdvs, "emp_name": person["emp_name"], "diag_code": d.get("diag_code"),
            "diag_name": d.get("diag_name"), "dise_cond_dscr": d.get("dise_cond_dscr"),
            "reflin_medins_no": d.get("reflin_medins_no"), "reflin_medins_name": d.get("reflin_medins_name"),
            "out_flag": "1" if f.kind == "referral" else "0", "refl_date": when, "refl_rea": d.get("refl_rea"),
            "begndate": f.begndate[:10], "enddate": f.enddate[:10] if f.enddate else None,
            "hosp_agre_refl_flag": d.get("hosp_agre_refl_flag") or "1", "opter_id": None, "opter_name": None,
            "opt_time": f.filed_at[:19],
        })  # fmt: skip
    return {"refmedin": [speak(row, call.ctx.profile.code_variants) for row in rows]}
