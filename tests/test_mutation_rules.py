"""The reference platform's routing and refusal rules with literal causes (issue 17).

`tools/mutation.py --module platform.rules` plants one-line bugs in `harness/platform/rules.py`; each
test here pins which cause (and message) one settlement meets: the order of the checks, each filing
condition, the validity days at both ends, late filing, emergencies and exp_content's spellings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from harness.platform.refdata import Institution, Region
from harness.platform.refusals import CAUSE_MESSAGES, REGION_NOT_ENABLED_INPATIENT, Refusal
from harness.platform.rules import (
    CROSS_REGION_FILING_KINDS,
    XREGION_BIZ_APPY_TYPES,
    card_active,
    check_settlement,
    is_cross_region,
    is_emergency,
)
from harness.platform.state import Filing, Person

TODAY = date(2025, 6, 15)
HERE = "430100"
INSTITUTION = Institution("H43", "某医院", "hospital", HERE, "3", networked=True)
REGION = Region("110000", "北京", "110000", xregion_outpatient=True, xregion_inpatient=True, xregion_chronic=True)


def person(**data: Any) -> Person:
    return Person("P1", {"card_state": "active", "contribution": "paid", "insu_stas": "1", "benefits": "normal",
                         **data}, Decimal("0"))


def filing(kind: str = "xregion", region: str = HERE, codes: tuple[str, ...] = (), begn: str = "2025-01-01",
           end: str | None = "2025-12-31", filed_at: str = "2025-01-01T08:00:00", dise: str = "") -> Filing:
    return Filing("F1", "P1", kind, "", region, codes, dise, begn, end, "1", filed_at, "", {})


def cause(**over: Any) -> str | None:
    """The cause the settlement meets ("" for none), and checks the message is the cause's own."""
    args: dict[str, Any] = {
        "person": person(), "presented_cert_type": "02", "cross_region": True, "institution": INSTITUTION,
        "insured_region": REGION, "care": "outpatient", "med_type": "11", "dise_codg": "", "emergency": False,
        "filings": [filing()], "chronic_filings": [], "treating_region": HERE, "today": TODAY,
        "discharged_at": None}
    args.update(over)
    try:
        check_settlement(**args)
    except Refusal as refusal:
        if refusal.cause != "region-not-enabled" or args["care"] != "inpatient":
            assert refusal.err_msg == CAUSE_MESSAGES[refusal.cause] == str(refusal)
        return refusal.cause
    return ""


# --- routing ---


@pytest.mark.parametrize(("envelope", "cross"), [
    ({"insuplc_admdvs": "110000", "mdtrtarea_admvs": HERE}, True),
    ({"insuplc_admdvs": HERE, "mdtrtarea_admvs": HERE}, False),
    ({"insuplc_admdvs": "", "mdtrtarea_admvs": HERE}, False),
    ({"insuplc_admdvs": None, "mdtrtarea_admvs": HERE}, False),
    ({"mdtrtarea_admvs": HERE}, False),
    ({"insuplc_admdvs": "110000"}, True),
    ({"insuplc_admdvs": "110000", "mdtrtarea_admvs": None}, True),
    ({"insuplc_admdvs": "XXXX"}, True),  # whatever it holds: a missing treating region is no region
    ({}, False),
])
def test_a_call_is_cross_region_when_the_insured_region_differs(envelope: dict[str, Any], cross: bool) -> None:
    assert is_cross_region(envelope) is cross


# --- emergencies ---


@pytest.mark.parametrize(("med_types", "exps", "emergency"), [
    (["13"], [], True), ([None, "13"], [], True), (["11", "14"], [], False), ([None, ""], [None], False),
    ([], [{"ipt_type": "2"}], True), ([], [{"IPT_TYPE": 2}], True), ([], [{"IPT_TYPE": "1"}], False),
    ([], [{"otp_er_refl_flag": "1"}], True), ([], [{"OTP_ER_REFL_FLAG": "3"}], True),
    ([], [{"OTP_ER_REFL_FLAG": "2"}], False),
    ([], ['{"ipt_type": "2"}'], True), ([], ['  {"IPT_TYPE": "1"}  '], False), ([], ['{"IPT_TYPE": "2"'], False),
    ([], ['["IPT_TYPE", "2"]'], False),
    ([], ["【IPT_TYPE】2"], True), ([], ["ipt_type=2"], True), ([], ["IPT_TYPE：2"], True),
    ([], ['IPT_TYPE: "2"'], True),
    ([], ["OTP_ER_REFL_FLAG=3;IPT_TYPE=1"], True), ([], ["IPT_TYPE 2"], True), ([], ["IPT_TYPE=1"], False),
    ([], ["   "], False), ([], [""], False), ([], [5], False), ([], [None, "IPT_TYPE=2"], True),
    ([], ["IPT_TYPE=21"], False), ([], ["IPT_TYPE=2x"], False),
])
def test_an_emergency_is_read_from_med_type_or_exp_content(med_types: list[Any], exps: list[Any],
                                                           emergency: bool) -> None:
    assert is_emergency(med_types, exps) is emergency


