"""The reference platform's settlement, pre-settlement and reversal with literal expected answers (issue 17).

`tools/mutation.py --module platform.settling` plants one-line bugs in `harness/platform/settling.py`;
each test here walks the in-process platform (no HTTP) and pins the answer a HIS reads: every setlinfo
and setldetail value of one outpatient settlement worked out from the seeded persona and catalogue,
its reversal, the account before and after, and each refusal's exact err_msg.

The settlement: consult (1) + cefaclor (2) = 115.00; in scope 106.00 (9.00 乙类 share first); deductible
20.00; pool 60% of 86.00 = 51.60; personal 63.40, of which the account pays 54.40 (106.00 - 51.60) and
cash 9.00; the account falls from 2680.50 to 2626.10.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from platform_samples import CATALOGUE, Flow, memory_platform, persona

from harness.platform import CAUSE_MESSAGES
from harness.platform.samples import reverse_input, settle_input

VOLATILE = ("setl_id", "setl_time", "medins_setl_id", "age", "mdtrt_id")

PERSON = {"psn_no": "43000035758424899169", "psn_name": "邹婷婷", "psn_cert_type": "01",
          "certno": "430102199207221062", "gend": "2", "naty": "01", "brdy": "1992-07-22", "insutype": "310",
          "psn_type": "11", "cvlserv_flag": "0", "mdtrt_cert_type": "02", "med_type": "11"}
AMOUNTS = {"medfee_sumamt": 115.0, "fulamt_ownpay_amt": 0.0, "overlmt_selfpay": 0.0, "preselfpay_amt": 9.0,
           "inscp_scp_amt": 106.0, "act_pay_dedc": 20.0, "hifp_pay": 51.6, "pool_prop_selfpay": 0.6,
           "cvlserv_pay": 0.0, "hifes_pay": 0.0, "hifmi_pay": 0.0, "hifob_pay": 0.0, "maf_pay": 0.0,
           "oth_pay": 0.0, "hifdm_pay": 0.0, "fund_pay_sumamt": 51.6, "psn_part_amt": 63.4, "acct_pay": 54.4,
           "acct_mulaid_pay": 0.0, "psn_cash_pay": 9.0, "hosp_part_amt": 0.0, "balc": 2626.1}
CLEARING = {"clr_optins": "520102", "clr_way": "1", "clr_type": "11", "exp_content": ""}
DETAIL = [{"fund_pay_type": "310100", "inscp_scp_amt": 106.0, "crt_payb_lmt_amt": 4000.0, "fund_payamt": 51.6,
           "fund_pay_type_name": "城镇职工基本医疗保险统筹基金", "setl_proc_info": "起付线20.00元，统筹支付比例0.60"}]
NEGATED = ("medfee_sumamt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt",
           "psn_part_amt", "acct_pay", "psn_cash_pay")


@pytest.fixture()
def flow() -> Flow:
    flow = Flow(memory_platform().call)
    flow.sign_in()
    return flow


def steady(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k not in VOLATILE}


def visit(flow: Flow, who: Any = None) -> tuple[Any, str, float]:
    who = who or persona("filed-employee")
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 2)])
    return who, mdtrt_id, amount


def test_a_settlement_worked_out_by_hand(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    assert amount == 115.0 and flow.balance(who) == D("2680.5")
    out = flow.settle(who, mdtrt_id, amount)
    msgid = flow.last["msgid"]
    info = out["setlinfo"]
    assert steady(info) == {**PERSON, **AMOUNTS, **CLEARING}
    assert list(info)[:2] == ["mdtrt_id", "setl_id"] and info["mdtrt_id"] == mdtrt_id
    assert info["medins_setl_id"] == msgid and info["setl_id"].startswith("S")
    assert out["setldetail"] == DETAIL
    assert flow.balance(who) == D("2626.1")


def test_a_presettlement_commits_nothing(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    out = flow.presettle(who, mdtrt_id, amount)
    assert "setl_id" not in out["setlinfo"] and out["setlinfo"]["medins_setl_id"] == flow.last["msgid"]
    assert steady(out["setlinfo"]) == {**PERSON, **AMOUNTS, **CLEARING} and out["setldetail"] == DETAIL
    assert flow.balance(who) == D("2680.5")
    settled = flow.settle(who, mdtrt_id, amount)  # the fee rows are still free
    assert steady(settled["setlinfo"]) == steady(out["setlinfo"])


def test_without_the_account_the_person_pays_cash(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    info = flow.settle(who, mdtrt_id, amount, acct_used_flag="0")["setlinfo"]
    assert (info["acct_pay"], info["psn_cash_pay"], info["psn_part_amt"], info["balc"]) == (0.0, 63.4, 63.4, 2680.5)
    assert flow.balance(who) == D("2680.5")


def test_a_reversal_negates_every_amount_and_restores_the_account(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    settled = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    out = flow.reverse(who, mdtrt_id, settled["setl_id"])
    msgid = flow.last["msgid"]
    info = out["setlinfo"]
    expected = {**PERSON, **AMOUNTS, **CLEARING, **{k: -AMOUNTS[k] for k in NEGATED}, "balc": 2680.5,
                "pdn_cash_pay": -9.0}
    assert steady(info) == expected
    assert info["setl_id"] not in ("", settled["setl_id"]) and info["medins_setl_id"] == msgid
    assert info["mdtrt_id"] == mdtrt_id and info["setl_time"]
    assert out["setldetail"] == [{**DETAIL[0], "inscp_scp_amt": -106.0, "fund_payamt": -51.6}]
    assert flow.balance(who) == D("2680.5")
    # the fee rows are free again: the visit settles once more, with the same amounts
    again = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert steady(again) == {**PERSON, **AMOUNTS, **CLEARING}


def test_a_reversal_is_refused_twice_and_for_what_is_not_the_callers_settlement(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    unknown = CAUSE_MESSAGES["reversal-unknown"]
    other = persona("filed-employee-2")
    assert flow.refused("2208", {"data": {**reverse_input(who, mdtrt_id, setl_id)["data"], "mdtrt_id": "M0"}},
                        who) == unknown
    assert flow.refused("2208", {"data": {**reverse_input(who, mdtrt_id, setl_id)["data"],
                                          "psn_no": other.psn_no}}, who) == unknown
    assert flow.refused("2305", reverse_input(who, mdtrt_id, setl_id), who) == unknown  # not an inpatient one
    assert flow.refused("2208", reverse_input(who, mdtrt_id, "S-NONE"), who) == unknown
    shop = Flow(flow.send, CATALOGUE.institution("H52010200002"))
    shop.sign_in()
    assert shop.refused("2208", reverse_input(who, mdtrt_id, setl_id), who) == unknown  # another institution's
    reversal = flow.reverse(who, mdtrt_id, setl_id)["setlinfo"]
    assert flow.refused("2208", reverse_input(who, mdtrt_id, setl_id), who) == CAUSE_MESSAGES["reversal-repeated"]
    assert flow.refused("2208", reverse_input(who, mdtrt_id, reversal["setl_id"]), who) == unknown
    assert flow.balance(who) == D("2680.5")


@pytest.mark.parametrize(("given", "refused"), [
    (115.0, False), (115.004, False), (114.996, False), (115.01, True), (114.99, True), (0, True)])
def test_the_total_must_equal_the_fee_rows(flow: Flow, given: float, refused: bool) -> None:
    who, mdtrt_id, _ = visit(flow)
    answer = flow.call("2207", settle_input(who, mdtrt_id, "B1", given), who)
    if refused:
        assert (answer["infcode"], answer["err_msg"]) == (-1, CAUSE_MESSAGES["sumamt-mismatch"])
    else:
        assert answer["infcode"] == 0


def test_a_settlement_for_an_unknown_person_or_visit_is_refused(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    data = settle_input(who, mdtrt_id, "B1", amount)
    assert flow.refused("2207", {"data": {**data["data"], "psn_no": "43000000000000000000"}}, who) == "人员信息不存在"
    assert flow.refused("2207", {"data": {**data["data"], "mdtrt_id": "M-NONE"}}, who) == CAUSE_MESSAGES["not-found"]
    other = persona("filed-employee-2")
    assert flow.refused("2207", {"data": {**data["data"], "psn_no": other.psn_no}}, other) == (
        CAUSE_MESSAGES["not-found"])  # someone else's visit


def test_the_envelope_must_route_to_the_persons_insured_region(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    data = settle_input(who, mdtrt_id, "B1", amount)
    assert flow.refused("2207", data, who, insuplc_admdvs="110105") == (
        CAUSE_MESSAGES["invalid-request"] + "/insuplc_admdvs 参保地医保区划与人员参保地不一致（人员参保地 430102）")
    assert flow.refused("2207", data, who, insuplc_admdvs="") == (
        CAUSE_MESSAGES["invalid-request"] + "/insuplc_admdvs 异地就医业务参保地医保区划必填（人员参保地 430102）")
    assert flow.settle(who, mdtrt_id, amount)["setlinfo"]["psn_no"] == who.psn_no


def test_a_resident_is_paid_from_the_residents_fund(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow, persona("filed-resident"))
    [row] = flow.settle(who, mdtrt_id, amount)["setldetail"]
    assert (row["fund_pay_type"], row["fund_pay_type_name"]) == ("390100", "城乡居民基本医疗保险基金")
