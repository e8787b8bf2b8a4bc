"""The reference platform's settlement arithmetic with literal expected amounts (issue 17).

`tools/mutation.py --module platform.calc` plants one-line bugs in `harness/platform/calc.py`; each test
here pins an amount worked out by hand, and each bound: the price cap, the deductible, the annual cap,
the account (balance, in-scope part, personal part), the approval flags, half-up rounding to cents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from harness.platform.calc import (
    MONEY_FIELD_NAMES,
    NO_CAP,
    ZERO,
    BenefitRule,
    CatalogueItem,
    FeeClass,
    FeeInput,
    SettlementAmounts,
    classify,
    dec,
    money,
    settle,
)

D = Decimal


# --- dec / money ---


@pytest.mark.parametrize(("value", "expected"), [
    (D("1.50"), "1.50"), (None, "0"), ("", "0"), (0.1, "0.1"), (2.675, "2.675"), (5, "5"), ("1.50", "1.50"),
    (" 3", "3"),
])
def test_dec(value: Any, expected: str) -> None:
    assert str(dec(value)) == expected


@pytest.mark.parametrize(("value", "message"), [("abc", "not a number: 'abc'"), (True, "not a number: True")])
def test_dec_refuses_what_is_not_a_number(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        dec(value)
    assert str(caught.value) == message and caught.value.__cause__ is not None


@pytest.mark.parametrize(("value", "expected"), [
    ("1.005", "1.01"), ("1.004", "1.00"), ("-1.005", "-1.01"), (2.675, "2.68"), (7, "7.00"), (None, "0.00"),
])
def test_money_rounds_half_up_to_cents(value: Any, expected: str) -> None:
    assert str(money(value)) == expected


# --- classify ---


def item(lv: str = "01", **over: Any) -> CatalogueItem:
    base: dict[str, Any] = {"med_list_codg": "X01", "medins_list_codg": "H-X01", "name": "项目", "chrgitm_lv": lv,
                            "med_chrgitm_type": "09", "pric": D("12")}
    return CatalogueItem(**{**base, **over})


def fee(amount: str, cnt: str, pric: str, appr: str = "") -> FeeInput:
    return FeeInput("7", "X01", "H-X01", D(amount), D(cnt), D(pric), hosp_appr_flag=appr)


def row(amount: str, pric: str, cnt: str, *, cap: Decimal = NO_CAP, prop: str = "0", fulamt: str = "0.00",
        overlmt: str = "0.00", pre: str = "0.00", inscp: str = "0.00", lv: str = "01", lmt: str = "0",
        known: bool = True, mapped: bool = True, memo: str = "", hosp: str = "0.00", kind: str = "09") -> FeeClass:
    return FeeClass("7", D(amount), D(cnt), D(pric), cap, D(prop), D(fulamt), D(overlmt), D(pre), D(inscp), lv,
                    kind, lmt, known=known, mapped=mapped, memo=memo, hosp_part_amt=D(hosp))


def test_an_item_not_in_the_catalogue_is_fully_self_paid() -> None:
    got = classify(fee("36.004", "3", "12"), None)
    assert got == row("36.00", "12", "3", cap=D("12"), prop="1", fulamt="36.00", lv="03", kind="14", known=False,
                      mapped=False, memo="就医地目录无此项目，按全自费处理")
    assert got.hosp_part_amt == ZERO


def test_a_class_c_item_is_fully_self_paid() -> None:
    assert classify(fee("36", "3", "12"), item("03", pric_uplmt_amt=D("10"))) == row(
        "36.00", "12", "3", cap=D("10"), prop="1", fulamt="36.00", lv="03")


def test_a_class_b_item_pays_its_share_after_the_part_above_the_cap() -> None:
    # (12 - 10) x 3 = 6.00 over the cap; 10% of the remaining 30.00 first: 3.00; in scope 27.00
    assert classify(fee("36", "3", "12"), item("02", pric_uplmt_amt=D("10"), selfpay_prop=D("0.1"))) == row(
        "36.00", "12", "3", cap=D("10"), prop="0.1", overlmt="6.00", pre="3.00", inscp="27.00", lv="02")


def test_a_refund_row_comes_out_negative() -> None:
    assert classify(fee("-36", "-3", "12"), item("02", pric_uplmt_amt=D("10"), selfpay_prop=D("0.1"))) == row(
        "-36.00", "12", "-3", cap=D("10"), prop="0.1", overlmt="-6.00", pre="-3.00", inscp="-27.00", lv="02")


def test_a_class_a_item_has_no_share_and_a_price_at_the_cap_is_not_over_it() -> None:
    assert classify(fee("30", "3", "10"), item("01", pric_uplmt_amt=D("10"), selfpay_prop=D("0.1"))) == row(
        "30.00", "10", "3", cap=D("10"), prop="0", inscp="30.00")


def test_the_over_limit_and_share_are_rounded_half_up() -> None:
    # (10.335 - 10) x 3 = 1.005 -> 1.01; (31.005 - 1.01) x 0.15 = 4.49925 -> 4.50
    got = classify(fee("31.005", "3", "10.335"), item("02", pric_uplmt_amt=D("10"), selfpay_prop=D("0.15")))
    assert (got.amount, got.overlmt_amt, got.preselfpay_amt, got.inscp_scp_amt) == (
        D("31.01"), D("1.01"), D("4.50"), D("25.50"))


def test_the_hospital_absorbs_the_over_limit_part_of_a_flagged_item() -> None:
    got = classify(fee("30", "2", "15"), item("01", pric_uplmt_amt=D("10"), overlmt_hosp_part=True))
    assert got == row("30.00", "15", "2", cap=D("10"), overlmt="10.00", inscp="20.00", hosp="10.00")
    plain = classify(fee("30", "2", "15"), item("01", pric_uplmt_amt=D("10")))
    assert plain.hosp_part_amt == ZERO and plain.overlmt_amt == D("10.00")


@pytest.mark.parametrize(("lmt", "appr", "memo"), [
    ("1", "", "限制使用项目未经医院审批，按自费处理"),
    ("1", "0", "限制使用项目未经医院审批，按自费处理"),
    ("1", "2", "限制使用项目未经医院审批，按自费处理"),
    ("0", "2", "医院审批不通过，按自费处理"),
    ("", "2", "医院审批不通过，按自费处理"),
])
def test_the_approval_rule_makes_an_item_self_paid(lmt: str, appr: str, memo: str) -> None:
    got = classify(fee("24", "2", "12", appr), item("01", lmt_used_flag=lmt))
    assert got == row("24.00", "12", "2", prop="1", fulamt="24.00", lmt=lmt, memo=memo)


@pytest.mark.parametrize(("lmt", "appr"), [("1", "1"), ("0", ""), ("0", "0"), ("0", "1")])
def test_an_approved_or_unrestricted_item_is_covered(lmt: str, appr: str) -> None:
    assert classify(fee("24", "2", "12", appr), item("01", lmt_used_flag=lmt)) == row(
        "24.00", "12", "2", inscp="24.00", lmt=lmt)


def test_an_unmapped_item_keeps_its_class_and_says_so() -> None:
    memo = "参保地未对照该项目，按就医地目录等级结算"
    assert classify(fee("24", "2", "12"), item("01", mapped=False)) == row(
        "24.00", "12", "2", inscp="24.00", mapped=False, memo=memo)
    # the unmapped note wins over the approval note; the item is still self-paid
    assert classify(fee("24", "2", "12", "2"), item("01", mapped=False)) == row(
        "24.00", "12", "2", prop="1", fulamt="24.00", mapped=False, memo=memo)


def test_a_result_row_as_the_platform_sends_it() -> None:
    got = classify(fee("36", "3", "12"), item("02", pric_uplmt_amt=D("10"), selfpay_prop=D("0.1")))
    assert got.to_result() == {
        "feedetl_sn": "7", "det_item_fee_sumamt": 36.0, "cnt": 3.0, "pric": 12.0, "pric_uplmt_amt": 10.0,
        "selfpay_prop": 0.1, "fulamt_ownpay_amt": 0.0, "overlmt_amt": 6.0, "preselfpay_amt": 3.0,
        "inscp_scp_amt": 27.0, "chrgitm_lv": "02", "med_chrgitm_type": "09", "bas_medn_flag": "0",
        "hi_nego_drug_flag": "0", "chld_medc_flag": "0", "list_sp_item_flag": "0", "lmt_used_flag": "0",
        "drt_reim_flag": "0", "memo": ""}


def test_a_stored_row_keeps_its_decimals_and_texts() -> None:
    got = classify(fee("30", "2", "15"), item("01", pric_uplmt_amt=D("10"), overlmt_hosp_part=True))
    stored = got.to_store()
    assert stored["hosp_part_amt"] == "10.00" and stored["cnt"] == "2" and stored["known"] is True
    assert stored["memo"] == "" and stored["chrgitm_lv"] == "01"
    assert FeeClass.from_store(stored) == got


# --- settle ---


def rows() -> list[FeeClass]:
    return [
        classify(fee("100", "5", "20"), item("01")),  # in scope 100.00
        classify(fee("36", "3", "12"), item("02", pric_uplmt_amt=D("10"), selfpay_prop=D("0.1"))),
        classify(fee("14", "1", "14"), item("03")),  # self-paid 14.00
        classify(fee("30", "2", "15"), item("01", pric_uplmt_amt=D("10"), overlmt_hosp_part=True)),
    ]


RULE = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap=D("1000"), has_account=True)


def amounts(**over: str | None) -> SettlementAmounts:
    """The settlement of rows() under RULE with 900.00 of the cap used and 50.00 on the account."""
    base: dict[str, str | None] = {
        "medfee_sumamt": "180.00", "fulamt_ownpay_amt": "14.00", "overlmt_selfpay": "6.00", "preselfpay_amt": "3.00",
        "inscp_scp_amt": "147.00", "act_pay_dedc": "10.00", "hifp_pay": "95.90", "pool_prop_selfpay": "0.7",
        "cvlserv_pay": "0.00", "hifes_pay": "0.00", "hifmi_pay": "0.00", "hifob_pay": "0.00", "maf_pay": "0.00",
        "oth_pay": "0.00", "hifdm_pay": "0.00", "fund_pay_sumamt": "95.90", "psn_part_amt": "74.10",
        "acct_pay": "50.00", "acct_mulaid_pay": "0.00", "psn_cash_pay": "24.10", "hosp_part_amt": "10.00",
        "balc": "0.00", "crt_payb_lmt_amt": "100.00"}
    base.update(over)
    return SettlementAmounts(**{k: None if v is None else D(v) for k, v in base.items()})  # type: ignore[arg-type]


def test_a_settlement_worked_out_by_hand() -> None:
    # in scope 147.00; deductible 10.00; pool 0.7 x 137.00 = 95.90 (100.00 of the cap left);
    # personal 180.00 - 95.90 - 10.00 (hospital) = 74.10; account min(50.00, 147.00 - 95.90, 74.10) = 50.00
    got = settle(rows(), RULE, pool_used_this_year=D("900"), balance=D("50"), use_account=True)
    assert got == amounts()
    for name in MONEY_FIELD_NAMES:
        assert str(getattr(got, name)) == str(getattr(amounts(), name)), name  # same exponent too


def test_the_annual_cap_limits_the_pool() -> None:
    got = settle(rows(), RULE, pool_used_this_year=D("950"), balance=D("50"), use_account=True)
    assert got == amounts(hifp_pay="50.00", fund_pay_sumamt="50.00", psn_part_amt="120.00", acct_pay="50.00",
                          psn_cash_pay="70.00", crt_payb_lmt_amt="50.00")
    spent = settle(rows(), RULE, pool_used_this_year=D("1200"), balance=D("0"), use_account=True)
    assert (spent.hifp_pay, spent.crt_payb_lmt_amt, spent.psn_part_amt, spent.acct_pay) == (
        D("0.00"), D("0.00"), D("170.00"), D("0.00"))
    exact = settle(rows(), RULE, pool_used_this_year=D("904.10"), balance=D("0"), use_account=True)
    assert (exact.hifp_pay, exact.crt_payb_lmt_amt) == (D("95.90"), D("95.90"))  # exactly at the cap
    over = settle(rows(), RULE, pool_used_this_year=D("904.11"), balance=D("0"), use_account=True)
    assert (over.hifp_pay, over.crt_payb_lmt_amt) == (D("95.89"), D("95.89"))


def test_the_cap_and_its_use_are_rounded_to_cents() -> None:
    rule = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap=D("1000.004"), has_account=False)
    got = settle(rows(), rule, pool_used_this_year=D("950.005"), balance=D("0"), use_account=False)
    assert got.crt_payb_lmt_amt == D("49.99")  # 1000.00 - 950.01


def test_no_annual_cap() -> None:
    rule = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap=None, has_account=True)
    got = settle(rows(), rule, pool_used_this_year=D("99999"), balance=D("50"), use_account=True)
    assert got == amounts(crt_payb_lmt_amt=None)


@pytest.mark.parametrize(("deductible", "dedc", "hifp"), [
    ("146.99", "146.99", "0.01"), ("147", "147.00", "0.00"), ("200", "147.00", "0.00"), ("0", "0.00", "102.90"),
    ("10.005", "10.01", "95.89"),
])
def test_the_deductible_comes_off_the_in_scope_amount(deductible: str, dedc: str, hifp: str) -> None:
    rule = BenefitRule(deductible=D(deductible), pool_ratio=D("0.7"), annual_cap=None, has_account=False)
    got = settle(rows(), rule, pool_used_this_year=ZERO, balance=ZERO, use_account=False)
    assert (got.act_pay_dedc, got.hifp_pay, got.fund_pay_sumamt) == (D(dedc), D(hifp), D(hifp))


def test_the_pool_share_is_rounded_half_up() -> None:
    rule = BenefitRule(deductible=D("0"), pool_ratio=D("0.5"), annual_cap=None, has_account=False)
    one = [classify(fee("0.05", "1", "0.05"), item("01"))]
    assert settle(one, rule, pool_used_this_year=ZERO, balance=ZERO, use_account=False).hifp_pay == D("0.03")


def test_nothing_in_scope_pays_nothing() -> None:
    only_self_paid = [classify(fee("14", "1", "14"), item("03"))]
    got = settle(only_self_paid, RULE, pool_used_this_year=ZERO, balance=D("50"), use_account=True)
    assert (got.act_pay_dedc, got.hifp_pay, got.psn_part_amt, got.acct_pay, got.psn_cash_pay) == (
        D("0.00"), D("0.00"), D("14.00"), D("0.00"), D("14.00"))
    refund = [classify(fee("-100", "-5", "20"), item("01"))]
    got = settle(refund, RULE, pool_used_this_year=ZERO, balance=ZERO, use_account=False)
    assert (got.inscp_scp_amt, got.act_pay_dedc, got.hifp_pay) == (D("-100.00"), D("0.00"), D("0.00"))
    assert settle([], RULE, pool_used_this_year=ZERO, balance=ZERO, use_account=False) == amounts(
        medfee_sumamt="0.00", fulamt_ownpay_amt="0.00", overlmt_selfpay="0.00", preselfpay_amt="0.00",
        inscp_scp_amt="0.00", act_pay_dedc="0.00", hifp_pay="0.00", fund_pay_sumamt="0.00", psn_part_amt="0.00",
        acct_pay="0.00", psn_cash_pay="0.00", hosp_part_amt="0.00", crt_payb_lmt_amt="1000.00")


@pytest.mark.parametrize(("balance", "acct", "balc"), [
    ("50", "50.00", "0.00"), ("51.10", "51.10", "0.00"), ("60", "51.10", "8.90"), ("0.004", "0.00", "0.00"),
    ("50.005", "50.01", "0.00"), ("0", "0.00", "0.00"), ("-5", "0.00", "-5.00"),
])
def test_the_account_pays_up_to_the_balance_and_the_in_scope_personal_part(balance: str, acct: str,
                                                                           balc: str) -> None:
    got = settle(rows(), RULE, pool_used_this_year=D("900"), balance=D(balance), use_account=True)
    assert (got.acct_pay, got.psn_cash_pay, got.balc) == (D(acct), D("74.10") - D(acct), D(balc))


def test_the_account_is_limited_by_the_personal_part() -> None:
    # a pool paying more than the in-scope amount (ratio above 1) leaves nothing in scope for the account
    rule = BenefitRule(deductible=D("0"), pool_ratio=D("1.2"), annual_cap=None, has_account=True)
    got = settle(rows(), rule, pool_used_this_year=ZERO, balance=D("500"), use_account=True)
    assert (got.hifp_pay, got.psn_part_amt, got.acct_pay, got.balc) == (D("176.40"), D("-6.40"), D("0.00"),
                                                                         D("500.00"))
    # a personal part below the in-scope personal part: the hospital share makes the difference
    flagged = [classify(fee("30", "2", "15"), item("01", pric_uplmt_amt=D("10"), overlmt_hosp_part=True))]
    rule = BenefitRule(deductible=D("0"), pool_ratio=D("0"), annual_cap=None, has_account=True)
    got = settle(flagged, rule, pool_used_this_year=ZERO, balance=D("500"), use_account=True)
    assert (got.inscp_scp_amt, got.psn_part_amt, got.acct_pay, got.psn_cash_pay) == (
        D("20.00"), D("20.00"), D("20.00"), D("0.00"))


@pytest.mark.parametrize(("use", "has"), [(False, True), (True, False), (False, False)])
def test_no_account_payment_without_use_and_an_account(use: bool, has: bool) -> None:
    rule = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap=D("1000"), has_account=has)
    got = settle(rows(), rule, pool_used_this_year=D("900"), balance=D("50"), use_account=use)
    assert got == amounts(acct_pay="0.00", psn_cash_pay="74.10", balc="50.00")


def test_a_reversal_negates_every_money_field_and_keeps_ratio_and_limit() -> None:
    got = amounts().negated(D("50.00"))
    expected = {name: -D(str(getattr(amounts(), name))) for name in MONEY_FIELD_NAMES}
    expected.update(pool_prop_selfpay=D("0.7"), balc=D("50.00"))
    assert got.money_fields() == expected and got.crt_payb_lmt_amt == D("100.00")
    assert got.medfee_sumamt == D("-180.00") and got.hosp_part_amt == D("-10.00") and got.acct_pay == D("-50.00")


def test_the_money_fields_are_every_field_but_the_cap_left() -> None:
    assert MONEY_FIELD_NAMES == (
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
        "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
        "hifdm_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
        "hosp_part_amt", "balc")
    assert list(amounts().money_fields()) == list(MONEY_FIELD_NAMES)


# --- what the first mutation run of the module left alive ---


def test_a_refund_row_at_the_cap_has_no_negative_zero_over_the_cap() -> None:
    got = classify(fee("-30", "-3", "10"), item("01", pric_uplmt_amt=D("10")))
    assert got.to_store()["overlmt_amt"] == "0.00" and got.to_result()["overlmt_amt"] == 0.0
    assert str(got.to_result()["overlmt_amt"]) == "0.0"  # not -0.0


def test_an_in_scope_amount_below_one_yuan_meets_the_deductible() -> None:
    rule = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap=None, has_account=False)
    one = [classify(fee("0.50", "1", "0.50"), item("01"))]
    got = settle(one, rule, pool_used_this_year=ZERO, balance=ZERO, use_account=False)
    assert (got.inscp_scp_amt, got.act_pay_dedc, got.hifp_pay, got.psn_part_amt) == (
        D("0.50"), D("0.50"), D("0.00"), D("0.50"))


@pytest.mark.parametrize(("balance", "acct"), [("0.50", "0.50"), ("1", "1.00"), ("1.01", "1.01")])
def test_a_balance_below_one_yuan_is_used_too(balance: str, acct: str) -> None:
    got = settle(rows(), RULE, pool_used_this_year=D("900"), balance=D(balance), use_account=True)
    assert (got.acct_pay, got.balc) == (D(acct), D("0.00"))


def test_the_account_pays_no_more_than_the_personal_part_when_a_refund_lowers_it() -> None:
    # in scope 100.00, a self-paid refund of -14.00: the person owes 86.00, less than the in-scope part
    mixed = [classify(fee("100", "5", "20"), item("01")), classify(fee("-14", "-1", "14"), item("03"))]
    rule = BenefitRule(deductible=D("0"), pool_ratio=D("0"), annual_cap=None, has_account=True)
    got = settle(mixed, rule, pool_used_this_year=ZERO, balance=D("500"), use_account=True)
    assert (got.medfee_sumamt, got.inscp_scp_amt, got.psn_part_amt, got.acct_pay, got.psn_cash_pay) == (
        D("86.00"), D("100.00"), D("86.00"), D("86.00"), D("0.00"))


# --- settle() against its formulas as first written (issue 16 made it faster; it must compute the same) ---


def _settle_as_written(rows: list[FeeClass], rule: BenefitRule, *, pool_used_this_year: Decimal, balance: Decimal,
                       use_account: bool) -> SettlementAmounts:  # fmt: skip
    """settle() before issue 16: money() at every rounding, six sums, keyword construction."""
    medfee = sum((r.amount for r in rows), ZERO)
    fulamt = sum((r.fulamt_ownpay_amt for r in rows), ZERO)
    overlmt = sum((r.overlmt_amt for r in rows), ZERO)
    preselfpay = sum((r.preselfpay_amt for r in rows), ZERO)
    inscp = sum((r.inscp_scp_amt for r in rows), ZERO)
    hosp_part = sum((r.hosp_part_amt for r in rows), ZERO)
    act_pay_dedc = min(inscp, money(rule.deductible)) if inscp > 0 else ZERO
    hifp = money((inscp - act_pay_dedc) * rule.pool_ratio) if inscp > 0 else ZERO
    cap_left = None
    if rule.annual_cap is not None:
        cap_left = max(money(rule.annual_cap) - money(pool_used_this_year), ZERO)
        hifp = min(hifp, cap_left)
    psn_part = medfee - hifp - hosp_part
    acct = ZERO
    if use_account and rule.has_account and balance > 0:
        acct = max(min(money(balance), inscp - hifp, psn_part), ZERO)
    zero = dict.fromkeys(("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hifdm_pay",
                          "acct_mulaid_pay"), ZERO)  # fmt: skip
    return SettlementAmounts(
        medfee_sumamt=medfee, fulamt_ownpay_amt=fulamt, overlmt_selfpay=overlmt - hosp_part,
        preselfpay_amt=preselfpay, inscp_scp_amt=inscp, act_pay_dedc=act_pay_dedc, hifp_pay=hifp,
        pool_prop_selfpay=rule.pool_ratio, fund_pay_sumamt=hifp, psn_part_amt=psn_part, acct_pay=acct,
        psn_cash_pay=psn_part - acct, hosp_part_amt=hosp_part, balc=money(balance) - acct, crt_payb_lmt_amt=cap_left,
        **zero,
    )  # fmt: skip


def _random_case(rng: Any) -> tuple[list[FeeClass], BenefitRule, Decimal, Decimal, bool]:
    def amount(high: int, places: int = 2) -> Decimal:
        return D(rng.randint(0, high * 10**places)).scaleb(-places)

    rows = []
    for n in range(rng.randint(0, 6)):
        item = CatalogueItem(
            f"I{n}", f"M{n}", "x", rng.choice(["01", "02", "03"]), "09", amount(500),
            pric_uplmt_amt=rng.choice([NO_CAP, amount(400)]),
            selfpay_prop=rng.choice([D("0"), D("0.1"), D("0.05"), D("0.333")]),
            mapped=rng.random() < 0.8, lmt_used_flag=rng.choice(["0", "1"]), overlmt_hosp_part=rng.random() < 0.3,
        )  # fmt: skip
        cnt = rng.choice([D(1), D(2), D("0.5"), D(3), D(-1)])
        pric = amount(600, rng.choice([0, 1, 2, 3]))
        fee = FeeInput(str(n), item.med_list_codg, "", money(pric * cnt) + rng.choice([ZERO, D("0.001"), D("-0.004")]),
                       cnt, pric, rng.choice(["", "0", "1", "2"]))  # fmt: skip
        rows.append(classify(fee, item if rng.random() < 0.9 else None))
    rule = BenefitRule(
        deductible=rng.choice([ZERO, D("20"), D("0.5"), amount(2000, 3), D("-5")]),
        pool_ratio=rng.choice([D("0.6"), D("0.85"), D("0.333"), D("1"), D("0"), D("0.005"), D("1.2")]),
        annual_cap=rng.choice([None, D("4000"), amount(300, 3)]),
        has_account=rng.random() < 0.7,
    )
    balance = rng.choice([ZERO, D("-1"), amount(3000, 3)])
    return rows, rule, amount(5000, rng.choice([2, 3])), balance, rng.random() < 0.7


def test_settle_computes_what_its_formulas_as_first_written_compute() -> None:
    import random

    rng = random.Random(16)
    seen = {"account": 0, "cap": 0, "half-cent": 0}
    for _ in range(3000):
        rows, rule, used, balance, use_account = _random_case(rng)
        got = settle(rows, rule, pool_used_this_year=used, balance=balance, use_account=use_account)
        want = _settle_as_written(rows, rule, pool_used_this_year=used, balance=balance, use_account=use_account)
        assert got == want, (rows, rule, used, balance, use_account)
        # the same value is not enough: the same text (exponent) and sign, which str() and the wire show
        assert [str(getattr(got, n)) for n in MONEY_FIELD_NAMES] == [str(getattr(want, n)) for n in MONEY_FIELD_NAMES]
        assert str(got.crt_payb_lmt_amt) == str(want.crt_payb_lmt_amt)
        seen["account"] += got.acct_pay > 0
        seen["cap"] += got.crt_payb_lmt_amt is not None and got.hifp_pay == got.crt_payb_lmt_amt > 0
        exact = (got.inscp_scp_amt - got.act_pay_dedc) * rule.pool_ratio
        seen["half-cent"] += got.inscp_scp_amt > 0 and exact.scaleb(3) % 10 == 5
    assert min(seen.values()) >= 10, seen  # the cases reach the account, the cap and the rounding of a half cent


# --- what the run after the settlement speed-ups left alive (settle() rounds a Decimal itself) ---


def test_settle_reads_an_amount_that_is_not_a_decimal_as_money_reads_it() -> None:
    # the reference data gives Decimals; an int, a float or a text is rounded to cents the same way
    rule = BenefitRule(deductible=10, pool_ratio=D("0.7"), annual_cap="1000", has_account=True)  # type: ignore[arg-type]
    got = settle(rows(), rule, pool_used_this_year=900.0, balance=50, use_account=True)  # type: ignore[arg-type]
    assert got == amounts()
    rule = BenefitRule(deductible=D("10"), pool_ratio=D("0.7"), annual_cap="1000.004", has_account=False)  # type: ignore[arg-type]
    got = settle(rows(), rule, pool_used_this_year=950.005, balance=0, use_account=False)  # type: ignore[arg-type]
    assert got.crt_payb_lmt_amt == D("49.99") and got.hifp_pay == D("49.99")  # 1000.00 - 950.01
