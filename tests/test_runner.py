"""The runner against a scripted fake site (a plain callable behind CallableTarget)."""

from __future__ import annotations

from decimal import Decimal

from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site, success

from harness.model import Expectation, Grade, Outcome, RunEvent, Severity, Step
from harness.runner import Runner, resolve_path
from harness.specs import load_registry

NOT_FILED = "参保人未办理异地就医备案，不能直接结算"


def runner(fake: FakeSite, *, reference: bool = False, seed: int = 7, events: list | None = None,
           capabilities: tuple[str, ...] | None = None, **kwargs) -> Runner:
    return Runner(fake.target(), load_registry(), "baseline", site(reference=reference, capabilities=capabilities),
                  (events.append if events is not None else None), seed=seed, **kwargs)


def test_a_passing_flow_signs_in_once_and_records_every_exchange() -> None:
    fake = FakeSite()
    run = runner(fake)
    first = run.run_scenario(scenario((person_step(Expectation(save={"psn": "output.baseinfo.psn_no"})),)))
    second = run.run_scenario(scenario((person_step(),), id="outpatient.sample.again"))
    assert (first.outcome, second.outcome) == (Outcome.PASSED, Outcome.PASSED), first.failures
    assert fake.infnos() == ["9001", "1101", "1101"]
    [step] = first.steps
    assert step.exchange is not None and step.exchange.status == 200
    envelope = fake.sent[1][1]
    assert envelope["sign_no"] == "SIGN-0001"
    assert envelope["msgid"].startswith("H52010200001") and len(envelope["msgid"]) == 30
    assert envelope["insuplc_admdvs"] == site().identities["filed-employee"]["insuplc_admdvs"]
    assert envelope["input"]["data"]["certno"] == site().identities["filed-employee"]["certno"]


def test_profile_extra_envelope_fields_fill_their_placeholders() -> None:
    fake = FakeSite()
    run = Runner(fake.target(), load_registry(), "guangdong", site(), seed=1)
    run.run_scenario(scenario((person_step(),)))
    sign_in, query = fake.sent[0][1], fake.sent[1][1]
    assert sign_in["recer_admdvs"] == query["recer_admdvs"] == site().mdtrtarea_admvs
    assert query["infver"] == "1.0.0" and query["recer_sys_code"] == "his"  # the profile's values


def test_expected_refusal_with_a_confirmed_cause_passes() -> None:
    fake = FakeSite({"2207": refusal(NOT_FILED)})
    result = runner(fake).run_scenario(scenario((settle_step(Expectation(ok=False, cause="not-filed")),)))
    assert result.outcome is Outcome.PASSED, result.failures


def test_unconfirmed_cause_is_inconclusive_on_a_site_and_a_failure_on_the_reference_platform() -> None:
    steps = (settle_step(Expectation(ok=False, cause="not-filed")),)
    fake = FakeSite({"2207": refusal("余额不足")})
    on_site = runner(fake).run_scenario(scenario(steps))
    assert on_site.outcome is Outcome.INCONCLUSIVE
    [note] = on_site.failures
    assert note.grade is Grade.MAY and note.evidence["inconclusive"] is True
    assert note.title.startswith("inconclusive: refused, but err_msg matches no pattern of 'not-filed'")
    assert "[err_msg_patterns] not-filed" in note.title  # says how to make it conclusive
    assert note.clause == "R-CAUSE-NOT-FILED"
    on_reference = runner(FakeSite({"2207": refusal("余额不足")}), reference=True).run_scenario(scenario(steps))
    assert on_reference.outcome is Outcome.FAILED
    assert on_reference.failures[0].title.startswith("refused, cause unconfirmed")


def test_a_refusal_for_another_cause_is_a_must_failure_naming_both() -> None:
    steps = (settle_step(Expectation(ok=False, cause="not-filed")),)
    result = runner(FakeSite({"2207": refusal("该就诊已结算，不能重复结算")})).run_scenario(scenario(steps))
    assert result.outcome is Outcome.FAILED
    [failure] = result.failures
    assert failure.grade is Grade.MUST and failure.severity is not Severity.WARNING
    assert "'duplicate-settlement'" in failure.title and "'not-filed'" in failure.title
    assert failure.evidence == {"expected_cause": "not-filed", "matched_cause": "duplicate-settlement"}


