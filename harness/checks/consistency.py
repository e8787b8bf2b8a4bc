"""Consistency of one settlement answer with itself: the fund total, the account's mutual-aid part, the
fee parts of the total, the signs of the shares, the pool share recomputed from the answer's own ratio,
and the fund rows of setldetail against setlinfo.

Only relations, never golden values: these run on any site's answers. Where the spec states the
relation (湖南 V1.1.27 【2101】【2102】【2206】【2207】【2303】【2304】 重点说明) the check is a MUST; a
relation the spec does not state (the fee partition, the pool share from the ratio, the fund rows of
setldetail) is a SHOULD, reported as an advisory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from typing import Any

from harness.checks.registry import (
    Check,
    CheckContext,
    amount,
    check,
    decimal_of,
    need,
    setlinfo,
    show,
)
from harness.model import Failure, Grade, Severity

CENT = Decimal("0.01")
# Components of fund_pay_sumamt named by the spec (重点说明: 基本医保统筹 + 补充医疗保险 + 医疗救助 + 其他支出).
FUND_PARTS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
# Further funds some provinces return beside them (伤残人员医疗保障基金 hifdm_pay is the spec's own example of
# 其他支出, so a site may count it inside oth_pay or beside it; othfund_pay is a Chongqing extra).
FUND_EXTRAS = ("hifdm_pay", "othfund_pay")
FEE_PARTS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
SHARES = ("fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hifp_pay")
# setldetail rows that are not a fund's payment: the personal account (3102xx) and the hospital's share (999996).
ACCOUNT_FUNDS = ("3102",)
HOSPITAL_SHARE = "999996"
POOL_FUNDS = ("310100", "390100")  # 职工统筹 / 居民基本医保: the row that is hifp_pay


def half_up(value: Decimal) -> Decimal:
    """The spec's rounding of money: 2 places, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _optional(info: Mapping[str, Any], name: str) -> Decimal:
    return amount(info, name)[1] or Decimal(0)


@check("money.fund_sum", "R-MONEY-FUND-SUM")
def money_fund_sum(ctx: CheckContext, chk: Check) -> list[Failure]:
    """fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay
    (+ hifdm_pay / othfund_pay where the site reports those beside oth_pay). A null part counts as 0."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = need(ctx, chk, info, ("fund_pay_sumamt",), "setlinfo")
    if problems:
        return problems
    base = sum((_optional(info, name) for name in FUND_PARTS), Decimal(0))
    extras = [v for v in (decimal_of(info.get(name)) for name in FUND_EXTRAS) if v]
    sums = {base + sum(c, Decimal(0)) for n in range(len(extras) + 1) for c in combinations(extras, n)}
    if values["fund_pay_sumamt"] in sums:
        return []
    parts = " + ".join(f"{name} {show(_optional(info, name))}" for name in FUND_PARTS)
    return [ctx.fail(chk, "fund_pay_sumamt is not the sum of the fund payments", severity=Severity.CRITICAL,
                     expected=base, actual=values["fund_pay_sumamt"], detail=f"{parts} = {show(base)}")]


@check("money.acct_mulaid", "R-MONEY-ACCT-MULAID")
def money_acct_mulaid(ctx: CheckContext, chk: Check) -> list[Failure]:
    """acct_pay includes acct_mulaid_pay: the mutual-aid payment is part of the account payment (same sign,
    not larger)."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    acct, mulaid = decimal_of(info.get("acct_pay")), decimal_of(info.get("acct_mulaid_pay"))
    if acct is None or not mulaid:
        return []  # a missing acct_pay is reported by money.psn_part; no mutual aid: nothing to hold
    if mulaid * acct < 0 or abs(mulaid) > abs(acct):
        return [ctx.fail(chk, "acct_mulaid_pay is not part of acct_pay", severity=Severity.CRITICAL,
                         expected=f"between 0 and {show(acct)}", actual=mulaid,
                         detail="个人账户支出中包含账户共济支付金额 (【2207】重点说明 4)")]
    return []


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


@check("money.fee_parts", "R-MONEY-FEE-PARTS", grade=Grade.SHOULD)
def money_fee_parts(ctx: CheckContext, chk: Check) -> list[Failure]:
    """fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt = medfee_sumamt, each of them
    with the sign of medfee_sumamt and not larger (the national calculation; the spec does not state it)."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = need(ctx, chk, info, ("medfee_sumamt", *FEE_PARTS), "setlinfo")
    if problems:
        return []  # the schema check reports missing required amounts; nothing to relate
    total = values["medfee_sumamt"]
    for name in FEE_PARTS:
        part = values[name]
        if part and (_sign(part) != _sign(total) or abs(part) > abs(total)):
            problems.append(ctx.fail(chk, f"{name} is not a part of medfee_sumamt", expected=f"between 0 and "
                                     f"{show(total)}", actual=part, field=name))
    added = sum((values[name] for name in FEE_PARTS), Decimal(0))
    # The part of a price above its cap that the hospital bears (hosp_part_amt) is in none of the four parts.
    hospital = decimal_of(info.get("hosp_part_amt")) or Decimal(0)
    if not problems and added != total and added + hospital != total:
        problems.append(ctx.fail(chk, "the fee parts do not add up to medfee_sumamt", expected=total, actual=added,
                                 detail=" + ".join(f"{n} {show(values[n])}" for n in FEE_PARTS)))
    return problems


@check("money.shares_signed", "R-MONEY-SUM", grade=Grade.SHOULD)
def money_shares_signed(ctx: CheckContext, chk: Check) -> list[Failure]:
    """Every share of the total (fund, personal, account, cash, pool) has the sign of medfee_sumamt and is not
    larger: a share with the opposite sign can make the sums hold while the split is wrong."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    total = decimal_of(info.get("medfee_sumamt"))
    if total is None:
        return []
    for name in SHARES:
        part = amount(info, name)[1]
        if part and (_sign(part) != _sign(total) or abs(part) > abs(total)):
            problems.append(ctx.fail(chk, f"{amount(info, name)[0]} has the wrong sign or exceeds medfee_sumamt",
                                     expected=f"between 0 and {show(total)}", actual=part, field=name))
    return problems


