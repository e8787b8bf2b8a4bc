"""Normative grades from data: the grade of a generated case, of a rule, and a finding's effective grade.

The table is `specs/grades.json` (families of generated negatives, clause exceptions, rules
whose source is weaker than the spec's text); a province profile's `grades` key raises or lowers any
grade (clause id, fnmatch glob on the clause, scenario id glob, or check name -> grade). A site config
never changes a grade. The effective grade of a finding = its own grade, replaced by the profile's
matching entry, capped by the grade of the scenario it was found in (a SHOULD scenario cannot fail a
certificate, whatever its steps find).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import SpecError
from harness.model import Failure, Grade, Scenario

if TYPE_CHECKING:
    from harness.specs.loader import SpecRegistry
    from harness.specs.profiles import Profile

__all__ = ["GRADE_LABELS", "GradeTable", "effective_grade", "grade_table", "override_for", "scenario_grade", "weaker"]

GRADES_FILE = "grades.json"
SUITE_BUG = "suite bug"  # the title prefix of findings about the scenario itself (harness.runner, harness.checks)
# Bilingual labels for reports: 必须 MUST / 应当 SHOULD / 可以 MAY.
GRADE_LABELS: dict[Grade, str] = {Grade.MUST: "必须 MUST", Grade.SHOULD: "应当 SHOULD", Grade.MAY: "可以 MAY"}


def weaker(a: Grade, b: Grade) -> Grade:
    """The weaker of two grades (MAY < SHOULD < MUST)."""
    return a if a.rank >= b.rank else b


@dataclass(frozen=True, slots=True)
class _ClauseRule:
    match: str
    kinds: tuple[str, ...]
    grade: Grade
    why: str


@dataclass(frozen=True, slots=True)
class GradeTable:
    """The grade table: families of generated cases, clause exceptions, rules (each entry's `why` stays in the file)."""

    families: Mapping[str, Grade] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    clauses: tuple[_ClauseRule, ...] = ()
    rules: Mapping[str, Grade] = field(default_factory=dict)

    def family(self, name: str) -> Grade:
        """The grade of a family of generated cases (`<kind>.<required|optional|profile>`); MUST if unlisted."""
        return self.families.get(name, Grade.MUST)

    def negative(self, kind: str, clause: str, *, required: bool) -> Grade:
        """The grade of a generated negative: `kind` of mutation, on the field `clause`.

        `required`: the spec's table requires the field. A "missing" negative of a field it does not require
        exists only because the province profile requires it (family `missing.profile`).
        """
        if kind in ("missing", "null"):
            family = f"{kind}.required" if required else "missing.profile"
        elif kind == "xregion-missing":
            family = kind
        else:
            family = f"{kind}.{'required' if required else 'optional'}"
        grade = self.family(family)
        for rule in self.clauses:
            if fnmatch.fnmatchcase(clause, rule.match) and (not rule.kinds or kind in rule.kinds):
                grade = rule.grade
        return grade

    def rule(self, clause: str) -> Grade:
        """The grade of a business rule or clause; MUST unless the table lowers it."""
        return self.rules.get(clause, Grade.MUST)


def _grade(value: Any, where: str, path: Path) -> Grade:
    try:
        return Grade(value)
    except ValueError as exc:
        raise SpecError(f"{where}: {value!r} is not a grade", location=str(path),
                        hint="one of MUST, SHOULD, MAY") from exc


def table_from(doc: Mapping[str, Any], path: Path) -> GradeTable:
    families = {str(name): _grade(entry.get("grade"), f"families.{name}", path)
                for name, entry in (doc.get("families") or {}).items()}
    why = {str(name): str(entry.get("why", "")) for name, entry in (doc.get("families") or {}).items()}
    clauses = tuple(_ClauseRule(str(c["match"]), tuple(c.get("kinds") or ()), _grade(c.get("grade"), "clauses", path),
                                str(c.get("why", ""))) for c in doc.get("clauses") or ())
    rules = {str(rid): _grade(entry.get("grade"), f"rules.{rid}", path)
             for rid, entry in (doc.get("rules") or {}).items()}
    return GradeTable(families, why, clauses, rules)


@lru_cache(maxsize=8)
def _load(path: str) -> GradeTable:
    from harness.specs.loader import read_json  # the loader imports this package's modules: import late

    file = Path(path)
    if not file.is_file():
        return GradeTable()  # a spec version without a grades table: everything is MUST, as before
    doc = read_json(file)
    if not isinstance(doc, Mapping):
        raise SpecError("grades.json must be a JSON object", location=path)
    try:
        return table_from(doc, file)
    except (AttributeError, KeyError, TypeError) as exc:
        raise SpecError("grades.json is malformed", location=path, detail=repr(exc)) from exc


def grade_table(registry: SpecRegistry) -> GradeTable:
    """The grade table of the registry's specs folder, `specs/grades.json` (read once; all MUST without it)."""
    return _load(str(registry.root / GRADES_FILE))


def override_for(overrides: Mapping[str, Grade], names: Iterable[str | None]) -> Grade | None:
    """The profile's grade for the first name (clause, scenario id or check name) an entry matches.

    An exact key wins over a glob; among globs the longest (most specific) wins.
    """
    candidates = [n for n in names if n]
    for name in candidates:
        if name in overrides:
            return overrides[name]
    best: tuple[int, Grade] | None = None
    for pattern, grade in overrides.items():
        globbed = any(ch in pattern for ch in "*?[") and any(fnmatch.fnmatchcase(n, pattern) for n in candidates)
        if globbed and (best is None or len(pattern) > best[0]):
            best = (len(pattern), grade)
    return best[1] if best else None


def scenario_grade(scenario: Scenario, table: GradeTable, overrides: Mapping[str, Grade] | None = None) -> Grade:
    """A scenario's grade: its own (stated in YAML or by its generator; MUST by default), lowered by the table's
    grade of its first clause (the rule it is about), then replaced by the profile's entry matching that clause
    or the scenario id."""
    lead = scenario.clauses[0] if scenario.clauses else ""
    grade = weaker(scenario.grade, table.rule(lead)) if lead else scenario.grade
    return override_for(overrides or {}, (lead, scenario.id)) or grade


def effective_grade(failure: Failure, scenario_grade: Grade = Grade.MUST,
                    profile: Profile | Mapping[str, Grade] | None = None) -> Grade:
    """failure.grade, replaced by the profile's matching entry (clause or check name), capped by the scenario's.

    A suite bug ("suite bug: …": the harness could not build or judge the step) says nothing of the site's
    conformance and proves nothing either: it is MUST whatever the check's own grade, so a scenario that could not
    be judged never passes.
    """
    if failure.title.startswith(SUITE_BUG):
        return Grade.MUST
    overrides = profile if isinstance(profile, Mapping) else (profile.grades if profile is not None else {})
    check = failure.evidence.get("check") if isinstance(failure.evidence, Mapping) else None
    grade = override_for(overrides, (failure.clause, str(check) if check else None)) or failure.grade
    return weaker(grade, scenario_grade)