def test_accepting_what_must_be_refused_is_critical_for_a_state_change() -> None:
    result = runner(FakeSite()).run_scenario(scenario((settle_step(Expectation(ok=False, cause="not-filed")),)))
    assert result.outcome is Outcome.FAILED
    assert result.failures[0].severity is Severity.CRITICAL
    assert result.failures[0].title == "expected a refusal (not-filed), the site accepted"


def test_refusal_shape_is_checked_on_every_expected_refusal() -> None:
    bad = dict(refusal(NOT_FILED), output={"setlinfo": {}})
    result = runner(FakeSite({"2207": bad})).run_scenario(scenario((settle_step(Expectation(ok=False)),)))
    assert [f.clause for f in result.failures] == ["R-REFUSAL-SHAPE"]


def test_teardown_runs_after_a_failure_when_its_value_was_saved() -> None:
    fake = FakeSite({"2207": refusal("系统忙")})
    steps = (person_step(Expectation(save={"psn_no": "output.baseinfo.psn_no"})), settle_step(),
             person_step())
    teardown = (Step("2601", {"data": {"psn_no": "{{ saved.psn_no }}", "omsgid": "X", "oinfno": "2207"}},
                     Expectation(ok=None), when="psn_no"),
                Step("2208", {"data": {"psn_no": "1", "setl_id": "{{ saved.setl_id }}", "mdtrt_id": "1"}},
                     Expectation(ok=None), when="setl_id"))
    result = runner(fake).run_scenario(scenario(steps, teardown=teardown))
    assert result.outcome is Outcome.FAILED
    assert result.failures[0].title == "expected success, the site refused: 系统忙"
    # The flow stops at the refused step; the teardown whose value was saved still runs, the other not.
    assert fake.infnos() == ["9001", "1101", "2207", "2601"]
    assert [s.teardown for s in result.steps] == [False, False, True]
    assert fake.sent[-1][1]["input"]["data"]["psn_no"] == result.steps[0].exchange.response_json["output"][
        "baseinfo"]["psn_no"]


def test_infrastructure_errors_are_errors_and_open_the_breaker() -> None:
    fake = FakeSite({"1101": ConnectionRefusedError("refused")})
    events: list[RunEvent] = []
    run = runner(fake, events=events, breaker_threshold=3)
    outcomes = [run.run_scenario(scenario((person_step(),), id=f"person.sample.s{i}")) for i in range(5)]
    assert [r.outcome for r in outcomes] == [Outcome.ERROR] * 5
    assert not any(r.failures for r in outcomes)  # an infrastructure error is not a finding
    assert fake.infnos() == ["9001", "1101", "1101", "1101"]  # nothing sent once the breaker is open
    assert "connection refused" in outcomes[0].reason
    assert outcomes[3].reason.startswith("not run: circuit breaker open after 3 consecutive")
    assert [e.kind for e in events].count("breaker-open") == 1


def test_a_gateway_answer_without_envelope_is_named_as_such() -> None:
    gateway = {"code": 401, "message": "签名不一致!"}
    fake = FakeSite({"1101": gateway})
    result = runner(fake).run_scenario(scenario((person_step(),)))
    assert result.outcome is Outcome.FAILED
    refused = next(f for f in result.failures if f.title.startswith("expected success"))
    assert refused.title == "expected success, got no response envelope (HTTP 200 code 401): 签名不一致!"
    assert any(f.clause == "ENV.resp.infcode" for f in result.failures)  # and the envelope schema says so too
    signed_out = runner(FakeSite({"9001": gateway})).run_scenario(scenario((person_step(),)))
    assert signed_out.failures[0].actual.startswith("no response envelope (HTTP 200 code 401)")


def test_a_success_resets_the_breaker_count() -> None:
    down = ConnectionRefusedError("x")
    flaky = iter([down, success("1101"), down, down])
    fake = FakeSite({"1101": lambda envelope: next(flaky)})
    run = runner(fake, breaker_threshold=3)
    for i in range(4):
        run.run_scenario(scenario((person_step(),), id=f"person.sample.s{i}"))
    assert not run.breaker_open


