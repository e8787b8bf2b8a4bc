"""Every failure cause: refused with infcode -1, output null, the exact err_msg that the baseline
profile's patterns (and no other cause's) match — and no state change. Plus the cross-region rules
that let people through: emergency, late filing, the filing's region and designated institutions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from platform_samples import CATALOGUE, Flow, memory_platform, persona

from harness.platform import CAUSE_MESSAGES, Platform
from harness.platform.samples import person_input, reverse_input, settle_input
from harness.specs import load_registry

PATTERNS = load_registry().profile("baseline").err_msg_patterns
STATE_TABLES = ("persons", "filings", "signins", "visits", "fees", "settlements", "files")


def snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    with platform.db.reading() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in STATE_TABLES}


@pytest.fixture()
def env() -> tuple[Platform, Flow]:
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    return platform, flow


Case = Callable[[Flow], tuple[str, dict[str, Any], Any, dict[str, Any]]]


def outpatient_settle(archetype: str, **kw: Any) -> Case:
    def case(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
        who = persona(archetype)
        mdtrt_id, amount = flow.register(who, med_type=kw.get("med_type", "11"), dise_codg=kw.get("dise", "J06.900"))
        return "2207", settle_input(who, mdtrt_id, "B1", amount, med_type=kw.get("med_type", "11")), who, {}
    return case


def at(code: str, archetype: str) -> Case:
    def case(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
        other = Flow(flow.send, CATALOGUE.institution(code))
        other.sign_in()
        who = persona(archetype)
        mdtrt_id, amount = other.register(who)
        flow.his = other.his  # the refused call goes out as the other institution
        return "2207", settle_input(who, mdtrt_id, "B1", amount), who, {}
    return case


def inactive_card_1101(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("inactive-card")
    return "1101", person_input(who), who, {}


def duplicate(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    flow.settle(who, mdtrt_id, amount)
    return "2207", settle_input(who, mdtrt_id, "B1", amount), who, {}


def sum_mismatch(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    return "2207", settle_input(who, mdtrt_id, "B1", round(amount + 0.01, 2)), who, {}


def reversal_unknown(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, _ = flow.register(who)
    return "2208", reverse_input(who, mdtrt_id, "S520102000000000000999"), who, {}


def reversal_repeated(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    setl_id = flow.settle(who, mdtrt_id, amount)["setlinfo"]["setl_id"]
    flow.reverse(who, mdtrt_id, setl_id)
    return "2208", reverse_input(who, mdtrt_id, setl_id), who, {}


def invalid(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    data = settle_input(who, mdtrt_id, "B1", amount)
    del data["data"]["psn_no"]
    return "2207", data, who, {}


def not_signed_in(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    return "2207", settle_input(who, mdtrt_id, "B1", amount), who, {"sign_no": "not-a-sign-no"}


def msgid_conflict(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    flow.settle(who, mdtrt_id, amount)
    used = flow.last["msgid"]
    other, amount2 = flow.register(who)
    return "2207", settle_input(who, other, "B1", amount2), who, {"msgid": used}


def other_institutions_visit(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    other = Flow(flow.send, CATALOGUE.institution("H52010200002"))
    other.sign_in()
    flow.his = other.his
    return "2207", settle_input(who, mdtrt_id, "B1", amount), who, {}


def not_reversible(flow: Flow) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    who = persona("filed-employee")
    flow.register(who)
    omsgid = next(m for m in [flow.last["msgid"]])
    return "2601", {"data": {"psn_no": who.psn_no, "omsgid": omsgid, "oinfno": "2204"}}, who, {}


CASES: list[tuple[str, Case]] = [
    ("not-filed", outpatient_settle("not-filed")),
    ("lapsed-contributions", outpatient_settle("lapsed-contributions")),
    ("benefits-suspended", outpatient_settle("benefits-suspended")),
    ("inactive-card", outpatient_settle("inactive-card")),
    ("inactive-card", outpatient_settle("lost-card")),
    ("inactive-card", inactive_card_1101),
    ("region-not-enabled", outpatient_settle("region-not-enabled")),
    ("institution-not-enabled", at("H52010200003", "filed-employee")),
    ("filing-expired", outpatient_settle("filing-expired")),
    ("filed-elsewhere", outpatient_settle("filed-elsewhere")),
    ("chronic-not-filed", outpatient_settle("chronic-not-filed", med_type="14", dise="M03900")),
    ("duplicate-settlement", duplicate),
    ("reversal-unknown", reversal_unknown),
    ("reversal-repeated", reversal_repeated),
    ("sumamt-mismatch", sum_mismatch),
    ("invalid-request", invalid),
    ("not-signed-in", not_signed_in),
    ("msgid-conflict", msgid_conflict),
    ("not-found", other_institutions_visit),
    ("not-reversible", not_reversible),
]


@pytest.mark.parametrize(("cause", "case"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_each_cause_is_refused_with_its_message_and_no_state_change(
    env: tuple[Platform, Flow], cause: str, case: Case
) -> None:
    platform, flow = env
    infno, input, who, overrides = case(flow)
    before = snapshot(platform)
    err_msg = flow.refused(infno, input, who, **overrides)
    assert snapshot(platform) == before
    if cause == "invalid-request":
        assert err_msg.startswith(CAUSE_MESSAGES[cause]) and "/input/data/psn_no" in err_msg
    else:
        assert err_msg == CAUSE_MESSAGES[cause]
    assert any(re.search(p, err_msg) for p in PATTERNS[cause]), "the profile's patterns must confirm the cause"
    others = [c for c, pats in PATTERNS.items() if c != cause and any(re.search(p, err_msg) for p in pats)]
    assert not others, f"{err_msg!r} also matches {others}"


def test_every_cause_in_the_rules_has_a_message() -> None:
    assert {c.id for c in load_registry().causes()} == set(CAUSE_MESSAGES)


def test_a_refusal_is_replayed_from_the_record(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("not-filed")
    mdtrt_id, amount = flow.register(who)
    envelope = flow.his.envelope("2207", settle_input(who, mdtrt_id, "B1", amount), who)
    first, again = flow.send(dict(envelope)), flow.send(dict(envelope))
    assert first == again and first["err_msg"] == CAUSE_MESSAGES["not-filed"]


# --- who gets through -----------------------------------------------------------------------------


def test_not_filed_is_refused_at_presettlement_and_inpatient_too(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("not-filed")
    mdtrt_id, amount = flow.register(who)
    assert flow.refused("2206", settle_input(who, mdtrt_id, "B1", amount, presettle=True), who) == CAUSE_MESSAGES[
        "not-filed"]
    stay, rows = flow.admit(who)  # admission itself is never refused for a missing filing
    flow.discharge(who, stay)
    with pytest.raises(AssertionError, match="未办理异地就医备案"):
        flow.settle_inpatient(who, stay, sum(r["det_item_fee_sumamt"] for r in rows))


def test_emergency_is_treated_as_filed(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("emergency")
    mdtrt_id, amount = flow.register(who, med_type="13")
    assert flow.settle(who, mdtrt_id, amount, med_type="13")["setlinfo"]["med_type"] == "13"
    ordinary, amount = flow.register(who)
    assert flow.refused("2207", settle_input(who, ordinary, "B1", amount), who) == CAUSE_MESSAGES["not-filed"]
    at_desk, amount = flow.register(who, exp_content='{"OTP_ER_REFL_FLAG":"1"}')
    flow.settle(who, at_desk, amount)
    stay, rows = flow.admit(who, exp_content={"IPT_TYPE": "2"})
    flow.discharge(who, stay)
    flow.settle_inpatient(who, stay, sum(r["det_item_fee_sumamt"] for r in rows))


def _file(flow: Flow, who: Any, code: str, begndate: str | None = None) -> str:
    today = flow.ok("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "127.0.0.1"}})["signinoutb"][
        "sign_time"][:10]
    data = {"psn_no": who.psn_no, "biz_appy_type": "08", "begndate": begndate or today, "fix_srt_no": "1",
            "fixmedins_code": code, "fixmedins_name": "测试"}
    return str(flow.ok("2505", {"data": data}, who)["result"]["trt_dcla_detl_sn"])


def test_late_filing_before_discharge_settles_directly(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("late-filing")
    stay, rows = flow.admit(who)
    amount = sum(r["det_item_fee_sumamt"] for r in rows)
    with pytest.raises(AssertionError, match="未办理异地就医备案"):
        flow.settle_inpatient(who, stay, amount, infno="2303")
    _file(flow, who, flow.his.fixmedins_code)  # 补备案 during the stay
    flow.discharge(who, stay)
    assert flow.settle_inpatient(who, stay, amount)["setlinfo"]["setl_id"]


def test_a_filing_made_after_discharge_does_not_cover_the_stay(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("late-filing")
    stay, rows = flow.admit(who)
    flow.discharge(who, stay)
    _file(flow, who, flow.his.fixmedins_code)
    with pytest.raises(AssertionError, match="未办理异地就医备案"):
        flow.settle_inpatient(who, stay, sum(r["det_item_fee_sumamt"] for r in rows))


def test_designated_institution_and_future_filing(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("late-filing")
    sn = _file(flow, who, "H52010200002")  # designated: the other hospital of 520102
    mdtrt_id, amount = flow.register(who)
    assert flow.refused("2207", settle_input(who, mdtrt_id, "B1", amount), who) == CAUSE_MESSAGES["filed-elsewhere"]
    flow.ok("2506", {"data": {"trt_dcla_detl_sn": sn, "psn_no": who.psn_no, "memo": "改选"}}, who)
    _file(flow, who, flow.his.fixmedins_code, begndate="2999-01-01")  # not in effect yet
    assert flow.refused("2207", settle_input(who, mdtrt_id, "B1", amount), who) == CAUSE_MESSAGES["not-filed"]


def test_filed_elsewhere_settles_in_its_own_region(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    chengdu = Flow(flow.send, CATALOGUE.institution("H51010400001"))
    chengdu.sign_in()
    who = persona("filed-elsewhere")
    mdtrt_id, amount = chengdu.register(who)
    assert chengdu.settle(who, mdtrt_id, amount)["setlinfo"]["clr_optins"] == "510104"


def test_region_not_enabled_still_settles_inpatient_and_chronic_filed_settles(env: tuple[Platform, Flow]) -> None:
    _, flow = env
    who = persona("region-not-enabled")
    stay, rows = flow.admit(who)
    flow.discharge(who, stay)
    flow.settle_inpatient(who, stay, sum(r["det_item_fee_sumamt"] for r in rows))
    sick = persona("chronic-not-filed")
    mdtrt_id, amount = flow.register(sick)
    flow.settle(sick, mdtrt_id, amount)  # ordinary outpatient care needs no chronic filing
