"""A small JSON Schema interpreter for `specs/scenario.schema.json`, with error paths for file:line.

Why not jsonschema-rs: its one owner is `harness/specs.py` (layer 1, SPECS-CODE stream) whose public
API validates interface messages, not arbitrary schemas. The scenario schema uses a deliberately small
subset of draft 2020-12; this module implements exactly that subset and refuses schemas that use any
other keyword, so it cannot silently skip a rule. `tests/test_scenarios_format.py` cross-checks it
against python-jsonschema on valid and invalid documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "SUPPORTED_KEYWORDS", "SchemaIssue", "check", "scenario_schema", "unsupported_keywords"]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "specs" / "scenario.schema.json"

Path = tuple[str | int, ...]

SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "title", "description",
        "type", "properties", "required", "additionalProperties", "propertyNames",
        "items", "minItems", "enum", "pattern", "minLength", "anyOf",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One violation. `at_key` means the problem is the key itself (e.g. an unknown property)."""

    path: Path
    message: str
    expected: str = ""
    at_key: bool = False


def unsupported_keywords(schema: Any, where: str = "") -> list[str]:
    """Keywords the interpreter does not implement, as JSON-pointer-ish locations."""
    found: list[str] = []
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key not in SUPPORTED_KEYWORDS:
                found.append(f"{where}/{key}")
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    found.extend(unsupported_keywords(sub, f"{where}/{key}/{name}"))
            elif key in ("items", "additionalProperties", "propertyNames") and isinstance(value, Mapping):
                found.extend(unsupported_keywords(value, f"{where}/{key}"))
            elif key == "anyOf":
                for i, sub in enumerate(value):
                    found.extend(unsupported_keywords(sub, f"{where}/{key}/{i}"))
    return found


# Plain dict/list checks: documents come from YAML or JSON, and abc isinstance is slow in this hot loop.
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check(root: Mapping[str, Any], value: Any) -> list[SchemaIssue]:
    """Validate `value` against `root`; every issue found, in document order."""
    return _Checker(root).run(root, value, ())


class _Checker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def run(self, schema: Mapping[str, Any], value: Any, path: Path) -> list[SchemaIssue]:
        issues: list[SchemaIssue] = []
        if "$ref" in schema:
            issues.extend(self.run(self.resolve(schema["$ref"]), value, path))
        if "anyOf" in schema:
            issues.extend(self._any_of(schema["anyOf"], value, path))
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_TYPES[t](value) for t in types):
                return [*issues, SchemaIssue(path, f"expected {' or '.join(types)}, got {_type_name(value)}",
                                             expected=" or ".join(types))]
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(v) for v in schema["enum"])
            issues.append(SchemaIssue(path, f"{value!r} is not one of the allowed values", expected=choices))
        if isinstance(value, str):
            issues.extend(self._string(schema, value, path))
        if isinstance(value, list):
            issues.extend(self._array(schema, value, path))
        if isinstance(value, dict):
            issues.extend(self._object(schema, value, path))
        return issues

    def _any_of(self, branches: Sequence[Mapping[str, Any]], value: Any, path: Path) -> list[SchemaIssue]:
        # Report the branch that came closest: fewest issues, preferring branches whose required
        # keys are present (a step with `use:` is meant to be a use-step, not a broken plain step).
        results = [self.run(branch, value, path) for branch in branches]
        if any(not r for r in results):
            return []

        def score(index: int) -> tuple[int, int]:
            missing = sum(1 for issue in results[index] if issue.message.startswith("missing required"))
            return (missing, len(results[index]))

        best = min(range(len(branches)), key=score)
        return results[best]

    def _string(self, schema: Mapping[str, Any], value: str, path: Path) -> list[SchemaIssue]:
        issues = []
        if "minLength" in schema and len(value) < schema["minLength"]:
            issues.append(SchemaIssue(path, f"too short ({len(value)} characters)",
                                      expected=f"at least {schema['minLength']} characters"))
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            issues.append(SchemaIssue(path, f"{value!r} does not match the required pattern",
                                      expected=f"pattern {schema['pattern']}"))
        return issues

    def _array(self, schema: Mapping[str, Any], value: list[Any], path: Path) -> list[SchemaIssue]:
        issues = []
        if "minItems" in schema and len(value) < schema["minItems"]:
            issues.append(SchemaIssue(path, f"needs at least {schema['minItems']} item(s), got {len(value)}",
                                      expected=f"a list with at least {schema['minItems']} item(s)"))
        if "items" in schema:
            for i, item in enumerate(value):
                issues.extend(self.run(schema["items"], item, (*path, i)))
        return issues

    def _object(self, schema: Mapping[str, Any], value: Mapping[str, Any], path: Path) -> list[SchemaIssue]:
        issues = []
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                issues.append(SchemaIssue(path, f"missing required key '{name}'", expected=f"a '{name}' key"))
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            key_path = (*path, str(key))
            if names is not None:
                issues.extend(
                    SchemaIssue(key_path, f"key {key!r}: {i.message}", i.expected, at_key=True)
                    for i in self.run(names, str(key), key_path)
                )
            if key in props:
                issues.extend(self.run(props[key], item, key_path))
            elif extra is False:
                allowed = ", ".join(props)
                issues.append(SchemaIssue(key_path, f"unknown key {key!r}", expected=f"one of: {allowed}",
                                          at_key=True))
            elif isinstance(extra, Mapping):
                issues.extend(self.run(extra, item, key_path))
        return issues


@lru_cache(maxsize=1)
def scenario_schema() -> Mapping[str, Any]:
    """specs/scenario.schema.json, checked once for keywords this interpreter does not implement."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    unsupported = unsupported_keywords(schema)
    if unsupported:  # a developer error in the schema: fail loudly rather than skip a rule
        raise RuntimeError(f"specs/scenario.schema.json uses keywords the loader does not implement: {unsupported}")
    return schema