# --- the person ---


@pytest.mark.parametrize(("state", "active"), [(None, True), ("", True), ("active", True), ("inactive", False),
                                               ("lost", False)])
def test_card_active(state: Any, active: bool) -> None:
    assert card_active(person(card_state=state)) is active


def test_a_card_refuses_only_when_it_is_presented() -> None:
    assert cause(person=person(card_state="inactive"), presented_cert_type="03") == "inactive-card"
    assert cause(person=person(card_state="inactive"), presented_cert_type="02") == ""
    assert cause(person=person(card_state="inactive"), presented_cert_type=None) == ""
    assert cause(person=person(card_state="active"), presented_cert_type="03") == ""


@pytest.mark.parametrize(("data", "expected"), [
    ({"contribution": "lapsed"}, "lapsed-contributions"), ({"insu_stas": "2"}, "lapsed-contributions"),
    ({"insu_stas": "4"}, "lapsed-contributions"), ({"insu_stas": "3"}, ""), ({"insu_stas": "1"}, ""),
    ({"contribution": "paid"}, ""), ({"benefits": "suspended"}, "benefits-suspended"), ({"benefits": "normal"}, ""),
    ({"card_state": "inactive", "contribution": "lapsed"}, "lapsed-contributions"),
    ({"contribution": "lapsed", "benefits": "suspended"}, "lapsed-contributions"),
])
def test_the_persons_refusals_in_their_order(data: dict[str, Any], expected: str) -> None:
    assert cause(person=person(**data)) == expected


def test_the_person_comes_before_the_card_only_when_presented() -> None:
    assert cause(person=person(card_state="inactive", contribution="lapsed"), presented_cert_type="03") == (
        "inactive-card")
    # person checks apply to local calls too
    assert cause(person=person(benefits="suspended"), cross_region=False) == "benefits-suspended"


# --- institution and region ---


def test_a_cross_region_call_needs_a_networked_institution_and_an_enabled_region() -> None:
    offline = replace(INSTITUTION, networked=False)
    assert cause(institution=offline) == "institution-not-enabled"
    assert cause(institution=offline, cross_region=False) == ""
    assert cause(institution=offline, person=person(benefits="suspended")) == "benefits-suspended"
    closed = replace(REGION, xregion_outpatient=False)
    assert cause(insured_region=closed) == "region-not-enabled"
    assert cause(insured_region=closed, institution=offline) == "institution-not-enabled"
    assert cause(insured_region=None, filings=[]) == "not-filed"  # an unknown region is not refused as closed


def test_a_region_closed_to_inpatient_care_says_so() -> None:
    closed = replace(REGION, xregion_inpatient=False)
    with pytest.raises(Refusal) as caught:
        check_settlement(person=person(), presented_cert_type="02", cross_region=True, institution=INSTITUTION,
                         insured_region=closed, care="inpatient", med_type="21", dise_codg="", emergency=False,
                         filings=[filing()], chronic_filings=[], treating_region=HERE, today=TODAY,
                         discharged_at=None)
    assert (caught.value.cause, caught.value.err_msg) == ("region-not-enabled", REGION_NOT_ENABLED_INPATIENT)
    assert cause(insured_region=closed, care="outpatient") == ""
    assert cause(insured_region=replace(REGION, xregion_chronic=False), care="chronic") == "region-not-enabled"


# --- the filing ---


def test_a_local_call_needs_no_filing() -> None:
    assert cause(cross_region=False, filings=[]) == ""


@pytest.mark.parametrize("kind", ["xregion", "referral"])
def test_cross_region_filings_count(kind: str) -> None:
    assert cause(filings=[filing(kind)]) == ""
    assert CROSS_REGION_FILING_KINDS == ("xregion", "referral")
    assert frozenset({"06", "07", "08"}) == XREGION_BIZ_APPY_TYPES


def test_without_a_cross_region_filing_the_call_is_not_filed() -> None:
    assert cause(filings=[]) == "not-filed"
    assert cause(filings=[filing("chronic")]) == "not-filed"


