"""How the runner judges an answer (harness/runner/evaluate.py), with literal expected findings (issue 17).

Written against the survivors of `python tools/mutation.py --module runner.evaluate`: each finding is
compared whole (title, clause, severity, grade, expected, actual, step, detail, evidence), so a changed word,
grade or clause shows. Everything goes through `Runner.run_scenario` against a scripted fake site.
"""

from __future__ import annotations

import json
from typing import Any

from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site, success

from harness.model import Expectation, Grade, Outcome, Severity, Step
from harness.runner import Runner
from harness.specs import load_registry

M, MAJ, MIN, W, C = Grade.MUST, Severity.MAJOR, Severity.MINOR, Severity.WARNING, Severity.CRITICAL
NOT_FILED_PATTERNS = "未办理异地就医备案 | 未备案"
LAPSED = "参保人中断缴费，不能享受异地就医直接结算"


def run(answers: dict[str, Any], steps: tuple[Step, ...], *, reference: bool = False,
        archetype: str | None = "filed-employee") -> tuple[Any, FakeSite]:
    fake = FakeSite(answers)
    runner = Runner(fake.target(), load_registry(), "baseline", site(reference=reference), seed=3)
    return runner.run_scenario(scenario(steps, archetype=archetype)), fake


def findings(result: Any) -> list[tuple[Any, ...]]:
    return [(f.title, f.clause, f.severity, f.grade, f.expected, f.actual, f.step, f.detail, dict(f.evidence))
            for f in result.failures]


def refused_step(cause: str | None = "not-filed", infno: str = "2207") -> Step:
    step = settle_step() if infno == "2207" else person_step()
    return Step(infno, step.input, Expectation(ok=False, cause=cause))


# --- routing by the person query ------------------------------------------------------------------


def _routed(insuinfo: Any, archetype: str | None = "filed-employee") -> list[str]:
    answer = success("1101")
    answer["output"]["insuinfo"] = insuinfo
    _, fake = run({"1101": answer}, (person_step(), settle_step()), archetype=archetype)
    return [envelope["insuplc_admdvs"] for infno, envelope in fake.sent if infno == "2207"]


def test_later_calls_go_to_the_insured_region_the_person_query_names_for_the_persons_insurance() -> None:
    row = success("1101")["output"]["insuinfo"][0]
    assert site().identities["filed-employee"]["insuplc_admdvs"] == "430102"
    resident, employee = {**row, "insutype": "390", "insuplc_admdvs": "360102"}, {**row, "insutype": "310",
                                                                                   "insuplc_admdvs": "430105"}
    assert _routed([resident, employee]) == ["430105"]  # the row of the identity's insutype (310)
    assert _routed([resident]) == ["360102"]  # none of that insutype: the first row
    assert _routed(["not a row", employee]) == ["430105"]  # a row that is no object is passed over
    assert _routed(["not a row", resident]) == ["430102"]  # ... but is no region to follow when it comes first
    assert _routed([{**row, "insuplc_admdvs": "43010"}]) == ["430102"]  # not a region code: not followed
    assert _routed([{**row, "insuplc_admdvs": 430105}]) == ["430102"]
    assert _routed([]) == ["430102"] and _routed(None) == ["430102"]


# --- refusals -------------------------------------------------------------------------------------


def test_an_accepted_call_that_had_to_be_refused_is_critical_when_it_changes_state() -> None:
    settled, _ = run({}, (refused_step(),))
    assert findings(settled) == [("expected a refusal (not-filed), the site accepted", "R-CAUSE-NOT-FILED", C, M,
                                  "infcode -1", "infcode 0", 0, "", {})]
    queried, _ = run({}, (refused_step(infno="1101"),))
    assert findings(queried) == [("expected a refusal (not-filed), the site accepted", "R-CAUSE-NOT-FILED", MAJ, M,
                                  "infcode -1", "infcode 0", 0, "", {})]
    plain, _ = run({}, (refused_step(cause=None, infno="1101"),))
    assert findings(plain) == [("expected a refusal, the site accepted", "R-FILING-REQUIRED", MAJ, M,
                                "infcode -1", "infcode 0", 0, "", {})]


def test_an_unknown_cause_is_a_suite_bug_and_the_scenarios_clause_is_used() -> None:
    result, _ = run({}, (refused_step(cause="no-such-cause", infno="1101"),))
    assert findings(result) == [
        ("suite bug: unknown failure cause 'no-such-cause'", "R-FILING-REQUIRED", MAJ, M, "", "", 0, "", {}),
        ("expected a refusal (no-such-cause), the site accepted", "R-FILING-REQUIRED", MAJ, M, "infcode -1",
         "infcode 0", 0, "", {})]


