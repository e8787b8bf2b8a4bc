"""Known-value tests for code that used to be its own oracle: every expected value here is a literal.

Each test pins one behaviour that a planted one-line bug once slipped past: masking of every personal
field, the GB 11643 birth-date rule, the gate's pass-rate boundary, the hospital share in the money sum,
and the reference platform's negated setldetail in a reversal.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from platform_samples import Flow, memory_platform, persona
from reporting_samples import info, scenario

from harness.checks import CheckContext, run_check
from harness.model import Outcome, Step
from harness.personas.checkdigit import gb11643_check_digit, is_valid_certno
from harness.reporting.gate import GatePolicy, evaluate
from harness.reporting.masking import PERSONAL_FIELDS, Masker, mask, mask_json_text, mask_text
from harness.reporting.record import RunRecord

# --- masking -------------------------------------------------------------------------------------------------

# One synthetic value per personal field, and what a report must show instead.
PERSONAL = {
    "certno": ("430102199207221062", "430************062"),
    "psn_name": ("张三丰", "张*丰"),
    "mdtrt_cert_no": ("430102199207221062", "430************062"),
    "card_sn": ("E12345678", "E*******8"),
    "card_no": ("K43010219920", "K43******920"),
    "brdy": ("1992-07-22", "1********2"),
    "tel": ("13800138000", "1*********0"),
    "addr": ("湖南省长沙市芙蓉区", "湖*******区"),
    "agnter_name": ("李四", "李*"),
    "agnter_certno": ("43010219800101001X", "430************01X"),
    "agnter_tel": ("0731-8888888", "073******888"),
    "agnter_addr": ("长沙", "长*"),
    "coner_name": ("王五六", "王*六"),
}


def test_every_personal_field_is_listed() -> None:
    assert set(PERSONAL) == PERSONAL_FIELDS


@pytest.mark.parametrize(("field", "plain", "masked"), [(f, *v) for f, v in PERSONAL.items()])
def test_mask_hides_each_personal_field(field: str, plain: str, masked: str) -> None:
    assert mask({"data": {field: plain, "med_type": "11"}}) == {"data": {field: masked, "med_type": "11"}}


@pytest.mark.parametrize(("field", "plain", "masked"), [(f, *v) for f, v in PERSONAL.items()])
def test_mask_json_text_hides_each_personal_field(field: str, plain: str, masked: str) -> None:
    text = json.dumps({"input": {"data": [{field: plain, "cnt": 2}]}}, ensure_ascii=False)
    assert json.loads(mask_json_text(text)) == {"input": {"data": [{field: masked, "cnt": 2}]}}


@pytest.mark.parametrize(("plain", "masked"), [
    ("", ""), ("a", "*"), ("ab", "a*"), ("abc", "a*c"), ("abcdefghijk", "a*********k"),
    ("abcdefghijkl", "abc******jkl"),
])
def test_mask_text_lengths(plain: str, masked: str) -> None:
    assert mask_text(plain) == masked


def test_mask_leaves_other_fields_and_non_strings() -> None:
    value = {"psn_no": "43000012345678", "certno": 430102, "psn_name": "", "list": [{"tel": None}]}
    assert mask(value) == value


# --- GB 11643 ------------------------------------------------------------------------------------------------


def _with_check_digit(first17: str) -> str:
    return first17 + gb11643_check_digit(first17)


def test_check_digit_known_value() -> None:
    assert gb11643_check_digit("43010219920722106") == "2"
    assert is_valid_certno("430102199207221062")
    assert not is_valid_certno("430102199207221063")


@pytest.mark.parametrize("birth", ["19900230", "19910229", "19921301", "19920000", "19920732"])
def test_a_correct_check_digit_does_not_save_an_impossible_birth_date(birth: str) -> None:
    certno = _with_check_digit(f"430102{birth}106")
    assert not is_valid_certno(certno)


def test_a_leap_day_is_a_real_birth_date() -> None:
    assert is_valid_certno(_with_check_digit("43010219920229106"))


# --- the gate's pass-rate boundary ---------------------------------------------------------------------------


def _record(*outcomes: Outcome) -> RunRecord:
    return RunRecord(info(), tuple(scenario(f"a.s{i}", o) for i, o in enumerate(outcomes)))


def test_a_pass_rate_exactly_at_the_threshold_passes_the_gate() -> None:
    record = _record(Outcome.PASSED, Outcome.PASSED, Outcome.PASSED, Outcome.FAILED)
    assert record.pass_rate == 0.75
    result = evaluate(record, GatePolicy(min_pass_rate=0.75))
    assert [f.rule for f in result.findings if f.rule == "min-pass-rate"] == []
    result = evaluate(record, GatePolicy(min_pass_rate=0.7501))
    assert [f.rule for f in result.findings if f.rule == "min-pass-rate"] == ["min-pass-rate"]


def test_no_pass_rate_at_all_fails_a_minimum() -> None:
    record = _record(Outcome.NOT_APPLICABLE)
    assert record.pass_rate is None
    result = evaluate(record, GatePolicy(min_pass_rate=0.5))
    assert result.exit_code == 1 and [f.rule for f in result.findings] == ["min-pass-rate"]
    assert "n/a" in result.findings[0].message


# --- the money sum with a hospital share ---------------------------------------------------------------------


def _settlement(**amounts: str) -> CheckContext:
    info_node = {k: Decimal(v) for k, v in amounts.items()}
    response = {"infcode": 0, "output": {"setlinfo": info_node}}
    return CheckContext(infno="2207", step=Step("2207", {}), step_index=0, request={}, response=response)


def test_money_sum_counts_the_hospital_share() -> None:
    # 100.00 = 60.00 fund + 30.00 person + 10.00 hospital: correct, so no finding.
    ok = _settlement(medfee_sumamt="100.00", fund_pay_sumamt="60.00", psn_part_amt="30.00", hosp_part_amt="10.00")
    assert run_check("money.sum", ok) == []
    # The same figures without the hospital's 10.00 do not add up.
    bad = _settlement(medfee_sumamt="100.00", fund_pay_sumamt="60.00", psn_part_amt="30.00", hosp_part_amt="0.00")
    [failure] = run_check("money.sum", bad)
    assert failure.clause == "R-MONEY-SUM" and {failure.expected, failure.actual} == {"100.00", "90.00"}


# --- the reference platform's reversal -----------------------------------------------------------------------


def test_the_platforms_reversal_negates_every_setldetail_amount() -> None:
    flow = Flow(memory_platform().call)
    flow.sign_in()
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who, [("consult", 1), ("cefaclor", 1)])
    settled = flow.settle(who, mdtrt_id, amount)
    reversed_ = flow.reverse(who, mdtrt_id, settled["setlinfo"]["setl_id"])
    original = settled["setldetail"]
    assert original and len(reversed_["setldetail"]) == len(original)
    for before, after in zip(original, reversed_["setldetail"], strict=True):
        for name in ("inscp_scp_amt", "fund_payamt"):
            assert Decimal(str(after[name])) == -Decimal(str(before[name])) != 0, name


# --- the masker: by field and by value, everywhere -----------------------------------------------------------


def test_masker_masks_personal_values_inside_other_strings() -> None:
    masker = Masker()
    masker.learn({"certno": "430102199207221062", "psn_name": "张三丰", "insutype": "310"})
    record = {"err_msg": "参保人张三丰(430102199207221062)未备案", "input": {"exp_content": '{"certno":"x"}'},
              "note": "insutype 310 stays"}
    assert masker.value(record) == {"err_msg": "参保人张*丰(430************062)未备案",
                                    "input": {"exp_content": '{"certno":"*"}'}, "note": "insutype 310 stays"}
    assert masker.text("curl --data-raw '{\"x\":\"张三丰\"}'") == "curl --data-raw '{\"x\":\"张*丰\"}'"


def test_masker_learns_from_the_structure_before_masking_it() -> None:
    masker = Masker()
    answer = {"err_msg": "李四四 的卡已挂失", "output": {"baseinfo": {"psn_name": "李四四"}}}
    assert masker.value(answer) == {"err_msg": "李*四 的卡已挂失", "output": {"baseinfo": {"psn_name": "李*四"}}}


def test_masker_finds_values_written_as_json_escapes() -> None:
    masker = Masker(["王五六"])
    assert masker.text('{"a": "\\u738b\\u4e94\\u516d"}') == '{"a": "\\u738b*\\u516d"}'


def test_masker_output_is_always_writable() -> None:
    deep: dict = {}
    node = deep
    for _ in range(500):
        node["a"] = {}
        node = node["a"]
    for masker in (Masker(), Masker(enabled=False)):
        shown = masker.value({"err_msg": "bad \ud800 text", "deep": deep})
        json.dumps(shown, ensure_ascii=False).encode("utf-8")  # no lone surrogate, no recursion error
        assert shown["err_msg"] == "bad \\ud800 text"
    assert Masker(enabled=False).value({"certno": "430102199207221062"}) == {"certno": "430102199207221062"}
