"""Protocol behaviour: input validation, sign-in, msgid replay, routing and institution isolation."""

from __future__ import annotations

import json

import pytest
from platform_samples import CATALOGUE, Flow, memory_platform, persona

from harness.platform import CAUSE_MESSAGES, HttpRequest, Platform
from harness.platform.samples import person_input, register_input, reverse_input, settle_input, sign_in_input


@pytest.fixture()
def platform() -> Platform:
    return memory_platform()


@pytest.fixture()
def flow(platform: Platform) -> Flow:
    flow = Flow(platform.call)
    flow.sign_in()
    return flow


def settlements(platform: Platform) -> int:
    with platform.db.reading() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM settlements").fetchone()[0])


# --- validation ---------------------------------------------------------------------------------


def test_an_invalid_request_names_the_field_path(flow: Flow) -> None:
    who = persona("filed-employee")
    data = register_input(who, "MZ1")
    data["data"]["begntime"] = "2024-13-01 25:00:00"
    err = flow.refused("2201", data, who)
    assert err.startswith("入参校验失败：/input/data/begntime")


def test_cross_region_fields_are_required_when_the_regions_differ(flow: Flow) -> None:
    who = persona("filed-employee")
    data = register_input(who, "MZ1")
    del data["data"]["psn_name"]
    assert "/input/data/psn_name" in flow.refused("2201", data, who)


def test_the_envelope_must_route_to_the_persons_insured_region(flow: Flow) -> None:
    who = persona("filed-employee")  # insured in 430102, treated in 520102
    assert "/insuplc_admdvs" in flow.refused("2201", register_input(who, "MZ1"), who, insuplc_admdvs="")
    assert "/insuplc_admdvs" in flow.refused("2201", register_input(who, "MZ1"), who, insuplc_admdvs="360102")


def test_a_body_that_is_not_json_is_refused_and_recorded(platform: Platform) -> None:
    answer = platform.handle(HttpRequest("POST", "/fsi/api/rsfComIfsService/callService",
                                         {"content-type": "application/json"}, b"{not json"))
    assert answer.status == 200 and answer.json()["infcode"] == -1
    assert answer.json()["err_msg"].startswith("入参校验失败：/")
    (last,) = platform.exchanges(limit="1")
    assert last["valid"] is False and last["request"] == "{not json"


def test_infno_in_the_path_must_agree_with_the_body(platform: Platform, flow: Flow) -> None:
    envelope = flow.his.envelope("9001", sign_in_input())
    answer = platform.handle(HttpRequest("POST", "/fsi/api/2207", {}, json.dumps(envelope).encode())).json()
    assert answer["infcode"] == -1 and "/infno" in answer["err_msg"]
    answer = platform.handle(HttpRequest("POST", "/fsi/api/9001", {}, json.dumps(envelope).encode())).json()
    assert answer["infcode"] == 0


def test_every_exchange_is_recorded_with_its_validation_result(platform: Platform, flow: Flow) -> None:
    who = persona("filed-employee")
    data = register_input(who, "MZ1")
    del data["data"]["psn_no"]
    flow.call("2201", data, who)
    (last,) = platform.exchanges(limit="1", infno="2201")
    assert last["valid"] is False and last["infcode"] == -1
    assert any(v["path"] == "/input/data/psn_no" and v["clause"] == "2201.in.data.psn_no" for v in last["violations"])


# --- sign-in ----------------------------------------------------------------------------------------


def test_sign_in_is_per_operator_until_sign_out(flow: Flow) -> None:
    first = flow.sign_in("0001")
    assert flow.sign_in("0001") == first
    assert flow.sign_in("0002") != first
    flow.his.sign_no = first
    flow.ok("9002", {"signOut": {"sign_no": first, "opter_no": "0001"}})
    who = persona("filed-employee")
    assert flow.refused("1101", person_input(who), who) == CAUSE_MESSAGES["not-signed-in"]
    assert flow.sign_in("0001") != first


def test_a_sign_no_of_another_institution_is_not_valid(flow: Flow) -> None:
    other = Flow(flow.send, CATALOGUE.institution("H52010200002"))
    other.his.sign_no = flow.his.sign_no
    who = persona("filed-employee")
    assert other.refused("1101", person_input(who), who) == CAUSE_MESSAGES["not-signed-in"]


def test_sign_in_can_be_switched_off() -> None:
    flow = Flow(memory_platform(require_sign_in=False).call)
    who = persona("filed-employee")
    assert flow.ok("1101", person_input(who), who)["baseinfo"]["psn_no"] == who.psn_no


# --- msgid replay -------------------------------------------------------------------------------------


def test_a_replayed_settlement_returns_the_recorded_answer(platform: Platform, flow: Flow) -> None:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
    first = flow.send(dict(envelope))
    later = dict(envelope, inf_time="2030-01-01 00:00:00", sign_no=flow.sign_in("0009"))  # volatile fields differ
    assert flow.send(later) == first
    assert settlements(platform) == 1
    assert platform.exchanges(limit="1")[0]["replayed"] is True


def test_a_reused_msgid_with_other_content_is_refused(flow: Flow) -> None:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
    flow.send(dict(envelope))
    changed = json.loads(json.dumps(envelope))
    changed["input"]["data"]["invono"] = "INV-2"
    assert flow.send(changed)["err_msg"] == CAUSE_MESSAGES["msgid-conflict"]


def test_queries_are_not_replayed(flow: Flow) -> None:
    a, b = persona("filed-employee"), persona("filed-resident")
    envelope = flow.his.envelope("1101", person_input(a), a)
    flow.send(dict(envelope))
    again = dict(envelope, input=person_input(b), insuplc_admdvs=b.insuplc_admdvs)
    assert flow.send(again)["output"]["baseinfo"]["psn_no"] == b.psn_no


# --- isolation ----------------------------------------------------------------------------------------


def test_an_institution_never_sees_or_reverses_another_institutions_records(flow: Flow) -> None:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    omsgid = flow.last["msgid"]
    other = Flow(flow.send, CATALOGUE.institution("H52010200002"))
    other.sign_in()
    assert other.refused("2208", reverse_input(who, mdtrt_id, setl_id), who) == CAUSE_MESSAGES["reversal-unknown"]
    query = {"data": {"psn_no": who.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}
    assert other.refused("5203", query, who) == CAUSE_MESSAGES["not-found"]
    assert other.refused("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": who.psn_no}},
                         who) == CAUSE_MESSAGES["not-found"]
    assert other.refused("2601", {"data": {"psn_no": who.psn_no, "omsgid": omsgid, "oinfno": "2207"}},
                         who) == CAUSE_MESSAGES["reversal-unknown"]
    assert flow.ok("5203", query, who)["setlinfo"]["setl_id"] == setl_id  # still there for its owner
