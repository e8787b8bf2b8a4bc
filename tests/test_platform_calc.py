"""Settlement arithmetic: golden amounts worked out by hand, unit and end to end.

Catalogue (fixtures/catalogue/items.json, treating region 520102): consult 25.00 甲; cefaclor 45.00 乙
(先自付 0.10); chest-ct 280.00 乙 (cap 240.00, 先自付 0.20); amoxicillin 18.60 甲; lianhua 28.50 乙 (0.05);
cordyceps 98.00 丙; nifedipine 32.40 甲; semaglutide 412.00 乙 (0.10, not mapped by the insured region);
bed 50.00 甲 (cap 40.00); nursing 30.00 甲; infusion 8.00 甲; infusion-set 3.50 乙 (0.20).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from platform_samples import CATALOGUE, ITEMS, Flow, memory_platform, persona

from harness.platform.calc import BenefitRule, CatalogueItem, FeeInput, classify, settle
from harness.platform.samples import fee_lines, settle_input, total


def fee(sn: str, amount: str, cnt: str, pric: str, appr: str = "1", code: str = "X") -> FeeInput:
    return FeeInput(sn, code, code, D(amount), D(cnt), D(pric), appr)


YI = CatalogueItem("X", "X", "乙类检查", "02", "03", D("280"), D("240"), D("0.20"))


def test_classify_yi_item_over_its_price_cap() -> None:
    # 280.00 × 1: over-limit (280 − 240) × 1 = 40.00; allowed 240.00; 乙 pays 0.20 first: 48.00; in scope 192.00
    row = classify(fee("1", "280.00", "1", "280"), YI)
    assert (row.overlmt_amt, row.preselfpay_amt, row.inscp_scp_amt, row.fulamt_ownpay_amt) == (
        D("40.00"), D("48.00"), D("192.00"), D("0.00"))


def test_classify_rounds_half_up_to_cents() -> None:
    # 28.50 × 0.05 = 1.425 → 1.43 (half-up, not banker's 1.42); in scope 28.50 − 1.43 = 27.07
    item = CatalogueItem("L", "L", "连花清瘟", "02", "11", D("28.50"), D("999999"), D("0.05"))
    row = classify(fee("1", "28.50", "1", "28.50", code="L"), item)
    assert (row.preselfpay_amt, row.inscp_scp_amt) == (D("1.43"), D("27.07"))


def test_classify_refund_row_negates_the_original() -> None:
    # a refund of the same row (cnt −1) is the exact negation, rounding included (half-up is symmetric)
    item = CatalogueItem("L", "L", "连花清瘟", "02", "11", D("28.50"), D("999999"), D("0.05"))
    plus = classify(fee("1", "28.50", "1", "28.50", code="L"), item)
    minus = classify(fee("2", "-28.50", "-1", "28.50", code="L"), item)
    assert (minus.preselfpay_amt, minus.inscp_scp_amt) == (-plus.preselfpay_amt, -plus.inscp_scp_amt)


@pytest.mark.parametrize(("lmt_used_flag", "appr", "self_paid"), [
    ("1", "0", True), ("1", "2", True), ("1", "1", False), ("0", "2", True), ("0", "0", False)])
def test_classify_approval_rule(lmt_used_flag: str, appr: str, self_paid: bool) -> None:
    item = CatalogueItem("R", "R", "限制用药", "01", "09", D("10"), D("999999"), D("0"), lmt_used_flag=lmt_used_flag)
    row = classify(fee("1", "10.00", "1", "10", appr=appr, code="R"), item)
    assert row.fulamt_ownpay_amt == (D("10.00") if self_paid else D("0.00"))


def test_classify_unknown_item_is_fully_self_paid() -> None:
    row = classify(fee("1", "12.34", "1", "12.34"), None)
    assert (row.fulamt_ownpay_amt, row.inscp_scp_amt, row.chrgitm_lv, row.known) == (D("12.34"), D("0.00"), "03", False)


def test_settle_limits_the_pool_to_what_the_annual_cap_leaves() -> None:
    # in scope 200.00, no deductible, ratio 0.80 → 160.00, but only 100.00 − 90.00 = 10.00 of the cap is left
    row = classify(fee("1", "200.00", "1", "200"), CatalogueItem("X", "X", "甲", "01", "09", D("200")))
    amounts = settle([row], BenefitRule(D("0"), D("0.80"), D("100"), True), pool_used_this_year=D("90"),
                     balance=D("0"), use_account=True)
    assert (amounts.hifp_pay, amounts.fund_pay_sumamt, amounts.psn_part_amt, amounts.crt_payb_lmt_amt) == (
        D("10.00"), D("10.00"), D("190.00"), D("10.00"))


def test_settle_account_pays_only_the_in_scope_personal_part_up_to_the_balance() -> None:
    # in scope 100.00, deductible 10.00, ratio 0.50 → pool 45.00; personal in scope 55.00; balance 30.00 → acct 30.00
    row = classify(fee("1", "100.00", "1", "100"), CatalogueItem("X", "X", "甲", "01", "09", D("100")))
    amounts = settle([row], BenefitRule(D("10"), D("0.50"), None, True), pool_used_this_year=D("0"),
                     balance=D("30.00"), use_account=True)
    assert (amounts.act_pay_dedc, amounts.hifp_pay, amounts.acct_pay, amounts.psn_cash_pay, amounts.balc) == (
        D("10.00"), D("45.00"), D("30.00"), D("25.00"), D("0.00"))


# --- end to end, through the platform -----------------------------------------------------------


@pytest.fixture()
def flow() -> Flow:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    return flow


def money(setlinfo: dict, *names: str) -> tuple[D, ...]:
    return tuple(D(str(setlinfo[n])).quantize(D("0.01")) for n in names)


def assert_invariants(info: dict) -> None:
    medfee, fund, psn, hosp, acct, cash = money(info, "medfee_sumamt", "fund_pay_sumamt", "psn_part_amt",
                                                 "hosp_part_amt", "acct_pay", "psn_cash_pay")
    assert medfee == fund + psn + hosp
    assert psn == acct + cash


def test_golden_outpatient_employee_grade3(flow: Flow) -> None:
    # filed-employee: 430102 职工 (310), balance 2680.50; H52010200001 is grade 3 → outpatient deductible 20.00,
    # pool ratio 0.60, annual cap 4000.00.
    #   consult   25.00 甲: in scope 25.00
    #   cefaclor  45.00 乙: first self-pay 45.00 × 0.10 = 4.50; in scope 40.50
    #   chest-ct 280.00 乙: over-limit (280 − 240) = 40.00; first self-pay 240.00 × 0.20 = 48.00; in scope 192.00
    #   medfee 350.00; over-limit 40.00; first self-pay 52.50; in scope 257.50
    #   deductible 20.00; pool (257.50 − 20.00) × 0.60 = 142.50 = fund total
    #   person 350.00 − 142.50 = 207.50; account pays the in-scope part 257.50 − 142.50 = 115.00; cash 92.50
    #   balance 2680.50 − 115.00 = 2565.50
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 1), ("chest-ct", 1)])
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert money(info, "medfee_sumamt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
                 "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc") == tuple(
        D(x) for x in ("350.00", "40.00", "52.50", "257.50", "20.00", "142.50", "142.50", "207.50", "115.00",
                       "92.50", "2565.50"))
    assert_invariants(info)
    assert flow.balance(who) == D("2565.50")


def test_golden_outpatient_resident_rounds_half_up(flow: Flow) -> None:
    # filed-resident: 360102 居民 (390), no account; grade 3 → deductible 20.00, ratio 0.49.
    #   amoxicillin 2 × 18.60 = 37.20 甲: in scope 37.20
    #   lianhua     28.50 乙: first self-pay 28.50 × 0.05 = 1.425 → 1.43; in scope 27.07
    #   cordyceps   3 × 98.00 = 294.00 丙: fully self-paid
    #   medfee 359.70; fully self-paid 294.00; first self-pay 1.43; in scope 64.27
    #   pool (64.27 − 20.00) × 0.49 = 21.6923 → 21.69; person 359.70 − 21.69 = 338.01, all cash
    who = persona("filed-resident")
    mdtrt_id, amount = flow.register(who, [("amoxicillin", 2), ("lianhua", 1), ("cordyceps", 3)])
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert money(info, "medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "hifp_pay",
                 "psn_part_amt", "acct_pay", "psn_cash_pay") == tuple(
        D(x) for x in ("359.70", "294.00", "1.43", "64.27", "21.69", "338.01", "0.00", "338.01"))
    assert_invariants(info)


def test_golden_chronic_with_an_unmapped_item_warns(flow: Flow) -> None:
    # chronic-filed: 430102 职工, balance 3150.00, hypertension filing M03900; chronic at grade 3: no deductible,
    # ratio 0.85.
    #   nifedipine  3 × 32.40 = 97.20 甲: in scope 97.20
    #   semaglutide 412.00 乙 (unmapped, settled with the treating class): first self-pay 41.20; in scope 370.80
    #   medfee 509.20; in scope 468.00; pool 468.00 × 0.85 = 397.80
    #   person 111.40; account 468.00 − 397.80 = 70.20; cash 41.20; balance 3150.00 − 70.20 = 3079.80
    who = persona("chronic-filed")
    mdtrt_id, amount = flow.register(who, [("nifedipine", 3), ("semaglutide", 1)], med_type="14", dise_codg="M03900")
    out = flow.call("2207", settle_input(who, mdtrt_id, "B1", amount, med_type="14"), who)
    assert out["infcode"] == 0 and "未对照" in (out["warn_msg"] or "")
    info = out["output"]["setlinfo"]
    assert money(info, "medfee_sumamt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
                 "psn_part_amt", "acct_pay", "psn_cash_pay", "balc") == tuple(
        D(x) for x in ("509.20", "41.20", "468.00", "0.00", "397.80", "111.40", "70.20", "41.20", "3079.80"))
    assert_invariants(info)


def test_golden_inpatient_with_a_refund_row(flow: Flow) -> None:
    # filed-employee-2: 420102 职工, balance 5320.00; inpatient at grade 3: deductible 900.00, ratio 0.86.
    #   bed       20 × 50.00 = 1000.00 甲, cap 40.00: over-limit 20 × 10.00 = 200.00; in scope 800.00
    #   nursing   20 × 30.00 =  600.00 甲: in scope 600.00
    #   infusion  10 ×  8.00 =   80.00 甲: in scope 80.00
    #   infusion-set 10 × 3.50 = 35.00 乙 (0.20): first self-pay 7.00; in scope 28.00
    #   chest-ct   280.00 乙: over-limit 40.00; first self-pay 48.00; in scope 192.00
    #   refund: infusion −2 × 8.00 = −16.00: in scope −16.00
    #   medfee 1979.00; over-limit 240.00; first self-pay 55.00; in scope 1684.00
    #   deductible 900.00; pool (1684.00 − 900.00) × 0.86 = 674.24; person 1304.76
    #   account 1684.00 − 674.24 = 1009.76; cash 295.00; balance 5320.00 − 1009.76 = 4310.24
    who = persona("filed-employee-2")
    mdtrt_id, rows = flow.admit(who, [("bed", 20), ("nursing", 20), ("infusion", 10), ("infusion-set", 10),
                                      ("chest-ct", 1)])
    refund = fee_lines(who, mdtrt_id, [(ITEMS["infusion"], -2)], first_sn=100, inpatient=True)
    refund[0]["init_feedetl_sn"] = rows[2]["feedetl_sn"]
    flow.ok("2301", {"feedetail": refund}, who)
    flow.discharge(who, mdtrt_id)
    info = flow.settle_inpatient(who, mdtrt_id, total(rows) + total(refund))["setlinfo"]
    assert money(info, "medfee_sumamt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
                 "hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc") == tuple(
        D(x) for x in ("1979.00", "240.00", "55.00", "1684.00", "900.00", "674.24", "1304.76", "1009.76", "295.00",
                       "4310.24"))
    assert_invariants(info)


def test_golden_pharmacy_is_not_pooled() -> None:
    # P52010200001 (pharmacy): the policy's pharmacy rate is 0; filed-employee buys amoxicillin 18.60 甲 and
    # cordyceps 98.00 丙: medfee 116.60; pool 0.00; the account pays the in-scope 18.60; cash 98.00.
    shop = Flow(memory_platform().call, CATALOGUE.institution("P52010200001"))
    shop.sign_in()
    who = persona("filed-employee")
    details = fee_lines(who, "", [(ITEMS["amoxicillin"], 1), (ITEMS["cordyceps"], 1)])
    for row in details:
        row.pop("mdtrt_id"), row.pop("psn_no"), row.pop("chrg_bchno")
    druginfo = {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno, "psn_cert_type": "01",
                "certno": who.certno, "psn_type": who.psn_type, "psn_name": who.psn_name,
                "begntime": "2024-01-01 10:00:00",
                "medfee_sumamt": total(details), "insutype": who.insutype, "acct_used_flag": "1", "med_type": "41"}
    info = shop.ok("2102", {"druginfo": druginfo, "drugdetail": details}, who)["setlinfo"]
    assert money(info, "medfee_sumamt", "fulamt_ownpay_amt", "hifp_pay", "acct_pay", "psn_cash_pay") == tuple(
        D(x) for x in ("116.60", "98.00", "0.00", "18.60", "98.00"))
    assert_invariants(info)
