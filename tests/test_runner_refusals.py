"""Refusals judged the way the spec does: at whichever step a site refuses, for the right cause only.

A fake site (a plain callable, see engine_samples) refuses a not-filed person at the person query,
at registration, at pre-settlement or at settlement; refuses for another cause; refuses with a text
no pattern knows; or refuses nothing at all. Plus the cascade rules: one wrong field is one finding
per run and the flow goes on, and a string infcode is read as success and shown with its type.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from engine_samples import SIGN_IN, FakeSite, example, refusal, scenario, site, success

from harness.checks.registry import REVERSED_AMOUNTS
from harness.errors import ConfigError
from harness.model import Expectation, Grade, Outcome, Severity, Step
from harness.runner import Runner
from harness.runner.messages import describe_answer, show_infcode
from harness.siteconfig import parse_site
from harness.specs import load_registry

NOT_FILED = "参保人未办理异地就医备案，不能直接结算"
LAPSED = "参保人中断缴费，不能享受异地就医直接结算"
CAUSE = "not-filed"


def runner(fake: FakeSite, *, reference: bool = False, site_config: Any = None) -> Runner:
    return Runner(fake.target(), load_registry(), "baseline", site_config or site(reference=reference), seed=3)


def _input(infno: str, **saved: str) -> dict[str, Any]:
    data = example(infno, "input")
    node = next(iter(data))
    for name, value in saved.items():
        data[node][name] = value
    return data


def refusal_flow() -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """1101 -> 2201 -> 2206 (each may refuse for not-filed) -> 2207 must be refused -> 2205 proves nothing changed."""
    may = Expectation(may_refuse=CAUSE)
    steps = (
        Step("1101", _input("1101"), replace(may, save={"psn_no": "output.baseinfo.psn_no"})),
        Step("2201", _input("2201", psn_no="{{ saved.psn_no }}"),
             replace(may, save={"mdtrt_id": "output.data.mdtrt_id", "ipt_otp_no": "output.data.ipt_otp_no"})),
        Step("2206", _input("2206", psn_no="{{ saved.psn_no }}", mdtrt_id="{{ saved.mdtrt_id }}"), may),
        Step("2207", _input("2207", psn_no="{{ saved.psn_no }}", mdtrt_id="{{ saved.mdtrt_id }}"),
             Expectation(ok=False, cause=CAUSE, state_unchanged=True)),
        Step("2205", _input("2205", psn_no="{{ saved.psn_no }}", mdtrt_id="{{ saved.mdtrt_id }}")),
    )
    teardown = (Step("2202", _input("2202", psn_no="{{ saved.psn_no }}", mdtrt_id="{{ saved.mdtrt_id }}",
                                    ipt_otp_no="{{ saved.ipt_otp_no }}"), Expectation(ok=None), when="mdtrt_id"),)
    return steps, teardown


def run_flow(answers: dict[str, Any], **kwargs: Any) -> tuple[Any, FakeSite]:
    fake = FakeSite(answers)
    steps, teardown = refusal_flow()
    result = runner(fake, **kwargs).run_scenario(scenario(steps, teardown=teardown, id="cause.not-filed.sample"))
    return result, fake


# --- class 1: the refusal step --------------------------------------------------------------------


def test_a_refusal_at_the_person_query_with_the_right_cause_passes_and_skips_what_depends_on_it() -> None:
    result, fake = run_flow({"1101": refusal(NOT_FILED)})
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.infnos() == ["9001", "1101"]  # nothing else: everything needs psn_no, teardown needs mdtrt_id
    assert "step 2 (2201) skipped: the expected refusal (not-filed) came at step 1 (1101)" in result.reason
    assert result.reason.count("skipped") == 4  # 2201, 2206, 2207, 2205: recorded, not failed


def test_a_refusal_at_registration_with_the_right_cause_passes() -> None:
    result, fake = run_flow({"2201": refusal(NOT_FILED)})
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.infnos() == ["9001", "1101", "2201"]  # no 2202 cancel: nothing was registered
    assert "saved.mdtrt_id does not exist" in result.reason


def test_a_refusal_at_settlement_with_the_right_cause_passes_and_the_follow_up_runs() -> None:
    result, fake = run_flow({"2207": refusal(NOT_FILED)})
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.infnos() == ["9001", "1101", "2201", "2206", "2207", "2205", "2202"]
    assert "skipped" not in result.reason


def test_a_refusal_at_pre_settlement_still_requires_the_settlement_to_be_refused() -> None:
    passed, fake = run_flow({"2206": refusal(NOT_FILED), "2207": refusal(NOT_FILED)})
    assert passed.outcome is Outcome.PASSED, passed.failures
    assert fake.infnos()[3:6] == ["2206", "2207", "2205"]
    settled, _ = run_flow({"2206": refusal(NOT_FILED)})  # refused the calculation, then settled anyway
    assert settled.outcome is Outcome.FAILED
    assert settled.failures[0].title == "expected a refusal (not-filed), the site accepted"


def test_a_flow_that_no_step_refuses_is_a_must_failure() -> None:
    result, _ = run_flow({})
    assert result.outcome is Outcome.FAILED
    [failure] = [f for f in result.failures if f.grade is Grade.MUST]
    assert failure.title.startswith("the site accepted 2207 for a person it must refuse (Not filed for cross-province "
                                 "care, 未备案)")
    assert failure.severity is Severity.CRITICAL and failure.clause == "R-CAUSE-NOT-FILED"


# --- class 6: refusals for the wrong reason -----------------------------------------------------


def test_a_refusal_with_another_causes_text_fails_must_naming_both_causes() -> None:
    result, fake = run_flow({"2201": refusal(LAPSED)})
    assert result.outcome is Outcome.FAILED
    [failure] = result.failures
    assert failure.grade is Grade.MUST and failure.severity is Severity.MAJOR
    assert "'lapsed-contributions'" in failure.title and "'not-filed'" in failure.title
    assert fake.infnos() == ["9001", "1101", "2201"]  # refused where success was needed: the flow ends


def test_a_refusal_with_an_unknown_text_is_inconclusive_and_says_how_to_make_it_conclusive() -> None:
    result, _ = run_flow({"2201": refusal("人员状态异常，请联系参保地")})
    assert result.outcome is Outcome.INCONCLUSIVE
    [note] = result.failures
    assert note.grade is Grade.MAY and note.evidence["inconclusive"] is True
    assert "[err_msg_patterns] not-filed" in note.title
    on_reference, _ = run_flow({"2201": refusal("人员状态异常，请联系参保地")}, reference=True)
    assert on_reference.outcome is Outcome.FAILED  # the reference platform's messages are exact


def test_the_site_config_patterns_make_an_unknown_text_conclusive() -> None:
    config = parse_site({"site": {"id": "s", "base_url": "http://127.0.0.1:1", "fixmedins_code": "H52010200001",
                                  "fixmedins_name": "测试医院", "mdtrtarea_admvs": "520102",
                                  "capabilities": ["outpatient"]},
                         "err_msg_patterns": {"not-filed": ["人员状态异常"]}}, source="site.toml")
    assert config.err_msg_patterns == {"not-filed": ("人员状态异常",)}
    configured = replace(site(), err_msg_patterns=config.err_msg_patterns)
    result, _ = run_flow({"2201": refusal("人员状态异常，请联系参保地")}, site_config=configured)
    assert result.outcome is Outcome.PASSED, result.failures


@pytest.mark.parametrize(("table", "message"), [
    ({"not-filled": ["x"]}, "err_msg_patterns.not-filled: expected a failure-cause id"),
    ({"not-filed": ["未备案("]}, "err_msg_patterns.not-filed: expected regular expressions that compile"),
    ({"not-filed": []}, "err_msg_patterns.not-filed: expected a list of regular expressions"),
])
def test_site_err_msg_patterns_are_validated_with_file_and_key(table: dict[str, Any], message: str) -> None:
    data = {"site": {"id": "s", "base_url": "http://127.0.0.1:1", "fixmedins_code": "H52010200001",
                     "fixmedins_name": "测试医院", "mdtrtarea_admvs": "520102", "capabilities": ["outpatient"]},
            "err_msg_patterns": table}
    with pytest.raises(ConfigError) as caught:
        parse_site(data, source="sites/x.toml")
    assert message in str(caught.value.title)
    assert caught.value.location.startswith("sites/x.toml: err_msg_patterns.")


def test_a_negative_answered_interface_not_offered_is_no_pass() -> None:
    step = Step("2208", _input("2208"), Expectation(ok=False))
    result = runner(FakeSite({"2208": refusal("交易编号[2208]不存在")})).run_scenario(scenario((step,)))
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "not_offered" in result.failures[0].title and result.failures[0].evidence["not_offered"] == "2208"
    plain = runner(FakeSite({"2208": refusal("结算信息不存在")})).run_scenario(scenario((step,)))
    assert plain.outcome is Outcome.PASSED, plain.failures


# --- class 4: cascades ---------------------------------------------------------------------------


def _reversal_of(settlement: dict[str, Any], *, as_text: str | None = None) -> dict[str, Any]:
    info = copy.deepcopy(settlement)
    for name in REVERSED_AMOUNTS:
        if isinstance(info.get(name), int | float):
            info[name] = -info[name]
    info["balc"] = settlement["balc"] + settlement["acct_pay"]  # the account given back, as a correct site does
    if as_text:
        info[as_text] = f"{info[as_text]:.2f}"  # present, but a string: a money value sent as text
    answer = success("2208")
    answer["output"]["setlinfo"] = info
    return answer


def _site_reversing(settled: dict[str, Any], reversal: dict[str, Any]) -> FakeSite:
    """A fake site that settles, reverses, and answers the 5203 query of the reversal with the reversal itself."""
    query = success("5203", output={"setlinfo": copy.deepcopy(reversal["output"]["setlinfo"]), "setldetail": []})
    return FakeSite({"2207": settled, "2208": reversal, "5203": query})


def _settle_and_reverse(scenario_id: str) -> Any:
    return scenario((
        Step("2207", _input("2207"), Expectation(save={"settlement": "output.setlinfo",
                                                       "setl_id": "output.setlinfo.setl_id"})),
        Step("2208", _input("2208", setl_id="{{ saved.setl_id }}"),
             Expectation(checks=("reversal.negates", "money.sum", "money.psn_part"),
                         save={"reversal_setl_id": "output.setlinfo.setl_id"})),
        Step("5203", {"data": {"setl_id": "{{ saved.reversal_setl_id }}", "psn_no": "1", "mdtrt_id": "1"}},
             Expectation(ok=None, output_schema=False)),
    ), id=scenario_id)


def test_one_wrong_field_in_a_reversal_is_one_finding_and_the_later_checks_still_run() -> None:
    settled = success("2207")
    fake = _site_reversing(settled, _reversal_of(settled["output"]["setlinfo"], as_text="acct_pay"))
    run = runner(fake)
    first = run.run_scenario(_settle_and_reverse("reversal.sample.one"))
    second = run.run_scenario(_settle_and_reverse("reversal.sample.two"))
    assert first.outcome is Outcome.FAILED
    [finding] = first.failures
    assert finding.clause == "2208.out.setlinfo.acct_pay" and finding.grade is Grade.MUST
    # the checks that read acct_pay ran on the string and found the sums right: no further finding
    assert fake.infnos().count("5203") == 2  # and the flow went on after the reversal, both times
    assert second.outcome is Outcome.PASSED
    [again] = second.failures
    assert again.grade is Grade.MAY and again.severity is Severity.WARNING
    assert again.evidence["repeat_of"] == "reversal.sample.one step 2 (2208)"


def test_a_wrong_money_sum_in_a_string_field_is_still_caught() -> None:
    settled = success("2207")
    reversal = _reversal_of(settled["output"]["setlinfo"], as_text="acct_pay")
    reversal["output"]["setlinfo"]["acct_pay"] = "-999.00"
    result = runner(_site_reversing(settled, reversal)).run_scenario(_settle_and_reverse("reversal.x.y"))
    titles = [f.title for f in result.failures]
    assert "reversal acct_pay is not the negated original" in titles
    assert "psn_part_amt is not acct_pay + psn_cash_pay" in titles


def test_a_saved_value_of_the_wrong_type_is_usable_by_the_next_request() -> None:
    settled = success("2207")
    reversal = _reversal_of(settled["output"]["setlinfo"])
    settled["output"]["setlinfo"]["setl_id"] = 430105202403150000000456  # a number where the spec says string
    fake = _site_reversing(settled, reversal)
    result = runner(fake).run_scenario(_settle_and_reverse("reversal.sample.id"))
    assert fake.infnos() == ["9001", "2207", "2208", "5203"]  # 2208 was built and sent: setl_id became text
    assert fake.sent[2][1]["input"]["data"]["setl_id"] == "430105202403150000000456"
    assert [f.clause for f in result.failures if f.grade is Grade.MUST] == ["2207.out.setlinfo.setl_id"]


def test_a_value_that_could_not_be_saved_ends_the_flow_without_a_second_finding() -> None:
    settled = success("2207")
    del settled["output"]["setlinfo"]["setl_id"]
    fake = FakeSite({"2207": settled})
    result = runner(fake).run_scenario(_settle_and_reverse("reversal.sample.lost"))
    assert fake.infnos() == ["9001", "2207"]
    assert [f.title for f in result.failures if f.title.startswith(("cannot", "step"))] == [
        "cannot save setl_id: output.setlinfo.setl_id is missing from the response"]
    assert "which step 1 could not save" in result.reason


# --- string infcode ------------------------------------------------------------------------------


def test_a_string_infcode_is_shown_with_its_type() -> None:
    assert show_infcode("0") == '"0" (a string)' and show_infcode(0) == "0"
    assert describe_answer(None, {"infcode": "-1", "err_msg": "x"}) == 'infcode "-1" (a string): x'  # type: ignore[arg-type]


def test_a_string_infcode_at_sign_in_is_success_and_one_finding() -> None:
    fake = FakeSite({"9001": {**SIGN_IN, "infcode": "0"}})
    run = runner(fake)
    first = run.run_scenario(scenario((Step("1101", _input("1101")),), id="person.sample.one"))
    second = run.run_scenario(scenario((Step("1101", _input("1101")),), id="person.sample.two"))
    assert fake.infnos() == ["9001", "1101", "1101"]  # signed in once, the flows went on
    [finding] = first.failures
    assert finding.clause == "ENV.resp.infcode" and finding.actual == '"0" (a string)'
    assert finding.expected == "0 (a number)"
    assert second.outcome is Outcome.PASSED and not second.failures


def test_a_string_infcode_on_a_step_is_success_for_the_flow_and_reported_once() -> None:
    answer = {**success("2207"), "infcode": "0"}
    fake = _site_reversing(answer, _reversal_of(answer["output"]["setlinfo"]))
    run = runner(fake)
    steps = (Step("2207", _input("2207"), Expectation(save={"setl_id": "output.setlinfo.setl_id"})),
             Step("2208", _input("2208", setl_id="{{ saved.setl_id }}"), Expectation(ok=None, output_schema=False)))
    first = run.run_scenario(scenario(steps, id="outpatient.sample.one"))
    assert fake.infnos() == ["9001", "2207", "2208"]
    assert [(f.clause, f.actual) for f in first.failures] == [("ENV.resp.infcode", '"0" (a string)')]
    second = run.run_scenario(scenario(steps, id="outpatient.sample.two"))
    assert second.outcome is Outcome.PASSED and [f.grade for f in second.failures] == [Grade.MAY]
    # the ledger counts the settlement: a string "0" is a success for reconciliation too
    settled = [row for row in run.ledger.rows if row.kind == "settle"]
    assert len(settled) == 2 and settled[0].medfee_sumamt == Decimal(str(
        answer["output"]["setlinfo"]["medfee_sumamt"]))


# --- scenarios: may_refuse in the YAML ----------------------------------------------------------

_BLOCKS = """\
templates:
  open:
    - name: person
      infno: "1101"
      input: {data: {mdtrt_cert_type: "02", mdtrt_cert_no: "{{ identity.mdtrt_cert_no }}"}}
      expect: {save: {psn_no: output.baseinfo.psn_no}}
    - name: a query that must be refused anyway
      infno: "5203"
      input: {data: {psn_no: "{{ saved.psn_no }}"}}
      expect: {ok: false, cause: not-found}