def test_a_refusal_for_another_cause_names_both_causes() -> None:
    for reference in (False, True):
        result, _ = run({"2207": refusal(LAPSED)}, (refused_step(),),
                        reference=reference)
        assert result.outcome is Outcome.FAILED
        assert findings(result) == [(
            "refused for another cause: err_msg reads like 'lapsed-contributions', the case is about 'not-filed' "
            "因其他原因被拒绝", "R-CAUSE-NOT-FILED", MAJ, M, NOT_FILED_PATTERNS, LAPSED, 0, "",
            {"expected_cause": "not-filed", "matched_cause": "lapsed-contributions"})]


def test_an_unrecognised_refusal_text_is_inconclusive_on_a_site_and_a_finding_on_the_reference() -> None:
    site_result, _ = run({"2207": refusal("something odd")}, (refused_step(),))
    assert site_result.outcome is Outcome.INCONCLUSIVE
    assert findings(site_result) == [(
        "inconclusive: refused, but err_msg matches no pattern of 'not-filed'; to make it conclusive add the site's "
        "wording to the site config: [err_msg_patterns] not-filed = [\"<regex>\"] 拒绝原因无法确认",
        "R-CAUSE-NOT-FILED", W, Grade.MAY, NOT_FILED_PATTERNS, "something odd", 0, "",
        {"inconclusive": True, "cause": "not-filed", "err_msg": "something odd"})]
    reference, _ = run({"2207": refusal("something odd")}, (refused_step(),), reference=True)
    assert findings(reference) == [("refused, cause unconfirmed: err_msg matches no pattern of 'not-filed'",
                                     "R-CAUSE-NOT-FILED", MAJ, M, NOT_FILED_PATTERNS, "something odd", 0, "", {})]


def test_an_interface_the_site_does_not_offer_leaves_the_case_unjudged() -> None:
    not_offered = ("inconclusive: the site answered that 2207 is not offered, so the case was not judged; declare it "
                   "under [site] not_offered if the site does not offer 2207 接口未开通")
    for cause, clause in (("not-filed", "R-CAUSE-NOT-FILED"), (None, "R-FILING-REQUIRED")):
        result, _ = run({"2207": refusal("接口未开通")}, (refused_step(cause=cause),))
        assert result.outcome is Outcome.INCONCLUSIVE
        assert findings(result) == [(not_offered, clause, W, Grade.MAY, "", "接口未开通", 0, "",
                                     {"inconclusive": True, "not_offered": "2207", "err_msg": "接口未开通"})]
    plain, _ = run({"2207": refusal("参保人中断缴费")}, (refused_step(cause=None),))
    assert plain.outcome is Outcome.PASSED and findings(plain) == []


def test_a_refusal_where_success_was_expected_is_a_major_finding() -> None:
    result, _ = run({"2207": refusal("参保人中断缴费")}, (settle_step(),))
    assert findings(result) == [("expected success, the site refused: 参保人中断缴费", "R-FILING-REQUIRED", MAJ, M,
                                 "infcode 0", "infcode -1: 参保人中断缴费", 0, "", {})]


# --- one finding per (interface, clause) and run -------------------------------------------------------


AGAIN = ('again: response does not conform: /infcode is "0" (a string), the spec types it as a number (0 success, '
         '-1 refusal) 交易状态码应为数值 (reported once per run, first at outpatient.sample.flow step 1 (1101)) '
         '同一问题已报告')
INFCODE_DETAIL = ("the flow goes on reading it as the number; interface-facts §1.2 [C]: real platforms send a JSON "
                  "number")


def test_a_string_infcode_is_reported_once_then_noted_as_a_repeat() -> None:
    answer = success("1101")
    answer["infcode"] = "0"
    fake = FakeSite({"1101": answer})
    runner = Runner(fake.target(), load_registry(), "baseline", site(), seed=3)
    first = runner.run_scenario(scenario((person_step(), person_step())))
    assert findings(first) == [
        ('response does not conform: /infcode is "0" (a string), the spec types it as a number (0 success, -1 '
         'refusal) 交易状态码应为数值', "ENV.resp.infcode", MIN, M, "0 (a number)", '"0" (a string)', 0, INFCODE_DETAIL,
         {}),
        (AGAIN, "ENV.resp.infcode", W, Grade.MAY, "0 (a number)", '"0" (a string)', 1, INFCODE_DETAIL,
         {"repeat_of": "outpatient.sample.flow step 1 (1101)"})]
    later = runner.run_scenario(scenario((person_step(),), id="outpatient.sample.second"))
    assert later.outcome is Outcome.PASSED
    assert findings(later) == [(AGAIN, "ENV.resp.infcode", W, Grade.MAY, "0 (a number)", '"0" (a string)', 0,
                                INFCODE_DETAIL, {"repeat_of": "outpatient.sample.flow step 1 (1101)"})]


