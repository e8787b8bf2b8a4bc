"""Outpatient: registration 2201/2202, visit 2203, fee details 2204/2205, settlement 2206/2207/2208.

Flow (interface-facts §6.1): 2201 issues `mdtrt_id` → 2203 records med_type and diagnoses →
2204 uploads fee rows per charge batch (`chrg_bchno`) and answers each row's classification →
2206 pre-settles a batch (nothing committed) → 2207 settles it → 2208 reverses the settlement.
A visit holds at most one live settlement: a second 2207 is refused as a duplicate until 2208
reverses the first (the fee rows then become settleable again).
"""

from __future__ import annotations

from typing import Any

from harness.platform.booking import reverse_requested
from harness.platform.calc import FeeInput, classify, dec
from harness.platform.codec import dump_json
from harness.platform.context import Call, handler
from harness.platform.dialect import speak
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.settling import (
    check_sum,
    person_for,
    run_checks,
    settle_rows,
    stored_rows,
    visit_for,
)
from harness.platform.state import SETTLING_COLUMNS, active_fees, cents, dumps, has_live_settlement, update_visit

ALL_BATCHES = "0000"


def _insert_visit(call: Call, *, mdtrt_id: str, psn_no: str, kind: str, insutype: str, med_type: str,
                  begntime: str, ipt_otp_no: str, dise_codg: str, data: dict[str, Any]) -> None:  # fmt: skip
    call.conn.execute(
        "INSERT INTO visits(mdtrt_id, fixmedins_code, psn_no, kind, insutype, med_type, begntime, status,"
        " ipt_otp_no, insuplc_admdvs, mdtrtarea_admvs, dise_codg, created_at, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
        (mdtrt_id, call.fixmedins_code, psn_no, kind, insutype, med_type, begntime, ipt_otp_no, call.insuplc_admdvs,
         call.mdtrtarea_admvs, dise_codg, call.now_text, dumps(data)),
    )  # fmt: skip
    call.effect.update(kind="visit", mdtrt_id=mdtrt_id, psn_no=psn_no)


def check_identity(person: Any, data: dict[str, Any]) -> None:
    """Cross-region identity fields, when given, must be the person's own."""
    for field in ("certno", "psn_name"):
        given = data.get(field)
        if given and given != person[field]:
            raise Refusal("", "证件号码或姓名与人员编号不一致")


@handler("2201")
def register(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    check_identity(person, data)
    if data.get("insutype") != person.insutype:
        raise Refusal("", f"参保人无险种 {data.get('insutype')} 的有效参保信息")
    mdtrt_id = call.new_id("M", "mdtrt_id")
    _insert_visit(call, mdtrt_id=mdtrt_id, psn_no=person.psn_no, kind="outpatient", insutype=person.insutype,
                  med_type="11", begntime=str(data.get("begntime") or call.now_text),
                  ipt_otp_no=str(data.get("ipt_otp_no") or ""), dise_codg="", data={"register": data})  # fmt: skip
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_otp_no": data.get("ipt_otp_no"),
                     "exp_content": ""}}  # fmt: skip


@handler("2202")
def cancel_registration(call: Call) -> None:
    data = call.obj("data")
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), str(data.get("psn_no") or ""), "outpatient")
    if has_live_settlement(call.conn, visit.mdtrt_id):
        raise Refusal("", "该就诊已结算，不能撤销挂号")
    update_visit(call.conn, visit.mdtrt_id, status="cancelled")
    call.conn.execute("UPDATE fees SET status = 'cancelled' WHERE mdtrt_id = ? AND setl_id IS NULL", (visit.mdtrt_id,))
    return None


@handler("2203")
def visit_info(call: Call) -> None:
    info = call.obj("mdtrtinfo")
    visit = visit_for(call, str(info.get("mdtrt_id") or ""), str(info.get("psn_no") or ""), "outpatient")
    if has_live_settlement(call.conn, visit.mdtrt_id):
        raise Refusal("", "该就诊已结算，不能修改就诊信息")
    data = dict(visit.data, mdtrtinfo=info, diseinfo=call.node("diseinfo") or [])
    if info.get("exp_content"):
        data["exp_content"] = info["exp_content"]
    update_visit(call.conn, visit.mdtrt_id, med_type=str(info.get("med_type") or visit.med_type),
                 dise_codg=str(info.get("dise_codg") or ""), data=data)  # fmt: skip
    return None


