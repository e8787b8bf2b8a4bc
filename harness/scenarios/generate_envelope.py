"""Envelope negatives generated from `envelope/request.json`: one scenario per (envelope field, broken rule).

Input: `scenarios/envelope/_envelope.yaml` with one valid base call (a person query by default) and
`skip:` entries for fields whose mutation is not a plain schema refusal (e.g. sign_no, which a site
answers with not-signed-in). Each mutation is an envelope override on the base step. A required field
is broken twice: sent as null (`"msgid": null`, id `.null`) and left out of the message altogether (the
override `{{ omit }}`, id `.missing`), as sites may treat the two differently. As for input negatives,
the generator builds the envelope the runner would build, applies the override and asserts with the
specs validator that the base is valid and the mutant is invalid on exactly that field's clause.
Ids: `env.req.msgid.pattern`, `env.req.inf_time.null`, `env.req.inf_time.missing`. Grades as for input
negatives (`specs/grades.json`).
"""

from __future__ import annotations

from typing import Any

from harness.personas import Catalogue
from harness.scenarios.diagnostics import Problem
from harness.scenarios.loader import Document
from harness.scenarios.mutations import Mutation, Target, mutations_for
from harness.scenarios.probe import MissingProbe, probe_context, probe_envelope
from harness.scenarios.schema import ENVELOPE_TABLE, schema_issues
from harness.scenarios.templates import TemplateSyntaxError, render
from harness.specs import SpecRegistry, grade_table

__all__ = ["envelope_targets", "generate_envelope"]

_FORMAT_OF_REF = {"datetime": "datetime", "date": "date", "admdvs": "admdvs", "timestamp17": "timestamp17"}
OMIT_MARKER = "{{ omit }}"  # the envelope override that leaves a field out (harness.scenarios.templates)
_SKIP_ALWAYS = {"input"}  # the interface schema validates it: covered by the protocol negatives


def envelope_targets(registry: SpecRegistry, profile: str) -> list[Target]:
    schema = registry.schema("envelope/request.json")
    required = set(schema.get("required") or ())
    variants = registry.profile(profile).code_variants
    targets = []
    for name, sub in (schema.get("properties") or {}).items():
        if name in _SKIP_ALWAYS:
            continue
        ref = sub.get("$ref", "") or next((b.get("$ref", "") for b in sub.get("anyOf", []) if "$ref" in b), "")
        fmt = _FORMAT_OF_REF.get(ref.rsplit("/", 1)[-1]) if "types.json" in ref else None
        codes = None
        code_name = sub.get("x-code")
        if code_name:
            code_list = registry.code_list(code_name)
            variant = variants.get(code_name)
            codes = tuple(code_list.variants.get(variant, code_list.values) if variant else code_list.values)
        types = sub.get("type", "string")
        json_type = next((t for t in (types if isinstance(types, list) else [types]) if t != "null"), "string")
        targets.append(Target(name=name, clause=sub.get("x-clause", f"ENV.req.{name}"), title_zh=sub.get("title", ""),
                              json_type=json_type, required=name in required, max_length=sub.get("maxLength"),
                              codes=codes, code_name=code_name, format=fmt, pattern=sub.get("pattern")))
    return targets


def _variants(mutation: Mutation) -> list[tuple[str, Any]]:
    """(id kind, override) pairs: a required field is sent as null (`.null`) and left out (`.missing`)."""
    if mutation.kind == "missing":
        return [("null", None), ("missing", OMIT_MARKER)]
    return [(mutation.kind, mutation.value)]


