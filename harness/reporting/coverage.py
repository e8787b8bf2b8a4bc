"""Clause coverage against the whole spec: which field clauses a run actually exercised.

The universe is every field clause of the spec edition: per interface its input clauses
(`<infno>.in.<node>.<field>`) and output clauses (`<infno>.out.<node>.<field>`), and the envelope's
(`ENV.req.*`, `ENV.resp.*`). A run exercises
- an input clause when a request it sent for that interface carried the field (any value);
- an output clause when an answer of that interface succeeded (infcode 0), conformed to the output
  schema, and contained the field (a value that was validated);
- an envelope clause when a request (ENV.req) or an answer (ENV.resp) carried the field.
Unlike "clauses cited by the scenarios", this counts what went over the wire and was checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.model import ScenarioResult
from harness.specs import SpecRegistry

__all__ = ["CoverageCounter", "coverage_document", "render_coverage", "spec_clauses"]


def _node_fields(schema: Mapping[str, Any], direction: str) -> dict[str, dict[str, str]]:
    """node -> {field: clause} for one direction ("in"/"out") of an interface schema."""
    out: dict[str, dict[str, str]] = {}
    nodes = schema.get("x-input-nodes" if direction == "in" else "x-output-nodes") or {}
    defs = schema.get("$defs") or {}
    for node in nodes:
        props = (defs.get(f"{direction}.{node}") or {}).get("properties") or {}
        out[node] = {name: str(field.get("x-clause") or f"{schema.get('x-infno')}.{direction}.{node}.{name}")
                     for name, field in props.items()}
    return out


def spec_clauses(registry: SpecRegistry) -> dict[str, dict[str, set[str]]]:
    """{infno or "ENV": {"in"|"out": clauses}} for the whole edition."""
    universe: dict[str, dict[str, set[str]]] = {}
    for spec in registry.interfaces():
        schema = registry.schema(f"interfaces/{spec.infno}.json")
        universe[spec.infno] = {d: {c for fields in _node_fields(schema, d).values() for c in fields.values()}
                                for d in ("in", "out")}
    envelope = {}
    for direction, name in (("in", "envelope/request.json"), ("out", "envelope/response.json")):
        props = registry.schema(name).get("properties") or {}
        envelope[direction] = {str(p["x-clause"]) for p in props.values() if isinstance(p, Mapping) and "x-clause" in p}
    universe["ENV"] = envelope
    return universe


def _rows(value: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
    elif isinstance(value, list):
        yield from (row for row in value if isinstance(row, Mapping))


def _seen(message: Any, nodes: Mapping[str, Mapping[str, str]]) -> set[str]:
    found: set[str] = set()
    if not isinstance(message, Mapping):
        return found
    for node, fields in nodes.items():
        for row in _rows(message if node == "output" and node not in message else message.get(node)):
            found.update(clause for name, clause in fields.items() if name in row)
    return found


class CoverageCounter:
    """The clauses a run exercised, counted as each scenario ends (`add`), so that no exchange is kept for it."""

    def __init__(self, registry: SpecRegistry) -> None:
        self._version = registry.version
        self._universe = spec_clauses(registry)
        schemas = {spec.infno: registry.schema(f"interfaces/{spec.infno}.json") for spec in registry.interfaces()}
        self._nodes = {infno: {d: _node_fields(s, d) for d in ("in", "out")} for infno, s in schemas.items()}
        self._env = {d: {n: str(p.get("x-clause")) for n, p in (registry.schema(f).get("properties") or {}).items()
                         if isinstance(p, Mapping)} for d, f in (("in", "envelope/request.json"),
                                                                  ("out", "envelope/response.json"))}
        self._validator = registry.validator("baseline")
        self._hit: dict[str, dict[str, set[str]]] = {k: {"in": set(), "out": set()} for k in self._universe}

    def add(self, result: ScenarioResult) -> None:
        nodes, env_fields, hit = self._nodes, self._env, self._hit
        for step in result.steps:
            exchange = step.exchange
            if exchange is None or step.infno not in nodes:
                continue
            request = exchange.request_body
            if isinstance(request, Mapping):
                hit["ENV"]["in"].update(env_fields["in"][n] for n in request if n in env_fields["in"])
                hit[step.infno]["in"] |= _seen(request.get("input"), nodes[step.infno]["in"])
            answer = exchange.response_json
            if not isinstance(answer, Mapping):
                continue
            hit["ENV"]["out"].update(env_fields["out"][n] for n in answer if n in env_fields["out"])
            output = answer.get("output")
            if answer.get("infcode") == 0 and isinstance(output, Mapping) and _valid_output(self._validator,
                                                                                          step.infno, output):
                hit[step.infno]["out"] |= _seen(output, nodes[step.infno]["out"])

    def document(self) -> dict[str, Any]:
        """The `coverage` key of results.json: spec-wide and per-interface exercised/total counts."""
        per: dict[str, Any] = {}
        totals = {"in": [0, 0], "out": [0, 0]}
        for key, dirs in self._universe.items():
            entry = {}
            for d in ("in", "out"):
                exercised = self._hit[key][d] & dirs[d]
                entry[d] = {"exercised": len(exercised), "total": len(dirs[d]),
                            "missing": sorted(dirs[d] - exercised)}
                totals[d][0] += len(exercised)
                totals[d][1] += len(dirs[d])
            per[key] = entry
        exercised = totals["in"][0] + totals["out"][0]
        total = totals["in"][1] + totals["out"][1]
        return {
            "spec_version": self._version,
            "definition": "field clauses sent (input, ENV.req) or received in a validated success answer "
                          "(output, ENV.resp), over every field clause of the spec edition",
            "input": {"exercised": totals["in"][0], "total": totals["in"][1]},
            "output": {"exercised": totals["out"][0], "total": totals["out"][1]},
            "exercised": exercised, "total": total,
            "percent": round(100.0 * exercised / total, 1) if total else 0.0,
            "by_interface": per,
        }


def coverage_document(results: Iterable[ScenarioResult], registry: SpecRegistry) -> dict[str, Any]:
    """The `coverage` key of results.json: spec-wide and per-interface exercised/total counts."""
    counter = CoverageCounter(registry)
    for result in results:
        counter.add(result)
    return counter.document()


def render_coverage(doc: Mapping[str, Any], *, missing: bool = False) -> str:
    """A console table of a `coverage` document (hsa-cert specs coverage)."""
    lines = [f"clause coverage against spec {doc.get('spec_version', '')}: {doc['exercised']} of {doc['total']} "
             f"field clauses ({doc['percent']}%); input {doc['input']['exercised']}/{doc['input']['total']}, "
             f"output {doc['output']['exercised']}/{doc['output']['total']}", "",
             f"{'interface':<10} {'input':>11} {'output':>11}"]
    for key, entry in sorted(doc["by_interface"].items(), key=lambda kv: (kv[0] != "ENV", kv[0])):
        cells = [f"{entry[d]['exercised']:>4}/{entry[d]['total']:<4}" for d in ("in", "out")]
        lines.append(f"{key:<10} {cells[0]:>11} {cells[1]:>11}")
        if missing:
            for d in ("in", "out"):
                if entry[d]["missing"]:
                    lines.append(f"    not exercised ({d}): {', '.join(entry[d]['missing'])}")
    return "\n".join(lines)


def _valid_output(validator: Any, infno: str, output: Mapping[str, Any]) -> bool:
    """Whether a success answer's output validates; one that cannot be validated at all (lone surrogates, nesting
    deeper than the validator goes: the runner reported those) exercises no output clause."""
    try:
        return not validator.validate_output(infno, output)
    except (ValueError, UnicodeError, RecursionError):
        return False
