"""`hsa-cert selftest --rules`: every business rule, what verifies it and what breaks it.

For each `R-` clause of rules.json (the business rules, and the `R-CAUSE-…` rule of each failure
cause) it lists the registered checks that cite it (`harness.checks.registry.CHECKS`: a check that
lands later is picked up with no change here), the refusal expectations that name its cause, the
scenarios that cite it, the platform mutants and the proxy mutations that break it; then the rules
that nothing verifies and the rules that no mutant or mutation breaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks import CHECKS
from harness.model import Scenario
from harness.proxy import Mutation
from harness.runner.tamper import TAMPER_CLAUSE
from harness.selftest.catalogue import MutantSpec
from harness.specs import SpecRegistry

__all__ = ["RuleCoverage", "RulesReport", "rules_report"]


@dataclass(frozen=True, slots=True)
class RuleCoverage:
    clause: str
    title_en: str
    title_zh: str
    checks: tuple[str, ...]  # registered checks citing the clause (name, with its grade when checks carry one)
    refusals: int  # scenario steps that expect a refusal for the cause whose rule this is
    scenarios: tuple[str, ...]  # scenarios citing the clause or running a check that cites it
    platform_mutants: tuple[str, ...]
    proxy_mutations: tuple[str, ...]

    @property
    def checked(self) -> bool:
        return bool(self.checks or self.refusals)

    @property
    def mutated(self) -> bool:
        return bool(self.platform_mutants or self.proxy_mutations)

    def to_json(self) -> dict[str, Any]:
        return {"clause": self.clause, "title_en": self.title_en, "title_zh": self.title_zh,
                "checks": list(self.checks), "refusal_expectations": self.refusals,
                "scenarios": len(self.scenarios), "scenario_ids": list(self.scenarios[:10]),
                "platform_mutants": list(self.platform_mutants), "proxy_mutations": list(self.proxy_mutations),
                "checked": self.checked, "mutated": self.mutated}


@dataclass(frozen=True, slots=True)
class RulesReport:
    rules: tuple[RuleCoverage, ...]

    @property
    def without_check(self) -> list[str]:
        return [r.clause for r in self.rules if not r.checked]

    @property
    def without_scenario(self) -> list[str]:
        return [r.clause for r in self.rules if not r.scenarios]

    @property
    def without_mutant(self) -> list[str]:
        return [r.clause for r in self.rules if not r.mutated]

    def to_json(self) -> dict[str, Any]:
        return {"rules": [r.to_json() for r in self.rules], "without_check": self.without_check,
                "without_scenario": self.without_scenario, "without_mutant": self.without_mutant}

    def render_text(self) -> str:
        headers = ["rule", "checks", "refusals", "scenarios", "platform mutants", "proxy mutations"]
        rows = [[r.clause, ", ".join(r.checks) or "-", str(r.refusals or "-"), str(len(r.scenarios) or "-"),
                 ", ".join(r.platform_mutants) or "-", ", ".join(r.proxy_mutations) or "-"] for r in self.rules]
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                 for row in [headers, *rows]]
        lines.append("")
        lines.append(f"{len(self.rules)} rules; {len(self.without_check)} without a check (no registered check and "
                     f"no refusal expectation cites them): {', '.join(self.without_check) or 'none'}")
        unseen = ", ".join(self.without_scenario) or "none"
        lines.append("  (those are verified through their flows' expectations; cited by no scenario at all, their "
                     f"checks running on every answer of their interfaces: {unseen})")
        lines.append(f"{len(self.without_mutant)} without a mutant (no platform mutant or proxy mutation breaks "
                     f"them): {', '.join(self.without_mutant) or 'none'}")
        return "\n".join(lines)


def _check_label(check: Any) -> str:
    grade = getattr(check, "grade", None)
    return f"{check.name} ({getattr(grade, 'value', grade)})" if grade is not None else check.name


def rules_report(registry: SpecRegistry, scenarios: Iterable[Scenario], mutants: Sequence[MutantSpec],
                 mutations: Sequence[Mutation], checks: Mapping[str, Any] | None = None) -> RulesReport:
    registered = CHECKS if checks is None else checks
    cause_clause = {c.id: c.clause for c in registry.causes()}
    check_clause = {name: c.clause for name, c in registered.items()}
    citing: dict[str, list[str]] = {}
    refusals: dict[str, int] = {}
    for scenario in scenarios:
        clauses = set(scenario.clauses)
        for step in (*scenario.steps, *scenario.teardown):
            clauses.update(check_clause[n] for n in step.expect.checks if n in check_clause)
            if step.tamper:  # a gateway-signature step expects the gateway's refusal (harness/runner/tamper.py)
                refusals[TAMPER_CLAUSE] = refusals.get(TAMPER_CLAUSE, 0) + 1
                clauses.add(TAMPER_CLAUSE)
            if step.expect.ok is False and step.expect.cause in cause_clause:
                clause = cause_clause[step.expect.cause]
                refusals[clause] = refusals.get(clause, 0) + 1
                clauses.add(clause)
        for clause in clauses:
            citing.setdefault(clause, []).append(scenario.id)
    entries = [(r.id, r.title_en, r.title_zh) for r in registry.rules()]
    known = {clause for clause, _, _ in entries}
    entries += [(c.clause, c.title_en, c.title_zh) for c in registry.causes() if c.clause not in known]
    return RulesReport(tuple(
        RuleCoverage(
            clause=clause, title_en=title_en, title_zh=title_zh,
            checks=tuple(_check_label(c) for c in registered.values() if c.clause == clause),
            refusals=refusals.get(clause, 0), scenarios=tuple(citing.get(clause, ())),
            platform_mutants=tuple(m.name for m in mutants if m.clause == clause),
            proxy_mutations=tuple(m.name for m in mutations if clause in m.clauses),
        )
        for clause, title_en, title_zh in entries
    ))
