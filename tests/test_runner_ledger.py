"""The runner's ledger: 3201 reconciles exactly what the harness itself settled, reversed and 冲正'd."""

from __future__ import annotations

from decimal import Decimal

import pytest
from engine_samples import FakeSite, scenario, settle_step, site, success

from harness.model import Expectation, Outcome, Severity, Step
from harness.runner import Ledger, Runner
from harness.specs import load_registry

TODAY = "{{ now.date }}"


def recon_step(**over: str) -> Step:
    data = {"insutype": "310", "clr_type": "11", "setl_optins": "440106", "stmt_begndate": TODAY,
            "stmt_enddate": TODAY, "medfee_sumamt": "{{ ledger.medfee_sumamt }}",
            "fund_pay_sumamt": "{{ ledger.fund_pay_sumamt }}", "acct_pay": "{{ ledger.acct_pay }}",
            "fixmedins_setl_cnt": "{{ ledger.fixmedins_setl_cnt }}"}
    data.update(over)
    return Step("3201", {"data": data}, Expectation(checks=("recon.balanced",)))


def settled_today(infno: str, sign: int = 1) -> dict:
    from datetime import datetime

    answer = success(infno)
    info = answer["output"]["setlinfo"]
    info["setl_time"] = f"{datetime.now():%Y-%m-%d %H:%M:%S}"
    for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_part_amt", "inscp_scp_amt", "hifp_pay"):
        info[name] = abs(info[name]) * sign
    return answer


def test_totals_of_settlements_reversals_and_voided_rows() -> None:
    second = settled_today("2207")
    second["output"]["setlinfo"]["balc"] = 897.2  # the account is debited by each settlement
    answers = iter([settled_today("2207"), second])
    fake = FakeSite({"2207": lambda envelope: next(answers), "2208": settled_today("2208", -1)})
    run = Runner(fake.target(), load_registry(), "baseline", site(), seed=1)
    reverse = Step("2208", {"data": {"psn_no": "1", "setl_id": "S1", "mdtrt_id": "M1"}})
    result = run.run_scenario(scenario((settle_step(), settle_step(), reverse, recon_step())))
    assert result.outcome is Outcome.PASSED, result.failures
    sent = fake.sent[-1][1]["input"]["data"]
    # two settlements of 128.50 and one reversal of -128.50: three rows netting one settlement.
    assert (sent["medfee_sumamt"], sent["fund_pay_sumamt"], sent["acct_pay"], sent["fixmedins_setl_cnt"]) == (
        128.5, 77.1, 51.4, 3)
    filtered = run.ledger.totals("H52010200001", {"insutype": "390"})
    assert filtered["fixmedins_setl_cnt"] == 0 and filtered["medfee_sumamt"] == Decimal("0.00")
    only_reversals = run.ledger.totals("H52010200001", {"refd_setl_flag": "1"})
    assert only_reversals["fixmedins_setl_cnt"] == 1 and only_reversals["medfee_sumamt"] == Decimal("-128.5")


def test_a_2601_voids_the_row_of_its_msgid() -> None:
    ledger = Ledger()
    settle = {"msgid": "M1", "fixmedins_code": "H1", "input": {"data": {"psn_no": "1"}}}
    ledger.record("2207", settle, settled_today("2207"))
    ledger.record("2207", dict(settle, msgid="M2"), settled_today("2207"))
    ledger.record("2601", {"msgid": "M3", "input": {"data": {"omsgid": "M1", "oinfno": "2207"}}}, {"infcode": 0})
    ledger.record("2207", dict(settle, msgid="M4"), {"infcode": -1, "output": None})  # refused: no row
    assert ledger.totals("H1", {})["fixmedins_setl_cnt"] == 1
    assert ledger.totals("H2", {})["fixmedins_setl_cnt"] == 0  # another institution's rows are not ours


