"""Turning validator errors into `SchemaViolation`s: the JSON pointer, the clause, expected and actual.

An error of the compiled validator gives an instance path, an evaluation path and an error kind. The
instance path leads (through `SchemaNavigator`) to the field schema, whose `x-clause` and `title` name
the rule and the field in 中文; the evaluation path leads to the keyword that failed, which says what
was expected. The errors are read by duck typing, so this module does not import the validator library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.model import SchemaViolation
from harness.specs.navigation import SchemaAt, SchemaNavigator, pointer_of

__all__ = [
    "ClauseFallback",
    "describe",
    "describe_enum",
    "envelope_clause",
    "interface_clause",
    "json_type_name",
    "short_json",
    "sorted_by_path",
    "unknown_infno",
    "violations_from_errors",
]

# Clause of a location whose schema carries no x-clause, from the instance path's parts.
ClauseFallback = Callable[[Sequence[str | int]], str]

_JSON_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def short_json(value: Any, limit: int = 60) -> str:
    """The value as JSON (中文 kept), cut to `limit` characters for a one-line report."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_enum(values: Sequence[Any], dict_name: str | None = None, limit: int = 12) -> str:
    if values and all(v in ("", None) for v in values):
        return "empty (" + " or ".join(short_json(v) for v in values) + ")"
    shown = ", ".join(short_json(v) if not isinstance(v, str) or v == "" else v for v in values[:limit])
    more = f", … ({len(values)} codes)" if len(values) > limit else ""
    where = f" of code list {dict_name}" if dict_name else ""
    return f"one{where or ' of'}: {shown}{more}" if values else "no value (empty code list)"


def describe(schemas: SchemaNavigator, at: SchemaAt) -> str:
    """A short human description of what a schema accepts, e.g. 'string ≤30 characters or null'."""
    if isinstance(at.schema, list):  # the value of anyOf / oneOf
        return " or ".join(describe(schemas, SchemaAt(at.doc, f"{at.ptr}/{i}", s)) for i, s in enumerate(at.schema))
    parts: list[str] = []
    for view in schemas.expand(at):
        schema = view.schema
        if "enum" in schema:
            parts.append(describe_enum(schema["enum"], schema.get("x-dict")))
        if "const" in schema:
            parts.append(f"exactly {short_json(schema['const'])}")
        if "type" in schema and "enum" not in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            text = " or ".join(types)
            if "x-digits" in schema:
                text += f" ({schema['x-digits'][0]},{schema['x-digits'][1]})"
            parts.append(text)
        if "maxLength" in schema:
            parts.append(f"≤{schema['maxLength']} characters")
        if "pattern" in schema:
            parts.append(f"matching {schema['pattern']}")
        if "format" in schema:
            parts.append(f"format {schema['format']}")
        if "required" in schema and "properties" not in schema:  # e.g. anyOf: [{required: [a]}, {required: [b]}]
            parts.append("with " + " and ".join(schema["required"]))
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                branches = schema[keyword]
                text = describe(schemas, SchemaAt(view.doc, f"{view.ptr}/{keyword}", branches))
                parts.append(f"({text})" if len(branches) > 1 and len(parts) else text)
    unique = list(dict.fromkeys(parts))
    return ", ".join(unique) if unique else "any value"


def _path_key(parts: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)


