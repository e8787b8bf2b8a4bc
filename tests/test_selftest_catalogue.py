"""The mutant catalogue: complete, documented, cited, switched on in the platform, relevant to something."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.model import Level, Scenario
from harness.platform.faults import MUTANTS
from harness.scenarios.catalogue import load_suites
from harness.selftest import BASELINE_FORMAT, CATALOGUE, CATEGORIES, DEFAULT_BASELINE, Relevance, select_mutants
from harness.specs import load_registry

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "harness" / "platform"
SWITCH = re.compile(r"""\.on\(\s*["']([^"']+)["']\s*\)""")

# The issue's bullets, each with the mutant(s) that plant it.
ISSUE_BULLETS = {
    "money: fund, personal and hospital shares that don't add up": ["shares-dont-add-up"],
    "money: a rounding error": ["float-rounding-error", "pool-share-truncated"],
    "money: a personal account not debited": ["skip-account-debit"],
    "money: a reversal that doesn't negate": ["reversal-keeps-sign"],
    "money: pre-settlement differing from settlement": ["presettle-ignores-account"],
    "rules: accepting an unfiled person": ["accept-not-filed"],
    "rules: accepting an expired filing": ["accept-expired-filing"],
    "rules: accepting lapsed contributions": ["accept-lapsed-contributions"],
    "rules: accepting an inactive card": ["accept-inactive-card"],
    "rules: settling twice": ["settle-twice"],
    "rules: reversing twice": ["reverse-twice"],
    "rules: 冲正 that doesn't undo": ["correction-does-not-undo"],
    "protocol: medins_setl_id not equal to the msgid": ["medins-setl-id-not-msgid"],
    "protocol: a malformed inf_refmsgid": ["malformed-inf-refmsgid"],
    "protocol: a wrong infcode type": ["infcode-as-string"],
    "protocol: a required output field missing": ["output-field-missing"],
    "protocol: a code outside its code list": ["code-outside-list"],
    "protocol: a missing required-field check on input": ["skip-required-check"],
    "protocol: accepting a missing sign_no": ["accept-missing-sign-no"],
    "isolation: one institution reading another institution's settlement": ["cross-institution-read"],
}


def platform_switches() -> Counter[str]:
    found: Counter[str] = Counter()
    for path in sorted(PLATFORM.rglob("*.py")):
        if path.name == "faults.py":  # the registry itself (its docstring shows a switch as an example)
            continue
        found.update(SWITCH.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_catalogue_and_the_platform_switches_name_the_same_mutants() -> None:
    assert set(CATALOGUE) == set(MUTANTS)
    assert len(CATALOGUE) >= 20


def test_every_mutant_is_switched_on_at_exactly_one_place_in_the_platform() -> None:
    switches = platform_switches()
    assert {name: n for name, n in switches.items() if n != 1} == {}
    assert set(switches) == set(MUTANTS), "a switches.on() name without a catalogue entry, or an unused mutant"


def test_every_entry_is_documented_and_cites_a_clause_of_the_spec() -> None:
    registry = load_registry()
    rules = {rule.id for rule in registry.rules()}
    fields = {f.clause for spec in registry.interfaces() for d in ("in", "out") for f in spec.fields(d)}
    envelope = {f"ENV.resp.{name}" for name in registry.schema("envelope/response.json")["properties"]}
    for mutant in CATALOGUE.values():
        assert mutant.description and len(mutant.description) > 20, mutant.name
        assert mutant.category in CATEGORIES, mutant.name
        assert mutant.clause in rules | fields | envelope, f"{mutant.name}: unknown clause {mutant.clause}"
        assert mutant.fault == f"*:mutant={mutant.name}"
    assert {m.category for m in CATALOGUE.values()} == set(CATEGORIES)


def test_every_bullet_of_the_issue_has_its_mutant() -> None:
    missing = {bullet: names for bullet, names in ISSUE_BULLETS.items() if not set(names) <= set(CATALOGUE)}
    assert missing == {}


def test_every_relevance_selects_scenarios_of_the_default_suite() -> None:
    """Signing mutants: of a signing profile's suite (the baseline profile signs nothing)."""
    suites = {name: load_suites(load_registry(), name) for name in ("baseline", "hunan")}
    empty = [m.name for m in CATALOGUE.values() if not m.relevance.select(suites["hunan" if m.signing else "baseline"])]
    assert empty == []
    assert [m.name for m in CATALOGUE.values() if m.signing] == ["no-verify"]
    assert not CATALOGUE["no-verify"].relevance.select(suites["baseline"])
    # relevance exists to skip work: no declared selection is the whole suite
    assert all(len(m.relevance.select(suites["baseline"])) < len(suites["baseline"]) for m in CATALOGUE.values())


def scenario(**changes: object) -> Scenario:
    base: dict[str, object] = dict(id="outpatient.settle.reverse", title="t", title_zh="t", clauses=(),
                                   capabilities=(), level=Level.MANDATORY, area="outpatient", interface="2207",
                                   archetype="filed-employee", steps=(), tags=("flow",), kind="flow")
    base.update(changes)
    return Scenario(**base)  # type: ignore[arg-type]


def test_relevance_matches_by_kind_and_any_selector() -> None:
    assert Relevance().matches(scenario())
    assert Relevance(kinds=("flow",)).matches(scenario())
    assert not Relevance(kinds=("negative",)).matches(scenario())
    assert Relevance(areas=("inpatient",), tags=("flow",)).matches(scenario())
    assert Relevance(interfaces=("2207",)).matches(scenario())
    assert Relevance(archetypes=("filed-employee",)).matches(scenario())
    assert Relevance(ids=("outpatient.settle",)).matches(scenario())
    assert not Relevance(kinds=("flow",), areas=("inpatient",)).matches(scenario())
    assert not Relevance(archetypes=("emergency",)).matches(scenario(archetype=None))


def test_select_mutants_keeps_catalogue_order_and_names_unknown_ones() -> None:
    assert [m.name for m in select_mutants()] == list(CATALOGUE)
    names = ["reverse-twice", "shares-dont-add-up"]
    assert [m.name for m in select_mutants(names)] == ["shares-dont-add-up", "reverse-twice"]
    with pytest.raises(UsageError, match="unknown mutant 'no-such-mutant'"):
        select_mutants(["no-such-mutant"])


def test_the_committed_baseline_names_catalogue_mutants_and_records_a_full_run() -> None:
    data = json.loads(DEFAULT_BASELINE.read_text(encoding="utf-8"))
    assert data["format"] == BASELINE_FORMAT
    # the baseline profile signs nothing: the signing mutants are not exercised there
    assert data["not_exercised"] == sorted(m.name for m in CATALOGUE.values() if m.signing)
    assert set(data["caught"]) | set(data["missed"]) | set(data["not_exercised"]) == set(CATALOGUE)
    assert not set(data["caught"]) & set(data["missed"])
    recorded = data["recorded"]
    assert recorded["total"] == len(CATALOGUE) - len(data["not_exercised"])
    assert recorded["caught"] == len(data["caught"])
    assert recorded["score"] >= 0.95  # the issue's bar; a lower score needs a scenario, not a lower bar
