"""What outpatient, inpatient and pharmacy settlement share: finding the person and the visit,
the refusal checks, the calculation, the setlinfo/setldetail shapes, committing and reversing.

Pre-settlement (2101/2206/2303) runs everything up to the calculation and commits nothing.
Settlement (2102/2207/2304) then issues `setl_id`, echoes the request `msgid` as
`medins_setl_id`, debits the personal account and marks the fee rows as consumed. Reversal
(2103/2208/2305) writes a second settlement row with every amount negated and a new `setl_id`,
restores the account and frees the fee rows, so that reconciliation over the period nets out.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from harness.model import SchemaViolation
from harness.platform.calc import MONEY_FIELD_NAMES, ZERO, BenefitRule, FeeClass, SettlementAmounts, dec, settle
from harness.platform.codec import parse_json
from harness.platform.context import Call
from harness.platform.envelope import EncodedOutput, dump_json, wire_decimal
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.rules import CROSS_REGION_FILING_KINDS, check_settlement, is_emergency
from harness.platform.state import (
    Person,
    Settlement,
    Visit,
    cents,
    dumps,
    filings_of,
    find_person_by_cert,
    load_person,
    load_settlement,
    load_visit,
    pool_used,
    set_balance,
    settlements_of_visit,
)

__all__ = [
    "MONEY_FIELDS",
    "commit_settlement",
    "compute",
    "person_for",
    "reverse",
    "reverse_requested",
    "setldetail_rows",
    "setlinfo",
    "settle_rows",
    "visit_for",
]

MONEY_FIELDS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hifdm_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt",
)  # fmt: skip
PRESETTLEMENTS = ("2101", "2206", "2206A", "2303")
CLR_TYPES = {"outpatient": "11", "chronic": "11", "inpatient": "21", "pharmacy": "41"}
POOL_FUNDS = {"310": ("310100", "城镇职工基本医疗保险统筹基金"), "390": ("390100", "城乡居民基本医疗保险基金")}


def person_for(call: Call, psn_no: str) -> Person:
    """The person of a business call; the envelope must route to the person's insured region.

    Unless the platform's `tolerate` hook lets a wrong or missing `insuplc_admdvs` through (a client judge in its
    default mode, which records the deviation itself): the call is then served as routed to the person's insured
    region, so that what the client does next is judged too.
    """
    person = load_person(call.conn, psn_no) if psn_no else None
    if person is None:
        raise Refusal("", "人员信息不存在")
    home = person.insuplc_admdvs
    problem = ""
    if call.insuplc_admdvs and call.insuplc_admdvs != home:
        problem = f"/insuplc_admdvs 参保地医保区划与人员参保地不一致（人员参保地 {home}）"
    elif not call.insuplc_admdvs and home and home != call.mdtrtarea_admvs:
        problem = f"/insuplc_admdvs 异地就医业务参保地医保区划必填（人员参保地 {home}）"
    if problem:
        tolerate = call.ctx.tolerate
        if tolerate is None or not tolerate(SchemaViolation("/insuplc_admdvs", "ENV.req.insuplc_admdvs", problem,
                                                             expected=home, actual=call.insuplc_admdvs)):
            raise invalid_request(problem)
        call.envelope = {**call.envelope, "insuplc_admdvs": home}  # the recorded request keeps what was sent
    return person


def person_by_certificate(call: Call, cert_no: str) -> Person | None:
    return find_person_by_cert(call.conn, cert_no) if cert_no else None


def visit_for(call: Call, mdtrt_id: str, psn_no: str, kind: str | None = None) -> Visit:
    """An open (not cancelled) visit of this institution; anything else reads as 就诊信息不存在."""
    visit = load_visit(call.conn, mdtrt_id, call.fixmedins_code) if mdtrt_id else None
    if visit is None or visit.psn_no != psn_no or visit.status == "cancelled" or (kind and visit.kind != kind):
        raise Refusal("not-found")
    return visit


def active_settlements(call: Call, mdtrt_id: str) -> list[Settlement]:
    return [s for s in settlements_of_visit(call.conn, mdtrt_id) if s.kind == "settle" and s.status == "settled"]


def run_checks(
    call: Call, person: Person, visit: Visit | None, *, care: str, med_type: str, dise_codg: str,
    presented_cert_type: str | None, exp_content: Any,
) -> None:  # fmt: skip
    insured_region = call.ctx.ref.region(person.insuplc_admdvs)
    filings = filings_of(call.conn, person.psn_no, (*CROSS_REGION_FILING_KINDS, "chronic"))
    emergency = is_emergency(
        [med_type, visit.med_type if visit else None],
        [exp_content, (visit.data.get("exp_content") if visit else None)],
    ) and not call.switches.on("emergency-not-as-filed")
    if call.switches.on("accept-expired-filing"):
        filings = [replace(f, enddate=None) for f in filings]
    if call.switches.on("accept-filed-elsewhere"):
        filings = [replace(f, region=call.mdtrtarea_admvs, fixmedins_codes=()) for f in filings]
    if call.switches.on("accept-lapsed-contributions"):
        person = replace(person, data={**person.data, "contribution": "paid", "insu_stas": "1"})
    if call.switches.on("accept-inactive-card"):
        presented_cert_type = None
    check_settlement(
        person=person,
        presented_cert_type=presented_cert_type,
        cross_region=call.cross_region,
        institution=call.institution,
        insured_region=insured_region,
        care=care,
        med_type=med_type,
        dise_codg=dise_codg,
        emergency=emergency,
        filings=[f for f in filings if f.kind in CROSS_REGION_FILING_KINDS],
        chronic_filings=[f for f in filings if f.kind == "chronic"],
        treating_region=call.mdtrtarea_admvs,
        today=call.today,
        discharged_at=visit.discharged_at if visit else None,
        skip_filing_checks=call.switches.on("accept-not-filed"),
    )


def check_sum(rows: list[FeeClass], medfee_sumamt: Any) -> None:
    total = sum((r.amount for r in rows), ZERO)
    if total != dec(medfee_sumamt).quantize(Decimal("0.01")):
        raise Refusal("sumamt-mismatch")


def compute(call: Call, person: Person, rows: list[FeeClass], *, care: str, use_account: bool) -> SettlementAmounts:
    grade = call.institution.hosp_grade if call.institution.kind != "pharmacy" else None
    rule = call.ctx.ref.benefit_rule(person.insuplc_admdvs, person.insutype, care, grade)
    if rule is None:
        call.warn(f"参保地 {person.insuplc_admdvs} 未配置险种 {person.insutype} 的待遇政策，统筹基金不予支付")
        rule = BenefitRule(ZERO, ZERO, None, call.ctx.ref.has_account(person.insutype))
    unmapped = sorted({r.feedetl_sn for r in rows if r.known and not r.mapped})
    if unmapped:
        call.warn("参保地未对照的项目已按就医地目录等级结算（费用明细流水号 " + "、".join(unmapped) + "）")
    # what the pool paid this year matters only under an annual cap (settle() reads it for nothing else)
    used = pool_used(call.conn, person.psn_no, care, str(call.now.year)) if rule.annual_cap is not None else ZERO
    if call.infno in PRESETTLEMENTS and call.switches.on("presettle-ignores-account"):
        use_account = False
    amounts = settle(rows, rule, pool_used_this_year=used, balance=person.balc, use_account=use_account)
    if amounts.hifp_pay > 0 and call.switches.on("pool-share-truncated"):
        exact = (amounts.inscp_scp_amt - amounts.act_pay_dedc) * rule.pool_ratio
        cut = amounts.hifp_pay - min(exact.quantize(Decimal("0.01"), ROUND_DOWN), amounts.hifp_pay)
        amounts = replace(amounts, hifp_pay=amounts.hifp_pay - cut, fund_pay_sumamt=amounts.fund_pay_sumamt - cut,
                          psn_part_amt=amounts.psn_part_amt + cut, psn_cash_pay=amounts.psn_cash_pay + cut)
    if call.switches.on("shares-dont-add-up"):
        amounts = replace(amounts, psn_part_amt=amounts.psn_part_amt - amounts.preselfpay_amt,
                          psn_cash_pay=amounts.psn_cash_pay - amounts.preselfpay_amt)
    return amounts


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


def settle_rows(
    call: Call, person: Person, rows: list[FeeClass], fee_rows: list[Any], data: Mapping[str, Any], *, commit: bool,
    mdtrt_id: str, care: str, med_type: str, mid_setl_flag: str = "0",
) -> dict[str, Any]:  # fmt: skip
    """The amounts of `rows` for a pre-settlement, or with `commit` a stored settlement that marks the
    `fee_rows` settled; returns the output node {setlinfo, setldetail}. `data` is the request node
    (acct_used_flag, mdtrt_cert_type)."""
    amounts = compute(call, person, rows, care=care, use_account=str(data.get("acct_used_flag")) == "1")
    setl_id = call.new_id("S", "setl_id") if commit else None
    info = setlinfo(call, person, amounts, mdtrt_id=mdtrt_id, setl_id=setl_id, care=care, med_type=med_type,
                    mdtrt_cert_type=str(data.get("mdtrt_cert_type") or ""))  # fmt: skip
    detail = setldetail_rows(person, amounts)
    if commit:
        return commit_settlement(call, person, mdtrt_id, [r["id"] for r in fee_rows], amounts, info, detail,
                                 care=care, mid_setl_flag=mid_setl_flag)  # fmt: skip
    return {"setlinfo": info, "setldetail": detail}


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


def stored_rows(rows: list[Any]) -> list[FeeClass]:
    return [_fee_class(r["classification"]) for r in rows]


@functools.lru_cache(maxsize=4096)
def _fee_class(text: str) -> FeeClass:
    """A stored classification never changes and FeeClass is immutable: parse each text once."""
    return FeeClass.from_store(parse_json(text))
