"""Issue 11: by default the judge records a deviation a real platform might let through (msgid format, "null"
strings, Content-Type, insuplc_admdvs) and still serves the request, so that sequencing, money and the fault
reaction are judged too; `--strict` refuses the request as the strictest profile would.

The reference platform of `hsa-cert platform serve` keeps refusing a wrong insuplc_admdvs (no `tolerate` hook:
tests/test_platform_protocol.py::test_the_envelope_must_route_to_the_persons_insured_region).
"""

from __future__ import annotations

from typing import Any

import pytest
from platform_samples import Flow, memory_platform, persona

from harness.client.selftest import drive, in_process_post
from harness.client.session import ClientSession, load_plan
from harness.hisdriver import HisDriver
from harness.judge import tolerated
from harness.model import Grade
from harness.personas import load_catalogue
from harness.platform.samples import register_input, sign_in_input

# (HIS bug, the judge's clause, its grade, the first call that carries it)
DEVIATIONS = [
    ("uuid-msgid", "ENV.req.msgid", Grade.MUST, "9001"),
    ("null-strings", "CLI-NULL-STRING", Grade.SHOULD, "9001"),
    ("text-plain", "CLI-CONTENT-TYPE", Grade.SHOULD, "9001"),
    ("wrong-insuplc", "CLI-INSUPLC", Grade.MUST, "2201"),
]


def _clauses(verdict: Any) -> set[str]:
    return {f.clause for f in verdict.failures}


@pytest.mark.parametrize(("bug", "clause", "grade", "first"), DEVIATIONS)
def test_by_default_the_deviation_is_a_finding_and_the_flow_goes_on(bug: str, clause: str, grade: Grade,
                                                                     first: str) -> None:
    verdicts = {v.case_id: v for v in drive("hospital-outpatient", [bug, "no-2601"])}
    assert (clause, grade) in {(f.clause, f.grade) for v in verdicts.values() for f in v.failures}
    settle = verdicts["settle"]
    assert [(o.infno, o.outcome) for o in settle.observed][-2:] == [("2206", "ok"), ("2207", "ok")]
    # what the HIS does later is judged: no reaction to the lost 2207, and its consequence at end of day
    assert {"CLI-FAULT-RESOLVE", "CLI-CASE-FLOW"} <= _clauses(verdicts["lost-settlement-answer"])
    assert "CLI-EOD-TOTALS" in _clauses(verdicts["end-of-day"])
    # a served call is processed as it would be without the deviation: the person not filed is still refused
    last = verdicts["refused-not-filed"].observed[-1]
    assert (last.infno, last.outcome) == ("2206", "refused")
    assert "未办理异地就医备案" in str((last.answer or {}).get("err_msg"))


@pytest.mark.parametrize(("bug", "clause", "grade", "first"), DEVIATIONS)
def test_strict_refuses_the_first_call_that_carries_it(bug: str, clause: str, grade: Grade, first: str) -> None:
    verdicts = {v.case_id: v for v in drive("hospital-outpatient", [bug, "no-2601"], strict=True)}
    assert (clause, grade) in {(f.clause, f.grade) for v in verdicts.values() for f in v.failures}
    observed = [o for v in verdicts.values() for o in v.observed]
    carrier = next(o for o in observed if o.infno == first)
    assert carrier.outcome == "refused"
    assert not any(o.infno == "2207" for o in observed)  # no settlement was reached ...
    assert not any("CLI-FAULT-RESOLVE" in _clauses(v) for v in verdicts.values())  # ... so no fault reaction


def test_a_wrong_insuplc_is_served_as_routed_to_the_persons_region_and_recorded_as_sent() -> None:
    verdicts = {v.case_id: v for v in drive("hospital-outpatient", ["wrong-insuplc"])}
    # one finding, nothing made up after it: settled, cancelled, refused and totalled as a right HIS would be
    assert {f.clause for v in verdicts.values() for f in v.failures} == {"CLI-INSUPLC"}
    settle = verdicts["settle"]
    register = next(o for o in settle.observed if o.infno == "2201")
    assert register.envelope is not None and register.envelope["insuplc_admdvs"] == "520102"  # the evidence
    insuplc = [f for f in settle.failures if f.clause == "CLI-INSUPLC"]
    assert insuplc and insuplc[0].grade is Grade.MUST and "430102" in insuplc[0].expected
    strict = {v.case_id: v for v in drive("hospital-outpatient", ["wrong-insuplc"], strict=True)}
    refused = next(o for o in strict["settle"].observed if o.infno == "2201")
    assert "参保地医保区划与人员参保地不一致" in str((refused.answer or {}).get("err_msg"))


@pytest.mark.parametrize(("sent", "message"), [("360102", "不一致"), ("", "必填")])
def test_the_platform_asks_its_tolerate_hook_about_an_insuplc_that_is_not_the_persons(sent: str,
                                                                                     message: str) -> None:
    who = persona("filed-employee")  # insured in 430102, treated in 520102
    asked: list[Any] = []
    for answer in (False, True):
        platform = memory_platform(tolerate=lambda v, answer=answer: asked.append(v) or answer)
        flow = Flow(platform.call)
        flow.sign_in()
        response = flow.call("2201", register_input(who, "MZ1"), who, insuplc_admdvs=sent)
        assert response["infcode"] == (0 if answer else -1), response
        if answer:
            with platform.db.reading() as conn:
                row = conn.execute("SELECT insuplc_admdvs FROM visits").fetchone()
            assert row[0] == "430102"  # routed to the person's insured region
    assert [(v.clause, v.expected, v.actual) for v in asked] == [("ENV.req.insuplc_admdvs", "430102", sent)] * 2
    assert message in asked[0].message


def test_only_the_default_client_session_tolerates() -> None:
    plan = load_plan("hospital-outpatient")
    for strict, hook in ((False, tolerated), (True, None)):
        session = ClientSession(plan, strict=strict)
        try:
            assert session.platform.config.tolerate is hook
        finally:
            session.close()


@pytest.mark.parametrize("strict", [False, True])
def test_a_his_that_sends_no_1101_is_judged_against_the_test_persons_region(strict: bool) -> None:
    session = ClientSession(load_plan("hospital-outpatient"), strict=strict)
    try:
        catalogue = load_catalogue()
        driver = HisDriver(in_process_post(session), catalogue, session.judge.profile, bugs={"wrong-insuplc"})
        who = catalogue.persona("filed-employee")
        session.start_case("settle")
        driver.his.sign_no = driver.call("9001", sign_in_input())["signinoutb"]["sign_no"]
        served = driver.call("2201", register_input(who, "MZ1"), who)  # no 1101: the psn_no from an earlier visit
        session.end_case("settle")
        verdicts = {v.case_id: v for v in session.finish()}
    finally:
        session.close()
    assert (served is None) is strict
    (finding,) = [f for f in verdicts["settle"].failures if f.clause == "CLI-INSUPLC"]
    assert (finding.expected, finding.actual, finding.grade) == (who.insuplc_admdvs, "'520102'", Grade.MUST)
    assert "no 1101 was observed" in finding.detail
