"""Tests that kill the mutants mutation testing found alive in the money checks.

`tools/mutation.py --module checks.money` plants one-line bugs in `harness/checks/money.py`; each test
here pins a behaviour one of them changed unnoticed: the exact finding a user reads (title, expected,
actual, the sum written out), and every bound of the precision rule. Expectations are literals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from harness.checks import CheckContext, run_check
from harness.checks.registry import CHECKS, REVERSED_AMOUNTS, SETTLEMENT_AMOUNTS, amount, check, decimal_of, show
from harness.model import Failure, Severity, Step
from harness.specs import load_registry

D = Decimal


def _ctx(output: Any, *, infno: str = "2207", registry: Any = None) -> CheckContext:
    return CheckContext(infno=infno, step=Step(infno, {}), step_index=3, request={},
                        response={"infcode": 0, "output": output}, registry=registry)


def _info(**amounts: Any) -> dict[str, Any]:
    """A setlinfo of Decimals; a text that is not a plain number (" 10.00 ", "n/a") is kept as text."""
    return {"setlinfo": {k: (D(v) if isinstance(v, str) and v.lstrip("-").replace(".", "", 1).isdigit() else v)
                         for k, v in amounts.items()}}


# --- money.sum ------------------------------------------------------------------------------------------------


def test_a_sum_that_does_not_add_up_is_written_out() -> None:
    ctx = _ctx(_info(medfee_sumamt="100.00", fund_pay_sumamt="60.00", psn_part_amt="30.00", hosp_part_amt="5.50"))
    assert run_check("money.sum", ctx) == [Failure(
        title="medfee_sumamt is not fund_pay_sumamt + psn_part_amt + hosp_part_amt", clause="R-MONEY-SUM",
        severity=Severity.CRITICAL, detail="60.00 + 30.00 + 5.50 = 95.50", expected="95.50", actual="100.00",
        step=3, evidence={"check": "money.sum"})]


@pytest.mark.parametrize("hosp", [None, "", "n/a"])
def test_a_missing_or_unreadable_hospital_share_counts_as_zero(hosp: Any) -> None:
    ok = _ctx(_info(medfee_sumamt="90.00", fund_pay_sumamt="60.00", psn_part_amt="30.00", hosp_part_amt=hosp))
    assert run_check("money.sum", ok) == []
    [failure] = run_check("money.sum", _ctx(_info(medfee_sumamt="100.00", fund_pay_sumamt="60.00",
                                                  psn_part_amt="30.00", hosp_part_amt=hosp)))
    assert (failure.expected, failure.detail) == ("90.00", "60.00 + 30.00 + 0 = 90.00")


def test_a_hospital_share_sent_as_text_counts() -> None:
    ctx = _ctx(_info(medfee_sumamt="100.00", fund_pay_sumamt="60.00", psn_part_amt="30.00", hosp_part_amt=" 10.00 "))
    assert run_check("money.sum", ctx) == []


def test_the_sum_needs_each_amount() -> None:
    [failure] = run_check("money.sum", _ctx(_info(medfee_sumamt="100.00", psn_part_amt="30.00")))
    assert (failure.title, failure.expected, failure.actual) == (
        "setlinfo.fund_pay_sumamt is missing", "a decimal amount", "missing")
    assert run_check("money.sum", _ctx({"setldetail": []}))[0].title == "the response has no output.setlinfo to check"


# --- money.psn_part -------------------------------------------------------------------------------------------


def test_a_person_part_that_does_not_split_is_written_out() -> None:
    ctx = _ctx(_info(psn_part_amt="57.58", acct_pay="53.08", psn_cash_pay="4.00"))
    assert run_check("money.psn_part", ctx) == [Failure(
        title="psn_part_amt is not acct_pay + psn_cash_pay", clause="R-MONEY-PSN-PART", severity=Severity.CRITICAL,
        detail="53.08 + 4.00 = 57.08", expected="57.08", actual="57.58", step=3,
        evidence={"check": "money.psn_part"})]
    assert run_check("money.psn_part", _ctx(_info(psn_part_amt="57.58", acct_pay="53.08", psn_cash_pay="4.50"))) == []


def test_the_person_part_reads_the_2208_spelling() -> None:
    ctx = _ctx(_info(psn_part_amt="-57.58", acct_pay="-53.08", pdn_cash_pay="-4.50"), infno="2208")
    assert run_check("money.psn_part", ctx) == []
    [missing] = run_check("money.psn_part", _ctx(_info(psn_part_amt="1.00", acct_pay="1.00")))
    assert missing.title == "setlinfo.psn_cash_pay is missing"
    assert run_check("money.psn_part", _ctx(None))[0].actual == "null"


# --- money.precision ------------------------------------------------------------------------------------------


def _precision(output: Any, **kw: Any) -> list[tuple[str, str, str]]:
    return [(f.title, f.expected, f.actual) for f in run_check("money.precision", _ctx(output, **kw))]


def test_a_money_amount_has_two_decimal_places_and_fourteen_integer_digits() -> None:
    fine = {"setlinfo": {"medfee_sumamt": D("12.30"), "acct_pay": D("99999999999999.99"), "psn_cash_pay": D("0.00"),
                         "hifp_pay": D("1E+2"), "cnt": 2, "flag": True, "name": "张三", "note": "12.345"}}
    assert _precision(fine) == []
    too_fine = {"setlinfo": {"medfee_sumamt": D("12.345")}, "setldetail": [{"fund_payamt": D("123456789012345.00")}]}
    assert _precision(too_fine) == [
        ("output.setlinfo.medfee_sumamt exceeds its precision (16,2)",
         "at most 2 decimal places and 14 integer digits", "12.345"),
        ("output.setldetail[0].fund_payamt exceeds its precision (16,2)",
         "at most 2 decimal places and 14 integer digits", "123456789012345.00"),
    ]
    first = run_check("money.precision", _ctx(too_fine))[0]
    assert (first.severity, first.evidence) == (Severity.MINOR, {
        "check": "money.precision", "path": "output.setlinfo.medfee_sumamt"})


def test_ratios_and_ages_have_their_own_scale_without_a_registry() -> None:
    assert _precision({"setlinfo": {"pool_prop_selfpay": D("0.6000"), "age": D("35.5")},
                       "result": [{"selfpay_prop": D("0.1000")}]}) == []
    assert [t for t, _e, _a in _precision({"setlinfo": {"pool_prop_selfpay": D("0.60001"), "age": D("35.55")},
                                          "result": [{"selfpay_prop": D("10.1")}]})] == [
        "output.setlinfo.pool_prop_selfpay exceeds its precision (5,4)",
        "output.setlinfo.age exceeds its precision (4,1)",
        "output.result[0].selfpay_prop exceeds its precision (5,4)",
    ]


def test_infinite_and_unreadable_numbers_are_left_to_the_schema_check() -> None:
    assert _precision({"setlinfo": {"medfee_sumamt": D("Infinity"), "acct_pay": D("NaN")}}) == []
    assert _precision([D("1.234")]) == []


def test_with_the_registry_the_declared_digits_decide_and_text_numbers_are_judged() -> None:
    registry = load_registry()
    judged = _precision({"setlinfo": {"medfee_sumamt": "12.345", "psn_name": "12.345"}}, registry=registry)
    assert judged == [("output.setlinfo.medfee_sumamt exceeds its precision (16,2)",
                       "at most 2 decimal places and 14 integer digits", "12.345")]
    # A field the spec does not declare is not judged with a registry, but is without one (money by default).
    assert _precision({"setlinfo": {"not_a_spec_field": D("1.234")}}, registry=registry) == []
    assert len(_precision({"setlinfo": {"not_a_spec_field": D("1.234")}})) == 1
    # An interface the registry does not know falls back to the default scales.
    assert len(_precision({"setlinfo": {"medfee_sumamt": D("1.234")}}, infno="0000", registry=registry)) == 1


# --- settlement checks ----------------------------------------------------------------------------------------


def _sctx(output: Any, *, saved: dict[str, Any] | None = None, msgid: str = "H430101000012026120711000001") -> (
        CheckContext):
    return CheckContext(infno="2207", step=Step("2207", {}), step_index=5, request={"msgid": msgid},
                        response={"infcode": 0, "output": output}, saved=saved or {})


def _fail(check: str, clause: str, title: str, *, severity: Severity = Severity.MAJOR, expected: str = "",
          actual: str = "", detail: str = "", **evidence: Any) -> Failure:
    return Failure(title=title, clause=clause, severity=severity, detail=detail, expected=expected, actual=actual,
                   step=5, evidence={"check": check, **evidence})


def test_medins_setl_id_must_echo_the_msgid() -> None:
    assert run_check("settle.medins_setl_id", _sctx(_info(medins_setl_id="M1"), msgid="M1")) == []
    assert run_check("settle.medins_setl_id", _sctx(_info(medins_setl_id="S9"), msgid="M1")) == [
        _fail("settle.medins_setl_id", "R-MEDINS-SETL-ID-IS-MSGID", "medins_setl_id is not the request's msgid",
              expected="M1", actual="S9")]
    assert run_check("settle.medins_setl_id", _sctx(_info(), msgid="M1"))[0].actual == "missing"
    assert run_check("settle.medins_setl_id", _sctx(None))[0].title == "the response has no output.setlinfo to check"


def test_the_settlement_must_repeat_the_presettlement() -> None:
    before = {"medfee_sumamt": D("107.20"), "hifp_pay": D("49.62"), "acct_pay": D("53.08"), "psn_name": "张三"}
    same = _sctx(_info(medfee_sumamt="107.20", hifp_pay="49.62", acct_pay="53.08"), saved={"presettle": before})
    assert run_check("settle.matches_presettle", same) == []
    whole_output = _sctx(_info(medfee_sumamt="107.20", hifp_pay="49.62", acct_pay="53.08"),
                         saved={"presettle": {"setlinfo": before}})
    assert run_check("settle.matches_presettle", whole_output) == []
    differs = _sctx(_info(medfee_sumamt="107.20", hifp_pay="49.60"), saved={"presettle": before})
    assert run_check("settle.matches_presettle", differs) == [
        _fail("settle.matches_presettle", "R-PRESETTLE-EQUALS-SETTLE",
              "settlement hifp_pay differs from the pre-settlement", severity=Severity.CRITICAL, expected="49.62",
              actual="49.60", field="hifp_pay"),
        _fail("settle.matches_presettle", "R-PRESETTLE-EQUALS-SETTLE",
              "settlement acct_pay differs from the pre-settlement", severity=Severity.CRITICAL, expected="53.08",
              actual="missing", field="acct_pay"),
    ]


def test_a_settlement_check_without_its_saved_record_is_a_suite_bug() -> None:
    [bug] = run_check("settle.matches_presettle", _sctx(_info(medfee_sumamt="1.00")))
    assert bug == _fail("settle.matches_presettle", "R-PRESETTLE-EQUALS-SETTLE",
                        "suite bug: settle.matches_presettle needs saved.presettle",
                        expected="save: {presettle: output.setlinfo} on the 2206/2303 step", actual="not saved")
    [bug] = run_check("reversal.negates", _sctx(_info(medfee_sumamt="1.00"), saved={"settlement": "S1"}))
    assert (bug.title, bug.expected, bug.actual) == (
        "suite bug: reversal.negates needs saved.settlement",
        "save: {settlement: output.setlinfo} on the 2207/2304 step", "str")
    both = run_check("reversal.negates", _sctx(None))
    assert [f.title for f in both] == ["suite bug: reversal.negates needs saved.settlement",
                                       "the response has no output.setlinfo to check"]


def test_a_reversal_must_negate_every_amount() -> None:
    settled = {"medfee_sumamt": D("107.20"), "fund_pay_sumamt": D("49.62"), "acct_pay": D("53.08"),
               "hosp_part_amt": D("10.00"), "pool_prop_selfpay": D("0.60"), "psn_cash_pay": D("4.50")}
    good = _info(medfee_sumamt="-107.20", fund_pay_sumamt="-49.62", acct_pay="-53.08", hosp_part_amt="-10.00",
                 pool_prop_selfpay="0.60", pdn_cash_pay="-4.50")
    assert run_check("reversal.negates", _sctx(good, saved={"settlement": settled})) == []
    bad = _info(medfee_sumamt="-107.20", fund_pay_sumamt="-49.62", acct_pay="-53.08", hosp_part_amt="10.00",
                pdn_cash_pay="4.50")
    assert run_check("reversal.negates", _sctx(bad, saved={"settlement": settled})) == [
        # 2208 spells psn_cash_pay "pdn_cash_pay": the title names the field as sent.
        _fail("reversal.negates", "R-REVERSAL-NEGATES", "reversal pdn_cash_pay is not the negated original",
              severity=Severity.CRITICAL, expected="-4.50", actual="4.50", field="psn_cash_pay"),
        _fail("reversal.negates", "R-REVERSAL-NEGATES", "reversal hosp_part_amt is not the negated original",
              severity=Severity.CRITICAL, expected="-10.00", actual="10.00", field="hosp_part_amt"),
    ]


def test_a_reversal_needs_its_three_main_amounts() -> None:
    settled = {"medfee_sumamt": D("107.20")}
    found = run_check("reversal.negates", _sctx(_info(medfee_sumamt="-107.20"), saved={"settlement": settled}))
    assert [(f.title, f.expected, f.actual) for f in found] == [
        ("setlinfo.fund_pay_sumamt is missing", "a decimal amount", "missing"),
        ("setlinfo.acct_pay is missing", "a decimal amount", "missing")]


def test_the_account_must_be_debited_by_acct_pay() -> None:
    saved = {"balc_before": D("500.00")}
    assert run_check("settle.account_debited", _sctx(_info(acct_pay="53.08", balc="446.92"), saved=saved)) == []
    assert run_check("settle.account_debited", _sctx(_info(acct_pay="53.08", balc="500.00"), saved=saved)) == [
        _fail("settle.account_debited", "R-ACCOUNT-DEBITED", "balc is not the balance before minus acct_pay",
              severity=Severity.CRITICAL, expected="446.92", actual="500.00", detail="500.00 - 53.08 = 446.92")]
    assert run_check("settle.account_debited", _sctx(_info(acct_pay="53.08"), saved=saved)) == [
        _fail("settle.account_debited", "R-ACCOUNT-DEBITED", "setlinfo.balc is missing",
              expected="the balance after settlement", actual="missing")]
    assert [f.title for f in run_check("settle.account_debited", _sctx(_info(balc="x"), saved=saved))] == [
        "setlinfo.acct_pay is missing", "setlinfo.balc is missing"]
    assert run_check("settle.account_debited", _sctx(_info(acct_pay="1.00", balc="1.00"))) == [
        _fail("settle.account_debited", "R-ACCOUNT-DEBITED",
              "suite bug: settle.account_debited needs saved.balc_before",
              expected="save: {balc_before: output.insuinfo[0].balc} on the 1101 step", actual="not saved")]
    assert run_check("settle.account_debited", _sctx(None, saved=saved))[0].title == (
        "the response has no output.setlinfo to check")


# --- the registry's helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (True, None), (False, None), (D("1.10"), D("1.10")), (3, D("3")), (0, D("0")),
    (0.1, D("0.1")), (1.1, D("1.1")), ("12.50", D("12.50")), (" 12.50 ", D("12.50")), ("", None), ("  ", None),
    ("12,50", None), ("abc", None), ([], None), ({}, None),
])
def test_decimal_of(value: Any, expected: Decimal | None) -> None:
    found = decimal_of(value)
    assert found == expected and (found is None or str(found) == str(expected))


@pytest.mark.parametrize(("value", "shown"), [
    (D("1E+2"), "100"), (D("0.10"), "0.10"), (D("-4.50"), "-4.50"), (None, ""), ("", ""), (0, "0"), ("x", "x"),
    (False, "False"),
])
def test_show(value: Any, shown: str) -> None:
    assert show(value) == shown


def test_amount_finds_either_spelling_and_says_whether_the_field_is_there() -> None:
    assert amount({"psn_cash_pay": "1.00"}, "psn_cash_pay") == ("psn_cash_pay", D("1.00"), True)
    assert amount({"pdn_cash_pay": "2.00"}, "psn_cash_pay") == ("pdn_cash_pay", D("2.00"), True)
    assert amount({"psn_cash_pay": "1.00", "pdn_cash_pay": "2.00"}, "psn_cash_pay") == (
        "psn_cash_pay", D("1.00"), True)
    assert amount({"acct_pay": None}, "acct_pay") == ("acct_pay", None, True)
    assert amount({}, "pdn_cash_pay") == ("pdn_cash_pay", None, False)
    assert amount({}, "psn_cash_pay") == ("psn_cash_pay", None, False)


def test_the_amount_lists() -> None:
    assert len(SETTLEMENT_AMOUNTS) == 20 and SETTLEMENT_AMOUNTS[0] == "medfee_sumamt"
    assert "hosp_part_amt" in SETTLEMENT_AMOUNTS and "hosp_part_amt" in REVERSED_AMOUNTS
    assert set(SETTLEMENT_AMOUNTS) - set(REVERSED_AMOUNTS) == {"pool_prop_selfpay"}


def test_an_unknown_check_is_a_suite_bug_naming_the_known_ones() -> None:
    [bug] = run_check("money.summ", _ctx({}))
    assert (bug.title, bug.clause, bug.severity, bug.step) == (
        "suite bug: unknown check 'money.summ'", "R-INPUT-VALIDATED", Severity.MAJOR, 3)
    assert bug.detail.startswith("known checks: ") and "money.psn_part, money.shares_signed, money.sum" in bug.detail
    names = bug.detail.removeprefix("known checks: ").split(", ")
    assert names == sorted(names) and len(names) >= 14


def test_a_check_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match=r"check 'money.sum' registered twice"):
        check("money.sum", "R-X")(lambda ctx, chk: [])
    registered = check("test.only.once", "R-TEST")(lambda ctx, chk: [])
    try:
        assert (registered.name, registered.clause, registered.doc) == ("test.only.once", "R-TEST", "")
        assert CHECKS["test.only.once"] is registered and registered(_ctx({})) == []
    finally:
        del CHECKS["test.only.once"]


def test_a_context_reads_its_output_and_nodes() -> None:
    ctx = _ctx({"setlinfo": {"a": 1}, "setldetail": [1], "text": "x"})
    assert ctx.output == {"setlinfo": {"a": 1}, "setldetail": [1], "text": "x"}
    assert (ctx.node("setlinfo"), ctx.node("setldetail"), ctx.node("text"), ctx.node("none")) == ({"a": 1}, None,
                                                                                                  None, None)
    assert _ctx([1]).node("setlinfo") is None and _ctx(None).output is None


def test_a_skipped_value_does_not_end_the_precision_check() -> None:
    # A number sent as text (not judged without a registry) or one that is not finite is skipped, and the
    # fields after it are still judged.
    assert [t for t, _e, _a in _precision({"setlinfo": {"a": "12.345", "b": D("NaN"), "c": D("1.234")}})] == [
        "output.setlinfo.c exceeds its precision (16,2)"]


def test_an_integer_field_takes_no_decimal_places() -> None:
    registry = load_registry()
    assert _precision({"setlinfo": {"ipt_days": 3, "fetus_cnt": D("2")}}, infno="5201", registry=registry) == []
    assert _precision({"setlinfo": {"ipt_days": D("3.5")}}, infno="5201", registry=registry) == [
        ("output.setlinfo.ipt_days exceeds its precision (4,0)", "at most 0 decimal places and 4 integer digits",
         "3.5")]


def test_a_reversal_skips_an_amount_missing_on_either_side() -> None:
    settled = {"medfee_sumamt": D("10.00"), "fund_pay_sumamt": D("6.00"), "acct_pay": D("4.00"),
               "acct_mulaid_pay": D("0.00")}
    reversal = _info(medfee_sumamt="-10.00", fund_pay_sumamt="-6.00", acct_pay="-4.00", hosp_part_amt="-1.00")
    assert run_check("reversal.negates", _sctx(reversal, saved={"settlement": settled})) == []


def test_unreadable_balances_are_quoted() -> None:
    [bug] = run_check("settle.account_debited", _sctx(_info(acct_pay="1.00", balc="1.00"), saved={"balc_before": "x"}))
    assert (bug.title, bug.actual) == ("suite bug: settle.account_debited needs saved.balc_before", "x")
    [bad] = run_check("settle.account_debited", _sctx(_info(acct_pay="1.00", balc="abc"),
                                                      saved={"balc_before": D("5.00")}))
    assert (bad.title, bad.actual) == ("setlinfo.balc is missing", "abc")


def test_the_presettlement_check_needs_the_settlements_setlinfo() -> None:
    [missing] = run_check("settle.matches_presettle", _sctx({"setldetail": []}, saved={"presettle": {"a": 1}}))
    assert (missing.title, missing.clause) == ("the response has no output.setlinfo to check",
                                               "R-PRESETTLE-EQUALS-SETTLE")


# --- settlement: a reversal's setldetail against the original's, literal findings (issue 17) ----------------


def test_a_reversal_setldetail_is_compared_row_by_row_with_literal_findings() -> None:
    from test_checks_relations import SETTLE_INPUT, answer, auto, negated, settled

    history = [answer("2304", settled(), SETTLE_INPUT, "H2")]
    sent = {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": "P1"}
    bad = negated(settled())
    bad["setldetail"][0]["fund_payamt"] = Decimal("17425.00")  # the 310100 row kept its sign
    bad["setldetail"][1]["inscp_scp_amt"] = Decimal("-21000.00")  # 390200: scope not the negated original
    bad["setldetail"][2]["fund_pay_type"] = "610200"  # no 610100 row at all
    bad["setldetail"].append("not a row")
    shown = [(f.title, f.severity.name, f.expected, f.actual, f.evidence["field"], f.grade.name)
             for f in auto("reversal.negates", bad, history, infno="2305", data=sent)]
    assert shown == [
        ("reversal setldetail of fund 310100 is not the negated original", "CRITICAL", "-17425.00", "17425.00",
         "setldetail[310100].fund_payamt", "MUST"),
        ("reversal setldetail inscp_scp_amt of fund 390200 is not the negated original", "CRITICAL", "-21500.00",
         "-21000.00", "setldetail[390200].inscp_scp_amt", "MUST"),
        ("reversal setldetail of fund 610100 is not the negated original", "CRITICAL", "-360.00", "no row",
         "setldetail[610100].fund_payamt", "MUST")]
    missing = negated(settled())
    del missing["setldetail"]
    [absent] = auto("reversal.negates", missing, history, infno="2305", data=sent)
    assert (absent.title, absent.expected, absent.actual, absent.grade.name) == (
        "the reversal has no setldetail to repeat the original's fund rows negated", "3 setldetail row(s)",
        "missing", "SHOULD")


def test_the_balance_before_is_the_same_persons_latest_settlement_and_unknown_after_a_2601() -> None:
    from test_checks_relations import SETTLE_INPUT, answer, auto, parse, settled

    person = parse('{"baseinfo": {"psn_no": "P1"}, "insuinfo": [{"insutype": "310", "balc": 1000.00}]}')
    query = answer("1101", person, {"mdtrt_cert_type": "02"}, "H0")
    # Another person's settlement since the query does not move P1's balance: 1000.00 - 170.04 = 829.96.
    other = answer("2304", settled(psn_no="P2", balc="5.00"), {**SETTLE_INPUT, "psn_no": "P2"}, "H1")
    assert auto("settle.account_debited", settled(), [query, other]) == []
    [wrong] = auto("settle.account_debited", settled(balc="900.00"), [query, other])
    assert (wrong.expected, wrong.actual) == ("829.96", "900.00")
    # P1's own earlier settlement gives the balance before: 829.96 - 170.04 = 659.92.
    earlier = answer("2304", settled(), SETTLE_INPUT, "H1")
    assert auto("settle.account_debited", settled(balc="659.92"), [query, earlier]) == []
    [debited] = auto("settle.account_debited", settled(), [query, earlier])
    assert (debited.expected, debited.actual, debited.detail) == ("659.92", "829.96", "829.96 - 170.04 = 659.92")
    # After a 冲正 (2601) the balance is unknown: not compared.
    undone = answer("2601", None, {"psn_no": "P1", "omsgid": "H1", "oinfno": "2304"}, "H2")
    assert auto("settle.account_debited", settled(balc="1.00"), [query, earlier, undone]) == []


def test_a_settlement_echoing_the_presettlements_setl_id_is_named_literally() -> None:
    from test_checks_relations import SETTLE_INPUT, answer, auto, settled

    [echo] = auto("settle.matches_presettle", settled(), [answer("2303", settled(), SETTLE_INPUT, "H1")])
    assert (echo.title, echo.severity.name, echo.expected, echo.actual, echo.detail) == (
        "the settlement's setl_id is the one the pre-settlement returned", "CRITICAL",
        "a setl_id issued by the settlement", "S1",
        "a pre-settlement commits nothing (interface-facts §6.1 [C]); the settlement issues its own setl_id")