def test_a_wrongly_typed_output_field_is_one_finding_unless_the_step_skips_the_output() -> None:
    answer = success("1101")
    answer["output"]["baseinfo"]["psn_no"] = 12345
    result, _ = run({"1101": answer}, (person_step(),))
    assert findings(result) == [(
        "response does not conform: /output/baseinfo/psn_no wrong type", "1101.out.baseinfo.psn_no", MIN, M,
        "type string", "integer 12345", 0,
        "/output/baseinfo/psn_no (人员编号) [1101.out.baseinfo.psn_no]: wrong type expected type string, got integer "
        "12345", {})]
    skipped, _ = run({"1101": answer}, (person_step(Expectation(output_schema=False)),))
    assert findings(skipped) == []


# --- saves and golden values ----------------------------------------------------------------------


def test_a_value_the_flow_needs_and_cannot_save_is_a_finding() -> None:
    result, _ = run({}, (person_step(Expectation(save={"gone": "output.nope", "psn": "output.baseinfo.psn_no"})),))
    assert findings(result) == [("cannot save gone: output.nope is missing from the response", "R-FILING-REQUIRED",
                                 MAJ, M, "a value at output.nope", "missing", 0, "", {})]
    answer = success("1101")
    answer["output"]["baseinfo"]["psn_no"] = ""
    empty, _ = run({"1101": answer}, (person_step(Expectation(save={"psn": "output.baseinfo.psn_no"})),))
    saving = [f for f in findings(empty) if f[0].startswith("cannot save")]
    assert saving == [("cannot save psn: output.baseinfo.psn_no is missing from the response",
                                "1101.out.baseinfo.psn_no", MAJ, M, "a value at output.baseinfo.psn_no", "''", 0, "",
                                {})]


def test_golden_values_are_judged_on_the_reference_platform_only() -> None:
    golden = Expectation(golden={"output.baseinfo.psn_no": "X1", "output.nope": 1})
    reference, _ = run({}, (person_step(golden),), reference=True)
    assert findings(reference) == [
        ("output.baseinfo.psn_no differs from the reference platform's golden value", "1101.out.baseinfo.psn_no", C, M,
         '"X1"', '"44000011000000012345"', 0, "", {}),
        ("output.nope differs from the reference platform's golden value", "R-FILING-REQUIRED", C, M, "1", "missing",
         0, "", {})]
    real, _ = run({}, (person_step(golden),))
    assert findings(real) == []


def test_a_saved_value_of_the_wrong_json_type_is_used_in_the_type_the_spec_gives_its_field() -> None:
    def sent(psn_no: Any, balc: Any) -> tuple[Any, Any]:
        answer = success("1101")
        answer["output"]["baseinfo"]["psn_no"], answer["output"]["insuinfo"][0]["balc"] = psn_no, balc
        data = settle_step().input
        data = {**data, "data": {**data["data"], "psn_no": "{{ saved.psn }}", "medfee_sumamt": "{{ saved.balc }}"}}
        save = {"psn": "output.baseinfo.psn_no", "balc": "output.insuinfo[0].balc"}
        _, fake = run({"1101": answer}, (person_step(Expectation(save=save)), Step("2207", data)))
        [envelope] = [e for infno, e in fake.sent if infno == "2207"]
        return envelope["input"]["data"]["psn_no"], envelope["input"]["data"]["medfee_sumamt"]

    assert sent(4400001, "948.60") == ("4400001", 948.6)  # a number id as its text, money text as the number
    assert sent("4400001", 948.6) == ("4400001", 948.6)  # the right types pass as they are


# --- a refusal that may come at any step of a flow ----------------------------------------------------


def _flow(answers: dict[str, Any]) -> tuple[Any, FakeSite]:
    from test_runner_refusals import refusal_flow

    fake = FakeSite(answers)
    steps, teardown = refusal_flow()
    runner = Runner(fake.target(), load_registry(), "baseline", site(), seed=3)
    return runner.run_scenario(scenario(steps, teardown=teardown, id="cause.not-filed.sample")), fake


