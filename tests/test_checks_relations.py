"""The relation checks every site's answers get: each fed a correct answer (passes) and a broken one (fails
with its clause and grade). The answers are written here, not produced by the reference platform."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.checks import CHECKS, CheckContext, run_check, run_interface_checks
from harness.checks.audit import audit, mapping_problems, unchecked_rules
from harness.checks.automatic import interface_checks, load_table
from harness.checks.history import ANSWERS
from harness.model import Grade, Step

MSGID = "H43010200001202401011200000001"

# A Chongqing-like inpatient settlement with a hospital share (interface-facts §4.7 real data check):
# 23442.46 = 18785.39 (fund) + 4152.06 (personal) + 505.01 (hospital); 4152.06 = 170.04 + 3982.02.
SETTLEMENT = """{
  "mdtrt_id": "M1", "setl_id": "S1", "psn_no": "P1", "medins_setl_id": "MSGID",
  "medfee_sumamt": 23442.46, "fulamt_ownpay_amt": 1200.00, "overlmt_selfpay": 42.46, "preselfpay_amt": 700.00,
  "inscp_scp_amt": 21500.00, "act_pay_dedc": 1000.00, "pool_prop_selfpay": 0.8500, "hifp_pay": 17425.00,
  "cvlserv_pay": 0, "hifes_pay": 0, "hifmi_pay": 1000.39, "hifob_pay": 0, "maf_pay": 360.00, "oth_pay": 0,
  "fund_pay_sumamt": 18785.39, "psn_part_amt": 4152.06, "acct_pay": 170.04, "psn_cash_pay": 3982.02,
  "hosp_part_amt": 505.01, "acct_mulaid_pay": 20.00, "balc": 829.96
}""".replace("MSGID", MSGID)
DETAIL = """[
  {"fund_pay_type": "310100", "inscp_scp_amt": 21500.00, "crt_payb_lmt_amt": null, "fund_payamt": 17425.00},
  {"fund_pay_type": "390200", "inscp_scp_amt": 21500.00, "crt_payb_lmt_amt": null, "fund_payamt": 1000.39},
  {"fund_pay_type": "610100", "inscp_scp_amt": 21500.00, "crt_payb_lmt_amt": null, "fund_payamt": 360.00}
]"""


def parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def info(**over: Any) -> dict[str, Any]:
    base = parse(SETTLEMENT)
    base.update({k: parse(v) if isinstance(v, str) and v[:1] in "-0123456789" else v for k, v in over.items()})
    return base


def ctx(output: Any, *, infno: str = "2304", data: dict[str, Any] | None = None, saved: dict[str, Any] | None = None,
        msgid: str = MSGID, profile: Any = None, automatic: bool = False) -> CheckContext:
    request = {"msgid": msgid, "infno": infno, "input": {"data": data if data is not None else
                                                          {"mdtrt_id": "M1", "psn_no": "P1"}}}
    response = {"infcode": 0, "inf_refmsgid": "430000202401011200000000000001", "err_msg": None, "output": output}
    return CheckContext(infno=infno, step=Step(infno, {}), step_index=3, request=request, response=response,
                        saved=saved or {}, profile=profile, automatic=automatic)


def settled(**over: Any) -> dict[str, Any]:
    return {"setlinfo": info(**over), "setldetail": parse(DETAIL)}


def check(name: str, context: CheckContext) -> list:
    failures = run_check(name, context)
    for failure in failures:
        assert failure.clause == CHECKS[name].clause
        assert failure.evidence["check"] == name
    return failures


# --- one answer -----------------------------------------------------------------------------------


def test_a_correct_settlement_with_a_hospital_share_passes_every_relation() -> None:
    for name in ("money.sum", "money.psn_part", "money.fund_sum", "money.acct_mulaid", "money.fee_parts",
                 "money.shares_signed", "money.pool_share", "setldetail.funds", "settle.ids_echo"):
        assert check(name, ctx(settled())) == [], name


def test_money_sum_uses_the_hospital_share() -> None:
    [failure] = check("money.sum", ctx(settled(hosp_part_amt="0")))
    assert failure.expected == "22937.45" and failure.grade is Grade.MUST


def test_money_fund_sum() -> None:
    [failure] = check("money.fund_sum", ctx(settled(maf_pay="0")))
    assert (failure.expected, failure.actual, failure.grade) == ("18425.39", "18785.39", Grade.MUST)
    # 伤残人员医疗保障基金 reported beside oth_pay is part of the total.
    assert check("money.fund_sum", ctx(settled(maf_pay="0", hifdm_pay="360.00"))) == []


def test_money_acct_mulaid() -> None:
    [failure] = check("money.acct_mulaid", ctx(settled(acct_mulaid_pay="170.05")))
    assert failure.grade is Grade.MUST
    assert len(check("money.acct_mulaid", ctx(settled(acct_mulaid_pay="-1.00")))) == 1


def test_money_fee_parts_is_a_should() -> None:
    [failure] = check("money.fee_parts", ctx(settled(inscp_scp_amt="21600.00")))
    assert failure.grade is Grade.SHOULD and "add up" in failure.title
    [bigger] = check("money.fee_parts", ctx(settled(fulamt_ownpay_amt="23442.47")))
    assert "fulamt_ownpay_amt" in bigger.title


def test_money_shares_signed_catches_a_share_with_the_opposite_sign() -> None:
    # The sums hold (4152.06 = -170.04 + 4322.10) but the account share is negative.
    broken = ctx(settled(acct_pay="-170.04", psn_cash_pay="4322.10"))
    assert check("money.psn_part", broken) == []
    [failure] = check("money.shares_signed", broken)
    assert failure.evidence["field"] == "acct_pay" and failure.grade is Grade.SHOULD


def test_money_pool_share_recomputes_from_the_answers_own_ratio() -> None:
    # (21500 - 1000) x 0.85 = 17425.00; a truncated or otherwise rounded share differs.
    [failure] = check("money.pool_share", ctx(settled(hifp_pay="17424.99")))
    assert (failure.expected, failure.actual, failure.grade) == ("17425.00", "17424.99", Grade.SHOULD)
    # A limit the answer names explains a smaller share.
    capped = settled(hifp_pay="15000.00")
    capped["setldetail"][0]["crt_payb_lmt_amt"] = Decimal("15000.00")
    assert check("money.pool_share", ctx(capped)) == []
    [ratio] = check("money.pool_share", ctx(settled(pool_prop_selfpay="1.5000")))
    assert "ratio" in ratio.title


def test_money_pool_share_rounds_half_up() -> None:
    # (100.01 - 0) x 0.85 = 85.0085 -> 85.01 half up (85.00 when rounded down or half even at the 3rd place).
    answer = settled(inscp_scp_amt="100.01", act_pay_dedc="0", hifp_pay="85.01")
    assert check("money.pool_share", ctx(answer)) == []
    assert len(check("money.pool_share", ctx(settled(inscp_scp_amt="100.01", act_pay_dedc="0",
                                                     hifp_pay="85.00")))) == 1


def test_setldetail_funds() -> None:
    broken = settled()
    broken["setldetail"][2]["fund_payamt"] = Decimal("300.00")
    [failure] = check("setldetail.funds", ctx(broken))
    assert failure.grade is Grade.SHOULD and failure.expected == "18785.39"
    # The personal account (310200) and hospital share (999996) may be listed beside the funds.
    listed = settled()
    listed["setldetail"] += [{"fund_pay_type": "310200", "fund_payamt": Decimal("170.04")},
                             {"fund_pay_type": "999996", "fund_payamt": Decimal("505.01")}]
    assert check("setldetail.funds", ctx(listed)) == []
    pool = settled()
    pool["setldetail"][0]["fund_payamt"], pool["setldetail"][1]["fund_payamt"] = Decimal("17000.00"), Decimal("1425.39")
    [row] = check("setldetail.funds", ctx(pool))
    assert "basic pool" in row.title


def test_settle_ids_echo() -> None:
    [failure] = check("settle.ids_echo", ctx(settled(mdtrt_id="M2")))
    assert (failure.expected, failure.actual, failure.grade) == ("M1", "M2", Grade.MUST)
    query = {"mdtrt_id": "M1", "psn_no": "P1", "setl_id": "S9"}
    [other] = check("settle.ids_echo", ctx(settled(), infno="5203", data=query))
    assert other.evidence["field"] == "setl_id"
    # A reversal carries its own setl_id, and may leave psn_no out.
    reversal = info(setl_id="S2")
    del reversal["psn_no"]
    assert check("settle.ids_echo", ctx({"setlinfo": reversal}, infno="2208",
                                        data={"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1"})) == []


def test_register_ids_echo() -> None:
    sent = {"psn_no": "P1", "ipt_otp_no": "OP1"}
    assert check("register.ids_echo", ctx({"data": {"mdtrt_id": "M1", "psn_no": "P1", "ipt_otp_no": "OP1"}},
                                          infno="2201", data=sent)) == []
    failures = check("register.ids_echo", ctx({"data": {"mdtrt_id": "", "psn_no": "P2", "ipt_otp_no": "OP1"}},
                                              infno="2201", data=sent))
    assert [f.title for f in failures] == ["2201 returned no mdtrt_id", "output.data.psn_no is not the psn_no of the "
                                           "request"]


def test_person_insuinfo() -> None:
    good = parse('{"baseinfo": {"psn_no": "P1"}, "insuinfo": [{"insuplc_admdvs": "500103", "balc": 1.00},'
                 ' {"insu_admdvs": "500103", "balc": 0}]}')
    assert check("person.insuinfo", ctx(good, infno="1101")) == []
    bad = parse('{"baseinfo": {"psn_no": ""}, "insuinfo": [{"insuplc_admdvs": "5001", "balc": 1.00}]}')
    assert [f.grade for f in check("person.insuinfo", ctx(bad, infno="1101"))] == [Grade.MUST, Grade.MUST]
    assert len(check("person.insuinfo", ctx({"baseinfo": {"psn_no": "P1"}, "insuinfo": []}, infno="1101"))) == 1


def test_signin_sign_no() -> None:
    good = {"signinoutb": {"sign_no": "79faf82271944fe38c4f1d99be71bc9c", "sign_time": "2021-08-29 19:35:27"}}
    assert check("signin.sign_no", ctx(good, infno="9001")) == []
    [none] = check("signin.sign_no", ctx({"signinoutb": {"sign_no": " "}}, infno="9001"))
    assert none.grade is Grade.MUST
    [when] = check("signin.sign_no", ctx({"signinoutb": {"sign_no": "359754", "sign_time": "20210829"}}, infno="9001"))
    assert when.grade is Grade.SHOULD


def test_correction_reversible_is_a_should() -> None:
    hunan = SimpleNamespace(reversible_by_2601=("2102", "2207", "2304", "2401"))
    assert check("correction.reversible", ctx(None, infno="2601", data={"oinfno": "2207"}, profile=hunan)) == []
    [failure] = check("correction.reversible", ctx(None, infno="2601", data={"oinfno": "2208"}, profile=hunan))
    assert failure.grade is Grade.SHOULD


# --- answers compared with the scenario's earlier answers (the automatic checks) --------------------


def answer(infno: str, output: Any, data: dict[str, Any], msgid: str) -> dict[str, Any]:
    return {"infno": infno, "msgid": msgid, "data": data, "output": output}


SETTLE_INPUT = {"mdtrt_id": "M1", "psn_no": "P1", "medfee_sumamt": "23442.46", "insutype": "310",
                "acct_used_flag": "1", "mid_setl_flag": "0"}


def auto(name: str, output: Any, history: list[dict[str, Any]], *, infno: str = "2304",
         data: dict[str, Any] | None = None, msgid: str = MSGID) -> list:
    return check(name, ctx(output, infno=infno, data=data or SETTLE_INPUT, saved={ANSWERS: history}, msgid=msgid,
                           automatic=True))


def test_settlement_equals_its_presettlement_and_has_its_own_setl_id() -> None:
    pre = settled()
    del pre["setlinfo"]["setl_id"]
    history = [answer("2303", pre, SETTLE_INPUT, "H1")]
    assert auto("settle.matches_presettle", settled(), history) == []
    failures = auto("settle.matches_presettle", settled(acct_pay="0", psn_cash_pay="4152.06"), history)
    assert {f.evidence["field"] for f in failures} == {"acct_pay", "psn_cash_pay"}
    assert {f.grade for f in failures} == {Grade.MUST}
    echoing = settled()
    pre_with_id = [answer("2303", settled(), SETTLE_INPUT, "H1")]
    [echo] = auto("settle.matches_presettle", echoing, pre_with_id)
    assert "pre-settlement returned" in echo.title
    # A pre-settlement of another input, or none at all, is not compared (and is no suite bug).
    other = [answer("2303", pre, {**SETTLE_INPUT, "medfee_sumamt": "100.00"}, "H1")]
    assert auto("settle.matches_presettle", settled(acct_pay="0"), other) == []
    assert auto("settle.matches_presettle", settled(acct_pay="0"), []) == []


def negated(output: dict[str, Any]) -> dict[str, Any]:
    """The reversal a correct site answers: every amount negated (not the ratio and the balance), a new setl_id."""
    kept = ("balc", "pool_prop_selfpay")
    info = {k: -v if isinstance(v, (int, Decimal)) and k not in kept else v for k, v in output["setlinfo"].items()}
    info.update(setl_id="S2", balc=Decimal("1000.00"))
    detail = [{**row, "fund_payamt": -row["fund_payamt"], "inscp_scp_amt": -row["inscp_scp_amt"]}
              for row in output["setldetail"]]
    return {"setlinfo": info, "setldetail": detail}


def test_a_reversal_negates_the_setldetail_rows_too() -> None:
    history = [answer("2304", settled(), SETTLE_INPUT, "H2")]
    sent = {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1"}
    good = negated(settled())
    assert auto("reversal.negates", good, history, infno="2305", data=sent) == []
    bad = negated(settled())
    bad["setldetail"][1]["fund_payamt"] = Decimal("1000.39")  # the row kept its sign
    [failure] = auto("reversal.negates", bad, history, infno="2305", data=sent)
    assert failure.evidence["field"] == "setldetail[390200].fund_payamt" and failure.grade is Grade.MUST
    missing = negated(settled())
    del missing["setldetail"]
    [absent] = auto("reversal.negates", missing, history, infno="2305", data=sent)
    assert absent.grade is Grade.SHOULD


def test_the_balance_follows_the_person_query_and_each_settlement() -> None:
    person = parse('{"baseinfo": {"psn_no": "P1"}, "insuinfo": [{"insutype": "390", "balc": 0, '
                   '"insuplc_admdvs": "500103"}, {"insutype": "310", "balc": 1000.00, "insuplc_admdvs": "500103"}]}')
    history = [answer("1101", person, {"mdtrt_cert_type": "02"}, "H0")]
    assert auto("settle.account_debited", settled(), history) == []  # 1000.00 - 170.04 = 829.96
    [failure] = auto("settle.account_debited", settled(balc="1000.00"), history)
    assert failure.expected == "829.96" and failure.grade is Grade.MUST
    after = [*history, answer("2304", settled(), SETTLE_INPUT, "H2")]
    sent = {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1"}
    assert auto("settle.account_debited", negated(settled()), after, infno="2305", data=sent) == []
    # A replayed settlement is answered from the record: its balance is not compared again.
    assert auto("settle.account_debited", settled(), after, msgid="H2") == []


def test_after_a_2601_the_undone_settlement_cannot_be_reversed() -> None:
    history = [answer("2304", settled(), SETTLE_INPUT, "H2"),
               answer("2601", None, {"psn_no": "P1", "omsgid": "H2", "oinfno": "2304"}, "H3")]
    sent = {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1"}
    [failure] = auto("correction.undone", negated(settled()), history, infno="2305", data=sent)
    assert failure.grade is Grade.MUST and failure.evidence["omsgid"] == "H2"
    [query] = auto("correction.undone", settled(), history, infno="5203", data=sent)
    assert query.grade is Grade.SHOULD
    assert auto("correction.undone", negated(settled()), history[:1], infno="2305", data=sent) == []
    admitted = [answer("2401", {"result": {"mdtrt_id": "M1"}}, {"psn_no": "P1"}, "H4"),
                answer("2601", None, {"psn_no": "P1", "omsgid": "H4", "oinfno": "2401"}, "H5")]
    assert len(auto("correction.undone", None, admitted, infno="2402", data={"mdtrt_id": "M1", "psn_no": "P1"})) == 1


def test_run_interface_checks_runs_the_table_skips_what_the_step_named_and_remembers() -> None:
    assert "money.fund_sum" in interface_checks("2304") and "envelope.inf_refmsgid" not in interface_checks("2304")
    memory: dict[str, Any] = {}
    broken = settled(maf_pay="0")
    failures = run_interface_checks(ctx(broken), listed=["money.sum"], memory=memory)
    assert {f.evidence["check"] for f in failures} == {"money.fund_sum"}
    assert [a["infno"] for a in memory[ANSWERS]] == ["2304"]
    assert run_interface_checks(ctx(broken), listed=["money.fund_sum"], memory={}) == []


def test_the_table_names_only_registered_checks(tmp_path: Path) -> None:
    assert all(name in CHECKS for names in load_table().values() for name in names)
    (tmp_path / "checks-by-interface.json").write_text('{"interfaces": {"2207": ["money.nope"]}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"money\.nope"):
        load_table(tmp_path)


# --- the rule audit ------------------------------------------------------------------------------


def test_the_rule_mapping_covers_every_rule_and_names_only_registered_checks() -> None:
    assert mapping_problems() == []


def test_unchecked_rules_are_records_with_a_reason() -> None:
    records = audit()
    assert {r.id for r in records} >= {"R-MONEY-SUM", "R-GATEWAY-SIGNATURE", "F-1.2-INF-REFMSGID"}
    left = unchecked_rules()
    assert "R-GATEWAY-SIGNATURE" not in {r.id for r in left}  # scenarios/gateway (tampered signatures)
    assert all(r.reason and not r.verified_by for r in left)
    fund = next(r for r in records if r.id == "R-MONEY-FUND-SUM")
    assert fund.checks == ("money.fund_sum",) and fund.grade == "MUST" and fund.to_json()["verified_by"] == ["check"]
    # Given the clauses the scenarios cite, a scenario expectation no scenario has does not count.
    nothing = {r.id for r in unchecked_rules(scenario_clauses=[])}
    assert "R-FILING-REQUIRED" in nothing and "R-MONEY-SUM" not in nothing
