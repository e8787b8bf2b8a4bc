"""Certification profiles: data files, scenario selection and effective levels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.model import Level, Scenario
from harness.reporting.certprofile import list_profiles, load_profile


def sc(sid: str, caps: tuple[str, ...], level: Level = Level.MANDATORY) -> Scenario:
    return Scenario(id=sid, title=sid, title_zh=sid, clauses=("R-MONEY-SUM",), capabilities=caps, level=level,
                    area="outpatient", interface="2207", archetype=None, steps=())


SCENARIOS = [
    sc("envelope.msgid", ()),
    sc("outpatient.settle", ("outpatient",)),
    sc("outpatient.optional", ("outpatient",), Level.OPTIONAL),
    sc("chronic.settle", ("chronic", "outpatient")),
    sc("inpatient.settle", ("inpatient",)),
    sc("pharmacy.settle", ("pharmacy",)),
    sc("filing.2501", ("filing",), Level.CONDITIONAL),
]


def test_the_four_profiles_exist_and_load() -> None:
    assert {"hospital-outpatient", "hospital-inpatient", "hospital-full", "pharmacy"} <= set(list_profiles())
    for name in list_profiles():
        profile = load_profile(name)
        assert profile.id == name and profile.title_zh and profile.title_en and profile.required_capabilities


def test_outpatient_profile_selects_outpatient_business_and_untagged_scenarios() -> None:
    selection = load_profile("hospital-outpatient").select(SCENARIOS)
    assert selection.ids == ("envelope.msgid", "outpatient.settle", "outpatient.optional", "chronic.settle",
                             "filing.2501")
    assert selection.excluded == ("inpatient.settle", "pharmacy.settle")
    assert selection.levels["outpatient.settle"] is Level.MANDATORY
    assert selection.levels["outpatient.optional"] is Level.OPTIONAL  # the scenario's own level is kept
    assert selection.levels["chronic.settle"] is Level.CONDITIONAL  # weakest of scenario and capabilities
    assert selection.levels["filing.2501"] is Level.CONDITIONAL


def test_full_and_pharmacy_profiles() -> None:
    full = load_profile("hospital-full").select(SCENARIOS)
    assert "inpatient.settle" in full.ids and "pharmacy.settle" not in full.ids
    pharmacy = load_profile("pharmacy").select(SCENARIOS)
    assert pharmacy.ids == ("envelope.msgid", "pharmacy.settle")


def test_a_site_missing_a_mandatory_capability_is_a_config_error() -> None:
    profile = load_profile("hospital-inpatient")
    profile.check_site(["inpatient", "filing"])
    with pytest.raises(ConfigError) as err:
        profile.check_site(["outpatient"], site_location="sites/x.toml")
    assert "inpatient" in err.value.title and err.value.location == "sites/x.toml" and err.value.exit_code == 2


def test_overrides_apply_last_match_wins(tmp_path: Path) -> None:
    folder = tmp_path / "certification-profiles"
    folder.mkdir()
    data = json.loads((Path(load_profile("hospital-outpatient").source)).read_text(encoding="utf-8"))
    data.update(id="custom", overrides=[
        {"match": "outpatient.*", "level": "optional"},
        {"match": "outpatient.settle", "level": "mandatory", "reason": "core flow"},
        {"match": "envelope.*", "level": "exclude"},
    ])
    (folder / "custom.json").write_text(json.dumps(data), encoding="utf-8")
    selection = load_profile("custom", root=tmp_path).select(SCENARIOS)
    assert "envelope.msgid" in selection.excluded
    assert selection.levels["outpatient.settle"] is Level.MANDATORY
    assert selection.levels["outpatient.optional"] is Level.OPTIONAL


@pytest.mark.parametrize(("patch", "message"), [
    ({"capabilities": {"outpatient": "required"}}, "capabilities.outpatient"),
    ({"capabilities": {}}, "capabilities"),
    ({"title_zh": ""}, "title_zh"),
    ({"id": "other"}, "file name"),
    ({"overrides": [{"match": "x", "level": "maybe"}]}, "overrides[0].level"),
    ({"validity_days": 0}, "validity_days"),
    ({"pending_grace_days": "a month"}, "pending_grace_days"),
    ({"issuer": 42}, "issuer"),
])
def test_a_bad_profile_names_the_key_and_the_file(tmp_path: Path, patch: dict, message: str) -> None:
    folder = tmp_path / "certification-profiles"
    folder.mkdir()
    data = {"id": "bad", "title_zh": "坏", "title_en": "Bad", "capabilities": {"outpatient": "mandatory"}, **patch}
    (folder / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profile("bad", root=tmp_path)
    assert message in err.value.render() and "bad.json" in err.value.render()


def test_the_shipped_profiles_name_validity_and_grace() -> None:
    profile = load_profile("hospital-outpatient")
    assert profile.validity_days == 365 and profile.pending_grace_days == 0 and profile.issuer == ""


def test_an_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_profile("hospital-everything")
    assert "hospital-outpatient" in err.value.hint
