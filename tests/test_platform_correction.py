"""2601 冲正 for exactly the profile's reversible transactions, and the planted mutants."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from platform_samples import CATALOGUE, ITEMS, Flow, memory_platform, persona

from harness.errors import ConfigError
from harness.platform import CAUSE_MESSAGES, Fault, Platform
from harness.platform.samples import fee_lines, settle_input, total
from harness.specs import load_registry


def correct(flow: Flow, who: Any, omsgid: str, oinfno: str) -> dict[str, Any]:
    return flow.call("2601", {"data": {"psn_no": who.psn_no, "omsgid": omsgid, "oinfno": oinfno}}, who)


def recon_count(flow: Flow, clr_type: str = "11") -> str:
    day = flow.ok("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "i"}})["signinoutb"]["sign_time"][:10]
    data = {"insutype": "310", "clr_type": clr_type, "setl_optins": "520102", "stmt_begndate": day,
            "stmt_enddate": day, "medfee_sumamt": 0, "fund_pay_sumamt": 0, "acct_pay": 0, "fixmedins_setl_cnt": 0}
    return str(flow.ok("3201", {"data": data})["stmtinfo"]["stmt_rslt"])


@pytest.fixture()
def flow() -> Flow:
    flow = Flow(memory_platform().call)
    flow.sign_in()
    return flow


def test_reversible_codes_are_the_profiles() -> None:
    assert memory_platform().ctx.reversible == load_registry().profile("baseline").reversible_by_2601
    hunan = memory_platform(profile="hunan")
    assert "2208" not in hunan.ctx.reversible  # Hunan's text lists 2102/2207/2304/2401 only


def test_correcting_a_settlement_voids_it(flow: Flow) -> None:
    who = persona("filed-employee")
    before = flow.balance(who)
    mdtrt_id, amount = flow.register(who)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    omsgid = flow.last["msgid"]
    assert recon_count(flow) == "1"  # the platform has a row the (empty) ledger lacks
    assert correct(flow, who, omsgid, "2207")["infcode"] == 0
    assert flow.balance(who) == before
    assert recon_count(flow) == "0"  # 冲正 leaves nothing to reconcile
    query = {"data": {"psn_no": who.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}
    assert flow.refused("5203", query, who) == CAUSE_MESSAGES["reversal-unknown"]
    assert correct(flow, who, omsgid, "2207")["err_msg"] == CAUSE_MESSAGES["reversal-repeated"]
    assert flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"] != setl_id  # the visit can settle again


def test_correcting_a_reversal_brings_the_settlement_back(flow: Flow) -> None:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 1)])
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    after_settlement = flow.balance(who)
    flow.reverse(who, mdtrt_id, info["setl_id"])
    assert correct(flow, who, flow.last["msgid"], "2208")["infcode"] == 0
    assert flow.balance(who) == after_settlement
    assert flow.refused("2207", settle_input(who, mdtrt_id, "B1", amount), who) == CAUSE_MESSAGES[
        "duplicate-settlement"]


def test_correcting_an_admission_cancels_it_and_a_settled_stay_cannot_be(flow: Flow) -> None:
    who = persona("filed-employee-2")
    stay, _ = flow.admit(who, [])
    assert correct(flow, who, flow.last["msgid"], "2401")["infcode"] == 0
    with pytest.raises(AssertionError, match="就诊信息不存在"):
        flow.discharge(who, stay)
    stay, _ = flow.admit(who, [])
    admission = flow.last["msgid"]
    rows = fee_lines(who, stay, [(ITEMS["bed"], 2)], inpatient=True)
    flow.ok("2301", {"feedetail": rows}, who)
    flow.discharge(who, stay)
    flow.settle_inpatient(who, stay, total(rows))
    settlement = flow.last["msgid"]
    assert correct(flow, who, admission, "2401")["err_msg"] == "该就诊已结算，不能冲正入院办理"
    assert correct(flow, who, settlement, "2304")["infcode"] == 0
    assert flow.settle_inpatient(who, stay, total(rows))["setlinfo"]["setl_id"]


def test_pharmacy_settlement_and_its_reversal_are_correctable() -> None:
    shop = Flow(memory_platform().call, CATALOGUE.institution("P52010200001"))
    shop.sign_in()
    who = persona("filed-employee")
    details = fee_lines(who, "", [(ITEMS["amoxicillin"], 1)])
    druginfo = {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno, "psn_cert_type": "01",
                "certno": who.certno, "psn_type": who.psn_type, "psn_name": who.psn_name,
                "begntime": "2024-06-01 09:00:00", "medfee_sumamt": total(details), "insutype": "310",
                "acct_used_flag": "1", "med_type": "41"}
    start = shop.balance(who)
    info = shop.ok("2102", {"druginfo": druginfo, "drugdetail": details}, who)["setlinfo"]
    shop.reverse(who, info["mdtrt_id"], info["setl_id"], infno="2103")
    assert correct(shop, who, shop.last["msgid"], "2103")["infcode"] == 0
    assert shop.balance(who) == start - D("18.60")


def test_what_2601_refuses(flow: Flow) -> None:
    who = persona("filed-employee")
    flow.register(who)
    assert correct(flow, who, flow.last["msgid"], "2204")["err_msg"] == CAUSE_MESSAGES["not-reversible"]
    assert correct(flow, who, "H52010200001202401010000009999", "2207")["err_msg"] == CAUSE_MESSAGES[
        "reversal-unknown"]
    assert correct(flow, who, "H52010200001202401010000009999", "2401")["err_msg"] == CAUSE_MESSAGES["not-found"]


# --- mutants ------------------------------------------------------------------------------------------


def mutant(platform: Platform, name: str, infno: str = "*") -> None:
    platform.faults.add(Fault(infno=infno, kind="mutant", name=name))


def test_mutant_skip_account_debit() -> None:
    platform = memory_platform()
    mutant(platform, "skip-account-debit", "2207")
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    before = flow.balance(who)
    mdtrt_id, amount = flow.register(who)
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert D(str(info["acct_pay"])) > 0 and flow.balance(who) == before  # the planted deviation


def test_mutants_medins_setl_id_and_reversal_sign() -> None:
    platform = memory_platform()
    mutant(platform, "medins-setl-id-not-msgid")
    mutant(platform, "reversal-keeps-sign")
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    info = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert info["medins_setl_id"] != flow.last["msgid"]
    reversal = flow.reverse(who, mdtrt_id, info["setl_id"])["setlinfo"]
    assert reversal["medfee_sumamt"] == info["medfee_sumamt"] > 0


def test_mutant_accept_not_filed_and_unknown_names() -> None:
    platform = memory_platform()
    mutant(platform, "accept-not-filed", "2207")
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("not-filed")
    mdtrt_id, amount = flow.register(who)
    assert flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    with pytest.raises(ConfigError, match="Unknown mutant"):
        mutant(platform, "no-such-deviation")
