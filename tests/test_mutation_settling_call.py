"""The reference platform's settlement (harness/platform/settling.py) with literal expected values (issue 17).

Written against the survivors of `python tools/mutation.py --module platform.settling`: every amount,
message, stored row and effect below is worked out by hand, so a one-line change of the settlement shows.
The calculation is called directly on a real `Call` (the platform's own database, a fixed clock); the
stored rows and the answers come from whole flows on an in-memory platform.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal as D
from typing import Any

import pytest
from platform_samples import HOME, Flow, memory_platform, persona

from harness.model import SchemaViolation
from harness.platform import Fault, Platform
from harness.platform.booking import reverse, reverse_requested, setldetail_rows, setlinfo
from harness.platform.calc import ZERO, FeeClass
from harness.platform.context import Call
from harness.platform.faults import FaultRegistry, Switches
from harness.platform.refusals import Refusal
from harness.platform.settling import (
    _fee_class,
    check_sum,
    compute,
    person_by_certificate,
    person_for,
    run_checks,
    settle_rows,
    stored_rows,
)
from harness.platform.state import Settlement, forget_filings, load_person

NOW = datetime(2026, 3, 15, 10, 0, 0)
EMPLOYEE = "filed-employee"  # 310 职工, insured in 430102: outpatient at grade 3 = deductible 20.00, pool 0.60,
# annual cap 4000.00, a personal account of 2680.50


def make_call(platform: Platform, infno: str = "2207", *, mutants: tuple[str, ...] = (), institution: Any = None,
              **envelope: str) -> Call:
    inst = institution or platform.ctx.ref.institution(HOME.fixmedins_code, HOME.mdtrtarea_admvs)
    registry = FaultRegistry([Fault(infno="*", kind="mutant", name=m) for m in mutants])
    env = {"infno": infno, "fixmedins_code": inst.fixmedins_code, "mdtrtarea_admvs": inst.mdtrtarea_admvs,
           "insuplc_admdvs": "430102", **envelope}
    return Call(ctx=platform.ctx, conn=platform.db.conn, infno=infno, msgid="H52010200001202603151000000001",
                envelope=env, institution=inst, now=NOW, switches=Switches(registry, infno))


def fee(sn: str, amount: str, *, inscp: str | None = None, preselfpay: str = "0", known: bool = True,
        mapped: bool = True) -> FeeClass:
    value = D(amount)
    return FeeClass(feedetl_sn=sn, amount=value, cnt=D("1"), pric=value, pric_uplmt_amt=value, selfpay_prop=ZERO,
                    fulamt_ownpay_amt=ZERO, overlmt_amt=ZERO, preselfpay_amt=D(preselfpay),
                    inscp_scp_amt=D(inscp if inscp is not None else amount), chrgitm_lv="01", med_chrgitm_type="09",
                    lmt_used_flag="0", known=known, mapped=mapped)


def employee(platform: Platform) -> Any:
    person = load_person(platform.db.conn, persona(EMPLOYEE).psn_no)
    assert person is not None and person.balc == D("2680.50")
    return person


def shares(amounts: Any) -> tuple[D, ...]:
    return (amounts.hifp_pay, amounts.fund_pay_sumamt, amounts.psn_part_amt, amounts.acct_pay, amounts.psn_cash_pay)


# --- the calculation ----------------------------------------------------------------------------------


def test_the_pool_share_is_cut_to_cents_only_by_its_planted_mutant() -> None:
    platform = memory_platform()
    person = employee(platform)
    rows = [fee("1", "21.01")]  # (21.01 - 20.00) x 0.60 = 0.606: 0.61 rounded half-up, 0.60 cut
    exact = compute(make_call(platform), person, rows, care="outpatient", use_account=False)
    assert shares(exact) == (D("0.61"), D("0.61"), D("20.40"), D("0.00"), D("20.40"))
    cut = compute(make_call(platform, mutants=("pool-share-truncated",)), person, rows, care="outpatient",
                  use_account=False)
    assert shares(cut) == (D("0.60"), D("0.60"), D("20.41"), D("0.00"), D("20.41"))
    # a refund (in-scope amount below zero) has no pool share to cut: the mutant changes nothing there
    refund = [fee("1", "-10.00")]
    plain = compute(make_call(platform), person, refund, care="outpatient", use_account=False)
    planted = compute(make_call(platform, mutants=("pool-share-truncated",)), person, refund, care="outpatient",
                      use_account=False)
    assert shares(plain) == shares(planted) == (D("0.00"), D("0.00"), D("-10.00"), D("0.00"), D("-10.00"))


def test_shares_dont_add_up_leaves_the_first_self_paid_part_out_of_the_person_part() -> None:
    platform = memory_platform()
    person = employee(platform)
    rows = [fee("1", "70.00", inscp="65.50", preselfpay="4.50")]  # pool (65.50 - 20.00) x 0.60 = 27.30
    right = compute(make_call(platform), person, rows, care="outpatient", use_account=False)
    assert shares(right) == (D("27.30"), D("27.30"), D("42.70"), D("0.00"), D("42.70"))
    wrong = compute(make_call(platform, mutants=("shares-dont-add-up",)), person, rows, care="outpatient",
                    use_account=False)
    assert shares(wrong) == (D("27.30"), D("27.30"), D("38.20"), D("0.00"), D("38.20"))


def test_only_a_presettlement_ignores_the_account_and_only_under_its_mutant() -> None:
    platform = memory_platform()
    person = employee(platform)
    rows = [fee("1", "70.00", inscp="65.50", preselfpay="4.50")]
    # the account pays the in-scope part the pool leaves: 65.50 - 27.30 = 38.20; the cash is the rest
    with_account = (D("27.30"), D("27.30"), D("42.70"), D("38.20"), D("4.50"))
    for infno in ("2206", "2207"):
        assert shares(compute(make_call(platform, infno), person, rows, care="outpatient",
                              use_account=True)) == with_account
    mutant = ("presettle-ignores-account",)
    assert shares(compute(make_call(platform, "2207", mutants=mutant), person, rows, care="outpatient",
                          use_account=True)) == with_account
    assert shares(compute(make_call(platform, "2206", mutants=mutant), person, rows, care="outpatient",
                          use_account=True)) == (D("27.30"), D("27.30"), D("42.70"), D("0.00"), D("42.70"))


def test_the_pool_paid_earlier_this_year_counts_against_the_annual_cap() -> None:
    platform = memory_platform()
    person = employee(platform)
    conn = platform.db.conn
    # 3990.00 of the 4000.00 outpatient cap used in 2026; other years and other care do not count
    conn.executemany("INSERT INTO pool_totals(psn_no, care, year, hifp_cents) VALUES (?, ?, ?, ?)",
                     [(person.psn_no, "outpatient", "2026", 399000), (person.psn_no, "outpatient", "2025", 1),
                      (person.psn_no, "inpatient", "2026", 1), ("someone-else", "outpatient", "2026", 1)])
    amounts = compute(make_call(platform), person, [fee("1", "70.00", inscp="65.50")], care="outpatient",
                      use_account=False)
    assert shares(amounts) == (D("10.00"), D("10.00"), D("60.00"), D("0.00"), D("60.00"))


def test_no_policy_for_the_insured_region_pays_nothing_from_the_pool_and_says_so() -> None:
    platform = memory_platform()
    person = employee(platform)
    nowhere = replace(person, data={**person.data, "insuplc_admdvs": "999999"})
    call = make_call(platform)
    amounts = compute(call, nowhere, [fee("1", "70.00", inscp="65.50")], care="outpatient", use_account=True)
    # no deductible, no pool; the account (职工 has one) pays the in-scope part
    assert (amounts.act_pay_dedc, *shares(amounts)) == (D("0.00"), D("0.00"), D("0.00"), D("70.00"), D("65.50"),
                                                        D("4.50"))
    assert call.warnings == ["参保地 999999 未配置险种 310 的待遇政策，统筹基金不予支付"]


def test_items_the_insured_region_has_not_mapped_are_named_in_a_warning() -> None:
    platform = memory_platform()
    call = make_call(platform)
    rows = [fee("1", "10.00"), fee("3", "10.00", mapped=False), fee("2", "10.00", mapped=False),
            fee("4", "10.00", known=False, mapped=False)]
    compute(call, employee(platform), rows, care="outpatient", use_account=False)
    assert call.warnings == ["参保地未对照的项目已按就医地目录等级结算（费用明细流水号 2、3）"]
    quiet = make_call(platform)
    compute(quiet, employee(platform), rows[:1], care="outpatient", use_account=False)
    assert quiet.warnings == []


def test_the_fee_total_must_match_to_the_cent() -> None:
    check_sum([fee("1", "10.00"), fee("2", "0.01")], "10.01")
    check_sum([], "0")
    with pytest.raises(Refusal) as refused:
        check_sum([fee("1", "10.00")], "10.01")
    assert (refused.value.cause, refused.value.err_msg) == ("sumamt-mismatch", "医疗费总额与上传费用明细总额不一致")


def test_a_stored_classification_reads_back_as_the_same_row() -> None:
    row = fee("7", "12.34", inscp="10.00", preselfpay="2.34")
    _fee_class.cache_clear()  # parsed afresh, not from an earlier test's cache
    [back] = stored_rows([{"classification": json.dumps(row.to_store())}])
    assert back == row


# --- the person -----------------------------------------------------------------------------------


def test_the_person_of_a_call_and_the_region_their_envelope_names() -> None:
    platform = memory_platform()
    who = persona(EMPLOYEE)
    assert person_for(make_call(platform), who.psn_no).psn_no == who.psn_no
    with pytest.raises(Refusal) as unknown:
        person_for(make_call(platform), "")
    assert (unknown.value.cause, unknown.value.err_msg) == ("", "人员信息不存在")
    with pytest.raises(Refusal) as wrong:
        person_for(make_call(platform, insuplc_admdvs="360102"), who.psn_no)
    assert (wrong.value.cause, wrong.value.err_msg) == (
        "invalid-request", "入参校验失败：/insuplc_admdvs 参保地医保区划与人员参保地不一致（人员参保地 430102）")
    with pytest.raises(Refusal) as missing:
        person_for(make_call(platform, insuplc_admdvs=""), who.psn_no)
    assert missing.value.err_msg == "入参校验失败：/insuplc_admdvs 异地就医业务参保地医保区划必填（人员参保地 430102）"
    # insured where they are treated: no insured region needed in the envelope
    local = make_call(platform, insuplc_admdvs="", mdtrtarea_admvs="430102")
    assert person_for(local, who.psn_no).psn_no == who.psn_no
    assert person_by_certificate(make_call(platform), "") is None
    assert person_by_certificate(make_call(platform), who.certno).psn_no == who.psn_no


# --- settlement, reversal and what they store -------------------------------------------------------


def _settled(mutants: tuple[str, ...] = ()) -> tuple[Platform, Flow, Any, str, dict[str, Any]]:
    platform = memory_platform()
    for name in mutants:
        platform.faults.add(Fault(infno="*", kind="mutant", name=name))
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona(EMPLOYEE)
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 1)])
    assert amount == 70.0
    return platform, flow, who, mdtrt_id, flow.settle(who, mdtrt_id, amount)


SETTLED_MONEY = {"medfee_sumamt": 70.0, "fulamt_ownpay_amt": 0.0, "overlmt_selfpay": 0.0, "preselfpay_amt": 4.5,
                 "inscp_scp_amt": 65.5, "act_pay_dedc": 20.0, "hifp_pay": 27.3, "pool_prop_selfpay": 0.6,
                 "cvlserv_pay": 0.0, "hifes_pay": 0.0, "hifmi_pay": 0.0, "hifob_pay": 0.0, "maf_pay": 0.0,
                 "oth_pay": 0.0, "hifdm_pay": 0.0, "fund_pay_sumamt": 27.3, "psn_part_amt": 42.7, "acct_pay": 38.2,
                 "acct_mulaid_pay": 0.0, "psn_cash_pay": 4.5, "hosp_part_amt": 0.0, "balc": 2642.3}
DETAIL = {"fund_pay_type": "310100", "inscp_scp_amt": 65.5, "crt_payb_lmt_amt": 4000.0, "fund_payamt": 27.3,
          "fund_pay_type_name": "城镇职工基本医疗保险统筹基金", "setl_proc_info": "起付线20.00元，统筹支付比例0.60"}


def _stored(platform: Platform, setl_id: str) -> dict[str, Any]:
    row = platform.db.conn.execute("SELECT * FROM settlements WHERE setl_id = ?", (setl_id,)).fetchone()
    return dict(row)


def _effect(platform: Platform, msgid: str) -> dict[str, Any]:
    row = platform.db.conn.execute("SELECT effect FROM messages WHERE msgid = ?", (msgid,)).fetchone()
    return dict(json.loads(row["effect"]))


def test_a_settlement_answers_stores_and_debits_known_values() -> None:
    platform, flow, who, mdtrt_id, out = _settled()
    msgid = flow.last["msgid"]
    info = out["setlinfo"]
    assert {k: info[k] for k in SETTLED_MONEY} == SETTLED_MONEY
    assert (info["mdtrt_id"], info["psn_no"], info["medins_setl_id"], info["clr_optins"], info["clr_way"],
            info["clr_type"], info["cvlserv_flag"], info["exp_content"]) == (
        mdtrt_id, who.psn_no, msgid, "520102", "1", "11", "0", "")
    assert out["setldetail"] == [DETAIL]
    setl_id = info["setl_id"]
    stored = _stored(platform, setl_id)
    assert {k: stored[k] for k in ("mdtrt_id", "psn_no", "infno", "kind", "orig_setl_id", "status", "msgid",
                                   "insutype", "clr_type", "clr_optins", "care", "mid_setl_flag", "medfee_cents",
                                   "fund_cents", "acct_cents", "cash_cents", "hifp_cents")} == {
        "mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "infno": "2207", "kind": "settle", "orig_setl_id": None,
        "status": "settled", "msgid": msgid, "insutype": "310", "clr_type": "11", "clr_optins": "520102",
        "care": "outpatient", "mid_setl_flag": "0", "medfee_cents": 7000, "fund_cents": 2730, "acct_cents": 3820,
        "cash_cents": 450, "hifp_cents": 2730}
    assert json.loads(stored["setlinfo"]) == info and json.loads(stored["setldetail"]) == [DETAIL]
    assert _effect(platform, msgid) == {"kind": "settlement", "setl_id": setl_id, "psn_no": who.psn_no,
                                        "mdtrt_id": mdtrt_id}
    fees = platform.db.conn.execute("SELECT setl_id FROM fees WHERE mdtrt_id = ?", (mdtrt_id,)).fetchall()
    assert [r["setl_id"] for r in fees] == [setl_id, setl_id]
    assert flow.balance(who) == D("2642.30")


def test_a_reversal_negates_every_amount_restores_the_account_and_frees_the_fees() -> None:
    platform, flow, who, mdtrt_id, out = _settled()
    original = out["setlinfo"]
    back = flow.reverse(who, mdtrt_id, original["setl_id"])
    msgid = flow.last["msgid"]
    info = back["setlinfo"]
    negated = {k: (0.0 if v == 0 else -v) for k, v in SETTLED_MONEY.items()}
    negated.update(pool_prop_selfpay=0.6, balc=2680.5)  # a ratio is no amount; the balance after the refund
    assert {k: info[k] for k in SETTLED_MONEY} == negated
    assert info["pdn_cash_pay"] == -4.5 and info["medins_setl_id"] == msgid
    assert info["setl_id"] != original["setl_id"] and info["setl_id"].startswith("S520102")
    assert back["setldetail"] == [{**DETAIL, "inscp_scp_amt": -65.5, "fund_payamt": -27.3}]
    stored = _stored(platform, info["setl_id"])
    assert {k: stored[k] for k in ("kind", "orig_setl_id", "status", "infno", "medfee_cents", "fund_cents",
                                   "acct_cents", "cash_cents", "hifp_cents")} == {
        "kind": "reversal", "orig_setl_id": original["setl_id"], "status": "settled", "infno": "2208",
        "medfee_cents": -7000, "fund_cents": -2730, "acct_cents": -3820, "cash_cents": -450, "hifp_cents": -2730}
    assert json.loads(stored["setlinfo"]) == info and json.loads(stored["setldetail"]) == back["setldetail"]
    assert _stored(platform, original["setl_id"])["status"] == "reversed"
    fee_ids = [r["id"] for r in platform.db.conn.execute("SELECT id, setl_id FROM fees WHERE mdtrt_id = ?",
                                                         (mdtrt_id,)) if r["setl_id"] is None]
    assert len(fee_ids) == 2
    assert _effect(platform, msgid) == {"kind": "reversal", "setl_id": info["setl_id"],
                                        "orig_setl_id": original["setl_id"], "psn_no": who.psn_no,
                                        "fee_ids": fee_ids}
    assert flow.balance(who) == D("2680.50")


def test_reverse_refuses_what_is_no_settlement_or_whose_person_is_gone() -> None:
    platform, _, _, _, out = _settled()
    stored = platform.db.conn.execute("SELECT * FROM settlements WHERE setl_id = ?",
                                      (out["setlinfo"]["setl_id"],)).fetchone()
    fields = {k: stored[k] for k in Settlement.__dataclass_fields__ if k not in ("setlinfo", "setldetail")}
    settlement = Settlement(**fields, setlinfo=out["setlinfo"], setldetail=out["setldetail"])
    for wrong in (replace(settlement, kind="reversal"), replace(settlement, psn_no="no-such-person")):
        with pytest.raises(Refusal) as refused:
            reverse(make_call(platform, "2208"), wrong)
        assert (refused.value.cause, refused.value.err_msg) == ("reversal-unknown", "结算信息不存在")
    with pytest.raises(Refusal) as again:
        reverse(make_call(platform, "2208"), replace(settlement, status="reversed"))
    assert (again.value.cause, again.value.err_msg) == ("reversal-repeated", "该结算已撤销，不能重复撤销")


def test_the_fund_of_an_insurance_type_without_a_pool_code_is_other_funds() -> None:
    platform = memory_platform()
    person = employee(platform)
    amounts = compute(make_call(platform), person, [fee("1", "70.00", inscp="65.50")], care="outpatient",
                      use_account=False)
    [row] = setldetail_rows(replace(person, data={**person.data, "insutype": "340"}), amounts)
    assert (row["fund_pay_type"], row["fund_pay_type_name"], row["fund_payamt"]) == ("999997", "其他基金", 27.3)
    # the fund follows the insurance type's first three digits (a local subtype such as 3901 is still 390)
    [row] = setldetail_rows(replace(person, data={**person.data, "insutype": "3901"}), amounts)
    assert (row["fund_pay_type"], row["fund_pay_type_name"]) == ("390100", "城乡居民基本医疗保险基金")


def test_reversal_requests_must_name_the_settlements_visit_person_and_kind() -> None:
    platform, _, who, mdtrt_id, out = _settled()
    setl_id = out["setlinfo"]["setl_id"]

    def requested(settle_infno: str, **data: str) -> Call:
        node = {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": who.psn_no, **data}
        return make_call(platform, "2208", input={"data": node})  # type: ignore[arg-type]

    for settle_infno, wrong in (("2207", {"psn_no": "someone-else"}), ("2207", {"mdtrt_id": "M-other"}),
                                ("2304", {})):
        with pytest.raises(Refusal) as refused:
            reverse_requested(requested(settle_infno, **wrong), settle_infno)
        assert refused.value.cause == "reversal-unknown"
    assert reverse_requested(requested("2207"), "2207")["setlinfo"]["medfee_sumamt"] == -70.0


def _flow_with(*mutants: str, infno: str = "2207") -> Flow:
    platform = memory_platform()
    for name in mutants:
        platform.faults.add(Fault(infno=infno, kind="mutant", name=name))
    flow = Flow(platform.call)
    flow.sign_in()
    return flow


def test_emergency_care_registered_on_the_visit_counts_as_filed_at_settlement() -> None:
    flow = _flow_with()
    who = persona("emergency")
    mdtrt_id, amount = flow.register(who, med_type="13")  # the visit says 急诊; the settlement request does not
    assert flow.settle(who, mdtrt_id, amount, med_type="11")["setlinfo"]["medfee_sumamt"] == amount


@pytest.mark.parametrize(("mutant", "archetype"), [
    ("accept-expired-filing", "filing-expired"),
    ("accept-filed-elsewhere", "filed-elsewhere"),
    ("accept-lapsed-contributions", "lapsed-contributions"),
])
def test_each_planted_rule_mutant_lets_its_person_settle(mutant: str, archetype: str) -> None:
    who = persona(archetype)
    refused = _flow_with()
    mdtrt_id, amount = refused.register(who)
    with pytest.raises(AssertionError, match="refused"):
        refused.settle(who, mdtrt_id, amount)
    planted = _flow_with(mutant)
    mdtrt_id, amount = planted.register(who)
    assert planted.settle(who, mdtrt_id, amount)["setlinfo"]["medfee_sumamt"] == amount


def test_a_chronic_filing_covers_only_its_own_disease() -> None:
    flow = _flow_with()
    who = persona("chronic-filed")  # filed for M03900 高血压
    other, amount = flow.register(who, med_type="14", dise_codg="J06.900")
    with pytest.raises(AssertionError, match="参保人未办理门诊慢特病备案"):
        flow.settle(who, other, amount, med_type="14")
    own, amount = flow.register(who, med_type="14", dise_codg="M03900")
    assert flow.settle(who, own, amount, med_type="14")["setlinfo"]["med_type"] == "14"


def test_a_settlement_without_an_annual_cap_shows_no_cap_in_its_fund_row() -> None:
    platform = memory_platform()
    person = employee(platform)
    nowhere = replace(person, data={**person.data, "insuplc_admdvs": "999999"})  # no policy: no cap
    amounts = compute(make_call(platform), nowhere, [fee("1", "70.00")], care="outpatient", use_account=False)
    assert setldetail_rows(person, amounts) == [{
        "fund_pay_type": "310100", "inscp_scp_amt": 70.0, "crt_payb_lmt_amt": None, "fund_payamt": 0.0,
        "fund_pay_type_name": "城镇职工基本医疗保险统筹基金", "setl_proc_info": "起付线0.00元，统筹支付比例0.00"}]


def _info(platform: Platform, *mutants: str, setl_id: str | None = "S1", care: str = "outpatient") -> dict[str, Any]:
    person = employee(platform)
    # 100.00: 90.00 in scope, 10.00 over the cap that the hospital bears; pool (90.00 - 20.00) x 0.60 = 42.00
    rows = [replace(fee("1", "100.00", inscp="90.00"), overlmt_amt=D("10.00"), hosp_part_amt=D("10.00"))]
    call = make_call(platform, mutants=mutants)
    amounts = compute(call, person, rows, care="outpatient", use_account=True)
    return setlinfo(call, person, amounts, mdtrt_id="M1", setl_id=setl_id, care=care, med_type="11",
                    mdtrt_cert_type="02")


SETLINFO = {
    "mdtrt_id": "M1", "setl_id": "S1", "psn_no": "43000035758424899169", "psn_name": "邹婷婷", "psn_cert_type": "01",
    "certno": "430102199207221062", "gend": "2", "naty": "01", "brdy": "1992-07-22", "age": 33.0, "insutype": "310",
    "psn_type": "11", "cvlserv_flag": "0", "setl_time": "2026-03-15 10:00:00", "mdtrt_cert_type": "02",
    "med_type": "11", "medfee_sumamt": 100.0, "fulamt_ownpay_amt": 0.0, "overlmt_selfpay": 0.0, "preselfpay_amt": 0.0,
    "inscp_scp_amt": 90.0, "act_pay_dedc": 20.0, "hifp_pay": 42.0, "pool_prop_selfpay": 0.6, "cvlserv_pay": 0.0,
    "hifes_pay": 0.0, "hifmi_pay": 0.0, "hifob_pay": 0.0, "maf_pay": 0.0, "oth_pay": 0.0, "hifdm_pay": 0.0,
    "fund_pay_sumamt": 42.0, "psn_part_amt": 48.0, "acct_pay": 48.0, "acct_mulaid_pay": 0.0, "psn_cash_pay": 0.0,
    "hosp_part_amt": 10.0, "balc": 2632.5, "medins_setl_id": "H52010200001202603151000000001",
    "clr_optins": "520102", "clr_way": "1", "clr_type": "11", "exp_content": ""}


def test_setlinfo_carries_the_amounts_the_ids_and_the_clearing_fields() -> None:
    platform = memory_platform()
    info = _info(platform)
    assert info == SETLINFO and list(info) == list(SETLINFO)  # the spec's order, every field
    assert "setl_id" not in _info(platform, setl_id=None)  # a pre-settlement has no settlement id
    assert [_info(platform, care=care)["clr_type"] for care in ("chronic", "inpatient", "pharmacy")] == [
        "11", "21", "41"]


def test_the_planted_setlinfo_mutants_change_exactly_their_field() -> None:
    platform = memory_platform()
    assert (_info(platform, "psn-part-split-wrong")["psn_cash_pay"], _info(platform)["psn_cash_pay"]) == (48.0, 0.0)
    assert _info(platform, "float-rounding-error")["psn_part_amt"] == 100.0 - 42.0 - 10.0 == 48.0
    planted = _info(platform, "medins-setl-id-not-msgid", "code-outside-list", "output-field-missing")
    assert (planted["medins_setl_id"], planted["clr_way"], "cvlserv_flag" in planted) == ("S1", "01", False)
    # a pre-settlement has no setl_id to put there: it keeps the msgid
    assert _info(platform, "medins-setl-id-not-msgid", setl_id=None)["medins_setl_id"] == \
        "H52010200001202603151000000001"


def test_a_clearing_way_from_the_other_dictionary_is_padded_where_the_profile_is_not_and_the_reverse() -> None:
    padded = memory_platform(profile="jiangxi")
    assert (_info(padded)["clr_way"], _info(padded, "code-outside-list")["clr_way"]) == ("01", "1")
    plain = memory_platform()
    assert (_info(plain)["clr_way"], _info(plain, "code-outside-list")["clr_way"]) == ("1", "01")


def test_a_presettlement_issues_no_settlement_id_and_echoes_the_certificate_type() -> None:
    flow = _flow_with()
    who = persona(EMPLOYEE)
    mdtrt_id, amount = flow.register(who)
    info = flow.presettle(who, mdtrt_id, amount)["setlinfo"]
    assert "setl_id" not in info and info["mdtrt_cert_type"] == "02"
    assert flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"].startswith("S520102")


def test_setlinfo_defaults_only_what_the_person_record_lacks() -> None:
    platform = memory_platform()
    person = employee(platform)
    amounts = compute(make_call(platform), person, [fee("1", "10.00")], care="outpatient", use_account=False)

    def shown(**data: Any) -> tuple[Any, Any]:
        who = replace(person, data={k: v for k, v in {**person.data, **data}.items() if v is not None})
        info = setlinfo(make_call(platform), who, amounts, mdtrt_id="M1", setl_id=None, care="outpatient",
                        med_type="11", mdtrt_cert_type="02")
        return info["psn_cert_type"], info["cvlserv_flag"]

    assert shown(psn_cert_type=None, cvlserv_flag=None) == ("01", "0")
    assert shown(psn_cert_type="02", cvlserv_flag="1") == ("02", "1")


# --- what the run after the settlement speed-ups left alive ----------------------------------------


@pytest.mark.parametrize(("sent", "problem"), [
    ("360102", "/insuplc_admdvs 参保地医保区划与人员参保地不一致（人员参保地 430102）"),
    ("", "/insuplc_admdvs 异地就医业务参保地医保区划必填（人员参保地 430102）"),
])
def test_a_tolerated_insuplc_is_served_as_routed_to_the_persons_insured_region(sent: str, problem: str) -> None:
    asked: list[Any] = []
    for answer in (False, True):
        platform = memory_platform(tolerate=lambda v, answer=answer: asked.append(v) or answer)
        call = make_call(platform, insuplc_admdvs=sent)
        sent_envelope = dict(call.envelope)
        if answer:
            assert person_for(call, persona(EMPLOYEE).psn_no).insuplc_admdvs == "430102"
            assert call.envelope == {**sent_envelope, "insuplc_admdvs": "430102"}  # routed to the insured region
        else:
            with pytest.raises(Refusal) as refused:
                person_for(call, persona(EMPLOYEE).psn_no)
            assert (refused.value.cause, refused.value.err_msg) == ("invalid-request", "入参校验失败：" + problem)
            assert call.envelope == sent_envelope
    violation = SchemaViolation("/insuplc_admdvs", "ENV.req.insuplc_admdvs", problem, expected="430102", actual=sent)
    assert asked == [violation, violation]
    # a call routed to the person's insured region asks nothing
    platform = memory_platform(tolerate=lambda v: asked.append(v) or True)
    assert person_for(make_call(platform), persona(EMPLOYEE).psn_no).psn_no == persona(EMPLOYEE).psn_no
    assert len(asked) == 2


def test_a_committed_settlement_returns_its_node_with_its_text_and_stores_the_mid_settlement_flag() -> None:
    platform = memory_platform()
    person = employee(platform)
    call = make_call(platform)
    out = settle_rows(call, person, [fee("1", "70.00", inscp="65.50")], [], {"acct_used_flag": "0"}, commit=True,
                      mdtrt_id="M1", care="outpatient", med_type="11", mid_setl_flag="1")
    assert list(out) == ["setlinfo", "setldetail"] and json.loads(out.text) == out  # type: ignore[attr-defined]
    info = out["setlinfo"]
    assert info["mdtrt_cert_type"] == "" and info["psn_cash_pay"] == 42.7  # no certificate type in the request
    assert out["setldetail"] == [{**DETAIL, "inscp_scp_amt": 65.5}]
    stored = _stored(platform, info["setl_id"])
    assert (stored["mid_setl_flag"], stored["setl_time"]) == ("1", "2026-03-15 10:00:00")
    assert json.loads(stored["setldetail"]) == out["setldetail"]


def test_a_reversal_is_dated_when_it_is_made_and_restores_no_account_the_settlement_did_not_use() -> None:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona(EMPLOYEE)
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 1)])
    original = flow.settle(who, mdtrt_id, amount, acct_used_flag="0")
    assert original["setlinfo"]["acct_pay"] == 0.0 and flow.balance(who) == D("2680.50")
    row = platform.db.conn.execute("SELECT * FROM settlements WHERE setl_id = ?",
                                   (original["setlinfo"]["setl_id"],)).fetchone()
    fields = {k: row[k] for k in Settlement.__dataclass_fields__ if k not in ("setlinfo", "setldetail")}
    settlement = Settlement(**fields, setlinfo=original["setlinfo"], setldetail=original["setldetail"])
    assert original["setlinfo"]["setl_time"] != "2026-03-15 10:00:00"  # settled on the platform's own clock
    back = reverse(make_call(platform, "2208"), settlement)["setlinfo"]
    assert (back["setl_time"], back["acct_pay"], back["balc"]) == ("2026-03-15 10:00:00", 0.0, 2680.5)
    assert flow.balance(who) == D("2680.50")


def test_accept_filed_elsewhere_also_lets_a_filing_for_another_institution_through() -> None:
    platform = memory_platform()
    who = persona("filed-elsewhere")  # filed for 510104, treated at HOME in 520102
    conn = platform.db.conn
    # naming its institution, and begun before the call's day (the seed dates it from today)
    conn.execute("UPDATE filings SET fixmedins_codes = ?, begndate = ? WHERE psn_no = ?",
                 ('["H51010400001"]', "2026-01-01", who.psn_no))
    forget_filings(conn, who.psn_no)
    person = load_person(conn, who.psn_no)
    assert person is not None

    def check(*mutants: str) -> None:
        call = make_call(platform, mutants=mutants, insuplc_admdvs=person.insuplc_admdvs)
        run_checks(call, person, None, care="outpatient", med_type="11", dise_codg="", presented_cert_type=None,
                   exp_content=None)

    with pytest.raises(Refusal) as refused:
        check()
    assert refused.value.cause == "filed-elsewhere"
    check("accept-filed-elsewhere")  # the filing counts as made for here, whatever institution it names