scenarios:
  - id: demo.refusal.anywhere
    title: refused at any step
    title_zh: 任一步拒绝
    area: person
    clauses: [R-FILING-REQUIRED]
    steps:
      - use: open
        may_refuse: not-filed
"""


def test_a_use_site_may_refuse_reaches_the_success_steps_of_the_block_only() -> None:
    from harness.scenarios.fingerprint import expectation_to_dict
    from harness.scenarios.loader import load_text
    from harness.scenarios.semantics import Vocabulary

    vocab = Vocabulary(causes=frozenset({"not-filed", "not-found"}))
    (loaded,) = load_text(_BLOCKS, "b.yaml", vocabulary=vocab)
    assert [s.expect.may_refuse for s in loaded.steps] == ["not-filed", None]
    assert "may_refuse" in expectation_to_dict(loaded.steps[0].expect)
    assert "may_refuse" not in expectation_to_dict(loaded.steps[1].expect)  # default: fingerprints unchanged
    (plain,) = load_text(_BLOCKS.replace("        may_refuse: not-filed\n", ""), "b.yaml", vocabulary=vocab)
    assert plain.fingerprint != loaded.fingerprint


def test_may_refuse_names_a_known_cause_and_only_on_a_step_that_may_succeed(tmp_path: Any) -> None:
    from harness.errors import ScenarioFormatError
    from harness.scenarios.loader import load_text
    from harness.scenarios.semantics import Vocabulary

    vocab = Vocabulary(causes=frozenset({"not-filed", "not-found"}))
    with pytest.raises(ScenarioFormatError) as unknown:
        load_text(_BLOCKS.replace("may_refuse: not-filed", "may_refuse: not-filled"), "b.yaml", vocabulary=vocab)
    assert "unknown failure cause 'not-filled'" in unknown.value.render()
    on_refusal = _BLOCKS.replace("expect: {ok: false, cause: not-found}",
                                 "expect: {ok: false, cause: not-found, may_refuse: not-filed}")
    with pytest.raises(ScenarioFormatError) as wrong:
        load_text(on_refusal, "b.yaml", vocabulary=vocab)
    assert "may_refuse on a step that is not expected to succeed" in wrong.value.render()


def test_a_string_minus_one_is_a_refusal_whose_type_is_reported_once() -> None:
    step = Step("2207", _input("2207"), Expectation(ok=False, cause=CAUSE))
    answer = {**refusal(NOT_FILED), "infcode": "-1"}
    result = runner(FakeSite({"2207": answer})).run_scenario(scenario((step,)))
    assert [(f.clause, f.actual) for f in result.failures] == [("ENV.resp.infcode", '"-1" (a string)')]
    wrong = runner(FakeSite({"2207": {**refusal(NOT_FILED), "infcode": "1"}})).run_scenario(scenario((step,)))
    shape = next(f for f in wrong.failures if f.clause == "R-REFUSAL-SHAPE")
    assert shape.actual == '"1" (a string)' and shape.expected == "-1"


def test_a_flow_of_may_refuse_steps_only_that_nothing_refuses_fails() -> None:
    steps, _ = refusal_flow()
    result = runner(FakeSite()).run_scenario(scenario(steps[:3], id="cause.not-filed.query"))
    assert result.outcome is Outcome.FAILED
    [failure] = result.failures
    assert failure.title.startswith("the site accepted the whole flow for a person it must refuse (Not filed")
    assert failure.grade is Grade.MUST


def test_money_precision_judges_a_number_sent_as_text_where_the_spec_declares_its_digits() -> None:
    settled = success("2207")
    settled["output"]["setlinfo"]["acct_pay"] = "51.405"  # text, and three decimals
    step = Step("2207", _input("2207"), Expectation(checks=("money.precision",)))
    result = runner(FakeSite({"2207": settled})).run_scenario(scenario((step,)))
    clauses = {f.clause for f in result.failures}
    assert {"2207.out.setlinfo.acct_pay", "R-MONEY-PRECISION"} <= clauses
    assert clauses <= {"2207.out.setlinfo.acct_pay", "R-MONEY-PRECISION", "R-MONEY-PSN-PART"}  # 51.405 + 0 != 51.40


def test_a_flow_step_with_when_runs_only_when_its_value_was_saved() -> None:
    steps = (Step("1101", _input("1101"), Expectation(may_refuse=CAUSE, save={"psn_no": "output.baseinfo.psn_no"})),
             Step("2207", _input("2207"), Expectation(ok=False, cause=CAUSE)),
             Step("2205", _input("2205"), when="fees"))
    fake = FakeSite({"2207": refusal(NOT_FILED)})
    result = runner(fake).run_scenario(scenario(steps))
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.infnos() == ["9001", "1101", "2207"]
    assert "step 3 (2205) skipped: saved.fees (its `when`) is not set" in result.reason


# --- the real failure-cause matrix against a site that refuses early -----------------------------


@pytest.mark.parametrize(("scenario_id", "refusing", "sent"), [
    ("cause.not-filed.outpatient", "1101", ["9001", "1101"]),
    ("cause.not-filed.outpatient", "2201", ["9001", "1101", "2201"]),
    ("cause.not-filed.inpatient", "2401", ["9001", "1101", "2401"]),
    ("cause.lapsed-contributions.pharmacy", "1101", ["9001", "9001", "1101"]),
])
def test_the_cause_matrix_accepts_a_refusal_at_an_earlier_step(scenario_id: str, refusing: str,
                                                                sent: list[str]) -> None:
    from harness.platform.refusals import CAUSE_MESSAGES
    from harness.scenarios.catalogue import load_catalogue_of_scenarios

    chosen = load_catalogue_of_scenarios().get(scenario_id)
    cause = scenario_id.split(".")[1]
    fake = FakeSite({refusing: refusal(CAUSE_MESSAGES[cause])})
    result = runner(fake).run_scenario(chosen)
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.infnos() == sent  # nothing after the refusal needed what it withheld; teardown undid nothing
    assert "skipped" in result.reason


def test_a_flow_that_ends_at_an_interface_not_offered_is_inconclusive_not_accepted() -> None:
    result, fake = run_flow({"2201": refusal("接口未开通")})
    assert result.outcome is Outcome.INCONCLUSIVE, result.failures
    assert [f.evidence.get("not_offered") for f in result.failures] == ["2201"]
    assert fake.infnos() == ["9001", "1101", "2201"]
