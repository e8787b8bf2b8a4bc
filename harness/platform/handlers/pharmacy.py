"""Pharmacy: pre-settlement 2101, settlement 2102 (a purchase and its details in one call), 2103.

A purchase has no separate registration: 2102 opens a pharmacy visit, stores the detail rows,
and settles them in one transaction. 2101 computes the same answer and stores nothing (its
`mdtrt_id` is a fresh id that no visit ever takes). Purchases are not pooled by the catalogue's
policies (pool ratio 0); an employee's personal account pays the in-scope part first.
"""

from __future__ import annotations

from typing import Any

from harness.platform.booking import reverse_requested
from harness.platform.calc import classify
from harness.platform.context import Call, handler
from harness.platform.dialect import speak
from harness.platform.handlers.outpatient import _insert_visit, check_identity, fee_input, store_fee
from harness.platform.refusals import Refusal
from harness.platform.settling import (
    check_sum,
    person_for,
    run_checks,
    settle_rows,
    stored_rows,
)
from harness.platform.state import SETTLING_COLUMNS, active_fees


def _cut_info(result_row: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in result_row.items() if k != "lmt_used_flag"}
    row["hosp_part_amt"] = 0.0
    return row


def _pharmacy(call: Call, *, commit: bool) -> dict[str, Any]:
    info = call.obj("druginfo")
    details = call.rows("drugdetail")
    person = person_for(call, str(info.get("psn_no") or ""))
    check_identity(person, info)
    med_type = str(info.get("med_type") or "41")
    care = "chronic" if med_type == "14" else "pharmacy"
    mdtrt_id = call.new_id("M", "mdtrt_id")
    fees = [fee_input(row) for row in details]
    if len({f.feedetl_sn for f in fees}) != len(fees):
        raise Refusal("", "费用明细流水号重复")
    run_checks(call, person, None, care=care, med_type=med_type, dise_codg=str(info.get("dise_codg") or ""),
               presented_cert_type=info.get("mdtrt_cert_type"), exp_content=info.get("exp_content"))  # fmt: skip
    if commit:
        _insert_visit(call, mdtrt_id=mdtrt_id, psn_no=person.psn_no, kind="pharmacy", insutype=person.insutype,
                      med_type=med_type, begntime=str(info.get("begntime") or call.now_text), ipt_otp_no="",
                      dise_codg=str(info.get("dise_codg") or ""), data={"druginfo": info})  # fmt: skip
        pairs = zip(details, fees, strict=True)
        cut = [_cut_info(store_fee(call, mdtrt_id, row, fee, chrg_bchno="")) for row, fee in pairs]
        fee_rows = active_fees(call.conn, mdtrt_id, columns=SETTLING_COLUMNS)
        rows = stored_rows(fee_rows)
    else:
        klasses = [classify(fee, call.ctx.ref.item(fee.med_list_codg, fee.medins_list_codg)) for fee in fees]
        cut = [_cut_info(speak(k.to_result(), call.ctx.profile.code_variants)) for k in klasses]
        rows, fee_rows = klasses, []
    check_sum(rows, info.get("medfee_sumamt"))
    out = settle_rows(call, person, rows, fee_rows, info, commit=commit, mdtrt_id=mdtrt_id, care=care,
                      med_type=med_type)
    return {**out, "detlcutinfo": cut}


@handler("2101")
def presettle_pharmacy(call: Call) -> dict[str, Any]:
    return _pharmacy(call, commit=False)


@handler("2102")
def settle_pharmacy(call: Call) -> dict[str, Any]:
    return _pharmacy(call, commit=True)


@handler("2103")
def reverse_pharmacy(call: Call) -> dict[str, Any]:
    return reverse_requested(call, "2102")