def _caps(ctx: CheckContext) -> set[Decimal]:
    rows = ctx.output.get("setldetail") if isinstance(ctx.output, Mapping) else None
    caps = (decimal_of(r.get("crt_payb_lmt_amt")) for r in rows or () if isinstance(r, Mapping))
    return {c for c in caps if c is not None}


@check("money.pool_share", "R-MONEY-POOL-SHARE", grade=Grade.SHOULD)
def money_pool_share(ctx: CheckContext, chk: Check) -> list[Failure]:
    """hifp_pay = (inscp_scp_amt - act_pay_dedc) x pool_prop_selfpay, rounded half up to the cent, unless a
    limit the answer names (setldetail crt_payb_lmt_amt) caps it; the ratio lies in [0, 1]; the deductible
    applied is not more than the in-scope amount. Recomputed from the answer's own figures only."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    scope, dedc = decimal_of(info.get("inscp_scp_amt")), decimal_of(info.get("act_pay_dedc")) or Decimal(0)
    ratio, pool = decimal_of(info.get("pool_prop_selfpay")), decimal_of(info.get("hifp_pay"))
    if scope is None or ratio is None or pool is None or scope < 0:
        return []  # a reversal (negative amounts) is compared with its original instead
    if not Decimal(0) <= ratio <= Decimal(1):
        return [ctx.fail(chk, "pool_prop_selfpay is not a ratio between 0 and 1", expected="0 ≤ ratio ≤ 1",
                         actual=ratio)]
    if dedc > scope or dedc < 0:
        problems.append(ctx.fail(chk, "act_pay_dedc exceeds the in-scope amount it is deducted from",
                                 expected=f"between 0 and {show(scope)}", actual=dedc))
        return problems
    expected = half_up((scope - dedc) * ratio)
    if pool == expected or (pool < expected and pool in _caps(ctx)):
        return []
    return [ctx.fail(chk, "hifp_pay is not (inscp_scp_amt - act_pay_dedc) x pool_prop_selfpay", expected=expected,
                     actual=pool, detail=f"({show(scope)} - {show(dedc)}) x {show(ratio)} = "
                     f"{show((scope - dedc) * ratio)}, half up to the cent {show(expected)}; no setldetail "
                     "crt_payb_lmt_amt equals hifp_pay, so no named limit explains the difference")]


def _rows(ctx: CheckContext) -> list[Mapping[str, Any]] | None:
    rows = ctx.output.get("setldetail") if isinstance(ctx.output, Mapping) else None
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else None


def _sums(rows: Iterable[Mapping[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """(fund rows, personal-account rows, hospital-share rows) of setldetail."""
    fund = account = hospital = Decimal(0)
    for row in rows:
        paid = decimal_of(row.get("fund_payamt")) or Decimal(0)
        code = str(row.get("fund_pay_type") or "")
        if code.startswith(ACCOUNT_FUNDS):
            account += paid
        elif code == HOSPITAL_SHARE:
            hospital += paid
        else:
            fund += paid
    return fund, account, hospital


@check("setldetail.funds", "R-SETLDETAIL-FUNDS", grade=Grade.SHOULD)
def setldetail_funds(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The fund rows of setldetail add up to fund_pay_sumamt (rows of the personal account, 3102xx, and of the
    hospital's share, 999996, are the account's and hospital's parts, not the funds'); the basic-pool row
    (310100/390100) pays hifp_pay. The spec lists setldetail as 结算基金分项 without stating the sum: SHOULD."""
    info = ctx.node("setlinfo")
    rows = _rows(ctx)
    if info is None or not rows:
        return []
    fund_total = decimal_of(info.get("fund_pay_sumamt"))
    problems = []
    fund, account, hospital = _sums(rows)
    # Some sites list the account and hospital parts under fund codes of their own, or count them in: accept
    # the row totals with and without those parts against fund_pay_sumamt with and without them.
    acct, hosp = _optional(info, "acct_pay"), _optional(info, "hosp_part_amt")
    listed = {fund, fund + account, fund + hospital, fund + account + hospital}
    if fund_total is not None and not listed & {fund_total, fund_total + acct, fund_total + hosp,
                                                fund_total + acct + hosp}:
        problems.append(ctx.fail(chk, "the setldetail fund rows do not add up to fund_pay_sumamt",
                                 expected=fund_total, actual=fund, detail="rows: " + ", ".join(
                                     f"{r.get('fund_pay_type')} {show(decimal_of(r.get('fund_payamt')))}"
                                     for r in rows)))
    pool_rows = [r for r in rows if str(r.get("fund_pay_type") or "") in POOL_FUNDS]
    pool = decimal_of(info.get("hifp_pay"))
    if len(pool_rows) == 1 and pool is not None and decimal_of(pool_rows[0].get("fund_payamt")) != pool:
        problems.append(ctx.fail(chk, f"setldetail row {pool_rows[0].get('fund_pay_type')} (basic pool) does not pay "
                                 "hifp_pay", expected=pool, actual=decimal_of(pool_rows[0].get("fund_payamt"))))
    return problems
