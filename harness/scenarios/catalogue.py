"""The public face of the scenario suites: load, generate, name and select them.

    load_suites(registry, profile, suites=None) -> list[Scenario]     # what the runner executes
    load_catalogue_of_scenarios(registry, profile) -> ScenarioCatalogue  # + suite membership, lookup

A suite is a folder under `scenarios/`: hand-written flows (`outpatient/`, `inpatient/`, `filing/` ...)
and generator tables whose name starts with `_` (`protocol/_base-inputs.yaml` -> schema negatives,
`envelope/_envelope.yaml` -> envelope rules, `causes/_matrix.yaml` -> failure causes x flows).
Everything is loaded in one pass so that templates are shared, ids are unique across all suites and
every problem in every file is reported at once. `default` is every suite.

Order: suite, then id, except that scenarios tagged `run-last` come after every other scenario (in
the same order among themselves): the end-of-run reconciliation of what the harness recorded must
see every settlement of the run. `run_order()` applies the rule; the pytest plugin applies it again
to whatever is collected, so a selection passed in any order still runs them last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from harness.errors import ConfigError, UsageError
from harness.model import Scenario
from harness.personas import Catalogue, load_catalogue
from harness.resources import data_root, scenarios_dir
from harness.scenarios.diagnostics import Problem, closest, raise_if_any, rel
from harness.scenarios.expand import expand_causes
from harness.scenarios.fingerprint import with_fingerprint
from harness.scenarios.generate_envelope import generate_envelope
from harness.scenarios.generate_negative import generate_negatives
from harness.scenarios.loader import Document, load_files, read_document
from harness.scenarios.semantics import Vocabulary
from harness.specs import Profile, SpecRegistry, grade_table, load_registry, scenario_grade

__all__ = [
    "DEFAULT_SUITE",
    "KNOWN_CHECKS",
    "RUN_LAST",
    "SCENARIOS_DIR",
    "ScenarioCatalogue",
    "load_catalogue_of_scenarios",
    "load_suites",
    "run_order",
    "vocabulary_for",
]

_T = TypeVar("_T")
# The checkout, or harness/_data/ of an installed wheel: scenario sources read "scenarios/<suite>/<file>"
# in both, so ids, fingerprints and messages do not depend on how hsa-cert was installed.
PROJECT_ROOT = data_root()
SCENARIOS_DIR = scenarios_dir()
DEFAULT_SUITE = "default"

# contracts section H; the runner may pass the live registry's names instead.
KNOWN_CHECKS = frozenset({
    "money.sum", "money.psn_part", "money.precision", "settle.medins_setl_id", "settle.matches_presettle",
    "reversal.negates", "settle.account_debited", "envelope.inf_refmsgid", "envelope.timestamps",
    "refusal.shape", "recon.balanced", "recon.ledger_covered", "recon.unbalanced", "replay.same_response",
    "money.fund_sum", "money.acct_mulaid", "money.fee_parts", "money.shares_signed", "money.pool_share",
    "setldetail.funds", "settle.ids_echo", "register.ids_echo", "person.insuinfo", "signin.sign_no",
    "correction.reversible", "correction.undone",
})

RUN_LAST = "run-last"  # tag: run after every other scenario of the session

_GENERATORS = {
    "_base-inputs.yaml": "negatives",
    "_envelope.yaml": "envelope",
    "_matrix.yaml": "causes",
}


@dataclass(frozen=True)
class ScenarioCatalogue:
    """Every scenario, in a stable order, with the suite each belongs to."""

    scenarios: tuple[Scenario, ...]
    suite_of: Mapping[str, str]  # scenario id -> suite name
    by_id: Mapping[str, Scenario] = field(default_factory=dict)

    @property
    def suites(self) -> list[str]:
        return [DEFAULT_SUITE, *sorted(set(self.suite_of.values()))]

    def select(self, suites: Sequence[str] | None = None) -> list[Scenario]:
        wanted = list(suites or [DEFAULT_SUITE])
        known = self.suites
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise UsageError(f"unknown suite {unknown[0]!r}", detail="known suites: " + ", ".join(known),
                             hint=closest(unknown[0], known) or "`hsa-cert scenarios list --suite NAME`")
        if DEFAULT_SUITE in wanted:
            return list(self.scenarios)
        return [s for s in self.scenarios if self.suite_of[s.id] in wanted]

    def get(self, scenario_id: str) -> Scenario:
        found = self.by_id.get(scenario_id)
        if found is None:
            raise UsageError(f"no scenario with id {scenario_id!r}",
                             hint=closest(scenario_id, self.by_id) or "`hsa-cert scenarios list` shows the ids")
        return found


def run_order(items: Iterable[_T], tags: Callable[[_T], Iterable[str]]) -> list[_T]:
    """`items` with those tagged `run-last` moved to the end; a stable partition, so otherwise unchanged."""
    listed = list(items)
    return [i for i in listed if RUN_LAST not in tags(i)] + [i for i in listed if RUN_LAST in tags(i)]


def vocabulary_for(registry: SpecRegistry, catalogue: Catalogue,
                   check_names: Iterable[str] | None = None) -> Vocabulary:
    clauses: set[str] = {rule.id for rule in registry.rules()}
    field_types: dict[str, dict[str, dict[str, str]]] = {}
    for spec in registry.interfaces():
        for direction in ("in", "out"):
            for f in spec.fields(direction):
                clauses.add(f.clause)
                if direction == "in":
                    field_types.setdefault(spec.infno, {}).setdefault(f.node, {})[f.name] = f.json_type
    for part, name in (("req", "envelope/request.json"), ("resp", "envelope/response.json")):
        for prop, sub in (registry.schema(name).get("properties") or {}).items():
            clauses.add(sub.get("x-clause") or f"ENV.{part}.{prop}")
    return Vocabulary(
        infnos=frozenset(spec.infno for spec in registry.interfaces()),
        check_names=frozenset(check_names) if check_names is not None else KNOWN_CHECKS,
        archetypes=frozenset(a.id for a in catalogue.archetypes),
        causes=frozenset(c.id for c in registry.causes()),
        clauses=frozenset(clauses),
        field_types=field_types,
    )


def _suite(document_name: str, root: Path, base: Path) -> str:
    """The folder directly under scenarios/ (files at the top level belong to suite 'common')."""
    relative = Path(document_name)
    try:
        parts = (base / relative).resolve().relative_to(root.resolve()).parts
    except ValueError:
        parts = relative.parts
    return parts[0] if len(parts) > 1 else "common"


_CACHE: dict[tuple[int, str, Path, int, frozenset[str] | None], tuple[object, object, ScenarioCatalogue]] = {}


def load_catalogue_of_scenarios(registry: SpecRegistry | None = None, profile: str = "baseline", *,
                                root: Path | None = None, catalogue: Catalogue | None = None,
                                check_names: Iterable[str] | None = None) -> ScenarioCatalogue:
    """Every scenario (hand-written and generated), cached per registry, profile, folder and catalogue."""
    registry = registry or load_registry()
    catalogue = catalogue or load_catalogue()
    names = frozenset(check_names) if check_names is not None else None
    folder = (root or SCENARIOS_DIR).resolve()
    if not folder.is_dir():  # else an empty suite, and a puzzling "no scenario selected" later
        raise ConfigError("The scenarios folder does not exist", location=str(folder),
                          hint="reinstall hsa-cert (the wheel carries its scenarios), or run it from a checkout")
    key = (id(registry), profile, folder, id(catalogue), names)
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not registry or hit[1] is not catalogue:
        hit = (registry, catalogue, _load(registry, profile, folder, catalogue, names))
        _CACHE[key] = hit
    return hit[2]


CLIENT_PLANS = "client"


def _load(registry: SpecRegistry, profile: str, root: Path, catalogue: Catalogue,
          check_names: frozenset[str] | None) -> ScenarioCatalogue:
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    # scenarios/client/ holds client case plans (hsa-cert client …, specs/client-plan.schema.json), not site scenarios
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                   and CLIENT_PLANS not in p.relative_to(root).parts[:1])
    plain = [p for p in files if not p.name.startswith("_")]
    generated: list[Document] = []
    for path in files:
        if not path.name.startswith("_"):
            continue
        kind = _GENERATORS.get(path.name)
        if kind is None:
            problems.append(Problem(rel(path, PROJECT_ROOT), 0, 0, "unknown generator table",
                                    expected="one of " + ", ".join(_GENERATORS),
                                    hint="files starting with '_' are generator inputs; rename the file"))
            continue
        table = read_document(path, root=PROJECT_ROOT, problems=problems)
        texts[table.name] = table.text
        if table.data is None:
            continue
        if kind == "negatives":
            generated.append(generate_negatives(registry, profile, table, catalogue, problems))
        elif kind == "envelope":
            generated.append(generate_envelope(registry, profile, table, catalogue, problems))
        else:
            generated.append(expand_causes(registry, table, problems))
    vocabulary = vocabulary_for(registry, catalogue, check_names)
    loaded = load_files(plain, vocabulary=vocabulary, root=PROJECT_ROOT, extra=generated, prior=problems,
                        texts=texts)
    suite_of = {sid: _suite(doc, root, PROJECT_ROOT) for sid, doc in loaded.files.items()}
    applicable = _graded(_applicable(loaded.scenarios, registry.profile(profile), loaded.files), registry, profile)
    ordered = tuple(run_order(sorted(applicable, key=lambda s: (suite_of[s.id], s.id)), lambda s: s.tags))
    return ScenarioCatalogue(scenarios=ordered, suite_of=suite_of, by_id={s.id: s for s in ordered})


def _graded(scenarios: Sequence[Scenario], registry: SpecRegistry, profile: str) -> list[Scenario]:
    """Each scenario with its grade from data (harness.specs.grades.scenario_grade); refingerprinted if it changed."""
    table, overrides = grade_table(registry), registry.profile(profile).grades
    out = []
    for scenario in scenarios:
        grade = scenario_grade(scenario, table, overrides)
        out.append(scenario if grade is scenario.grade else with_fingerprint(replace(scenario, grade=grade)))
    return out


def _applicable(scenarios: Sequence[Scenario], profile: Profile, files: Mapping[str, str]) -> list[Scenario]:
    """Drop scenarios whose `needs:` tags the province profile does not meet.

    `needs:sign-in`: the profile requires 9001 sign-in; `needs:2601-<infno>`: the profile lets 2601
    undo <infno>; `needs:outpatient-a`: the profile's `outpatient_variant` is "A" (2203A/2206A/2207A);
    `needs:gateway-<family>`: the profile's gateway family is <family>.
    Such a scenario tests a rule the province does not have, so it is not part of it.
    """
    problems: list[Problem] = []
    kept = []
    for scenario in scenarios:
        allowed = True
        for tag in scenario.tags:
            if not tag.startswith("needs:"):
                continue
            need = tag[len("needs:"):]
            if need == "sign-in":
                allowed = allowed and profile.require_sign_in
            elif need.startswith("2601-"):
                allowed = allowed and need[len("2601-"):] in profile.reversible_by_2601
            elif need == "outpatient-a":
                allowed = allowed and profile.outpatient_variant == "A"
            elif need.startswith("gateway-"):  # the gateway-signature scenarios of one family (scenarios/gateway)
                allowed = allowed and need[len("gateway-"):] == str(profile.gateway.get("family", "none"))
            else:
                problems.append(Problem(files.get(scenario.id, scenario.source), 0, 0,
                                        f"scenario {scenario.id} has an unknown tag {tag!r}",
                                        expected="needs:sign-in, needs:2601-<infno>, needs:outpatient-a or "
                                                 "needs:gateway-<family>"))
        if allowed:
            kept.append(scenario)
    raise_if_any(problems, {})
    return kept


def load_suites(registry: SpecRegistry | None = None, profile: str = "baseline", suites: Sequence[str] | None = None,
                *, root: Path | None = None, catalogue: Catalogue | None = None,
                check_names: Iterable[str] | None = None) -> list[Scenario]:
    """The scenarios of the named suites (default: all), in a stable order (suite, then id)."""
    found = load_catalogue_of_scenarios(registry, profile, root=root, catalogue=catalogue, check_names=check_names)
    return found.select(suites)