def fee_input(row: dict[str, Any]) -> FeeInput:
    try:
        return FeeInput(
            feedetl_sn=str(row.get("feedetl_sn") or ""),
            med_list_codg=str(row.get("med_list_codg") or ""),
            medins_list_codg=str(row.get("medins_list_codg") or ""),
            det_item_fee_sumamt=dec(row.get("det_item_fee_sumamt")),
            cnt=dec(row.get("cnt")),
            pric=dec(row.get("pric")),
            hosp_appr_flag=str(row.get("hosp_appr_flag") or ""),
        )
    except ValueError as exc:
        raise invalid_request(f"/input/feedetail {exc}") from exc


_INSERT_FEE = ("INSERT INTO fees(mdtrt_id, feedetl_sn, chrg_bchno, init_feedetl_sn, amount_cents, classification,"
               " data) VALUES (?, ?, ?, ?, ?, ?, ?)")


def _duplicate(fee: FeeInput) -> Refusal:
    return Refusal("", f"费用明细流水号 {fee.feedetl_sn} 重复上传")


def _classified(call: Call, mdtrt_id: str, row: dict[str, Any], fee: FeeInput,
                *, chrg_bchno: str) -> tuple[tuple[Any, ...], dict[str, Any]]:  # fmt: skip
    """Classify one fee row against the treating catalogue: (the values of its fees row, its result row)."""
    klass = classify(fee, call.ctx.ref.item(fee.med_list_codg, fee.medins_list_codg))
    if klass.known and not klass.mapped:
        call.warn(f"项目 {fee.med_list_codg} 参保地未对照，已按就医地目录等级结算")
    values = (mdtrt_id, fee.feedetl_sn, chrg_bchno, str(row.get("init_feedetl_sn") or ""), cents(klass.amount),
              dump_json(klass.to_store()), dumps(row))  # fmt: skip
    return values, speak(klass.to_result(), call.ctx.profile.code_variants)


def store_fee(call: Call, mdtrt_id: str, row: dict[str, Any], fee: FeeInput, *, chrg_bchno: str) -> dict[str, Any]:
    """Classify one fee row against the treating catalogue, store it, and answer its result row."""
    if call.conn.execute(
        "SELECT 1 FROM fees WHERE mdtrt_id = ? AND feedetl_sn = ? AND status = 'active'", (mdtrt_id, fee.feedetl_sn)
    ).fetchone():
        raise _duplicate(fee)
    values, result = _classified(call, mdtrt_id, row, fee, chrg_bchno=chrg_bchno)
    call.conn.execute(_INSERT_FEE, values)
    return result


@handler("2204")
def upload_fees(call: Call) -> dict[str, Any]:
    """The rows are checked in their order as if each were stored before the next is checked; each visit is
    read once, its stored serial numbers once, and the rows are inserted together at the end (in their order,
    so their ids are what row-by-row inserts gave; a refusal rolls the call back either way)."""
    results = []
    visits: dict[tuple[str, str], str] = {}  # (mdtrt_id, psn_no) -> the visit's mdtrt_id, once found
    serials: dict[str, set[str]] = {}  # mdtrt_id -> the feedetl_sn of its active rows, with this call's
    inserts: list[tuple[Any, ...]] = []
    for row in call.rows("feedetail"):
        key = (str(row.get("mdtrt_id") or ""), str(row.get("psn_no") or ""))
        mdtrt_id = visits.get(key)
        if mdtrt_id is None:
            mdtrt_id = visits[key] = visit_for(call, key[0], key[1], "outpatient").mdtrt_id
        taken = serials.get(mdtrt_id)
        if taken is None:
            if has_live_settlement(call.conn, mdtrt_id):
                raise Refusal("", "该就诊已结算，不能上传费用明细")
            taken = serials[mdtrt_id] = {r[0] for r in call.conn.execute(
                "SELECT feedetl_sn FROM fees WHERE mdtrt_id = ? AND status = 'active'", (mdtrt_id,))}
        fee = fee_input(row)
        if fee.feedetl_sn in taken:
            raise _duplicate(fee)
        taken.add(fee.feedetl_sn)
        values, result = _classified(call, mdtrt_id, row, fee, chrg_bchno=str(row.get("chrg_bchno")))
        inserts.append(values)
        results.append(result)
    call.conn.executemany(_INSERT_FEE, inserts)
    call.effect.update(kind="fees")
    return {"result": results}


