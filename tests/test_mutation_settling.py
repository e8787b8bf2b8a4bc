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

import json
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from platform_samples import CATALOGUE, Flow, memory_platform, persona

from harness.platform import CAUSE_MESSAGES
from harness.platform.config import Fault
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


# --- the planted deviations (mutant switches) the self-test turns on: each changes exactly its value ---


def switched(*names: str) -> Flow:
    platform = memory_platform()
    for name in names:
        platform.faults.add(Fault(infno="*", kind="mutant", name=name))
    flow = Flow(platform.call)
    flow.sign_in()
    return flow


def test_presettle_ignores_account_changes_only_the_presettlement() -> None:
    flow = switched("presettle-ignores-account")
    who, mdtrt_id, amount = visit(flow)
    pre = flow.presettle(who, mdtrt_id, amount)["setlinfo"]
    assert (pre["acct_pay"], pre["psn_cash_pay"], pre["balc"]) == (0.0, 63.4, 2680.5)
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert steady(info) == {**PERSON, **AMOUNTS, **CLEARING}


@pytest.mark.parametrize(("name", "changed"), [
    ("shares-dont-add-up", {"psn_part_amt": 54.4, "psn_cash_pay": 0.0}),
    ("psn-part-split-wrong", {"psn_cash_pay": 63.4}),
    ("code-outside-list", {"clr_way": "01"}),
])
def test_a_planted_deviation_changes_its_value_only(name: str, changed: dict[str, Any]) -> None:
    flow = switched(name)
    who, mdtrt_id, amount = visit(flow)
    assert steady(flow.settle(who, mdtrt_id, amount)["setlinfo"]) == {**PERSON, **AMOUNTS, **CLEARING, **changed}


def test_output_field_missing_drops_cvlserv_flag() -> None:
    flow = switched("output-field-missing")
    who, mdtrt_id, amount = visit(flow)
    expected = {**PERSON, **AMOUNTS, **CLEARING}
    del expected["cvlserv_flag"]
    assert steady(flow.settle(who, mdtrt_id, amount)["setlinfo"]) == expected


def test_medins_setl_id_not_msgid_echoes_the_setl_id_on_a_settlement_only() -> None:
    flow = switched("medins-setl-id-not-msgid")
    who, mdtrt_id, amount = visit(flow)
    assert flow.presettle(who, mdtrt_id, amount)["setlinfo"]["medins_setl_id"] == flow.last["msgid"]
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert info["medins_setl_id"] == info["setl_id"] != flow.last["msgid"]


def test_skip_account_debit_leaves_the_balance() -> None:
    flow = switched("skip-account-debit")
    who, mdtrt_id, amount = visit(flow)
    assert flow.settle(who, mdtrt_id, amount)["setlinfo"]["balc"] == 2626.1
    assert flow.balance(who) == D("2680.5")


def test_reversal_keeps_sign_and_reverse_twice() -> None:
    flow = switched("reversal-keeps-sign", "reverse-twice")
    who, mdtrt_id, amount = visit(flow)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    info = flow.reverse(who, mdtrt_id, setl_id)["setlinfo"]
    assert steady(info) == {**PERSON, **AMOUNTS, **CLEARING, "balc": 2680.5, "pdn_cash_pay": 9.0}
    again = flow.call("2208", reverse_input(who, mdtrt_id, setl_id), who)
    assert again["infcode"] == 0  # reversed a second time


@pytest.mark.parametrize(("archetype", "name"), [
    ("not-filed", "accept-not-filed"), ("filing-expired", "accept-expired-filing"),
    ("filed-elsewhere", "accept-filed-elsewhere"), ("lapsed-contributions", "accept-lapsed-contributions"),
])
def test_an_accept_deviation_lets_its_person_settle(archetype: str, name: str) -> None:
    who = persona(archetype)
    plain = switched()
    mdtrt_id, amount = plain.register(who, [("consult", 1)])
    assert plain.call("2207", settle_input(who, mdtrt_id, "B1", amount), who)["infcode"] == -1
    flow = switched(name)
    mdtrt_id, amount = flow.register(who, [("consult", 1)])
    assert flow.call("2207", settle_input(who, mdtrt_id, "B1", amount), who)["infcode"] == 0


def test_accept_inactive_card_lets_a_presented_inactive_card_settle() -> None:
    who = persona("inactive-card")
    for names, infcode in (((), -1), (("accept-inactive-card",), 0)):
        flow = switched(*names)
        mdtrt_id, amount = flow.register(who, [("consult", 1)])
        data = settle_input(who, mdtrt_id, "B1", amount)
        data["data"]["mdtrt_cert_type"] = "03"
        assert flow.call("2207", data, who)["infcode"] == infcode, names