def _explain(schemas: SchemaNavigator, err: Any, keyword_at: SchemaAt | None,
             field_at: SchemaAt | None) -> tuple[str, str, str]:
    """(message, expected, actual) for one jsonschema-rs error."""
    kind = err.kind
    name = kind.name
    value = err.instance
    if name == "required":
        expected = "present"
        if field_at is not None:
            expected = f"present ({describe(schemas, field_at)})"
        return "required field is missing", expected, "missing"
    if name == "maxLength":
        return "too long", f"maxLength {kind.limit}", f"{len(value)} characters"
    if name == "minLength":
        return "too short", f"minLength {kind.limit}", f"{len(value)} characters"
    if name == "type":
        return "wrong type", "type " + " or ".join(kind.types), f"{json_type_name(value)} {short_json(value)}"
    if name == "enum":
        dict_name = None
        if field_at is not None:
            dict_name = schemas.annotations(field_at).get("x-code")
        return "not in the code list", describe_enum(kind.options, dict_name), short_json(value)
    if name == "pattern":
        return "does not match the required pattern", f"pattern {kind.pattern}", short_json(value)
    if name == "format":
        return f"not a valid {kind.format}", f"format {kind.format}", short_json(value)
    if name in ("anyOf", "oneOf") and keyword_at is not None:
        code = schemas.annotations(field_at).get("x-code") if field_at is not None else None
        if code:
            return "not in the code list", describe(schemas, keyword_at), short_json(value)
        typed = f"{json_type_name(value)} {short_json(value)}"
        return "matches none of the allowed forms", describe(schemas, keyword_at), typed
    if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return err.message, f"{name} {kind.limit}", short_json(value)
    if name == "const":
        return "wrong value", f"exactly {short_json(kind.expected_value)}", short_json(value)
    return err.message, "", short_json(value)


def violations_from_errors(errors: Iterable[Any], schemas: SchemaNavigator, start: SchemaAt | None,
                           root: SchemaAt, prefix: tuple[str, ...],
                           fallback_clause: ClauseFallback) -> list[SchemaViolation]:
    """Validator errors as violations, duplicates dropped, sorted by path.

    `start` is the schema validated against (instance paths are walked from it), `root` the wrapper
    the validator was compiled from (evaluation paths start there), `prefix` the instance's own place
    in the message (e.g. ("input",)).
    """
    found: dict[tuple[Any, ...], SchemaViolation] = {}
    for err in errors:
        parts: list[str | int] = list(err.instance_path)
        kind = err.kind
        if kind.name == "required":  # report the missing field itself, not its parent
            parts.append(kind.property)
        field_at = schemas.walk(start, parts) if start is not None else None
        notes = schemas.annotations(field_at) if field_at is not None else {}
        clause = notes.get("x-clause") or fallback_clause(parts)
        keyword_at = schemas.follow(root, list(err.evaluation_path))
        message, expected, actual = _explain(schemas, err, keyword_at, field_at)
        violation = SchemaViolation(
            path=pointer_of((*prefix, *parts)),
            clause=clause,
            message=message,
            expected=expected,
            actual=actual,
            field_zh=notes.get("title", ""),
        )
        found.setdefault((tuple(_path_key(parts)), clause, message, expected, actual), violation)
    return [found[k] for k in sorted(found)]


def interface_clause(infno: str, direction: str) -> ClauseFallback:
    def fallback(parts: Sequence[str | int]) -> str:
        return ".".join([infno, direction, *(p for p in parts if isinstance(p, str))])

    return fallback


def envelope_clause(direction: str) -> ClauseFallback:
    def fallback(parts: Sequence[str | int]) -> str:
        return f"ENV.{direction}.{parts[0]}" if parts and isinstance(parts[0], str) else f"ENV.{direction}"

    return fallback


def sorted_by_path(violations: list[SchemaViolation]) -> list[SchemaViolation]:
    def key(v: SchemaViolation) -> tuple[Any, ...]:
        parts = [int(p) if p.isdigit() else p for p in v.path.split("/")[1:]]
        return (_path_key(parts), v.clause, v.message)

    return sorted(violations, key=key)


def unknown_infno(infno: str, known: int, version: str) -> SchemaViolation:
    """The request names a transaction code this spec version does not have."""
    return SchemaViolation(
        path="/infno", clause="ENV.req.infno", message="unknown transaction code",
        expected=f"one of the {known} interfaces of spec {version}",
        actual=short_json(infno), field_zh="交易编号")