@handler("2205")
def cancel_fees(call: Call) -> None:
    data = call.obj("data")
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), str(data.get("psn_no") or ""), "outpatient")
    batch = str(data.get("chrg_bchno") or "")
    rows = active_fees(call.conn, visit.mdtrt_id, unsettled_only=False)
    chosen = [r for r in rows if batch == ALL_BATCHES or r["chrg_bchno"] == batch]
    if batch != ALL_BATCHES and any(r["setl_id"] for r in chosen):
        raise Refusal("", "已结算的费用明细不能撤销")
    unsettled = [r["id"] for r in chosen if not r["setl_id"]]
    if not unsettled:
        raise Refusal("", "没有可撤销的未结算费用明细")
    marks = ",".join("?" for _ in unsettled)
    call.conn.execute(f"UPDATE fees SET status = 'cancelled' WHERE id IN ({marks})", unsettled)
    return None


def _settle_outpatient(call: Call, *, commit: bool) -> dict[str, Any]:
    data = call.obj("data")
    psn_no = str(data.get("psn_no") or "")
    person = person_for(call, psn_no)
    visit = visit_for(call, str(data.get("mdtrt_id") or ""), psn_no, "outpatient")
    settled = has_live_settlement(call.conn, visit.mdtrt_id)
    if settled and not call.switches.on("settle-twice"):
        raise Refusal("duplicate-settlement")
    med_type = str(data.get("med_type") or visit.med_type)
    care = "chronic" if med_type == "14" else "outpatient"
    batch = str(data.get("chrg_bchno") or "")
    fee_rows = [r for r in active_fees(call.conn, visit.mdtrt_id, unsettled_only=not settled, columns=SETTLING_COLUMNS)
                if batch in (ALL_BATCHES, r["chrg_bchno"])]
    rows = stored_rows(fee_rows)
    try:
        run_checks(call, person, visit, care=care, med_type=med_type,
                   dise_codg=str(data.get("dise_codg") or visit.dise_codg),
                   presented_cert_type=data.get("mdtrt_cert_type"), exp_content=data.get("exp_content"))
        if not call.switches.on("sumamt-unchecked"):
            check_sum(rows, data.get("medfee_sumamt"))
    except Refusal as refusal:
        if commit and fee_rows and call.switches.on("refusal-keeps-changes"):
            ids = [r["id"] for r in fee_rows]
            call.conn.execute(f"UPDATE fees SET setl_id = 'REFUSED' WHERE id IN ({','.join('?' for _ in ids)})", ids)
            refusal.keep_changes = True  # type: ignore[attr-defined]  # the pipeline commits this write with the refusal
        raise
    return settle_rows(call, person, rows, fee_rows, data, commit=commit, mdtrt_id=visit.mdtrt_id, care=care,
                       med_type=med_type)


@handler("2206")
def presettle(call: Call) -> dict[str, Any]:
    return _settle_outpatient(call, commit=False)


@handler("2207")
def settle_outpatient(call: Call) -> dict[str, Any]:
    return _settle_outpatient(call, commit=True)


@handler("2208")
def reverse_outpatient(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    setl_id, owner = str(data.get("setl_id") or ""), call.fixmedins_code
    if call.switches.on("cross-institution-reverse"):
        row = call.conn.execute("SELECT fixmedins_code FROM settlements WHERE setl_id = ?", (setl_id,)).fetchone()
        owner = row["fixmedins_code"] if row else owner
    return reverse_requested(call, "2207", owner)
