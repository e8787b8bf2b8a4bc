"""Scenario files and generator tables checked against `specs/scenario.schema.json` by the spec layer.

The registry validates (`SpecRegistry.validate_document`, jsonschema-rs) and reports each violation
with a JSON pointer into the document. This module turns violations into `SchemaIssue`s: a YAML path
(which the loader maps to file:line and a snippet), a message in the scenario author's terms, what
was expected, and a hint. Two violations need more than the pointer:

- a missing required key is reported at the object that lacks it (the key has no line of its own);
- an unknown key is reported at the key itself, with the keys allowed there and a "did you mean".
  The allowed keys come from the schema governing that object, found by walking the schema along
  the document path; an `if`/`then`/`else` (how the schema tells a `use:` step from a transaction)
  is decided by asking the registry whether the value satisfies the `if`.

The schema dispatches between forms with `if`/`then`/`else`, not `anyOf`, so that a broken step is
reported with its real problems instead of "matches none of the allowed forms".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.model import SchemaViolation
from harness.scenarios.diagnostics import closest
from harness.specs import SpecRegistry, json_type_name, pointer_of

__all__ = [
    "CAUSE_MATRIX",
    "ENVELOPE_TABLE",
    "NEGATIVE_TABLE",
    "SCENARIO_FILE",
    "SCENARIO_SCHEMA",
    "STEP",
    "SchemaIssue",
    "schema_issues",
]

SCENARIO_SCHEMA = "scenario.schema.json"  # specs/scenario.schema.json, registered by its $id
SCENARIO_FILE = SCENARIO_SCHEMA
STEP = f"{SCENARIO_SCHEMA}#/$defs/step"
CAUSE_MATRIX = f"{SCENARIO_SCHEMA}#/$defs/cause_matrix"
NEGATIVE_TABLE = f"{SCENARIO_SCHEMA}#/$defs/negative_table"
ENVELOPE_TABLE = f"{SCENARIO_SCHEMA}#/$defs/envelope_table"

YamlPath = tuple[str | int, ...]
_ADDITIONAL = "Additional properties are not allowed"
_MAX_HOPS = 16  # $ref / if-then-else hops while settling one location: the schema has no deeper chains


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One problem at a YAML path. `at_key`: point at the key itself (an unknown key)."""

    path: YamlPath
    message: str
    expected: str = ""
    hint: str = ""
    at_key: bool = False


def schema_issues(registry: SpecRegistry, ref: str, data: Any) -> list[SchemaIssue]:
    """Every problem of `data` against the scenario-schema location `ref`, in document order."""
    issues: list[SchemaIssue] = []
    for violation in registry.validate_document(ref, data):
        issues.extend(_explain(registry, ref, data, violation))
    return list(dict.fromkeys(issues))


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _yaml_path(data: Any, pointer: str) -> YamlPath:
    """A JSON pointer as a YAML path: list positions become ints (mapping keys such as "2207" stay text)."""
    path: list[str | int] = []
    node = data
    for raw in pointer.split("/")[1:] if pointer else ():
        token = _unescape(raw)
        if isinstance(node, list) and token.isdigit():
            path.append(int(token))
            node = node[int(token)] if int(token) < len(node) else None
        else:
            path.append(token)
            node = node.get(token) if isinstance(node, Mapping) else None
    return tuple(path)


def _value_at(data: Any, path: YamlPath) -> tuple[bool, Any]:
    node = data
    for part in path:
        present = (part < len(node) if isinstance(node, list) and isinstance(part, int)
                   else isinstance(node, Mapping) and part in node)
        if not present:
            return False, None
        node = node[part]
    return True, node


def _explain(registry: SpecRegistry, ref: str, data: Any, violation: SchemaViolation) -> list[SchemaIssue]:
    path = _yaml_path(data, violation.path)
    found, value = _value_at(data, path)
    hint = ""
    if path and path[-1] in ("infno", "interface"):
        hint = 'write the transaction code as a quoted 4-digit string, e.g. infno: "2207"'
    if violation.message == "required field is missing" and path:
        name = path[-1]
        return [SchemaIssue(path[:-1], f"missing required key '{name}'", expected=f"a '{name}' key")]
    if violation.message.startswith(_ADDITIONAL) and isinstance(value, Mapping):
        return _unknown_keys(registry, ref, data, path, value, violation)
    shown = repr(value) if found else violation.actual
    if violation.message == "not in the code list":
        return [SchemaIssue(path, f"{shown} is not one of the allowed values",
                            expected=violation.expected.removeprefix("one of: "), hint=hint)]
    if violation.message == "wrong type":
        wanted = violation.expected.removeprefix("type ")
        got = json_type_name(value) if found else violation.actual
        return [SchemaIssue(path, f"expected {wanted}, got {got}", expected=wanted, hint=hint)]
    if violation.message == "does not match the required pattern":
        return [SchemaIssue(path, f"{shown} does not match the required pattern", expected=violation.expected,
                            hint=hint)]
    if violation.message in ("too short", "too long"):
        return [SchemaIssue(path, f"{shown} is {violation.message} ({violation.actual})",
                            expected=violation.expected.replace("minLength", "at least").replace(
                                "maxLength", "at most") + " characters", hint=hint)]
    message = violation.message if not violation.actual or not found else f"{violation.message}: {shown}"
    return [SchemaIssue(path, message, expected=violation.expected, hint=hint)]


def _unknown_keys(registry: SpecRegistry, ref: str, data: Any, path: YamlPath, value: Mapping[str, Any],
                  violation: SchemaViolation) -> list[SchemaIssue]:
    allowed = _allowed_keys(registry, ref, data, path)
    if allowed is None:  # cannot tell which part of the schema governs here: report the object as a whole
        return [SchemaIssue(path, violation.message)]
    listed = ", ".join(allowed)
    return [SchemaIssue((*path, key), f"unknown key {key!r}", expected=f"one of: {listed}",
                        hint=closest(str(key), allowed), at_key=True)
            for key in value if key not in allowed]


def _allowed_keys(registry: SpecRegistry, ref: str, data: Any, path: YamlPath) -> list[str] | None:
    """The property names of the schema that governs the object at `path`, or None when unknown."""
    document, _, fragment = ref.partition("#")
    at = _settle(registry, document, fragment, data)
    node = data
    for part in path:
        if at is None:
            return None
        schema = registry.schema(f"{document}#{at}")
        if isinstance(part, int):
            at = f"{at}/items" if isinstance(schema.get("items"), Mapping) else None
        elif part in (schema.get("properties") or {}):
            at = f"{at}{pointer_of(['properties', part])}"
        elif isinstance(schema.get("additionalProperties"), Mapping):
            at = f"{at}/additionalProperties"
        else:
            return None
        node = node[part]
        at = _settle(registry, document, at, node) if at is not None else None
    if at is None:
        return None
    properties = registry.schema(f"{document}#{at}").get("properties")
    return list(properties) if isinstance(properties, Mapping) else None


def _settle(registry: SpecRegistry, document: str, at: str, value: Any) -> str | None:
    """Follow `$ref` and `if`/`then`/`else` from the schema at pointer `at` until a plain schema remains."""
    for _ in range(_MAX_HOPS):
        schema = registry.schema(f"{document}#{at}")
        if not isinstance(schema, Mapping):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and "properties" not in schema:
            at = ref[1:]
        elif "if" in schema:
            holds = not registry.validate_document(f"{document}#{at}/if", value)
            branch = "then" if holds else "else"
            if branch not in schema:
                return at
            at = f"{at}/{branch}"
        else:
            return at
    return None
