"""What outpatient, inpatient and pharmacy settlement share up to the amounts: finding the person and the
visit, the refusal checks, the calculation, and `settle_rows`, which hands the amounts to `booking`.

Pre-settlement (2101/2206/2303) runs everything up to the calculation and commits nothing; settlement
(2102/2207/2304) runs the same and then books the result (`booking.commit_settlement`). Kept apart from
`booking` so that what decides a settlement's amounts (and whether it is refused) is read in one place,
and what writes its answer and its stored rows in another.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from harness.model import SchemaViolation
from harness.platform.booking import commit_settlement, setldetail_rows, setlinfo
from harness.platform.calc import ZERO, BenefitRule, FeeClass, SettlementAmounts, dec, settle
from harness.platform.codec import parse_json
from harness.platform.context import Call
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.rules import CROSS_REGION_FILING_KINDS, check_settlement, is_emergency
from harness.platform.state import (
    Person,
    Settlement,
    Visit,
    filings_of,
    find_person_by_cert,
    load_person,
    load_visit,
    pool_used,
    settlements_of_visit,
)

__all__ = [
    "active_settlements",
    "check_sum",
    "compute",
    "person_by_certificate",
    "person_for",
    "run_checks",
    "settle_rows",
    "stored_rows",
    "visit_for",
]

PRESETTLEMENTS = ("2101", "2206", "2206A", "2303")


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


def stored_rows(rows: list[Any]) -> list[FeeClass]:
    return [_fee_class(r["classification"]) for r in rows]


@functools.lru_cache(maxsize=4096)
def _fee_class(text: str) -> FeeClass:
    """A stored classification never changes and FeeClass is immutable: parse each text once."""
    return FeeClass.from_store(parse_json(text))
