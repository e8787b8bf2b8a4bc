"""Protocol negatives generated from the interface schemas: one scenario per (field, broken rule).

Input: `scenarios/protocol/_base-inputs.yaml`, one valid base call per interface (with the setup steps
that make it valid, e.g. a registered and uploaded visit for 2207) and stand-in values for the saved
names it uses. For every input field the generator applies each mutation of `mutations.py` to the
base input, renders it with the stand-ins and asserts with the specs validator that the base is
valid and the mutant is invalid on exactly that field's clause, before anything is ever sent.

Each scenario: setup steps -> the mutant (expect infcode -1, cause invalid-request, no state change)
-> for state-changing interfaces the unmutated base call, which must now succeed (proving the
refusal committed nothing) -> the base entry's teardown. Ids name what they break:
`neg.2207.in.data.psn_no.missing`, `neg.2204.in.feedetail.cnt.type`. Each carries the grade of its family
in `specs/grades.json` (missing required field MUST, too long SHOULD, bad code in an optional
field SHOULD, cross-region field SHOULD, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.personas import Catalogue
from harness.scenarios.diagnostics import Problem
from harness.scenarios.loader import Document
from harness.scenarios.mutations import Mutation, Target, apply_mutation, mutations_for
from harness.scenarios.probe import MissingProbe, ProbeContext, probe_context, probe_envelope
from harness.scenarios.schema import NEGATIVE_TABLE, schema_issues
from harness.scenarios.templates import TemplateSyntaxError, render
from harness.specs import InterfaceSpec, MessageValidator, SpecRegistry, grade_table, override_for

__all__ = ["AREA_CAPABILITY", "generate_negatives", "interface_targets", "weaker_level"]

AREA_CAPABILITY = {
    "outpatient": "outpatient",
    "inpatient": "inpatient",
    "pharmacy": "pharmacy",
    "filing": "filing",
    "reconciliation": "reconciliation",
}
_LEVEL_ORDER = ("mandatory", "conditional", "optional")

def weaker_level(a: str, b: str) -> str:
    return a if _LEVEL_ORDER.index(a) >= _LEVEL_ORDER.index(b) else b


def _pattern_at(spec: InterfaceSpec, pointer: str) -> str | None:
    node: Any = spec.schema
    for part in pointer.split("/")[1:]:
        if not isinstance(node, Mapping) or part.replace("~1", "/").replace("~0", "~") not in node:
            return None
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node.get("pattern") if isinstance(node, Mapping) else None


def interface_targets(registry: SpecRegistry, profile: str, infno: str) -> list[Target]:
    """Every input field of an interface as a mutation target (array nodes: their first row)."""
    spec = registry.interface(infno)
    variants = registry.profile(profile).code_variants
    targets = []
    for f in spec.fields("in"):
        codes = None
        if f.code:
            code_list = registry.code_list(f.code)
            variant = variants.get(f.code)
            codes = tuple(code_list.variants.get(variant, code_list.values) if variant else code_list.values)
        targets.append(Target(
            name=f.name, clause=f.clause, title_zh=f.title_zh, json_type=f.json_type, required=f.required,
            max_length=f.max_length, codes=codes, code_name=f.code, format=f.format,
            pattern=_pattern_at(spec, f.pointer) if f.pointer else None, node=f.node,
            row=0 if spec.input_nodes.get(f.node) == "array" else None,
        ))
    return targets


def _present(message: Any, target: Target) -> bool:
    holder = message
    for part in target.location:
        if isinstance(part, int):
            if not isinstance(holder, list) or part >= len(holder):
                return False
        elif not isinstance(holder, Mapping) or part not in holder:
            return False
        holder = holder[part]
    return True


class _Generator:
    def __init__(self, registry: SpecRegistry, profile: str, doc: Document, probes: ProbeContext,
                 problems: list[Problem]) -> None:
        self.registry = registry
        self.profile = profile
        self.validator: MessageValidator = registry.validator(profile)
        self.baseline: MessageValidator = registry.validator("baseline")
        self.doc = doc
        self.probes = probes
        self.problems = problems

    def render(self, value: Any, archetype: str | None, where: tuple[str | int, ...]) -> Any | None:
        try:
            return render(value, self.probes.resolver(archetype))
        except MissingProbe as exc:
            self.problems.append(self.doc.problem(where, f"no stand-in value for {{{{ {exc.args[0]} }}}}",
                                                  hint="add it under probe.saved (saved.*) or use a catalogue "
                                                  "field (identity.*, site.*, item.*)"))
        except TemplateSyntaxError as exc:
            self.problems.append(self.doc.problem(where, str(exc)))
        return None

    def request(self, infno: str, step: Mapping[str, Any], input: Any, archetype: str | None) -> dict[str, Any]:
        """The envelope a runner would send (fixed clock), for the checks that need the whole request."""
        identity = self.probes.identities.get(archetype or "", {})
        envelope = probe_envelope(self.registry, self.profile, infno, self.probes.site,
                                  str(identity.get("insuplc_admdvs") or ""), input)
        overrides = self.render(step.get("envelope") or {}, archetype, ())
        envelope.update(overrides or {})
        return envelope

    def interface(self, infno: str, base: Mapping[str, Any]) -> list[dict[str, Any]]:
        where = ("interfaces", infno)
        spec = self.registry.interface(infno)
        step = base["step"]
        if str(step.get("infno")) != infno:
            self.problems.append(self.doc.problem((*where, "step", "infno"),
                                                  f"the base step of {infno} calls {step.get('infno')}"))
            return []
        archetype = base.get("archetype")
        template = step.get("input") or {}
        rendered = self.render(template, archetype, (*where, "step", "input"))
        if rendered is None:
            return []
        invalid = self.validator.validate_request(self.request(infno, step, rendered, archetype))
        if invalid:
            self.problems.append(self.doc.problem(
                (*where, "step", "input"), f"the base input of {infno} is not valid",
                expected="a valid input (negatives mutate one field of it)",
                hint="; ".join(v.render() for v in invalid[:5])))
            return []
        skip = base.get("skip") or {}
        out = []
        cross_region = self.registry.profile(self.profile).cross_region_required.get(infno, ())
        for target in interface_targets(self.registry, self.profile, infno):
            present = _present(template, target)
            always_required = False
            for mutation in mutations_for(target, present=present):
                key = f"{'.'.join(str(p) for p in target.location if not isinstance(p, int))}.{mutation.kind}"
                if key in skip:
                    continue
                scenario = self.negative(spec, base, mutation, archetype)
                if scenario is not None:
                    out.append(scenario)
                    always_required = always_required or mutation.kind == "missing"
            # Required only for cross-region business (a profile setting the schema cannot express); when the
            # profile requires the field always, the plain "missing" negative above already covers it.
            if present and target.name in cross_region and not always_required:
                scenario = self.negative(spec, base, Mutation("missing", target), archetype, cross_region=True)
                if scenario is not None:
                    out.append(scenario)
        return out

    def _clean(self, spec: InterfaceSpec, mutation: Mutation, found: list[Any], clause: str,
               baseline_found: Any) -> bool | None:
        """True: a clean negative; None: the profile legitimately allows it (skip); False: a problem."""
        if found and all(v.clause == clause for v in found):
            return True
        if not found:
            if mutation.kind == "missing" and not mutation.target.required:
                return None  # an optional field may be left out
            if baseline_found():
                return None  # the province profile relaxes the baseline rule
        return False

    def negative(self, spec: InterfaceSpec, base: Mapping[str, Any], mutation: Mutation, archetype: str | None,
                 *, cross_region: bool = False) -> dict[str, Any] | None:
        infno = spec.infno
        where = ("interfaces", infno, "step", "input")
        step = base["step"]
        try:
            mutated = apply_mutation(step.get("input") or {}, mutation)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            self.problems.append(self.doc.problem(where, f"cannot apply {mutation.kind} to "
                                                  f"{mutation.target.clause}: {exc!r}",
                                                  hint="the base input needs the node (and a first row for arrays)"))
            return None
        rendered = self.render(mutated, archetype, where)
        if rendered is None:
            return None
        target = mutation.target
        if cross_region:
            clause = "R-XREGION-FIELDS"
            request = self.request(infno, step, rendered, archetype)
            found = self.validator.validate_request(request)
            verdict = self._clean(spec, mutation, found, clause, lambda: None)
            if verdict is None and not target.required:
                verdict = False  # the profile lists the field: removing it must be refused
        else:
            clause = target.clause
            found = self.validator.validate_input(infno, rendered)
            def baseline() -> bool:
                return any(v.clause == clause for v in self.baseline.validate_input(infno, rendered))

            verdict = self._clean(spec, mutation, found, clause, baseline)
        if verdict is None:
            return None
        if verdict is False:
            got = "; ".join(v.render() for v in found[:4]) or "no violation"
            self.problems.append(self.doc.problem(
                where, f"mutation {mutation.kind} of {target.clause} is not a clean negative",
                expected=f"violations of {clause} only",
                hint=f"validator says: {got}; add it to `skip:` with a reason if the spec allows it"))
            return None
        kind = "xregion-missing" if cross_region else mutation.kind
        required = target.required or mutation.kind == "missing"  # a field the profile makes required
        # Normative strength from data (specs/grades.json): the spec's 必填 column, the kind of rule
        # broken, the fact tag of R-XREGION-FIELDS; the profile's `grades` apply when the catalogue is built.
        grade = grade_table(self.registry).negative(kind, target.clause, required=target.required)
        if cross_region:  # about R-XREGION-FIELDS, which a profile's `grades` may address by name
            grade = override_for(self.registry.profile(self.profile).grades, ("R-XREGION-FIELDS",)) or grade
        level = weaker_level("mandatory" if required else "optional", base.get("level", "mandatory"))
        describe_en = (f"{mutation.describe_en} in a cross-region call" if cross_region else mutation.describe_en)
        describe_zh = (f"异地就医时{mutation.describe_zh}" if cross_region else mutation.describe_zh)
        refused = {
            "name": f"{infno} with {describe_en} (refused)",
            "infno": infno,
            "input": mutated,
            "expect": {"ok": False, "cause": "invalid-request", "state_unchanged": True},
        }
        if step.get("envelope"):
            refused["envelope"] = step["envelope"]
        follow_up = base.get("follow_up", spec.state_changing)
        steps = [*(base.get("setup") or []), refused]
        if follow_up:
            steps.append({**step, "name": f"{infno} unmutated, after the refusal (must succeed: nothing committed)"})
        capabilities = list(base.get("capabilities") or ([AREA_CAPABILITY[spec.area]] if spec.area in
                                                          AREA_CAPABILITY else []))
        clauses = [target.clause, *(["R-XREGION-FIELDS"] if cross_region else []), "R-INPUT-VALIDATED",
                   "R-REFUSAL-NO-STATE-CHANGE", *(base.get("clauses") or [])]
        return {
            "id": f"neg.{target.clause.lower()}.{kind}",
            "title": f"{infno} {spec.name_en or spec.title_zh}: input with {describe_en} is refused",
            "title_zh": f"【{infno}】{spec.title_zh}：{describe_zh}应被拒绝且不改变状态",
            "clauses": list(dict.fromkeys(clauses)),
            "capabilities": capabilities,
            "level": level,
            "area": "protocol",
            "interface": infno,
            "archetype": archetype,
            "tags": ["negative", f"mutation:{kind}"],
            "kind": "negative",
            "grade": grade.value,
            "steps": steps,
            "teardown": list(base.get("teardown") or []),
        }


def generate_negatives(registry: SpecRegistry, profile: str, table: Document, catalogue: Catalogue,
                       problems: list[Problem]) -> Document:
    """The generated scenarios as an in-memory Document whose positions point into the table file."""
    out = Document(name=table.name, text=table.text, data={"scenarios": []})
    data = table.data
    issues = schema_issues(registry, NEGATIVE_TABLE, data)
    for issue in issues:
        problems.append(table.problem(issue.path, issue.message, expected=issue.expected, hint=issue.hint,
                                      at_key=issue.at_key))
    if issues:
        return out
    probes = probe_context(catalogue, (data.get("probe") or {}).get("saved") or {})
    generator = _Generator(registry, profile, table, probes, problems)
    interfaces = {str(k): v for k, v in data["interfaces"].items()}
    excluded = {str(k): v for k, v in (data.get("excluded") or {}).items()}
    scenarios: list[dict[str, Any]] = []
    for spec in registry.interfaces():
        if spec.infno in excluded:
            continue
        if spec.infno not in interfaces:
            problems.append(table.problem(("interfaces",), f"no base input for interface {spec.infno} "
                                          f"({spec.title_zh})", hint="add interfaces.\"" + spec.infno + "\" or list "
                                          "it under `excluded:` with the reason"))
            continue
        for scenario in generator.interface(spec.infno, interfaces[spec.infno]):
            out.values[("scenarios", len(scenarios))] = table.position(("interfaces", spec.infno))
            scenarios.append(scenario)
    out.data = {"scenarios": scenarios}
    return out
