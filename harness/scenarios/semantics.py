"""Checks that need more than the schema: names that must exist, saved values used before they are set,
template expressions, codes written as numbers. Then build the model.Scenario.

The vocabulary (known infnos, check names, archetypes, causes, clauses, field types) is passed in by
the caller (`catalogue.py` builds it from specs, personas and the checks registry); each part is
optional, and an absent part is simply not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.model import Grade, Level, Scenario, Step
from harness.scenarios.diagnostics import Problem, closest
from harness.scenarios.expansion import ConcreteStep, Entry, TemplateLibrary, expand_steps
from harness.scenarios.fingerprint import step_from_dict, with_fingerprint
from harness.scenarios.schema import STEP, SchemaIssue, schema_issues
from harness.scenarios.templates import TemplateSyntaxError, expressions, is_omit, parse_expression

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.specs import SpecRegistry

__all__ = ["Vocabulary", "build_scenario"]


@dataclass(frozen=True)
class Vocabulary:
    """Names a scenario may use. None = not checked."""

    infnos: frozenset[str] | None = None
    check_names: frozenset[str] | None = None
    archetypes: frozenset[str] | None = None
    causes: frozenset[str] | None = None
    clauses: frozenset[str] | None = None
    # infno -> node -> field -> JSON type of the field's value ("string", "number", ...)
    field_types: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None


def _unknown(kind: str, value: str, known: Iterable[str]) -> tuple[str, str]:
    return f"unknown {kind} {value!r}", closest(value, known)


def _check_step(step: ConcreteStep, vocab: Vocabulary, saved: set[str], problems: list[Problem],
                *, teardown: bool) -> None:
    data = step.data
    infno = str(data.get("infno", ""))
    when = data.get("when")
    # A guarded teardown step whose guard this scenario never saves simply never runs (shared cleanup
    # blocks guard each step by what it needs), so its saved.* references are not checked.
    skipped = teardown and when is not None and when not in saved
    if vocab.infnos is not None and infno not in vocab.infnos:
        message, hint = _unknown("infno", infno, vocab.infnos)
        problems.append(step.problem(("infno",), message, expected="an interface in specs/<version>/interfaces/",
                                     hint=hint))
    expect = data.get("expect") or {}
    ok = expect.get("ok", True)
    for key, wanted in (("golden", "a mapping of response path -> value"), ("ok", "true, false or null"),
                        ("cause", "a failure-cause id"), ("may_refuse", "a failure-cause id")):
        value = expect.get(key)
        if isinstance(value, str) and value.startswith("{{"):
            problems.append(step.problem(("expect", key), f"{key} is a template placeholder outside a template block",
                                         expected=wanted))
            return
    for index, name in enumerate(expect.get("checks") or ()):
        if vocab.check_names is not None and name not in vocab.check_names:
            message, hint = _unknown("check", name, vocab.check_names)
            problems.append(step.problem(("expect", "checks", index), message,
                                         expected="a name in the checks registry (contracts section H)", hint=hint))
    cause = expect.get("cause")
    if cause is not None:
        if vocab.causes is not None and cause not in vocab.causes:
            message, hint = _unknown("failure cause", cause, vocab.causes)
            problems.append(step.problem(("expect", "cause"), message, expected="a cause id from rules.json",
                                         hint=hint))
        if ok is True:
            problems.append(step.problem(("expect", "cause"), "a failure cause on a step expected to succeed",
                                         hint="add `ok: false` (a refusal is expected) or drop `cause`"))
    may_refuse = expect.get("may_refuse")
    if may_refuse is not None:
        if vocab.causes is not None and may_refuse not in vocab.causes:
            message, hint = _unknown("failure cause", may_refuse, vocab.causes)
            problems.append(step.problem(("expect", "may_refuse"), message, expected="a cause id from rules.json",
                                         hint=hint))
        if ok is not True or teardown:
            problems.append(step.problem(("expect", "may_refuse"), "may_refuse on a step that is not expected to "
                                         "succeed" if not teardown else "may_refuse on a teardown step",
                                         hint="may_refuse means: success, or a refusal of this cause; a step that "
                                         "must be refused says `ok: false` and `cause:`"))
    if data.get("fault") is not None:
        asked = [key for key in ("checks", "golden", "save", "cause", "state_unchanged", "may_refuse")
                 if expect.get(key)]
        if teardown:
            problems.append(step.problem(("fault",), "a platform fault on a teardown step",
                                         hint="faults belong on a step of the flow, whose lost answer the runner "
                                         "resolves with 2601 before the flow goes on"))
        elif asked or ok is not True:
            problems.append(step.problem(("expect",), "the answer of a fault step is lost, so `expect` cannot ask "
                                         f"anything of it ({', '.join(asked) or 'ok: ' + str(ok).lower()})",
                                         hint="check the outcome in the steps after it (e.g. settle again, 5203)"))
    if expect.get("golden") and ok is not True:
        problems.append(step.problem(("expect", "golden"), "golden values on a step that is not expected to succeed",
                                     hint="golden amounts apply to successful responses only"))
    for part in ("input", "envelope"):
        for sub, text in expressions(data.get(part) or {}, (part,)):
            try:
                expr = parse_expression(text)
            except TemplateSyntaxError as exc:
                problems.append(step.problem(sub, str(exc), expected="identity.*, site.*, item.*, saved.*, run.uniq, "
                                             "now.*, (in an input) ledger.* or (a whole envelope value) omit",
                                             hint="see contracts section G"))
                continue
            if expr.namespace == "omit" and (part != "envelope" or len(sub) != 2
                                             or not is_omit((data.get("envelope") or {}).get(sub[1]))):
                problems.append(step.problem(sub, "'{{ omit }}' can only be the whole value of an envelope field",
                                             expected='envelope: {<field>: "{{ omit }}"}, which leaves the field '
                                             "out of the request",
                                             hint="to leave an input field out, do not write it"))
            if expr.namespace == "ledger" and part != "input":
                problems.append(step.problem(sub, f"'{{{{ {text} }}}}' outside an input",
                                             expected="ledger.* only in a step input (a 3201 asks for the totals "
                                             "its own filter selects)"))
            if expr.namespace == "saved" and expr.name not in saved and not skipped:
                where = "an earlier step" if not teardown else "a step of the scenario"
                hint = closest(expr.name, saved) or f"save it in {where}: expect.save: {{{expr.name}: <path>}}"
                problems.append(step.problem(sub, f"saved.{expr.name} is used but not saved by {where}",
                                             expected=f"one of: {', '.join(sorted(saved)) or '(nothing saved yet)'}",
                                             hint=hint))
    if when is not None and when not in saved and not teardown:
        problems.append(step.problem(("when",), f"`when: {when}` names a value no step saves",
                                     hint=closest(when, saved) or "use a name from some step's expect.save"))
    if ok is not False:
        _lint_types(step, infno, vocab, problems)


def _lint_types(step: ConcreteStep, infno: str, vocab: Vocabulary, problems: list[Problem]) -> None:
    types = (vocab.field_types or {}).get(infno)
    if not types:
        return
    for node, value in (step.data.get("input") or {}).items():
        rows = value if isinstance(value, list) else [value]
        for row_index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                continue
            for name, item in row.items():
                expected = types.get(node, {}).get(name)
                if expected == "string" and isinstance(item, int | float) and not isinstance(item, bool):
                    sub = ("input", node, row_index, name) if isinstance(value, list) else ("input", node, name)
                    problems.append(step.problem(sub, f"{node}.{name} is a string field but the value {item!r} "
                                                 "is a number", expected=f'a quoted string, e.g. "{item}"',
                                                 hint="YAML reads 11 as a number; write \"11\""))


_STEP_ISSUES: dict[tuple[int, str], list[SchemaIssue]] = {}


def _step_issues(registry: SpecRegistry, data: Mapping[str, Any]) -> list[SchemaIssue]:
    """Schema issues of an expanded step, memoised by content (generated suites repeat the same setups)."""
    key = (id(registry), json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))
    found = _STEP_ISSUES.get(key)
    if found is None:
        found = _STEP_ISSUES[key] = schema_issues(registry, STEP, data)
    return found


def _saves(step: ConcreteStep) -> set[str]:
    return set(((step.data.get("expect") or {}).get("save") or {}).keys())


def build_scenario(entry: Entry, library: TemplateLibrary, vocab: Vocabulary, problems: list[Problem],
                   registry: SpecRegistry) -> Scenario | None:
    data = entry.data
    before = len(problems)

    def where(key: str) -> tuple[str | int, ...]:
        return entry.origin.get(key, entry.path)

    steps = expand_steps(data.get("steps") or [], entry.doc, where("steps"), library, problems)
    teardown = expand_steps(data.get("teardown") or [], entry.doc, where("teardown"), library, problems)
    if not steps and len(problems) == before:
        problems.append(entry.doc.problem(where("steps"), "the scenario has no steps after expanding templates"))
    for step in (*steps, *teardown):
        if step.substituted:  # template steps were checked before args were filled in: check them again
            for issue in _step_issues(registry, step.data):
                problems.append(step.problem(issue.path, issue.message, expected=issue.expected, hint=issue.hint,
                                             at_key=issue.at_key))
    saved: set[str] = set()
    for step in steps:
        _check_step(step, vocab, saved, problems, teardown=False)
        saved |= _saves(step)
    for step in teardown:
        _check_step(step, vocab, saved, problems, teardown=True)
        saved |= _saves(step)
    for key in ("clauses", "area"):
        if key not in data:
            problems.append(entry.doc.problem(entry.path, f"the scenario has no `{key}`",
                                              hint=f"add `{key}:` to the scenario or to the file's `defaults:`"))
    for index, clause in enumerate(data.get("clauses") or ()):
        if vocab.clauses is not None and clause not in vocab.clauses:
            message, hint = _unknown("clause", clause, vocab.clauses)
            problems.append(entry.doc.problem((*where("clauses"), index), message,
                                              expected="an id from specs rules.json or an x-clause of a schema",
                                              hint=hint))
    archetype = data.get("archetype")
    if archetype is not None and vocab.archetypes is not None and archetype not in vocab.archetypes:
        message, hint = _unknown("archetype", archetype, vocab.archetypes)
        problems.append(entry.doc.problem(where("archetype"), message,
                                          expected="an archetype of fixtures/catalogue/archetypes.json", hint=hint))
    if len(problems) > before:
        return None
    built_steps = tuple(_to_step(s) for s in steps)
    line, _ = entry.doc.position(entry.path)
    scenario = Scenario(
        id=data["id"],
        title=data["title"],
        title_zh=data["title_zh"],
        clauses=tuple(data["clauses"]),
        capabilities=tuple(data.get("capabilities") or ()),
        level=Level(data.get("level", "mandatory")),
        area=data["area"],
        interface=str(data.get("interface") or built_steps[-1].infno),
        archetype=archetype,
        steps=built_steps,
        teardown=tuple(_to_step(s) for s in teardown),
        tags=tuple(data.get("tags") or ()),
        kind=data.get("kind", "flow"),
        source=f"{entry.doc.name}:{line}",
        grade=Grade(data.get("grade") or "MUST"),
    )
    return with_fingerprint(scenario)


def _to_step(step: ConcreteStep) -> Step:
    return step_from_dict(step.data)