def test_unknown_settlement_outcome_is_resolved_with_2601_then_settled_once_more() -> None:
    answers = iter([TimeoutError("read timed out"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    events: list[RunEvent] = []
    result = runner(fake, events=events).run_scenario(scenario((settle_step(), person_step())))
    assert result.outcome is Outcome.ERROR  # the drop happened: infrastructure, not a finding
    assert not result.failures
    # never resent blindly: 2601 first; only once it confirmed nothing stands is 2207 sent again (new msgid)
    assert fake.infnos() == ["9001", "2207", "2601", "2207", "1101"]
    first, reversal, again = fake.sent[1][1], fake.sent[2][1], fake.sent[3][1]
    assert reversal["input"]["data"] == {"psn_no": first["input"]["data"]["psn_no"], "omsgid": first["msgid"],
                                         "oinfno": "2207"}
    assert again["msgid"] != first["msgid"] and again["input"] == first["input"]
    assert "resolved with 2601 冲正: reversed" in result.reason and "sent again after the 冲正" in result.reason
    assert any(e.kind == "unknown-outcome" for e in events)


def test_a_settlement_that_keeps_failing_is_not_resent_a_second_time() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out")})
    result = runner(fake).run_scenario(scenario((settle_step(), person_step())))
    assert result.outcome is Outcome.ERROR
    assert fake.infnos() == ["9001", "2207", "2601", "2207", "2601"]


def test_no_resend_when_the_2601_is_refused() -> None:
    fake = FakeSite({"2207": TimeoutError("read timed out"), "2601": refusal("该交易不允许冲正")})
    result = runner(fake).run_scenario(scenario((settle_step(), person_step())))
    assert fake.infnos() == ["9001", "2207", "2601"]
    assert "refused: 该交易不允许冲正" in result.reason


def test_no_2601_for_a_call_the_profile_does_not_list() -> None:
    fake = FakeSite({"2201": TimeoutError("read timed out")})
    step = settle_step(infno="2201")
    result = runner(fake).run_scenario(scenario((step,)))
    assert result.outcome is Outcome.ERROR and fake.infnos() == ["9001", "2201"]
    assert "does not allow 2601" in result.reason


def test_missing_identity_is_not_provisioned_and_nothing_is_sent() -> None:
    fake = FakeSite()
    result = runner(fake).run_scenario(scenario((person_step(),), archetype="nobody"))
    assert result.outcome is Outcome.NOT_PROVISIONED and "[identities.nobody]" in result.reason
    missing_field = scenario((Step("1101", {"data": {"x": "{{ identity.no_such_field }}"}}),))
    assert runner(fake).run_scenario(missing_field).outcome is Outcome.NOT_PROVISIONED
    assert fake.sent == []


def test_every_template_use_is_checked_before_anything_is_sent() -> None:
    """Nested and interpolated, in envelope overrides and teardown steps, across identity, site and item."""
    uses = [
        Step("1101", {"data": {"list": [{"deep": "x-{{ identity.no_such_field }}-y"}]}}),
        Step("1101", {"data": {}}, envelope={"fixmedins_name": "{{ site.no_such_value }}"}),
        Step("1101", {"data": {"x": "{{ item.no_such_item.med_list_codg }}"}}),
        Step("1101", {"data": {"x": "{{\n  identity.no_such_field }}"}}),  # whitespace as the renderer allows it
    ]
    fake = FakeSite()
    for use in uses:
        result = runner(fake).run_scenario(scenario((person_step(),), teardown=(use,)))
        assert result.outcome is Outcome.NOT_PROVISIONED, use
        assert "no_such" in result.reason
    assert fake.sent == []


def test_undeclared_capability_is_not_applicable() -> None:
    result = runner(FakeSite(), capabilities=("inpatient",)).run_scenario(scenario((person_step(),)))
    assert result.outcome is Outcome.NOT_APPLICABLE and "outpatient" in result.reason


def test_a_request_that_breaks_the_schema_is_a_suite_bug_and_is_not_sent() -> None:
    fake = FakeSite()
    step = Step("1101", {"data": {"mdtrt_cert_type": "02"}})  # mdtrt_cert_no missing
    result = runner(fake).run_scenario(scenario((step,)))
    assert result.outcome is Outcome.FAILED
    assert result.failures[0].title.startswith("suite bug: the request of step 1 (1101) breaks the schema")
    assert "1101.in.data.mdtrt_cert_no" in result.failures[0].detail
    assert fake.infnos() == ["9001"]


def test_a_negative_case_that_validates_is_a_suite_bug() -> None:
    fake = FakeSite()
    result = runner(fake).run_scenario(scenario((person_step(Expectation(ok=False, cause="invalid-request")),)))
    assert result.failures[0].title.startswith("suite bug") and "meant to be invalid" in result.failures[0].title
    assert fake.infnos() == ["9001"]


def test_golden_values_apply_only_on_the_reference_platform() -> None:
    golden = Expectation(golden={"output.setlinfo.medfee_sumamt": 128.5, "output.setlinfo.acct_pay": 50})
    on_site = runner(FakeSite()).run_scenario(scenario((settle_step(golden),)))
    assert on_site.outcome is Outcome.PASSED
    on_reference = runner(FakeSite(), reference=True).run_scenario(scenario((settle_step(golden),)))
    [failure] = on_reference.failures
    assert failure.clause == "2207.out.setlinfo.acct_pay" and failure.severity is Severity.CRITICAL
    assert (failure.expected, failure.actual) == ("50", "51.4")


def test_checks_see_decimals_and_saved_values() -> None:
    other = success("2207")
    other["output"]["setlinfo"]["medins_setl_id"] = "H43010500001202403150930009999"
    fake = FakeSite({"2207": other})
    steps = (settle_step(Expectation(save={"settlement": "output.setlinfo", "msgid": "request.msgid"},
                                     checks=("money.sum", "money.psn_part", "settle.medins_setl_id"))),)
    result = runner(fake).run_scenario(scenario(steps))
    # This medins_setl_id is not our msgid: the check must notice (once, though the table names it too).
    assert [f.clause for f in result.failures] == ["R-MEDINS-SETL-ID-IS-MSGID"]


def test_saved_request_values_can_replay_a_msgid() -> None:
    fake = FakeSite()
    steps = (person_step(Expectation(save={"first": "request.msgid"})),
             Step("1101", person_step().input, envelope={"msgid": "{{ saved.first }}"}))
    result = runner(fake).run_scenario(scenario(steps))
    assert result.outcome is Outcome.PASSED, result.failures
    assert fake.sent[1][1]["msgid"] == fake.sent[2][1]["msgid"]


def test_a_replayed_msgid_must_get_the_original_answer() -> None:
    """replay.same_response: infcode, err_msg and output as saved from the first answer; timestamps may differ."""
    answers = [success("2207"), success("2207")]
    answers[1]["respond_time"] = "20240101000009999"  # answered again later: not a difference
    fake = FakeSite({"2207": lambda envelope: answers.pop(0)})
    first = settle_step(Expectation(save={"original_response": "response", "msgid": "request.msgid"}))
    replay = Step("2207", first.input, Expectation(checks=("replay.same_response",)),
                  envelope={"msgid": "{{ saved.msgid }}"})
    assert runner(fake).run_scenario(scenario((first, replay))).outcome is Outcome.PASSED
    processed_twice = success("2207")
    processed_twice["output"]["setlinfo"]["setl_id"] = "ANOTHER-SETTLEMENT"
    answers[:] = [success("2207"), processed_twice]
    result = runner(FakeSite({"2207": lambda envelope: answers.pop(0)})).run_scenario(scenario((first, replay)))
    # msgid replay semantics are not fixed by the spec: the finding is a SHOULD advisory, not a failure
    assert result.outcome is Outcome.PASSED
    [failure] = result.failures
    assert (failure.clause, failure.severity, failure.step, failure.grade) == (
        "R-MSGID-REPLAY", Severity.CRITICAL, 1, Grade.SHOULD)
    assert "ANOTHER-SETTLEMENT" in failure.actual and "different output" in failure.title


def test_a_refusal_can_be_saved_whole_to_compare_its_replay_with() -> None:
    fake = FakeSite({"2207": refusal(NOT_FILED)})
    refused = Expectation(ok=False, cause="not-filed", save={"original_response": "response"})
    again = Expectation(ok=False, cause="not-filed", checks=("replay.same_response",))
    steps = (settle_step(refused), settle_step(again))
    assert runner(fake).run_scenario(scenario(steps)).outcome is Outcome.PASSED
    unsaved = runner(FakeSite({"2207": refusal(NOT_FILED)})).run_scenario(scenario((settle_step(again),)))
    assert unsaved.outcome is Outcome.FAILED and unsaved.failures[0].title.startswith("suite bug: no original")

def test_omit_leaves_envelope_fields_out_where_null_sends_null() -> None:
    fake = FakeSite({"1101": refusal("入参校验失败：/msgid required field is missing")})
    run = Runner(fake.target(), load_registry(), "guangdong", site(), seed=1)
    omitted = {"msgid": "{{ omit }}", "fixmedins_code": "{{ omit }}", "recer_admdvs": "{{ omit }}"}
    negative = Expectation(ok=False, cause="invalid-request")  # an invalid request is sent only when meant to be
    steps = (Step("1101", person_step().input, negative, envelope=omitted),
             Step("1101", person_step().input, negative, envelope={"msgid": None}))
    assert run.run_scenario(scenario(steps)).outcome is Outcome.PASSED
    left_out, nulled = fake.sent[1][1], fake.sent[2][1]
    # neither the runner's msgid nor the profile's extra field (recer_admdvs) fills an omitted field in again
    assert not {"msgid", "fixmedins_code", "recer_admdvs"} & set(left_out)
    assert "inf_time" in left_out and nulled["msgid"] is None


def test_omit_in_an_input_is_a_step_that_cannot_be_built() -> None:
    fake = FakeSite()
    result = runner(fake).run_scenario(scenario((Step("1101", {"data": {"psn_no": "{{ omit }}"}}),)))
    assert result.outcome is Outcome.FAILED and fake.infnos() == ["9001"]
    assert "{{ omit }} removes envelope fields only" in result.failures[0].title

def test_response_schema_violations_are_minor_findings_with_field_clauses() -> None:
    broken = success("1101")
    del broken["output"]["baseinfo"]["psn_no"]
    result = runner(FakeSite({"1101": broken})).run_scenario(scenario((person_step(),)))
    assert result.outcome is Outcome.FAILED
    assert [(f.clause, f.severity) for f in result.failures] == [("1101.out.baseinfo.psn_no", Severity.MINOR)]


def test_failures_are_ranked_by_severity() -> None:
    broken = success("2207")
    del broken["output"]["setlinfo"]["psn_name"]
    broken["output"]["setlinfo"]["medfee_sumamt"] = 1
    steps = (settle_step(Expectation(checks=("money.sum",))),)
    result = runner(FakeSite({"2207": broken})).run_scenario(scenario(steps))
    # ranked by grade first (MUST findings lead), then by severity within a grade
    ranks = [(f.grade.rank, f.severity.rank) for f in result.failures]
    assert ranks == sorted(ranks)
    assert result.failures[0].severity is Severity.CRITICAL and result.failures[0].grade is Grade.MUST


def test_the_same_seed_gives_the_same_bodies_apart_from_msgid_and_times() -> None:
    template = Step("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "{{ run.uniq }}",
                                      "psn_cert_type": "01", "certno": "{{ identity.certno }}",
                                      "psn_name": "N{{ run.uniq }}"}})

    def bodies(seed: int) -> list[dict]:
        fake = FakeSite()
        run = runner(fake, seed=seed)
        for i in range(3):
            run.run_scenario(scenario((template,), id=f"person.sample.s{i}"))
        assert fake.infnos() == ["9001", "1101", "1101", "1101"]
        return [{k: v for k, v in env.items() if k not in ("msgid", "inf_time")} for _, env in fake.sent]

    first, again, other = bodies(11), bodies(11), bodies(12)
    assert first == again
    assert first != other
    uniqs = [b["input"]["data"]["mdtrt_cert_no"] for b in first[1:]]
    assert len(set(uniqs)) == 3 and all(len(u) == 12 and u.isdigit() and u[0] != "0" for u in uniqs)


def test_resolve_path() -> None:
    doc = {"output": {"insuinfo": [{"balc": Decimal("1.00")}]}}
    assert resolve_path(doc, "output.insuinfo[0].balc") == (True, Decimal("1.00"))
    assert resolve_path(doc, "output.insuinfo[1].balc") == (False, None)
    assert resolve_path(doc, "output.nope") == (False, None)