def test_unknown_ledger_field_is_a_step_that_cannot_be_built() -> None:
    fake = FakeSite()
    run = Runner(fake.target(), load_registry(), "baseline", site(), seed=1)
    result = run.run_scenario(scenario((recon_step(acct_pay="{{ ledger.acct }}"),)))
    assert result.outcome is Outcome.FAILED
    assert "unknown ledger field 'acct'" in result.failures[0].title
    assert fake.infnos() == ["9001"]


@pytest.mark.parametrize("flag", ["0", "1", ""])
def test_refd_setl_flag_filter(flag: str) -> None:
    ledger = Ledger()
    ledger.record("2207", {"msgid": "A", "fixmedins_code": "H", "input": {"data": {}}}, settled_today("2207"))
    ledger.record("2208", {"msgid": "B", "fixmedins_code": "H", "input": {"data": {}}}, settled_today("2208", -1))
    expected = {"0": 1, "1": 1, "": 2}[flag]
    assert ledger.totals("H", {"refd_setl_flag": flag})["fixmedins_setl_cnt"] == expected


def test_a_replayed_msgid_is_one_settlement_not_two() -> None:
    ledger = Ledger()
    settle = {"msgid": "M1", "fixmedins_code": "H1", "input": {"data": {"psn_no": "1"}}}
    ledger.record("2207", settle, settled_today("2207"))
    ledger.record("2207", settle, settled_today("2207"))  # the same message again, answered from the record
    ledger.record("2207", dict(settle, fixmedins_code="H2"), settled_today("2207"))  # same msgid, other institution
    assert ledger.totals("H1", {})["fixmedins_setl_cnt"] == 1
    assert ledger.totals("H2", {})["fixmedins_setl_cnt"] == 1


def test_rows_outside_every_reconciliation_are_named_by_recon_ledger_covered() -> None:
    answer = settled_today("2207")
    answer["output"]["setlinfo"].update(insutype="310", clr_type="11")
    fake = FakeSite({"2207": answer})
    run = Runner(fake.target(), load_registry(), "baseline", site(), seed=1)
    covered = Step("3201", recon_step().input, Expectation(checks=("recon.balanced", "recon.ledger_covered")))
    other = Step("3201", recon_step(insutype="390").input, covered.expect)
    partial = run.run_scenario(scenario((settle_step(), other), id="outpatient.sample.partial"))
    assert partial.outcome is Outcome.PASSED  # a gap in the suite's reconciliation is a warning, not a finding
    [warning] = partial.failures
    assert warning.severity is Severity.WARNING and warning.clause == "R-RECON-BALANCED"
    assert "1 settlement row(s) the harness recorded were in no 3201 reconciliation" in warning.title
    assert "insutype 310, clr_type 11" in warning.actual
    complete = run.run_scenario(scenario((covered,), id="outpatient.sample.complete"))
    assert complete.outcome is Outcome.PASSED and complete.failures == ()


def test_ledger_expressions_are_checked_when_the_scenario_is_loaded() -> None:
    from harness.errors import ScenarioFormatError
    from harness.scenarios.loader import load_text

    text = """\
id: reconciliation.sample
title: ledger sample
title_zh: 对账示例
clauses: [R-RECON-BALANCED]
area: reconciliation
steps:
  - infno: "3201"
    envelope: {msgid: "{{ ledger.medfee_sumamt }}"}
    input: {data: {medfee_sumamt: "{{ ledger.medfee_sumamt }}", acct_pay: "{{ ledger.acct }}"}}
"""
    with pytest.raises(ScenarioFormatError) as info:
        load_text(text, "ledger.yaml")
    rendered = info.value.render()
    assert "2 problems" in rendered
    assert "ledger.yaml:8:" in rendered and "outside an input" in rendered
    assert "ledger.yaml:9:" in rendered and "malformed expression '{{ ledger.acct }}'" in rendered
    [loaded] = load_text(text.replace('    envelope: {msgid: "{{ ledger.medfee_sumamt }}"}\n', "").replace(
        "ledger.acct ", "ledger.acct_pay "), "ledger.yaml")
    assert loaded.steps[0].input["data"]["acct_pay"] == "{{ ledger.acct_pay }}"
