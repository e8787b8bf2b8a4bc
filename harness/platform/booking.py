"""Booking a settlement: the setlinfo/setldetail shapes of its answer, committing it and reversing it.

Settlement (2102/2207/2304) issues `setl_id`, echoes the request `msgid` as `medins_setl_id`, debits
the personal account and marks the fee rows as consumed. Reversal (2103/2208/2305) writes a second
settlement row with every amount negated and a new `setl_id`, restores the account and frees the fee
rows, so that reconciliation over the period nets out. The amounts themselves are `settling`'s (and
`calc`'s): this module only writes them out and stores them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.platform.calc import MONEY_FIELD_NAMES, SettlementAmounts, dec
from harness.platform.context import Call
from harness.platform.envelope import EncodedOutput, dump_json, wire_decimal
from harness.platform.refusals import Refusal
from harness.platform.state import (
    Person,
    Settlement,
    cents,
    dumps,
    load_person,
    load_settlement,
    set_balance,
)

__all__ = [
    "MONEY_FIELDS",
    "commit_settlement",
    "reverse",
    "reverse_requested",
    "setldetail_rows",
    "setlinfo",
]

MONEY_FIELDS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hifdm_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt",
)  # fmt: skip
CLR_TYPES = {"outpatient": "11", "chronic": "11", "inpatient": "21", "pharmacy": "41"}
POOL_FUNDS = {"310": ("310100", "城镇职工基本医疗保险统筹基金"), "390": ("390100", "城乡居民基本医疗保险基金")}


def setlinfo(
    call: Call, person: Person, amounts: SettlementAmounts, *, mdtrt_id: str, setl_id: str | None, care: str,
    med_type: str, mdtrt_cert_type: str,
) -> dict[str, Any]:  # fmt: skip
    info: dict[str, Any] = {"mdtrt_id": mdtrt_id}
    if setl_id is not None:
        info["setl_id"] = setl_id
    data = person.data
    info.update(
        psn_no=person.psn_no,
        psn_name=data.get("psn_name"),
        psn_cert_type=data.get("psn_cert_type") or "01",
        certno=data.get("certno"),
        gend=data.get("gend"),
        naty=data.get("naty"),
        brdy=data.get("brdy"),
        age=float(person.age_on(call.today)),
        insutype=person.insutype,
        psn_type=data.get("psn_type"),
        cvlserv_flag=data.get("cvlserv_flag") or "0",
        setl_time=call.now_text,
        mdtrt_cert_type=mdtrt_cert_type,
        med_type=med_type,
    )
    for name in MONEY_FIELD_NAMES:  # the order of SettlementAmounts.money_fields(); none of them is None
        value = getattr(amounts, name)  # as wire_decimal: a zero (either sign) is 0.0, float() costs its str()
        info[name] = float(value) + 0.0 if value else 0.0
    if call.switches.on("psn-part-split-wrong"):
        info["psn_cash_pay"] = info["psn_part_amt"]
    if call.switches.on("float-rounding-error"):
        info["psn_part_amt"] = info["medfee_sumamt"] - info["fund_pay_sumamt"] - info["hosp_part_amt"]
    info["medins_setl_id"] = call.msgid
    if setl_id is not None and call.switches.on("medins-setl-id-not-msgid"):
        info["medins_setl_id"] = setl_id
    info.update(clr_optins=call.mdtrtarea_admvs, clr_way=call.ctx.clr_way, clr_type=CLR_TYPES[care], exp_content="")
    if call.switches.on("code-outside-list"):
        info["clr_way"] = "01" if call.ctx.clr_way == "1" else "1"
    if call.switches.on("output-field-missing"):
        del info["cvlserv_flag"]
    return info


def setldetail_rows(person: Person, amounts: SettlementAmounts) -> list[dict[str, Any]]:
    """The split by fund: one row per fund that took part (here, the basic pool)."""
    code, name = POOL_FUNDS.get(person.insutype[:3], ("999997", "其他基金"))
    cap = amounts.crt_payb_lmt_amt
    return [
        {
            "fund_pay_type": code,
            "inscp_scp_amt": wire_decimal(amounts.inscp_scp_amt),
            "crt_payb_lmt_amt": wire_decimal(cap) if cap is not None else None,
            "fund_payamt": wire_decimal(amounts.hifp_pay),
            "fund_pay_type_name": name,
            "setl_proc_info": (
                f"起付线{amounts.act_pay_dedc}元，统筹支付比例{amounts.pool_prop_selfpay}"
            ),
        }
    ]


def commit_settlement(
    call: Call, person: Person, visit_id: str, rows_ids: list[int], amounts: SettlementAmounts, info: dict[str, Any],
    detail: list[dict[str, Any]], *, care: str, mid_setl_flag: str = "0",
) -> EncodedOutput:  # fmt: skip
    """Store the settlement; returns the output node {setlinfo, setldetail} with its JSON text, which
    the response reuses (so the caller must not change `info` or `detail` afterwards)."""
    setl_id = info["setl_id"]
    info_text, detail_text = dump_json(info), dump_json(detail)
    call.conn.execute(
        "INSERT INTO settlements(setl_id, mdtrt_id, psn_no, fixmedins_code, infno, kind, orig_setl_id, status, msgid,"
        " insutype, clr_type, clr_optins, care, mid_setl_flag, setl_time, medfee_cents, fund_cents, acct_cents,"
        " cash_cents, hifp_cents, setlinfo, setldetail)"
        " VALUES (?, ?, ?, ?, ?, 'settle', NULL, 'settled', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            setl_id, visit_id, person.psn_no, call.fixmedins_code, call.infno, call.msgid, person.insutype,
            info["clr_type"], info["clr_optins"], care, mid_setl_flag, info["setl_time"],
            cents(amounts.medfee_sumamt), cents(amounts.fund_pay_sumamt), cents(amounts.acct_pay),
            cents(amounts.psn_cash_pay), cents(amounts.hifp_pay), info_text, detail_text,
        ),
    )  # fmt: skip
    if not call.switches.on("skip-account-debit") and amounts.balc != person.balc:  # unchanged: nothing to write
        set_balance(call.conn, person.psn_no, amounts.balc)
    if rows_ids:
        marks = ",".join("?" for _ in rows_ids)
        call.conn.execute(f"UPDATE fees SET setl_id = ? WHERE id IN ({marks})", (setl_id, *rows_ids))
    call.effect.update(kind="settlement", setl_id=setl_id, psn_no=person.psn_no, mdtrt_id=visit_id)
    return EncodedOutput({"setlinfo": info, "setldetail": detail},
                         f'{{"setlinfo":{info_text},"setldetail":{detail_text}}}')  # fmt: skip


def _negated_info(original: dict[str, Any], *, balc: Decimal) -> dict[str, Any]:
    info = dict(original)
    for name in MONEY_FIELDS:
        if info.get(name) is not None:
            info[name] = wire_decimal(-dec(info[name]))
    info["balc"] = wire_decimal(balc)
    return info


def reverse(call: Call, settlement: Settlement) -> dict[str, Any]:
    """2103/2208/2305: a negated settlement row, the account restored, the fee rows freed."""
    if settlement.kind != "settle":
        raise Refusal("reversal-unknown")
    if settlement.status != "settled" and not call.switches.on("reverse-twice"):
        raise Refusal("reversal-repeated")
    person = load_person(call.conn, settlement.psn_no)
    if person is None:
        raise Refusal("reversal-unknown")
    acct = dec(settlement.setlinfo.get("acct_pay") or 0)
    balc = person.balc + acct
    setl_id = call.new_id("S", "setl_id")
    info = _negated_info(dict(settlement.setlinfo), balc=balc)
    if call.switches.on("reversal-keeps-sign"):
        info = dict(settlement.setlinfo, balc=wire_decimal(balc))
    info.update(setl_id=setl_id, setl_time=call.now_text, medins_setl_id=call.msgid)
    info["pdn_cash_pay"] = info.get("psn_cash_pay")  # the spec's own spelling in the 2208 table
    detail = [
        dict(row, inscp_scp_amt=_neg(row.get("inscp_scp_amt")), fund_payamt=_neg(row.get("fund_payamt")))
        for row in settlement.setldetail
    ]
    call.conn.execute(
        "INSERT INTO settlements(setl_id, mdtrt_id, psn_no, fixmedins_code, infno, kind, orig_setl_id, status, msgid,"
        " insutype, clr_type, clr_optins, care, mid_setl_flag, setl_time, medfee_cents, fund_cents, acct_cents,"
        " cash_cents, hifp_cents, setlinfo, setldetail)"
        " SELECT ?, mdtrt_id, psn_no, fixmedins_code, ?, 'reversal', setl_id, 'settled', ?, insutype, clr_type,"
        " clr_optins, care, mid_setl_flag, ?, -medfee_cents, -fund_cents, -acct_cents, -cash_cents, -hifp_cents, ?, ?"
        " FROM settlements WHERE setl_id = ?",
        (setl_id, call.infno, call.msgid, call.now_text, dumps(info), dumps(detail), settlement.setl_id),
    )
    call.conn.execute("UPDATE settlements SET status = 'reversed' WHERE setl_id = ?", (settlement.setl_id,))
    set_balance(call.conn, person.psn_no, balc)
    fee_ids = [r["id"] for r in call.conn.execute("SELECT id FROM fees WHERE setl_id = ?", (settlement.setl_id,))]
    call.conn.execute("UPDATE fees SET setl_id = NULL WHERE setl_id = ?", (settlement.setl_id,))
    call.effect.update(
        kind="reversal", setl_id=setl_id, orig_setl_id=settlement.setl_id, psn_no=person.psn_no, fee_ids=fee_ids
    )
    return {"setlinfo": info, "setldetail": detail}


def reverse_requested(call: Call, settle_infno: str, owner: str | None = None) -> dict[str, Any]:
    """2103/2208/2305: reverse the settlement the `data` node names. It must be the caller's own
    (`owner`, default the calling institution), made by `settle_infno`, for that visit and person."""
    data = call.obj("data")
    settlement = load_settlement(call.conn, str(data.get("setl_id") or ""), owner or call.fixmedins_code)
    if (
        settlement is None
        or settlement.infno.rstrip("A") != settle_infno  # 2207A settlements are reversed by 2208 too
        or settlement.mdtrt_id != data.get("mdtrt_id")
        or settlement.psn_no != data.get("psn_no")
    ):
        raise Refusal("reversal-unknown")
    return reverse(call, settlement)


def _neg(value: Any) -> Any:
    return None if value is None else wire_decimal(-dec(value))
