"""The platform answers in the profile's edition of a [V] dictionary (harness/platform/dialect.py)."""

from __future__ import annotations

import pytest
from platform_samples import ITEMS, Flow, memory_platform, persona

from harness.platform.dialect import speak
from harness.platform.samples import fee_lines, register_input


def test_speak_maps_only_the_codes_whose_edition_the_profile_selects() -> None:
    row = {"bas_medn_flag": "0", "hi_nego_drug_flag": "1", "chld_medc_flag": "0", "dcla_souc": "01"}
    assert speak(dict(row), {}) == row
    assert speak(dict(row), {"bas_medn_flag": "one-two", "hi_nego_drug_flag": "one-two", "dcla_souc": "s1"}) == {
        "bas_medn_flag": "2", "hi_nego_drug_flag": "1", "chld_medc_flag": "0", "dcla_souc": "1"}


@pytest.mark.parametrize(("profile", "no"), [("baseline", "0"), ("jiangxi", "2")])
def test_the_fee_classification_uses_the_profiles_flag_edition(profile: str, no: str) -> None:
    flow = Flow(memory_platform(profile=profile).call)
    flow.sign_in()
    emp = persona("filed-employee")
    mdtrt_id = flow.ok("2201", register_input(emp, f"MZ{flow.his.msgid()[-10:]}"), emp)["data"]["mdtrt_id"]
    rows = fee_lines(emp, mdtrt_id, [(ITEMS["consult"], 1)], chrg_bchno="B1")
    assert flow.ok("2204", {"feedetail": rows}, emp)["result"][0]["bas_medn_flag"] == no
