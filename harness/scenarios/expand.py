"""Failure causes x business flows, expanded from one small table (`scenarios/causes/_matrix.yaml`).

The table names flow skeletons (steps with {{ args.cause }} at the refusal point) and, per failure
cause, the archetype that carries the defect, the flows it applies to, extra clauses and optional
envelope overrides (e.g. presenting a non-networked institution). Every (cause, flow) pair becomes a
scenario `cause.<cause>.<flow>`; titles and the cause's clause come from specs rules.json, so the
table stays a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scenarios.diagnostics import Problem, closest
from harness.scenarios.loader import Document
from harness.scenarios.schema import CAUSE_MATRIX, schema_issues
from harness.scenarios.templates import substitute_args
from harness.specs import SpecRegistry, grade_table

__all__ = ["expand_causes"]

def _with_envelope(steps: list[Any], envelope: Mapping[str, Any]) -> list[Any]:
    if not envelope:
        return list(steps)
    return [{**step, "envelope": {**(step.get("envelope") or {}), **envelope}} for step in steps]


def expand_causes(registry: SpecRegistry, table: Document, problems: list[Problem]) -> Document:
    """The cause x flow scenarios as an in-memory Document whose positions point into the table."""
    out = Document(name=table.name, text=table.text, data={"scenarios": []})
    issues = schema_issues(registry, CAUSE_MATRIX, table.data)
    for issue in issues:
        problems.append(table.problem(issue.path, issue.message, expected=issue.expected, hint=issue.hint,
                                      at_key=issue.at_key))
    if issues:
        return out
    flows: Mapping[str, Any] = table.data["flows"]
    causes = {c.id: c for c in registry.causes()}
    scenarios: list[dict[str, Any]] = []
    for index, row in enumerate(table.data["causes"]):
        where = ("causes", index)
        cause = causes.get(row["cause"])
        if cause is None:
            problems.append(table.problem((*where, "cause"), f"unknown failure cause {row['cause']!r}",
                                          expected="a cause id of specs rules.json",
                                          hint=closest(row["cause"], causes)))
            continue
        chosen = row["flows"]
        pairs = [(name, name) for name in chosen] if isinstance(chosen, list) else list(chosen.items())
        for label, flow_name in pairs:
            flow = flows.get(flow_name)
            if flow is None:
                problems.append(table.problem((*where, "flows"), f"unknown flow {flow_name!r}",
                                              expected="a name under `flows:`", hint=closest(flow_name, flows)))
                continue
            args = {"cause": cause.id, "archetype": row["archetype"], **(row.get("with") or {})}
            envelope = row.get("envelope") or {}
            steps, teardown = [], []
            for key, target in (("steps", steps), ("teardown", teardown)):
                body, missing = substitute_args(_with_envelope(flow.get(key) or [], envelope), args)
                for name in sorted(set(missing)):
                    problems.append(table.problem(("flows", flow_name, key), f"flow {flow_name!r} uses "
                                                  f"args.{name}, which cause {cause.id!r} does not give",
                                                  hint=f"add `with: {{{name}: ...}}` to the cause row"))
                target.extend({**s, "with": {**args, **(s.get("with") or {})}} if "use" in s else s for s in body)
            scenario = {
                "id": f"cause.{cause.id}.{label}",
                "title": f"{flow['title']} refused: {cause.title_en.rstrip('.')}",
                "title_zh": f"{flow['title_zh']}：{cause.title_zh}应被拒绝且不留状态",
                "clauses": list(dict.fromkeys([cause.clause, *(row.get("clauses") or []),
                                               *(flow.get("clauses") or []), "R-REFUSAL-NO-STATE-CHANGE"])),
                "capabilities": list(flow.get("capabilities") or []),
                "level": row.get("level") or flow.get("level") or "mandatory",
                "area": flow["area"],
                "interface": flow["interface"],
                "archetype": row["archetype"],
                "tags": ["cause", f"cause:{cause.id}", *(row.get("tags") or [])],
                "kind": "generated",
                "grade": grade_table(registry).rule(cause.clause).value,  # the cause's rule (grades.json `rules`)
                "steps": steps,
                "teardown": teardown,
            }
            out.values[("scenarios", len(scenarios))] = table.position(where)
            scenarios.append(scenario)
    out.data = {"scenarios": scenarios}
    return out
