"""Site keys a foreign site needs: interfaces it does not offer, a second institution, its own
department/doctor codes and clearing agency, how the end-of-run reconciliation counts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.model import Expectation, Level, Outcome, Scenario, Step
from harness.runner import Runner
from harness.siteconfig import DEFAULT_VALUES, embedded_site, load_site
from harness.specs import load_registry
from harness.transport import CallableTarget
from tests.engine_samples import FakeSite

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = """
[site]
id = "t1"
base_url = "http://127.0.0.1:8080/"
fixmedins_code = "H52010200001"
fixmedins_name = "测试医院"
mdtrtarea_admvs = "520102"
capabilities = ["outpatient", "reconciliation"]
"""


def site_with(tmp_path: Path, extra: str = "", tail: str = ""):
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL + extra + tail, encoding="utf-8")
    return load_site(path)


def test_not_offered_is_read_and_checked(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'not_offered = ["3202", "9101", "3202"]\n')
    assert site.not_offered == ("3202", "9101") and not site.offers("3202") and site.offers("3201")
    assert site.describe()["not_offered"] == ["3202", "9101"]


@pytest.mark.parametrize(("line", "key", "expected"), [
    ('not_offered = "3202"\n', "site.not_offered", "a list of interface numbers"),
    ('not_offered = ["32O2"]\n', "site.not_offered", "a list of interface numbers"),
    ('other_fixmedins_code = "H52010200001"\n', "site.other_fixmedins_code", "other than fixmedins_code"),
    ('other_fixmedins_name = "另一家医院"\n', "site.other_fixmedins_code", "a code beside"),
    ('setl_optins = "52"\n', "site.setl_optins", "6-digit"),
    ('recon_scope = "week"\n', "site.recon_scope", "one of day, run"),
    ('not_ofered = ["3202"]\n', "site.not_ofered", "unknown site config key"),
])
def test_bad_keys_name_the_file_and_the_key(tmp_path: Path, line: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        site_with(tmp_path, line)
    assert str(info.value.location) == f"{tmp_path / 'site.toml'}: {key}"
    assert expected in str(info.value)


def test_the_other_institution_is_the_configured_one_else_the_pharmacy_else_none(tmp_path: Path) -> None:
    assert "other_fixmedins_code" not in site_with(tmp_path).template_values()
    pharmacy = '[values]\npharmacy_fixmedins_code = "P52010200001"\npharmacy_fixmedins_name = "药店"\n'
    values = site_with(tmp_path, tail=pharmacy).template_values()
    assert (values["other_fixmedins_code"], values["other_fixmedins_name"]) == ("P52010200001", "药店")
    own = 'other_fixmedins_code = "H52010200002"\nother_fixmedins_name = "第二医院"\n'
    values = site_with(tmp_path, own, pharmacy).template_values()
    assert (values["other_fixmedins_code"], values["other_fixmedins_name"]) == ("H52010200002", "第二医院")
    assert embedded_site("http://x").template_values()["other_fixmedins_code"] == "H52010200002"


def test_department_doctor_and_clearing_agency_default_and_are_overridden_by_the_site(tmp_path: Path) -> None:
    values = site_with(tmp_path).template_values()
    assert {k: values[k] for k in DEFAULT_VALUES} == dict(DEFAULT_VALUES) and values["setl_optins"] == "520102"
    values = site_with(tmp_path, 'setl_optins = "520199"\n', '[values]\ndept_code = "0301"\n').template_values()
    assert values["dept_code"] == "0301" and values["setl_optins"] == "520199"


def test_the_example_site_documents_every_site_key() -> None:
    text = (ROOT / "fixtures" / "sites" / "example-province.toml").read_text(encoding="utf-8")
    for key in ("not_offered", "other_fixmedins_code", "other_fixmedins_name", "setl_optins", "recon_scope",
                "daybook", *DEFAULT_VALUES):
        assert f"{key} =" in text or f"# {key} =" in text, key


def _scenario(*infnos: str) -> Scenario:
    steps = tuple(Step(infno=i, input={"data": {}}, expect=Expectation(ok=None, output_schema=False)) for i in infnos)
    return Scenario(id="t.not-offered", title="t", title_zh="t", clauses=("R-RECON-BALANCED",), capabilities=(),
                    level=Level.MANDATORY, area="reconciliation", interface=infnos[-1], archetype=None, steps=steps)


def test_a_scenario_needing_an_interface_the_site_does_not_offer_is_not_applicable_and_sends_nothing() -> None:
    fake = FakeSite()
    site = replace(embedded_site("http://fake.test"), not_offered=("3202",), reference=False)
    runner = Runner(CallableTarget(fake), load_registry(), "baseline", site)
    result = runner.run_scenario(_scenario("9101", "3202"))
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert result.reason == "the site does not offer 3202 (not_offered)" and fake.sent == []


@pytest.mark.parametrize(("tail", "key", "expected"), [
    ('[items.amoxicillin]\nmed_list_codg = "X"\npric = 18.60\n', "items.amoxicillin.pric", "no scenario reads it"),
    ('[items.amoxcillin]\nmed_list_codg = "X"\n', "items.amoxcillin", "a known item alias"),
])
def test_item_keys_no_scenario_reads_are_errors(tmp_path: Path, tail: str, key: str, expected: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL + tail, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(path, item_aliases=["amoxicillin", "consult"])
    assert str(info.value.location) == f"{path}: {key}"
    assert expected in str(info.value) + (info.value.hint or "")


def test_a_misspelt_value_key_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        site_with(tmp_path, tail='[values]\ndept_cod = "0301"\n')
    assert str(info.value.location) == f"{tmp_path / 'site.toml'}: values.dept_cod"
    assert "dept_code" in (info.value.hint or "")


def test_every_site_value_a_scenario_reads_is_a_site_key_or_a_known_value_key() -> None:
    """A scenario that starts reading a new {{ site.<key> }} must register it (VALUE_KEYS, documented)."""
    import re

    from harness.siteconfig import VALUE_KEYS
    core = set(embedded_site("http://x").template_values()) - set(embedded_site("http://x").values)
    used = {name for file in (ROOT / "scenarios").rglob("*.yaml")
            for name in re.findall(r"\{\{\s*site\.([a-z_]+)\s*\}\}", file.read_text(encoding="utf-8"))}
    assert used - core - set(VALUE_KEYS) == set()
    text = (ROOT / "fixtures" / "sites" / "example-province.toml").read_text(encoding="utf-8")
    assert [key for key in VALUE_KEYS if key not in text] == []