def test_emergency_not_as_filed_refuses_an_unfiled_emergency() -> None:
    who = persona("emergency")
    for names, infcode in (((), 0), (("emergency-not-as-filed",), -1)):
        flow = switched(*names)
        mdtrt_id, amount = flow.register(who, [("consult", 1)], med_type="13")
        assert flow.call("2207", settle_input(who, mdtrt_id, "B1", amount, med_type="13"), who)["infcode"] == (
            infcode), names


# --- what the settlement stores (reconciliation and the account read it back) ---


def stored(platform: Any, setl_id: str) -> dict[str, Any]:
    with platform.db.reading() as conn:
        row = conn.execute("SELECT * FROM settlements WHERE setl_id = ?", (setl_id,)).fetchone()
        fees = [r[0] for r in conn.execute("SELECT setl_id FROM fees ORDER BY id")]
    keys = ("psn_no", "fixmedins_code", "infno", "kind", "orig_setl_id", "status", "msgid", "insutype", "clr_type",
            "clr_optins", "care", "mid_setl_flag", "medfee_cents", "fund_cents", "acct_cents", "cash_cents",
            "hifp_cents")
    return {**{k: row[k] for k in keys}, "fees": fees}


def test_the_stored_settlement_and_reversal_rows() -> None:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    who, mdtrt_id, amount = visit(flow)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    msgid = flow.last["msgid"]
    base = {"psn_no": who.psn_no, "fixmedins_code": flow.his.fixmedins_code, "insutype": "310", "clr_type": "11",
            "clr_optins": "520102", "care": "outpatient", "mid_setl_flag": "0"}
    assert stored(platform, setl_id) == {
        **base, "infno": "2207", "kind": "settle", "orig_setl_id": None, "status": "settled", "msgid": msgid,
        "medfee_cents": 11500, "fund_cents": 5160, "acct_cents": 5440, "cash_cents": 900, "hifp_cents": 5160,
        "fees": [setl_id, setl_id]}
    reversal = flow.reverse(who, mdtrt_id, setl_id)["setlinfo"]["setl_id"]
    assert stored(platform, setl_id)["status"] == "reversed"
    assert stored(platform, reversal) == {
        **base, "infno": "2208", "kind": "reversal", "orig_setl_id": setl_id, "status": "settled",
        "msgid": flow.last["msgid"], "medfee_cents": -11500, "fund_cents": -5160, "acct_cents": -5440,
        "cash_cents": -900, "hifp_cents": -5160, "fees": [None, None]}


def test_a_second_settlement_in_the_year_sees_the_pool_used_by_the_first(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    flow.settle(who, mdtrt_id, amount)
    _, second, amount = visit(flow, who)
    [row] = flow.settle(who, second, amount)["setldetail"]
    assert row["crt_payb_lmt_amt"] == 3948.4  # 4000.00 - 51.60


def test_the_effect_of_a_settlement_and_a_reversal_is_recorded_for_2601() -> None:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    who, mdtrt_id, amount = visit(flow)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    settled_by = flow.last["msgid"]
    reversal = flow.reverse(who, mdtrt_id, setl_id)["setlinfo"]["setl_id"]
    reversed_by = flow.last["msgid"]
    with platform.db.reading() as conn:
        effects = {r[0]: json.loads(r[1]) for r in conn.execute("SELECT msgid, effect FROM messages")}
    assert effects[settled_by] == {"kind": "settlement", "setl_id": setl_id, "psn_no": who.psn_no,
                                   "mdtrt_id": mdtrt_id}
    assert {k: v for k, v in effects[reversed_by].items() if k != "fee_ids"} == {
        "kind": "reversal", "setl_id": reversal, "orig_setl_id": setl_id, "psn_no": who.psn_no}
    assert len(effects[reversed_by]["fee_ids"]) == 2


def test_an_a_version_settlement_is_reversed_by_2208(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    answer = flow.call("2207A", settle_input(who, mdtrt_id, "B1", amount), who)
    assert answer["infcode"] == 0, answer["err_msg"]
    setl_id = answer["output"]["setlinfo"]["setl_id"]
    reversal = flow.reverse(who, mdtrt_id, setl_id)["setlinfo"]
    assert reversal["medfee_sumamt"] == -115.0 and reversal["setl_id"].startswith("S")
    assert setl_id.startswith("S") and flow.balance(who) == D("2680.5")


def test_float_rounding_error_recomputes_the_personal_part_in_floats() -> None:
    flow = switched("float-rounding-error")
    who, mdtrt_id, amount = visit(flow)
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert steady(info) == {**PERSON, **AMOUNTS, **CLEARING, "psn_part_amt": 115.0 - 51.6 - 0.0}


def test_the_age_is_the_persons_age_on_the_settlement_day(flow: Flow) -> None:
    who, mdtrt_id, amount = visit(flow)
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    day = date.fromisoformat(info["setl_time"][:10])
    assert info["age"] == float(day.year - 1992 - ((day.month, day.day) < (7, 22)))  # born 1992-07-22
