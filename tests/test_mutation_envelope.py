"""The envelope, replay, refusal and reconciliation checks with literal expected findings (issue 17).

`tools/mutation.py --module checks.envelope` plants one-line bugs in `harness/checks/envelope.py`; each
test here pins what a user reads (title, severity, grade, expected, actual, detail) and every bound
(30 digits, a real timestamp, the millisecond order, 120 characters, ten differences, five rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from harness.checks import CheckContext, run_check
from harness.checks.envelope import _ABSENT
from harness.model import Failure, Grade, Severity, Step

REFMSGID = "430100" + "20251207103000" + "0000000001"


def ctx(response: dict[str, Any], *, saved: dict[str, Any] | None = None, ledger: Any = None,
        request: dict[str, Any] | None = None) -> CheckContext:
    return CheckContext(infno="2207", step=Step("2207", {}), step_index=3, request=request or {},
                        response=response, saved=saved or {}, ledger=ledger)


def finding(check: str, clause: str, title: str, *, severity: Severity = Severity.MAJOR, expected: str = "",
            actual: str = "", detail: str = "", grade: Grade = Grade.MUST) -> Failure:
    return Failure(title=title, clause=clause, severity=severity, detail=detail, expected=expected, actual=actual,
                   step=3, evidence={"check": check}, grade=grade)


# --- envelope.inf_refmsgid ---


def refmsgid_form(actual: str) -> Failure:
    return finding("envelope.inf_refmsgid", "ENV.resp.inf_refmsgid",
                   "inf_refmsgid does not have the 6+14+10 digit form", severity=Severity.MINOR, actual=actual,
                   expected="30 digits: receiver admdvs(6) + yyyyMMddHHmmss(14) + sequence(10)")


@pytest.mark.parametrize("value", [None, ""])
def test_a_refusal_may_leave_inf_refmsgid_empty(value: Any) -> None:
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": -1, "inf_refmsgid": value})) == []
    assert run_check("envelope.inf_refmsgid", ctx({"inf_refmsgid": value})) == []  # no infcode: not a success
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": value})) == [refmsgid_form("")]


@pytest.mark.parametrize("value", [
    REFMSGID[:-1], REFMSGID + "1", "x" + REFMSGID[1:], REFMSGID[:-1] + "１", "43010020251207103000000000000a"])
def test_an_inf_refmsgid_not_of_30_digits_is_named(value: str) -> None:
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": value})) == [refmsgid_form(value)]


def test_an_inf_refmsgid_that_is_a_number_is_named() -> None:
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": 5})) == [refmsgid_form("5")]


def test_a_well_formed_inf_refmsgid_passes_also_on_a_refusal() -> None:
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": REFMSGID})) == []
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": -1, "inf_refmsgid": REFMSGID})) == []
    # the sequence is not a time, and the admdvs not a date: only characters 7-20 are parsed
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": "999999" + "20251231235959" +
                                                   "9999999999"})) == []


@pytest.mark.parametrize("stamp", ["20251301103000", "20250230103000", "20251207243000", "20251207106000"])
def test_an_inf_refmsgid_with_an_impossible_time_is_named(stamp: str) -> None:
    value = "430100" + stamp + "0000000001"
    assert run_check("envelope.inf_refmsgid", ctx({"infcode": 0, "inf_refmsgid": value})) == [finding(
        "envelope.inf_refmsgid", "ENV.resp.inf_refmsgid", "inf_refmsgid carries an impossible timestamp",
        severity=Severity.MINOR, expected="a real yyyyMMddHHmmss at characters 7-20", actual=value)]


# --- envelope.timestamps ---


def not_a_time(name: str, actual: str) -> Failure:
    return finding("envelope.timestamps", "ENV.resp.respond_time", f"{name} is not a yyyyMMddHHmmssSSS timestamp",
                   severity=Severity.MINOR, expected="17 digits, a real time", actual=actual, grade=Grade.SHOULD)


def timestamps(refmsg: Any, respond: Any) -> list[Failure]:
    return run_check("envelope.timestamps", ctx({"infcode": 0, "refmsg_time": refmsg, "respond_time": respond}))


def test_absent_timestamps_are_allowed() -> None:
    assert run_check("envelope.timestamps", ctx({"infcode": 0})) == []
    assert timestamps(None, "") == []
    assert timestamps("", "20251207103000123") == []


@pytest.mark.parametrize(("refmsg", "respond"), [
    ("20251207103000123", "20251207103000123"),  # the same millisecond
    ("20251207103000123", "20251207103000124"),
    ("20251207103000999", "20251207103001000"),
    ("20251231235959999", "20260101000000000"),
])
def test_an_answer_at_or_after_the_request_passes(refmsg: str, respond: str) -> None:
    assert timestamps(refmsg, respond) == []


@pytest.mark.parametrize(("refmsg", "respond"), [
    ("20251207103000123", "20251207103000122"),  # one millisecond earlier
    ("20251207103000100", "20251207103000099"),  # all three digits are the milliseconds
    ("20251207103001000", "20251207103000999"),
    ("20251207103000000", "20251206103000000"),
])
def test_an_answer_older_than_the_request_is_named(refmsg: str, respond: str) -> None:
    assert timestamps(refmsg, respond) == [finding(
        "envelope.timestamps", "ENV.resp.respond_time", "respond_time is earlier than refmsg_time",
        severity=Severity.MINOR, expected=f">= {refmsg}", actual=respond, grade=Grade.SHOULD)]


@pytest.mark.parametrize("value", ["2025120710300012", "202512071030001234", "2025120710300012x",
                                   "20251307103000123", "20251207253000123", "２0251207103000123"])
def test_a_timestamp_not_of_17_digits_or_not_a_real_time_is_named(value: str) -> None:
    assert timestamps(value, None) == [not_a_time("refmsg_time", value)]
    assert timestamps(None, value) == [not_a_time("respond_time", value)]


def test_a_numeric_timestamp_is_named_and_not_compared() -> None:
    assert timestamps(20251207103000123, "20251207103000000") == [not_a_time("refmsg_time", "20251207103000123")]
    assert timestamps("bad", "bad") == [not_a_time("refmsg_time", "bad"), not_a_time("respond_time", "bad")]


# --- replay.same_response ---


def replay(original: Any, response: dict[str, Any]) -> list[Failure]:
    saved = {} if original is _ABSENT else {"original_response": original}
    return run_check("replay.same_response", ctx(response, saved=saved))


@pytest.mark.parametrize("original", [_ABSENT, None, "text", [1]])
def test_a_replay_without_its_original_is_a_suite_bug(original: Any) -> None:
    assert replay(original, {"infcode": 0}) == [finding(
        "replay.same_response", "R-MSGID-REPLAY", "suite bug: no original response to compare the replay with",
        expected="an earlier step with save: {original_response: response}", actual="not saved", grade=Grade.SHOULD)]


def test_a_replay_answered_the_same_passes_whatever_its_times() -> None:
    original = {"infcode": 0, "err_msg": None, "output": {"setlinfo": {"setl_id": "S1"}}, "respond_time": "1"}
    assert replay(original, {**original, "respond_time": "2", "refmsg_time": "3"}) == []


def replayed(name: str, where: str, was: str, now: str, listed: str, severity: Severity) -> Failure:
    return finding("replay.same_response", "R-MSGID-REPLAY",
                   f"the replayed msgid got a different {name} than the original message", severity=severity,
                   expected=f"{where} = {was}", actual=f"{where} = {now}", grade=Grade.SHOULD,
                   detail="a replay must be answered from the record of the first processing, not processed again; "
                   f"differences:\n{listed}")


def test_each_part_of_a_different_replay_is_named_with_its_severity() -> None:
    original = {"infcode": 0, "err_msg": "成功", "output": {"setlinfo": {"setl_id": "S1"}}}
    now = {"infcode": -1, "err_msg": "重复", "output": {"setlinfo": {"setl_id": "S2"}}}
    assert replay(original, now) == [
        replayed("infcode", "infcode", "0", "-1", "infcode: original 0, replay -1", Severity.CRITICAL),
        replayed("err_msg", "err_msg", '"成功"', '"重复"', 'err_msg: original "成功", replay "重复"', Severity.MAJOR),
        replayed("output", "output.setlinfo.setl_id", '"S1"', '"S2"',
                 'output.setlinfo.setl_id: original "S1", replay "S2"', Severity.CRITICAL),
    ]


def test_the_differences_are_listed_depth_first_with_absent_keys() -> None:
    original = {"output": {"a": {"b": 1, "c": [1, 2]}, "gone": True, "same": {"x": 1}, "l": [1]}}
    now = {"output": {"a": {"b": 2, "c": [1, 3]}, "same": {"x": 1}, "l": [1, 2], "new": None}}
    listed = ("output.a.b: original 1, replay 2\noutput.a.c[1]: original 2, replay 3\n"
              "output.gone: original true, replay absent\noutput.l: original [1], replay [1, 2]\n"
              "output.new: original absent, replay null")
    assert replay(original, now) == [replayed("output", "output.a.b", "1", "2", listed, Severity.CRITICAL)]


def test_a_replay_lists_at_most_ten_differences_and_cuts_long_values() -> None:
    original = {"output": {f"k{i:02}": i for i in range(12)}}
    now = {"output": {f"k{i:02}": -i - 1 for i in range(12)}}
    [failure] = replay(original, now)
    assert failure.detail.splitlines()[1:] == [f"output.k{i:02}: original {i}, replay {-i - 1}" for i in range(10)]
    long_was, exact = "长" * 200, "x" * 118  # json.dumps adds the two quotes: 120 characters
    [failure] = replay({"output": {"a": long_was, "b": exact}}, {"output": {"a": "", "b": ""}})
    shown = '"' + "长" * 118 + "…"
    assert failure.expected == f"output.a = {shown}" and len(shown) == 120
    assert failure.detail.splitlines()[2] == f'output.b: original "{exact}", replay ""'
    [failure] = replay({"output": {"a": {"z": 1, "y": "值"}}}, {"output": {"a": 1}})
    assert failure.expected == 'output.a = {"y": "值", "z": 1}'  # sorted keys, not escaped


def test_decimals_are_quoted_and_a_value_of_121_characters_is_cut() -> None:
    [failure] = replay({"output": {"a": Decimal("12.50")}}, {"output": {"a": Decimal("12.51")}})
    assert (failure.expected, failure.actual) == ('output.a = "12.50"', 'output.a = "12.51"')
    [failure] = replay({"output": {"a": "x" * 119}}, {"output": {"a": ""}})  # 121 characters with the quotes
    assert failure.expected == 'output.a = "' + "x" * 118 + "…"


def test_the_absent_marker_reads_absent() -> None:
    assert repr(_ABSENT) == "absent"


# --- refusal.shape ---


def refusal(response: dict[str, Any]) -> list[Failure]:
    return run_check("refusal.shape", ctx(response))


@pytest.mark.parametrize("infcode", [-1, "-1"])
def test_a_refusal_of_the_right_shape_passes(infcode: Any) -> None:
    assert refusal({"infcode": infcode, "err_msg": "未备案", "output": None}) == []
    assert refusal({"infcode": infcode, "err_msg": "未备案"}) == []


@pytest.mark.parametrize(("infcode", "shown"), [(0, "0"), ("0", '"0" (a string)'), (None, ""), (True, "True"),
                                                (1, "1"), ("-1 ", '"-1 " (a string)'), ("负一", '"负一" (a string)')])
def test_a_refusal_without_infcode_minus_one_is_named(infcode: Any, shown: str) -> None:
    assert refusal({"infcode": infcode, "err_msg": "x"}) == [finding(
        "refusal.shape", "R-REFUSAL-SHAPE", "a refusal must carry infcode -1", expected="-1", actual=shown)]


@pytest.mark.parametrize(("err_msg", "shown"), [(None, "null"), ("", ""), ("  \t", "  \t"), (5, "5")])
def test_a_refusal_without_a_reason_is_named(err_msg: Any, shown: str) -> None:
    assert refusal({"infcode": -1, "err_msg": err_msg}) == [finding(
        "refusal.shape", "R-REFUSAL-SHAPE", "a refusal must say why in err_msg", expected="a non-empty err_msg",
        actual=shown)]


@pytest.mark.parametrize(("output", "shown"), [({}, "dict"), ([], "list"), ("", "str"), (0, "int")])
def test_a_refusal_with_an_output_is_named(output: Any, shown: str) -> None:
    assert refusal({"infcode": -1, "err_msg": "x", "output": output}) == [finding(
        "refusal.shape", "R-REFUSAL-SHAPE", "a refusal must have a null output", severity=Severity.MINOR,
        expected="null", actual=shown)]


def test_every_fault_of_a_refusal_is_named() -> None:
    assert [f.title for f in refusal({"infcode": 0, "output": {}})] == [
        "a refusal must carry infcode -1", "a refusal must say why in err_msg", "a refusal must have a null output"]


# --- recon.balanced / recon.unbalanced ---


def recon(name: str, output: Any) -> list[Failure]:
    return run_check(name, ctx({"infcode": 0, "output": output}))


@pytest.mark.parametrize("name", ["recon.balanced", "recon.unbalanced"])
@pytest.mark.parametrize("output", [None, {}, {"stmtinfo": None}, {"stmtinfo": "0"}])
def test_a_reconciliation_without_stmtinfo_is_named(name: str, output: Any) -> None:
    assert recon(name, output) == [finding(name, "R-RECON-BALANCED", "the response has no output.stmtinfo",
                                           expected="output.stmtinfo object", actual="missing")]


@pytest.mark.parametrize("result", ["0", 0])
def test_a_balanced_reconciliation(result: Any) -> None:
    assert recon("recon.balanced", {"stmtinfo": {"stmt_rslt": result}}) == []
    assert recon("recon.unbalanced", {"stmtinfo": {"stmt_rslt": result, "stmt_rslt_dscr": "平"}}) == [finding(
        "recon.unbalanced", "R-RECON-BALANCED", "totals that differ were reconciled as balanced",
        severity=Severity.CRITICAL, expected="stmt_rslt other than 0 (不平)", actual=str(result), detail="平")]


@pytest.mark.parametrize(("result", "shown", "dscr", "detail"), [
    ("1", "1", "不平", "不平"), (2, "2", None, ""), (None, "missing", "", ""), ("", "", None, ""), ("00", "00", 0, "")])
def test_an_unbalanced_reconciliation_is_named(result: Any, shown: str, dscr: Any, detail: str) -> None:
    stmtinfo = {"stmt_rslt": result, "stmt_rslt_dscr": dscr}
    assert recon("recon.balanced", {"stmtinfo": stmtinfo}) == [finding(
        "recon.balanced", "R-RECON-BALANCED", "reconciliation is not balanced", severity=Severity.CRITICAL,
        expected="stmt_rslt 0 (平)", actual=shown, detail=detail)]


@pytest.mark.parametrize(("result", "shown"), [(None, "missing"), ("", "")])
def test_an_empty_result_is_not_unbalanced(result: Any, shown: str) -> None:
    assert recon("recon.unbalanced", {"stmtinfo": {"stmt_rslt": result, "stmt_rslt_dscr": "说明"}}) == [finding(
        "recon.unbalanced", "R-RECON-BALANCED", "totals that differ were reconciled as balanced",
        severity=Severity.CRITICAL, expected="stmt_rslt other than 0 (不平)", actual=shown, detail="说明")]
    assert recon("recon.unbalanced", {"stmtinfo": {}})[0].detail == ""


@pytest.mark.parametrize("result", ["1", 3, "00"])
def test_an_unbalanced_result_passes_recon_unbalanced(result: Any) -> None:
    assert recon("recon.unbalanced", {"stmtinfo": {"stmt_rslt": result}}) == []


# --- recon.ledger_covered ---


@dataclass
class Row:
    n: int

    def describe(self) -> str:
        return f"row {self.n}"


class FakeLedger:
    def __init__(self, rows: int) -> None:
        self.rows = [Row(i) for i in range(1, rows + 1)]
        self.asked: list[str] = []

    def unreconciled(self, fixmedins_code: str) -> list[Row]:
        self.asked.append(fixmedins_code)
        return self.rows


def covered(ledger: Any, request: dict[str, Any] | None = None) -> list[Failure]:
    return run_check("recon.ledger_covered", ctx({"infcode": 0}, ledger=ledger, request=request))


def gap(rows: int, shown: str) -> Failure:
    return finding("recon.ledger_covered", "R-RECON-BALANCED",
                   f"{rows} settlement row(s) the harness recorded were in no 3201 reconciliation",
                   severity=Severity.WARNING, expected="every recorded row within the filter of some 3201 step",
                   actual=shown, grade=Grade.MAY,
                   detail="add a 3201 step for that insutype / clr_type / clr_optins to the end-of-run "
                   "reconciliation scenarios (scenarios/reconciliation/)")


def test_the_ledger_check_outside_the_runner_is_a_warning() -> None:
    assert covered(None) == [finding(
        "recon.ledger_covered", "R-RECON-BALANCED",
        "no run ledger to compare with (the check runs only inside the runner)", severity=Severity.WARNING,
        grade=Grade.MAY)]


def test_a_fully_reconciled_ledger_passes_and_is_asked_for_the_institution() -> None:
    ledger = FakeLedger(0)
    assert covered(ledger, {"fixmedins_code": "H43"}) == [] and ledger.asked == ["H43"]
    covered(ledger, {"fixmedins_code": None})
    covered(ledger)
    assert ledger.asked == ["H43", "", ""]


def test_unreconciled_rows_are_shown_five_at_most() -> None:
    assert covered(FakeLedger(1)) == [gap(1, "row 1")]
    assert covered(FakeLedger(5)) == [gap(5, "row 1; row 2; row 3; row 4; row 5")]
    assert covered(FakeLedger(6)) == [gap(6, "row 1; row 2; row 3; row 4; row 5; … (6 rows)")]
