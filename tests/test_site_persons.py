"""One test person per behaviour: variants run with their fallback's person, and the suite still runs fully.

A site gives its own test persons keyed by archetype. Variants (`fallback` in archetypes.json) exist for
the reference platform's variety; on a site that gives no separate person for one, its scenarios run
with the fallback's person, say so in their result, and still cannot interfere with one another
(every scenario opens and closes its own visit, filing and settlement).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import responses

from harness.errors import ConfigError
from harness.model import Outcome
from harness.personas import load_catalogue
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.runner import Runner
from harness.scenarios.catalogue import load_catalogue_of_scenarios, load_suites
from harness.siteconfig import archetype_needs, embedded_site, load_site, stand_ins
from harness.specs import load_registry
from harness.transport import HttpTarget

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "http://platform.test"
OPENS = {"2201": "2202", "2401": "2404", "2501": "2502", "2503": "2504", "2505": "2506"}


def test_variants_name_an_independent_fallback_with_the_same_cause() -> None:
    archetypes = {a.id: a for a in load_catalogue().archetypes}
    variants = {a.id: a.fallback for a in archetypes.values() if a.fallback}
    assert variants == {"filed-employee-2": "filed-employee", "filed-resident-2": "filed-resident"}
    for name, fallback in variants.items():
        assert archetypes[fallback].fallback is None and archetypes[fallback].cause == archetypes[name].cause
        assert archetypes[name].why_separate


@pytest.mark.parametrize(("change", "expected"), [
    (lambda rows: rows[2].update(fallback="no-such-archetype"), "is not another archetype"),
    (lambda rows: rows[2].update(fallback="filed-resident-2"), "has a fallback itself"),
    (lambda rows: rows[2].update(fallback="not-filed"), "a stand-in must behave the same"),
])
def test_a_bad_fallback_is_a_catalogue_error_naming_the_entry(tmp_path: Path, change, expected: str) -> None:
    root = tmp_path / "catalogue"
    root.mkdir()
    for file in (ROOT / "fixtures" / "catalogue").glob("*.json"):
        (root / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    data = json.loads((root / "archetypes.json").read_text(encoding="utf-8"))
    assert data["archetypes"][2]["id"] == "filed-employee-2"
    change(data["archetypes"])
    (root / "archetypes.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalogue(root=root)
    assert "archetypes[2].fallback" in str(info.value.location) and expected in str(info.value.detail)


def test_a_site_with_one_filed_employee_runs_the_variant_with_that_person() -> None:
    site = load_site(ROOT / "fixtures" / "sites" / "example-province.toml", archetypes=load_catalogue().archetypes)
    assert site.stand_in("filed-employee-2") == "filed-employee"
    assert site.identity("filed-employee-2") == site.identity("filed-employee")
    assert site.stand_in("filed-resident-2") is None  # its fallback, filed-resident, is not given either
    assert site.identity("filed-resident-2") is None and site.stand_in("filed-employee") is None
    assert site.describe()["stand_ins"] == {"filed-employee-2": "filed-employee"}


def test_a_person_of_its_own_wins_over_the_fallback() -> None:
    assert stand_ins({"filed-employee": {}, "filed-employee-2": {}}, {"filed-employee-2": "filed-employee"}) == {}
    assert stand_ins({"filed-employee": {}}, {"filed-employee-2": "filed-employee"}) == {
        "filed-employee-2": "filed-employee"}
    assert stand_ins({}, {"filed-employee-2": "filed-employee"}) == {}


def test_bare_archetype_ids_give_no_stand_ins() -> None:
    site = load_site(ROOT / "fixtures" / "sites" / "example-province.toml",
                     archetypes=[a.id for a in load_catalogue().archetypes])
    assert site.stand_ins == {} and site.identity("filed-employee-2") is None


def test_every_scenario_that_opens_something_closes_it_in_its_teardown() -> None:
    """What makes reusing one person across scenarios safe: nothing a scenario opens outlives it."""
    scenarios = load_catalogue_of_scenarios(profile="baseline").select(None)
    left_open = [(s.id, opened) for s in scenarios for opened, closer in OPENS.items()
                 if opened in {st.infno for st in s.steps} and closer not in {st.infno for st in s.teardown}]
    assert left_open == []


def test_archetype_needs_say_which_are_independent_and_who_runs_them_at_a_site() -> None:
    catalogue = load_catalogue()
    scenarios = load_catalogue_of_scenarios(profile="baseline").select(None)
    site = load_site(ROOT / "fixtures" / "sites" / "example-province.toml", archetypes=catalogue.archetypes)
    rows = {r["archetype"]: r for r in archetype_needs(scenarios, catalogue.archetypes, site)}
    assert rows["filed-employee-2"]["independent"] is False and rows["filed-employee-2"]["scenarios"] > 400
    assert rows["filed-employee-2"]["at_site"] == "run with the person of filed-employee"
    assert rows["filed-employee"]["at_site"] == "own person" and rows["emergency"]["at_site"] == "not provisioned"
    assert rows["filed-card"]["independent"] and "card_sn" in rows["filed-card"]["identity_fields"]


@pytest.mark.slow
def test_the_whole_suite_runs_with_one_person_per_behaviour() -> None:
    """No variant person at all: nothing is 'not provisioned', variants say who ran them, all pass."""
    registry = load_registry()
    catalogue = load_catalogue()
    scenarios = load_suites(registry, "baseline", catalogue=catalogue)
    full = embedded_site(BASE_URL, catalogue=catalogue)
    variants = {a.id: a.fallback for a in catalogue.archetypes if a.fallback}
    identities = {k: v for k, v in full.identities.items() if k not in variants}
    # Not the reference platform's own persons any more: golden amounts (computed for the variants) are off.
    site = replace(full, identities=identities, stand_ins=stand_ins(identities, variants), reference=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount(rsps, BASE_URL, PlatformConfig(db_path=":memory:"))
        settings = registry.profile("baseline")
        with HttpTarget.from_profile(BASE_URL, dict(settings.transport)) as target:
            runner = Runner(target, registry, settings, site, seed=11)
            results = [runner.run_scenario(scenario) for scenario in scenarios]
    by_id = {s.id: s for s in scenarios}
    bad = [f"{r.scenario_id}: {r.outcome.value} {r.reason} " + "; ".join(f.title for f in r.failures[:2])
           for r in results if r.outcome not in (Outcome.PASSED, Outcome.NOT_APPLICABLE) or
           (r.outcome is Outcome.NOT_APPLICABLE and "reference = true" not in r.reason)]
    assert bad == [], f"{len(bad)} of {len(results)}:\n" + "\n".join(bad[:40])
    stood_in = [r for r in results if by_id[r.scenario_id].archetype in variants and r.outcome is Outcome.PASSED]
    assert len(stood_in) > 400
    assert all("run with the person of filed-" in r.reason for r in stood_in)


def test_the_archetypes_command_lists_needs_and_who_runs_them_at_a_site() -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    site = ROOT / "fixtures" / "sites" / "example-province.toml"
    result = CliRunner().invoke(app, ["scenarios", "archetypes", "--json", "--site", str(site)])
    assert result.exit_code == 0, result.output
    rows = {r["archetype"]: r for r in json.loads(result.output)}
    assert rows["filed-employee-2"]["at_site"] == "run with the person of filed-employee"
    table = CliRunner().invoke(app, ["scenarios", "archetypes"])
    assert table.exit_code == 0 and "independent" in table.output and "filed-employee-2" in table.output
