"""The mutation catalogue: `mutations.json` beside this module, read and checked once.

Each mutation is data: which answers it touches (`infnos`, and `when`: a success, a refusal, a
replayed msgid, any), the operations that rewrite such an answer (kinds in `operations.KINDS`), the
clauses the rewritten answer violates, and the grade of the strongest of them (only MUST mutations
count in the MUST score). `select` optionally narrows the scenarios that meet it (by tag, area,
kind); by default a mutation meets every non-negative scenario that calls one of its interfaces.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import ConfigError, UsageError
from harness.model import Grade, Scenario
from harness.proxy.operations import KINDS, REQUIRED_PARAMS
from harness.proxy.paths import parse_path

__all__ = ["CATALOGUE_FILE", "WHEN", "Mutation", "load_mutations", "select_by_name", "select_mutations"]

T = TypeVar("T")

# Package data beside this module (in a checkout and in an installed wheel alike).
CATALOGUE_FILE = Path(str(importlib.resources.files("harness.proxy") / "mutations.json"))
WHEN = ("success", "refusal", "replay", "any")
CATEGORIES = ("money", "rules", "protocol", "isolation")
DEFAULT_KINDS = ("flow", "generated", "envelope")


@dataclass(frozen=True, slots=True)
class Mutation:
    name: str
    description: str
    category: str
    infnos: tuple[str, ...]  # "*" = every interface
    ops: tuple[Mapping[str, Any], ...]
    clauses: tuple[str, ...]
    grade: Grade
    when: str = "success"
    match_cause: str | None = None  # refusals only: the failure cause whose err_msg patterns the refusal matches
    why_graded: str = ""
    select: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # the known real-world deviation (specs/<version>/deviations.json) the rewrite is: a profile that tolerates
    # it grades it SHOULD, so there the mutation is no MUST bug ("tolerated by profile")
    deviation: str | None = None
    # at most this many of the scenarios it meets per interface (MUST-graded first): a bound for mutations that meet
    # the ~900 generated negatives, so the self-test stays fast; 0 = every scenario it meets
    per_interface: int = 0

    def grade_under(self, tolerated: Sequence[str] = ()) -> Grade:
        """The mutation's grade under a profile tolerating these deviations (a tolerated one is at most SHOULD)."""
        if self.deviation and self.deviation in tolerated and self.grade is Grade.MUST:
            return Grade.SHOULD
        return self.grade

    def applies_to(self, infno: str) -> bool:
        return "*" in self.infnos or infno in self.infnos

    def selects(self, scenario: Scenario) -> bool:
        """Does this mutation meet the scenario? Its kind must be allowed, and it must call one of the interfaces
        (or carry one of the tags / be in one of the areas named in `select`)."""
        if scenario.kind not in self.select.get("kinds", DEFAULT_KINDS):
            return False
        tags, areas = self.select.get("tags", ()), self.select.get("areas", ())
        if tags or areas:
            return any(t in tags for t in scenario.tags) or scenario.area in areas
        if "*" in self.infnos:
            return True
        return any(step.infno in self.infnos for step in (*scenario.steps, *scenario.teardown))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "category": self.category, "description": self.description,
                "infnos": list(self.infnos), "when": self.when, "clauses": list(self.clauses),
                "grade": self.grade.value, "ops": [dict(op) for op in self.ops],
                **({"deviation": self.deviation} if self.deviation else {})}


def _tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a string or a list of strings", location=str(CATALOGUE_FILE))
    return tuple(value)


def mutation_from(entry: Mapping[str, Any]) -> Mutation:
    """One catalogue entry, checked (ConfigError naming the entry and what is wrong)."""
    name = str(entry.get("name") or "")
    where = f"mutation {name or '(unnamed)'}"
    missing = [k for k in ("name", "description", "category", "infnos", "ops", "clauses", "grade") if k not in entry]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}", location=str(CATALOGUE_FILE))
    if entry["category"] not in CATEGORIES:
        raise ConfigError(f"{where}: category must be one of {', '.join(CATEGORIES)}", location=str(CATALOGUE_FILE))
    when = entry.get("when", "success")
    if when not in WHEN:
        raise ConfigError(f"{where}: when must be one of {', '.join(WHEN)}", location=str(CATALOGUE_FILE))
    try:
        grade = Grade(entry["grade"])
    except ValueError as exc:
        raise ConfigError(f"{where}: grade must be MUST, SHOULD or MAY", location=str(CATALOGUE_FILE)) from exc
    ops = entry["ops"]
    if not isinstance(ops, list) or not ops:
        raise ConfigError(f"{where}: ops must be a non-empty list", location=str(CATALOGUE_FILE))
    for op in ops:
        kind = op.get("op") if isinstance(op, Mapping) else None
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown operation {kind!r}", location=str(CATALOGUE_FILE),
                              hint=f"known operations: {', '.join(KINDS)}")
        lacking = [p for p in REQUIRED_PARAMS[kind] if p not in op]
        if lacking:
            raise ConfigError(f"{where}: operation {kind} needs {', '.join(lacking)}", location=str(CATALOGUE_FILE))
        for key in ("path", "from_path", "delta_from"):
            if isinstance(op.get(key), str):
                parse_path(op[key].removeprefix("request."))
    select = {k: _tuple(v, f"{where} select.{k}") for k, v in (entry.get("select") or {}).items()}
    return Mutation(name=name, description=str(entry["description"]), category=str(entry["category"]),
                    infnos=_tuple(entry["infnos"], f"{where} infnos"), ops=tuple(ops),
                    clauses=_tuple(entry["clauses"], f"{where} clauses"), grade=grade, when=when,
                    match_cause=entry.get("match_cause"), why_graded=str(entry.get("why_graded", "")),
                    select=select, deviation=entry.get("deviation"), per_interface=int(entry.get("per_interface", 0)))


@cache
def load_mutations(path: Path = CATALOGUE_FILE) -> dict[str, Mutation]:
    """The catalogue in file order, keyed by name."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the mutation catalogue {path}", detail=str(exc), location=str(path)) from exc
    found: dict[str, Mutation] = {}
    for entry in doc.get("mutations", []):
        mutation = mutation_from(entry)
        if mutation.name in found:
            raise ConfigError(f"mutation {mutation.name} is listed twice", location=str(path))
        found[mutation.name] = mutation
    return found


def select_by_name(catalogue: Mapping[str, T], names: Sequence[str] | None, *, unknown_as: str,
                   known_as: str, hint: str) -> list[T]:
    """The catalogue in its order, or its named entries; a UsageError names the first unknown one.

    Shared by the proxy mutations and the platform mutants (harness.selftest): `unknown_as` begins the
    message ("unknown proxy mutation"), `known_as` the detail that lists the catalogue ("known: ").
    """
    if not names:
        return list(catalogue.values())
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise UsageError(f"{unknown_as} {unknown[0]!r}", detail=known_as + ", ".join(catalogue), hint=hint)
    wanted = set(names)
    return [entry for name, entry in catalogue.items() if name in wanted]


def select_mutations(names: Sequence[str] | None = None) -> list[Mutation]:
    """The catalogue in its order, or the named mutations (UsageError naming an unknown one)."""
    return select_by_name(load_mutations(), names, unknown_as="unknown proxy mutation", known_as="known: ",
                          hint="`hsa-cert selftest --list` shows both catalogues")