def _scenario(target: Target, mutation: Mutation, kind: str, value: Any, base: dict[str, Any], step: dict[str, Any],
              title_zh: str, grade: str) -> dict[str, Any]:
    infno = str(step["infno"])
    text = {"null": "null (missing)", "missing": "left out"}.get(kind) or mutation.describe_en.split(" ", 1)[1]
    refused = {
        "name": f"{infno} with envelope {target.name} {text} (refused)",
        "infno": infno,
        "input": step.get("input") or {},
        "envelope": {**(step.get("envelope") or {}), target.name: value},
        "expect": {"ok": False, "cause": "invalid-request", "state_unchanged": True},
    }
    zh = {"null": f"{target.title_zh}({target.name})为空",
          "missing": f"{target.title_zh}({target.name})缺失（不传该字段）"}.get(kind) or mutation.describe_zh
    return {
        "id": f"env.{target.clause.lower().removeprefix('env.')}.{kind}",
        "title": f"Request envelope with {target.name} {text} is refused",
        "title_zh": f"交易报文{zh}应被拒绝",
        "clauses": [target.clause, "R-INPUT-VALIDATED", "R-REFUSAL-SHAPE"],
        "capabilities": list(base.get("capabilities") or []),
        "level": "mandatory" if target.required else "optional",
        "area": "envelope",
        "interface": infno,
        "archetype": base.get("archetype"),
        "tags": ["negative", "envelope", f"mutation:{kind}"],
        "kind": "envelope",
        "grade": grade,
        "steps": [*(base.get("setup") or []), refused, {**step, "name": f"{infno} ({title_zh}) with "
                                                        "a correct envelope still succeeds"}],
        "teardown": list(base.get("teardown") or []),
    }


def generate_envelope(registry: SpecRegistry, profile: str, table: Document, catalogue: Catalogue,
                      problems: list[Problem]) -> Document:
    out = Document(name=table.name, text=table.text, data={"scenarios": []})
    issues = schema_issues(registry, ENVELOPE_TABLE, table.data)
    for issue in issues:
        problems.append(table.problem(issue.path, issue.message, expected=issue.expected, hint=issue.hint,
                                      at_key=issue.at_key))
    if issues:
        return out
    data = table.data
    base = data["base"]
    step = base["step"]
    infno = str(step["infno"])
    archetype = base.get("archetype")
    probes = probe_context(catalogue, (data.get("probe") or {}).get("saved") or {})
    resolve = probes.resolver(archetype)
    identity = probes.identities.get(archetype or "", {})
    try:
        rendered_input = render(step.get("input") or {}, resolve)
        overrides = render(step.get("envelope") or {}, resolve)
    except (MissingProbe, TemplateSyntaxError) as exc:
        problems.append(table.problem(("base", "step"), f"cannot render the base step: {exc}"))
        return out
    envelope = probe_envelope(registry, profile, infno, probes.site, str(identity.get("insuplc_admdvs", "")),
                              rendered_input)
    envelope.update(overrides)
    validator = registry.validator(profile)
    invalid = validator.validate_request(envelope)
    if invalid:
        problems.append(table.problem(("base", "step"), "the base envelope is not valid",
                                      hint="; ".join(v.render() for v in invalid[:5])))
        return out
    skip = data.get("skip") or {}
    spec = registry.interface(infno)
    scenarios: list[dict[str, Any]] = []
    grades = grade_table(registry)  # normative strength per family of negative (specs/grades.json)
    for target in envelope_targets(registry, profile):
        for mutation in mutations_for(target):
            for kind, value in _variants(mutation):
                if f"{target.name}.{kind}" in skip or target.name in skip:
                    continue
                if kind == "missing":
                    sent = {name: v for name, v in envelope.items() if name != target.name}
                else:
                    sent = {**envelope, target.name: value}
                found = validator.validate_request(sent)
                if not found or any(v.clause != target.clause for v in found):
                    got = "; ".join(v.render() for v in found[:4]) or "no violation"
                    problems.append(table.problem(("base",), f"envelope mutation {kind} of {target.clause} is not a "
                                                  "clean negative", hint=f"validator says: {got}; add "
                                                  f"`{target.name}.{kind}` to `skip:` with a reason"))
                    continue
                grade = grades.negative(kind, target.clause, required=target.required)
                scenarios.append(_scenario(target, mutation, kind, value, base, step, spec.title_zh, grade.value))
                out.values[("scenarios", len(scenarios) - 1)] = table.position(("base",))
    out.data = {"scenarios": scenarios}
    return out