SKIPPED = ("step {n} ({infno}) skipped: the expected refusal (not-filed) came at step 2 (2201), so saved.mdtrt_id "
           "does not exist")


def test_the_expected_refusal_at_the_second_step_ends_the_flow_there() -> None:
    result, fake = _flow({"2201": refusal("参保人未办理异地就医备案，不能直接结算")})
    assert result.outcome is Outcome.PASSED and findings(result) == []
    assert result.reason == "; ".join(SKIPPED.format(n=n, infno=i) for n, i in ((3, "2206"), (4, "2207"), (5, "2205")))
    assert fake.infnos() == ["9001", "1101", "2201"]
    inconclusive, _ = _flow({"2201": refusal("something odd")})
    assert inconclusive.outcome is Outcome.INCONCLUSIVE and inconclusive.reason == result.reason
    assert [f[6] for f in findings(inconclusive)] == [1]  # at the step that refused


def test_a_flow_in_which_no_step_refuses_is_one_critical_finding_at_the_step_that_had_to() -> None:
    result, fake = _flow({})
    assert findings(result) == [(
        "the site accepted 2207 for a person it must refuse (Not filed for cross-province care, 未备案): no step of "
        "the flow was refused 整个流程未被拒绝", "R-CAUSE-NOT-FILED", C, M, "infcode -1", "infcode 0", 3, "", {})]
    assert fake.infnos() == ["9001", "1101", "2201", "2206", "2207", "2202"]


def test_an_answer_that_is_no_envelope_where_success_was_expected_says_what_came() -> None:
    result, _ = _flow({"2201": {"code": 500, "message": "boom"}})
    assert findings(result)[0] == ("expected success, got no response envelope (HTTP 200 code 500): boom",
                                   "R-FILING-REQUIRED", MAJ, M, "infcode 0",
                                   "no response envelope (HTTP 200 code 500): boom", 1, "", {})


class Relabelled(FakeSite):
    """Answers business calls with another Content-Type and, optionally, another body."""

    def __init__(self, content_type: str, body: str | None = None) -> None:
        super().__init__()
        self.content_type, self.body = content_type, body

    def __call__(self, infno: str, envelope: Any) -> tuple[int, dict[str, str], str]:
        status, headers, body = super().__call__(infno, envelope)
        if infno == "9001":
            return status, headers, body
        return status, {"Content-Type": self.content_type}, self.body or body


LABEL_DETAIL = "the harness read the body as JSON anyway; a strict client (or gateway) may refuse it"


LABEL = ("the answer is not labelled JSON: Content-Type 'text/plain' 应答的Content-Type不是JSON",
         "ENV.resp.content-type")
LABEL_WANTED = "Content-Type: application/json (charset utf-8)"
SURROGATE = ("the answer holds a lone surrogate escape (e.g. \\ud800): not a character 应答含有孤立代理项",
             "ENV.resp.unicode")


def test_how_the_answer_arrived_is_reported_once_per_run_too() -> None:
    fake = Relabelled("text/plain")
    result = Runner(fake.target(), load_registry(), "baseline", site(), seed=3).run_scenario(
        scenario((person_step(), person_step())))
    again = (f"again: {LABEL[0]} (reported once per run, first at outpatient.sample.flow step 1 (1101)) "
             "同一问题已报告")
    assert findings(result) == [
        (*LABEL, MIN, Grade.SHOULD, LABEL_WANTED, "'text/plain'", 0, LABEL_DETAIL, {}),
        (again, LABEL[1], W, Grade.MAY, LABEL_WANTED, "'text/plain'", 1, LABEL_DETAIL,
         {"repeat_of": "outpatient.sample.flow step 1 (1101)"})]


def test_a_lone_surrogate_is_one_finding_and_the_rest_of_the_answer_is_validated_without_it() -> None:
    body = json.dumps(success("1101"), ensure_ascii=False).replace('"psn_name": "', '"psn_name": "\\ud800', 1)
    fake = Relabelled("application/json", body)
    result = Runner(fake.target(), load_registry(), "baseline", site(), seed=3).run_scenario(
        scenario((person_step(),)))
    assert findings(result) == [(*SURROGATE, MIN, Grade.SHOULD, "valid Unicode text (RFC 8259 §8.2)",
                                 "a \\uD800-\\uDFFF escape without its pair", 0,
                                 "validated and shown with U+FFFD in its place", {})]