def test_an_emergency_or_a_skipped_check_is_treated_as_filed() -> None:
    assert cause(filings=[], emergency=True) == ""
    assert cause(filings=[], skip_filing_checks=True) == ""
    assert cause(filings=[], emergency=True, institution=replace(INSTITUTION, networked=False)) == (
        "institution-not-enabled")


@pytest.mark.parametrize(("region", "codes", "expected"), [
    (HERE, (), ""), (HERE, ("H43",), ""), (HERE, ("H99", "H43"), ""), (HERE, ("H99",), "filed-elsewhere"),
    ("430200", (), "filed-elsewhere"), ("4301", (), "filed-elsewhere"), ("430200", ("H43",), "filed-elsewhere"),
])
def test_a_filing_covers_its_region_and_named_institutions(region: str, codes: tuple[str, ...],
                                                           expected: str) -> None:
    assert cause(filings=[filing(region=region, codes=codes)]) == expected


def test_one_filing_here_is_enough() -> None:
    assert cause(filings=[filing(region="430200"), filing()]) == ""
    assert cause(filings=[filing(end="2025-01-31"), filing()]) == ""


@pytest.mark.parametrize(("begn", "end", "expected"), [
    ("2025-06-15", "2025-06-15", ""),  # the first and last day both count
    ("2025-06-15T00:00:00", "2025-06-15 23:59:59", ""),
    ("2025-06-16", None, "not-filed"),  # not in effect yet
    ("2025-01-01", None, ""),  # open-ended
    ("2025-01-01", "2025-06-14", "filing-expired"),
    ("2025-01-01", "2025-06-14T23:59:59", "filing-expired"),
    ("2025-06-16", "2025-06-14", "filing-expired"),
    ("2025-06-16", "2025-06-15", "not-filed"),  # ends today but starts later: not in effect, not expired
])
def test_the_validity_is_judged_on_the_settlement_day(begn: str, end: str | None, expected: str) -> None:
    assert cause(filings=[filing(begn=begn, end=end)]) == expected


def test_an_expired_and_a_future_filing() -> None:
    assert cause(filings=[filing(end="2025-06-14"), filing(begn="2025-07-01", end=None)]) == "filing-expired"


@pytest.mark.parametrize(("filed_at", "begn", "expected"), [
    ("2025-06-10T09:00:00", "2025-06-10", ""),  # filed before the discharge, though after the admission
    ("2025-06-12T10:00:00", "2025-06-10", ""),  # filed at the discharge's very time
    ("2025-06-12T10:00:01", "2025-06-10", "not-filed"),  # filed after the discharge
])
def test_a_late_filing_covers_a_stay_when_made_before_the_discharge(filed_at: str, begn: str,
                                                                    expected: str) -> None:
    got = cause(filings=[filing(filed_at=filed_at, begn=begn, end=None)], discharged_at="2025-06-12T10:00:00")
    assert got == expected


def test_an_expired_filing_made_after_the_discharge_is_not_filed() -> None:
    late = filing(filed_at="2025-06-13T00:00:00", end="2025-06-14")
    assert cause(filings=[late], discharged_at="2025-06-12T10:00:00") == "not-filed"
    assert cause(filings=[late]) == "filing-expired"


# --- chronic care ---


@pytest.mark.parametrize(("dise", "chronic", "expected"), [
    ("I10", [filing("chronic", dise="I10")], ""),
    ("I10", [filing("chronic", dise="E11")], "chronic-not-filed"),
    ("I10", [filing("chronic", dise="E11"), filing("chronic", dise="I10")], ""),
    ("", [filing("chronic", dise="E11")], ""),  # no disease named: any chronic filing
    ("I10", [], "chronic-not-filed"),
    ("I10", [filing("chronic", dise="I10", end="2025-06-14")], "chronic-not-filed"),
    ("I10", [filing("chronic", dise="I10", begn="2025-06-16")], "chronic-not-filed"),
    ("I10", [filing("chronic", dise="I10", begn="2025-06-15", end="2025-06-15")], ""),
])
def test_chronic_care_needs_a_chronic_filing_for_the_disease(dise: str, chronic: list[Filing],
                                                             expected: str) -> None:
    assert cause(med_type="14", dise_codg=dise, chronic_filings=chronic) == expected
    assert cause(med_type="14", dise_codg=dise, chronic_filings=chronic, cross_region=False) == expected


def test_chronic_filing_comes_after_the_cross_region_filing() -> None:
    assert cause(med_type="14", dise_codg="I10", filings=[]) == "not-filed"
    assert cause(med_type="11", dise_codg="I10", chronic_filings=[]) == ""
