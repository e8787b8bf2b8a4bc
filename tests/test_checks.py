"""Every named check (contracts section H): a passing and a failing input, Decimal arithmetic, cited clauses."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from harness.checks import CHECKS, CheckContext, decimal_of, run_check
from harness.model import Severity, Step
from harness.specs import load_registry

CONTRACT = {
    "money.sum": "R-MONEY-SUM",
    "money.psn_part": "R-MONEY-PSN-PART",
    "money.precision": "R-MONEY-PRECISION",
    "settle.medins_setl_id": "R-MEDINS-SETL-ID-IS-MSGID",
    "settle.matches_presettle": "R-PRESETTLE-EQUALS-SETTLE",
    "reversal.negates": "R-REVERSAL-NEGATES",
    "settle.account_debited": "R-ACCOUNT-DEBITED",
    "envelope.inf_refmsgid": "ENV.resp.inf_refmsgid",
    "envelope.timestamps": "ENV.resp.respond_time",
    "refusal.shape": "R-REFUSAL-SHAPE",
    "recon.balanced": "R-RECON-BALANCED",
    # added after contracts section H (report to the lead): the end-of-run reconciliation's coverage
    "recon.ledger_covered": "R-RECON-BALANCED",
    "recon.unbalanced": "R-RECON-BALANCED",
    "replay.same_response": "R-MSGID-REPLAY",
    # second wave: relations every site's answers must satisfy (tests/test_checks_relations.py)
    "money.fund_sum": "R-MONEY-FUND-SUM",
    "money.acct_mulaid": "R-MONEY-ACCT-MULAID",
    "money.fee_parts": "R-MONEY-FEE-PARTS",
    "money.shares_signed": "R-MONEY-SUM",
    "money.pool_share": "R-MONEY-POOL-SHARE",
    "setldetail.funds": "R-SETLDETAIL-FUNDS",
    "settle.ids_echo": "R-SETTLE-IDS",
    "register.ids_echo": "R-SETTLE-IDS",
    "person.insuinfo": "R-PERSON-QUERY",
    "signin.sign_no": "R-SIGN-IN-REQUIRED",
    "correction.reversible": "R-2601-REVERSIBLE",
    "correction.undone": "R-2601-UNDOES",
}
# The normative strength of each check's clause: MUST only where the spec text or a [C] fact makes it one.
GRADES = {name: "MUST" for name in CONTRACT} | {
    "envelope.timestamps": "SHOULD", "replay.same_response": "SHOULD", "recon.ledger_covered": "MAY",
    "money.fee_parts": "SHOULD", "money.shares_signed": "SHOULD", "money.pool_share": "SHOULD",
    "setldetail.funds": "SHOULD", "correction.reversible": "SHOULD",
}
MSGID = "H52010200001202401011200000001"


def setlinfo(**over: Any) -> dict[str, Any]:
    base = {"medfee_sumamt": "128.50", "fund_pay_sumamt": "77.10", "psn_part_amt": "51.40", "hosp_part_amt": "0.00",
            "acct_pay": "51.40", "psn_cash_pay": "0.00", "hifp_pay": "77.10", "pool_prop_selfpay": "0.6000",
            "balc": "948.60", "medins_setl_id": MSGID}
    base.update(over)
    # Parse like the runner does: JSON numbers become Decimal, never float.
    text = "{" + ", ".join(f'"{k}": {v if _number(v) else json.dumps(v)}' for k, v in base.items()) + "}"
    return json.loads(text, parse_float=Decimal)


def _number(value: Any) -> bool:
    return isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit()


def ctx(output: Any = None, *, infno: str = "2207", saved: dict[str, Any] | None = None, registry: Any = None,
        **envelope: Any) -> CheckContext:
    response = {"infcode": 0, "inf_refmsgid": "520000202401011200000000000001", "refmsg_time": "20240101120000000",
                "respond_time": "20240101120000150", "err_msg": None, "output": output}
    response.update(envelope)
    return CheckContext(infno=infno, step=Step(infno, {}), step_index=2, request={"msgid": MSGID},
                        response=response, saved=saved or {}, registry=registry)


def run(name: str, context: CheckContext) -> list:
    failures = run_check(name, context)
    for failure in failures:
        assert failure.clause == CONTRACT[name]
        assert failure.step == 2
    return failures


def test_registry_has_exactly_the_contract_names_and_clauses() -> None:
    assert {name: check.clause for name, check in CHECKS.items()} == CONTRACT
    assert all(check.doc for check in CHECKS.values())


def test_every_check_is_graded_and_its_findings_carry_the_grade() -> None:
    assert {name: check.grade.value for name, check in CHECKS.items()} == GRADES
    [should] = run("envelope.timestamps", ctx(respond_time="20240101115959999"))
    assert should.grade.value == "SHOULD"
    [must] = run("money.sum", ctx({"setlinfo": setlinfo(medfee_sumamt="128.51")}))
    assert must.grade.value == "MUST"


def test_unknown_check_is_a_suite_bug() -> None:
    [failure] = run_check("money.nope", ctx())
    assert failure.title.startswith("suite bug")


def test_decimal_of_never_goes_through_float() -> None:
    assert decimal_of(Decimal("0.10")) + decimal_of(Decimal("0.20")) == Decimal("0.30")
    assert decimal_of("12.30") == Decimal("12.30")
    assert decimal_of(None) is None and decimal_of(True) is None and decimal_of("x") is None


def test_money_sum() -> None:
    assert run("money.sum", ctx({"setlinfo": setlinfo()})) == []
    # 0.1 + 0.2 style sums must be exact.
    assert run("money.sum", ctx({"setlinfo": setlinfo(medfee_sumamt="0.30", fund_pay_sumamt="0.10",
                                                       psn_part_amt="0.20")})) == []
    [failure] = run("money.sum", ctx({"setlinfo": setlinfo(medfee_sumamt="128.51")}))
    assert failure.severity is Severity.CRITICAL
    assert (failure.expected, failure.actual) == ("128.50", "128.51")
    [missing] = run("money.sum", ctx({"setlinfo": setlinfo(fund_pay_sumamt=None)}))
    assert "fund_pay_sumamt" in missing.title
    assert run("money.sum", ctx(None))[0].title.startswith("the response has no output.setlinfo")


def test_money_sum_counts_a_null_hosp_part_as_zero() -> None:
    assert run("money.sum", ctx({"setlinfo": setlinfo(hosp_part_amt=None)})) == []


def test_money_psn_part_accepts_the_2208_spelling() -> None:
    assert run("money.psn_part", ctx({"setlinfo": setlinfo()})) == []
    info = setlinfo()
    info["pdn_cash_pay"] = info.pop("psn_cash_pay")
    assert run("money.psn_part", ctx({"setlinfo": info})) == []
    [failure] = run("money.psn_part", ctx({"setlinfo": setlinfo(psn_cash_pay="0.01")}))
    assert failure.expected == "51.41" and failure.severity is Severity.CRITICAL


def test_money_precision_uses_the_declared_digits() -> None:
    registry = load_registry()
    assert run("money.precision", ctx({"setlinfo": setlinfo()}, registry=registry)) == []
    [failure] = run("money.precision", ctx({"setlinfo": setlinfo(hifp_pay="77.105")}, registry=registry))
    assert "output.setlinfo.hifp_pay" in failure.title and failure.actual == "77.105"
    # A ratio may carry four places, money only two.
    assert run("money.precision", ctx({"setlinfo": setlinfo(pool_prop_selfpay="0.6125")}, registry=registry)) == []
    details = {"setlinfo": setlinfo(), "setldetail": [{"fund_payamt": Decimal("1.001")}]}
    assert [f.evidence["path"] for f in run("money.precision", ctx(details, registry=registry))] == [
        "output.setldetail[0].fund_payamt"]


def test_settle_medins_setl_id() -> None:
    assert run("settle.medins_setl_id", ctx({"setlinfo": setlinfo()})) == []
    [failure] = run("settle.medins_setl_id", ctx({"setlinfo": setlinfo(medins_setl_id="OTHER")}))
    assert failure.expected == MSGID and failure.actual == "OTHER"


def test_settle_matches_presettle() -> None:
    saved = {"presettle": setlinfo(medins_setl_id=None, balc="1000.00")}
    assert run("settle.matches_presettle", ctx({"setlinfo": setlinfo()}, saved=saved)) == []
    [failure] = run("settle.matches_presettle", ctx({"setlinfo": setlinfo(hifp_pay="77.00", fund_pay_sumamt="77.10")},
                                                     saved=saved))
    assert "hifp_pay" in failure.title and failure.severity is Severity.CRITICAL
    [bug] = run("settle.matches_presettle", ctx({"setlinfo": setlinfo()}))
    assert bug.title.startswith("suite bug") and "presettle" in bug.expected


def test_reversal_negates() -> None:
    original = setlinfo()
    reversed_info = {k: (-v if isinstance(v, Decimal) and k not in ("balc", "pool_prop_selfpay") else v)
                     for k, v in setlinfo().items()}
    reversed_info["pdn_cash_pay"] = reversed_info.pop("psn_cash_pay")
    assert run("reversal.negates", ctx({"setlinfo": reversed_info}, infno="2208",
                                       saved={"settlement": original})) == []
    wrong = dict(reversed_info, acct_pay=Decimal("51.40"))
    [failure] = run("reversal.negates", ctx({"setlinfo": wrong}, infno="2208", saved={"settlement": original}))
    assert "acct_pay" in failure.title and failure.expected == "-51.40"


def test_settle_account_debited() -> None:
    saved = {"balc_before": Decimal("1000.00")}
    assert run("settle.account_debited", ctx({"setlinfo": setlinfo()}, saved=saved)) == []
    [failure] = run("settle.account_debited", ctx({"setlinfo": setlinfo(balc="1000.00")}, saved=saved))
    assert failure.expected == "948.60" and failure.actual == "1000.00"
    [bug] = run("settle.account_debited", ctx({"setlinfo": setlinfo()}))
    assert bug.title.startswith("suite bug")


def test_envelope_inf_refmsgid() -> None:
    assert run("envelope.inf_refmsgid", ctx()) == []
    assert run("envelope.inf_refmsgid", ctx(infcode=-1, inf_refmsgid="")) == []
    [short] = run("envelope.inf_refmsgid", ctx(inf_refmsgid="52000020240101"))
    assert "6+14+10" in short.title
    [impossible] = run("envelope.inf_refmsgid", ctx(inf_refmsgid="520000202413011200000000000001"))
    assert "impossible" in impossible.title


def test_envelope_timestamps() -> None:
    assert run("envelope.timestamps", ctx()) == []
    # Both are optional (非空 N): absent is fine, present must have the form.
    assert run("envelope.timestamps", ctx(refmsg_time=None, respond_time="")) == []
    [form] = run("envelope.timestamps", ctx(refmsg_time="2024-01-01 12:00:00", respond_time=None))
    assert "refmsg_time" in form.title
    [order] = run("envelope.timestamps", ctx(respond_time="20240101115959999"))
    assert "earlier" in order.title


def test_refusal_shape() -> None:
    assert run("refusal.shape", ctx(None, infcode=-1, err_msg="参保人未办理异地就医备案")) == []
    failures = run("refusal.shape", ctx({"x": 1}, infcode=-1, err_msg=" "))
    assert {f.title for f in failures} == {"a refusal must say why in err_msg", "a refusal must have a null output"}
    assert run("refusal.shape", ctx(None, infcode=0, err_msg="x"))[0].expected == "-1"


@pytest.mark.parametrize(("result", "ok"), [("0", True), (0, True), ("1", False), (None, False)])
def test_recon_balanced(result: Any, ok: bool) -> None:
    failures = run("recon.balanced", ctx({"stmtinfo": {"stmt_rslt": result, "stmt_rslt_dscr": "中心多"}}, infno="3201"))
    assert (failures == []) is ok
    if not ok:
        assert failures[0].severity is Severity.CRITICAL


def test_recon_ledger_covered_needs_the_runners_ledger() -> None:
    [failure] = run("recon.ledger_covered", ctx(infno="3201"))
    assert failure.severity is Severity.WARNING and "no run ledger" in failure.title


@pytest.mark.parametrize(("result", "ok"), [("2", True), ("1", True), ("0", False), (None, False)])
def test_recon_unbalanced(result: Any, ok: bool) -> None:
    failures = run("recon.unbalanced", ctx({"stmtinfo": {"stmt_rslt": result, "stmt_rslt_dscr": "不平"}}, infno="3201"))
    assert (failures == []) is ok
    assert all(f.severity is Severity.CRITICAL for f in failures)


def test_replay_same_response_compares_infcode_err_msg_and_output_not_timestamps() -> None:
    original = {"infcode": 0, "err_msg": None, "output": {"setlinfo": {"setl_id": "S1"}},
                "respond_time": "20240101000000000", "refmsg_time": "20240101000000000"}
    same = ctx({"setlinfo": {"setl_id": "S1"}}, saved={"original_response": original})
    assert run("replay.same_response", same) == []
    changed = ctx({"setlinfo": {"setl_id": "S2"}}, saved={"original_response": original}, err_msg="again")
    titles = sorted(f.title for f in run("replay.same_response", changed))
    assert titles == ["the replayed msgid got a different err_msg than the original message",
                      "the replayed msgid got a different output than the original message"]
