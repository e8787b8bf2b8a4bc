"""The rule audit: which check or scenario expectation verifies each rule, and which rules nothing verifies.

The mapping is data (`specs/checks/<spec-version>/rule-checks.json`, hand-written beside the generated
spec): every `R-` clause of rules.json and every [C] fact of interface-facts.md, with its grade, the
checks that verify it, whether scenarios do (they
cite the rule id in their `clauses`), whether the schema validation or every exchange of a kind does,
and otherwise the reason nothing can. The registry adds every check whose clause is the rule's id, so
a new check is counted without editing the data. `unchecked_rules()` is what `hsa-cert selftest
--rules` lists; pass it the clauses the loaded scenarios cite to count only scenario expectations
that really exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks.registry import CHECKS
from harness.resources import specs_dir

__all__ = ["MAPPING_NAME", "RuleRecord", "audit", "mapping_problems", "unchecked_rules"]

MAPPING_NAME = "rule-checks.json"
_SPECS = specs_dir()  # checkout or installed copy (harness.resources)
_DEFAULT_VERSION = "v1.1.27"


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """One rule as the audit sees it. `verified_by` names the kinds of verification found (check, scenario,
    schema, implicit); empty means nothing verifies the rule, and `reason` says why."""

    id: str
    title: str
    tag: str  # C / L / U / V from the facts, or "spec" for a rule the spec text states
    grade: str  # MUST / SHOULD / MAY
    checks: tuple[str, ...]
    verified_by: tuple[str, ...]
    reason: str = ""

    @property
    def checked(self) -> bool:
        return bool(self.verified_by)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "tag": self.tag, "grade": self.grade, "checks": list(self.checks),
                "verified_by": list(self.verified_by), "reason": self.reason}


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _documents(specs: Path | None, version: str | None) -> tuple[Any, Any]:
    """(rule-checks.json, rules.json) of a spec version under a specs folder."""
    root, name = specs or _SPECS, version or _DEFAULT_VERSION
    return _read(root / "checks" / name, MAPPING_NAME), _read(root / name, "rules.json")


def _tag(source: str) -> str:
    return next((t for t in ("U", "V", "L", "C") if f"[{t}]" in source), "spec")


def audit(scenario_clauses: Iterable[str] | None = None, specs: Path | None = None,
          version: str | None = None) -> list[RuleRecord]:
    """Every rule of the mapping with what verifies it. With `scenario_clauses` (the clauses the scenarios cite),
    a scenario expectation counts only when some scenario cites the rule (or one of its `scenario_clauses`)."""
    mapping, rules = _documents(specs, version)
    described = {r["id"]: r for r in rules.get("rules", ()) if isinstance(r, Mapping)}
    cited = set(scenario_clauses) if scenario_clauses is not None else None
    records = []
    for entry in [*mapping.get("rules", ()), *mapping.get("facts", ())]:
        rule_id = entry["id"]
        rule = described.get(rule_id, {})
        title = entry.get("title") or " / ".join(t for t in (rule.get("title_en"), rule.get("title_zh")) if t)
        tag = entry.get("tag") or _tag(str(rule.get("source", "")))
        by_clause = [name for name, chk in CHECKS.items() if chk.clause == rule_id]
        checks = tuple(dict.fromkeys([*(n for n in entry.get("checks", ()) if n in CHECKS), *by_clause]))
        clauses = list(entry.get("scenario_clauses", ()))
        if entry.get("scenarios"):
            clauses.insert(0, rule_id)
        verified = []
        if checks:
            verified.append("check")
        if clauses and (cited is None or any(c in cited for c in clauses)):
            verified.append("scenario")
        if entry.get("schema"):
            verified.append("schema")
        if entry.get("implicit"):
            verified.append("implicit")
        reason = entry.get("reason", "")
        if not verified and not reason:
            reason = "no check and no scenario cites it" if clauses else "no check, scenario or reason recorded"
        records.append(RuleRecord(id=rule_id, title=title, tag=tag, grade=entry.get("grade", "MUST"), checks=checks,
                                  verified_by=tuple(verified), reason=reason))
    return records


def unchecked_rules(scenario_clauses: Iterable[str] | None = None, specs: Path | None = None,
                    version: str | None = None) -> list[RuleRecord]:
    """The rules nothing verifies (no check, no scenario expectation, no schema), each with its reason."""
    return [record for record in audit(scenario_clauses, specs, version) if not record.checked]


def mapping_problems(specs: Path | None = None, version: str | None = None) -> list[str]:
    """What is wrong with the mapping itself: R- rules it leaves out or does not know, checks it names that are
    not registered, registered checks that cite a clause no rule of the mapping has."""
    mapping, rules = _documents(specs, version)
    mapped = [e["id"] for e in mapping.get("rules", ())]
    known = [r["id"] for r in rules.get("rules", ())]
    problems = [f"rule {i} of rules.json is not in {MAPPING_NAME}" for i in known if i not in mapped]
    problems += [f"{MAPPING_NAME} maps {i}, which rules.json does not have" for i in mapped if i not in known]
    problems += [f"{MAPPING_NAME}: {e['id']} names unknown check {n!r}"
                 for e in [*mapping.get("rules", ()), *mapping.get("facts", ())] for n in e.get("checks", ())
                 if n not in CHECKS]
    all_ids = set(mapped) | {e["id"] for e in mapping.get("facts", ())}
    problems += [f"check {n} cites {c.clause}, which no rule of {MAPPING_NAME} has" for n, c in CHECKS.items()
                 if c.clause.startswith("R-") and c.clause not in all_ids]
    return problems
