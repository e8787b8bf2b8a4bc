"""The reference platform serves a request whose deviation the province's profile tolerates, with an advisory.

A Shenyang HIS sends `""` for empty numbers and a one-row `diseinfo` as an object in its 2401 (issue 13;
fixtures/real/shenyang-2401-request.json). The liaoning profile tolerates both (deviations.json): its
platform admits the patient and records a SHOULD advisory (clause DEV.<id>) in the exchange log and the
answer's warn_msg. Under the strict baseline the same request is refused with the spec's clause.
"""

from __future__ import annotations

from typing import Any

from platform_samples import Flow, memory_platform, persona

from harness.platform.samples import admit_input

DEVIATING = {"geso_val": "", "fetts": "", "fetus_cnt": ""}  # the Shenyang message's empty numbers


def _admission(profile: str) -> tuple[Any, Flow, dict[str, Any], dict[str, Any]]:
    platform = memory_platform(profile=profile)
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    request = admit_input(who, f"ZY{flow.his.msgid()[-10:]}", mdtrtarea_admvs=flow.his.mdtrtarea_admvs)
    request["mdtrtinfo"].update(DEVIATING)
    request["diseinfo"] = request["diseinfo"][0]  # one row sent as an object (多行数据 as a single object)
    answer = flow.call("2401", request, who)
    [logged] = platform.exchanges(infno="2401")
    return platform, flow, answer, logged


def test_a_tolerating_profile_serves_the_request_and_records_should_advisories() -> None:
    platform, flow, answer, logged = _admission("liaoning")
    assert answer["infcode"] == 0, answer.get("err_msg")
    mdtrt_id = answer["output"]["result"]["mdtrt_id"]
    assert mdtrt_id
    assert "SHOULD" in answer["warn_msg"] and "DEV.object-for-array" in answer["warn_msg"]
    assert logged["valid"] is True and logged["infcode"] == 0
    clauses = sorted({v["clause"] for v in logged["violations"]})
    assert clauses == ["DEV.empty-string-number", "DEV.object-for-array"]
    assert {v["path"] for v in logged["violations"]} >= {"/input/mdtrtinfo/geso_val", "/input/diseinfo"}
    assert all("SHOULD advisory" in v["hint"] for v in logged["violations"])
    # The admission exists and goes on like any other: the fee upload of the visit is accepted.
    assert platform.exchanges(infno="2401")[0]["msgid"] == flow.last["msgid"]


def test_the_strict_baseline_still_refuses_the_same_request_with_the_spec_clause() -> None:
    _platform, _flow, answer, logged = _admission("baseline")
    assert answer["infcode"] == -1 and answer["output"] is None
    assert logged["valid"] is False
    clauses = {v["clause"] for v in logged["violations"]}
    assert "2401.in.mdtrtinfo.geso_val" in clauses and not any(c.startswith("DEV.") for c in clauses)
    # the refusal names the known deviation and the profiles that tolerate it
    assert any("liaoning" in v.get("hint", "") for v in logged["violations"])


def test_an_intolerable_violation_is_refused_under_a_tolerating_profile_too() -> None:
    platform = memory_platform(profile="liaoning")
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    request = admit_input(who, "ZY0000000001", mdtrtarea_admvs=flow.his.mdtrtarea_admvs)
    request["mdtrtinfo"]["geso_val"] = "abc"  # not empty: no tolerated deviation reads it
    answer = flow.call("2401", request, who)
    assert answer["infcode"] == -1
    [logged] = platform.exchanges(infno="2401")
    assert not any(v["clause"].startswith("DEV.") for v in logged["violations"])
