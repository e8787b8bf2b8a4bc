"""The interfaces of a spec version as data: an `InterfaceSpec` per transaction code and its `FieldSpec`s.

The fields are read from the interface schema (after `$ref`s into types.json and the code lists), so
the spec table's facts (中文 name, clause, length, code list, 必填/非空, number precision) have one source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import SpecError
from harness.specs.navigation import SchemaAt, SchemaNavigator, escape_token

__all__ = ["FieldSpec", "InterfaceSpec"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an interface node, as the spec table gives it."""

    direction: str  # "in" | "out"
    node: str
    name: str
    title_zh: str
    clause: str
    json_type: str  # string | number | integer | boolean | object | array (without null)
    max_length: int | None
    required: bool
    code: str | None  # code-list (dictionary) name
    nullable: bool
    pointer: str  # JSON pointer of the field's schema within the interface file
    format: str | None = None  # date | datetime | money | price | qty | ratio | age … (the types.json def)
    digits: tuple[int, int] | None = None  # (precision, scale) of numbers, from x-digits



class InterfaceSpec:
    """One transaction code (infno): its names, its nodes and the fields of each node."""

    def __init__(self, schemas: SchemaNavigator, schema: Mapping[str, Any], path: Path) -> None:
        defs = schema.get("$defs")
        for key in ("x-infno", "title"):
            if key not in schema:
                raise SpecError(f"Interface schema lacks {key!r}", location=str(path))
        if not isinstance(defs, Mapping) or "input" not in defs or "output" not in defs:
            raise SpecError("Interface schema needs $defs.input and $defs.output", location=str(path))
        self._schemas = schemas
        self.schema: Mapping[str, Any] = schema
        self.path = path
        self.schema_id: str = schema["$id"]
        self.infno: str = str(schema["x-infno"])
        self.title_zh: str = schema["title"]
        self.name_en: str = schema.get("x-name-en", "")
        self.area: str = schema.get("x-area", "")
        self.source: str = schema.get("x-source", "")
        self.state_changing: bool = bool(schema.get("x-state-changing", False))
        self.input_nodes: dict[str, str] = dict(schema.get("x-input-nodes") or {})
        self.output_nodes: dict[str, str] = dict(schema.get("x-output-nodes") or {})
        self._fields: dict[str, tuple[FieldSpec, ...]] = {}

    def __repr__(self) -> str:
        return f"InterfaceSpec({self.infno} {self.title_zh})"

    @property
    def input_ref(self) -> str:
        return f"{self.schema_id}#/$defs/input"

    @property
    def output_ref(self) -> str:
        return f"{self.schema_id}#/$defs/output"

    def fields(self, direction: str) -> list[FieldSpec]:
        """Fields of every input ("in") or output ("out") node, in node order then table order."""
        direction = {"input": "in", "output": "out"}.get(direction, direction)
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
        if direction not in self._fields:
            self._fields[direction] = tuple(self._collect(direction))
        return list(self._fields[direction])

    def _collect(self, direction: str) -> list[FieldSpec]:
        nodes = self.input_nodes if direction == "in" else self.output_nodes
        ref = self.input_ref if direction == "in" else self.output_ref
        root = self._schemas.get(ref)
        found: list[FieldSpec] = []
        for node, shape in nodes.items():
            # "root": the node's fields sit directly in input/output (9101's output has no node name)
            parts: list[str | int] = {"array": [node, 0], "root": []}.get(shape, [node])
            node_at = self._schemas.walk(root, parts) if root is not None else None
            if node_at is None:
                continue
            for view in self._schemas.expand(node_at):
                props = view.schema.get("properties")
                if not isinstance(props, Mapping):
                    continue
                required = set(view.schema.get("required", ()))
                for name, sub in props.items():
                    at = SchemaAt(view.doc, f"{view.ptr}/properties/{escape_token(name)}", sub)
                    found.append(self._field(direction, node, name, at, name in required))
                break
        return found

    def _field(self, direction: str, node: str, name: str, at: SchemaAt, required: bool) -> FieldSpec:
        views = self._schemas.expand(at)
        notes = self._schemas.annotations(at)
        types: list[str] = []
        nullable = False
        max_length = digits = fmt = code = None
        for view in views:
            schema = view.schema
            declared = schema.get("type", [])
            for t in declared if isinstance(declared, list) else [declared]:
                if t == "null":
                    nullable = True
                elif t not in types:
                    types.append(t)
            if any(v is None for v in schema.get("enum", ())):
                nullable = True
            max_length = max_length if max_length is not None else schema.get("maxLength")
            if digits is None and "x-digits" in schema:
                digits = tuple(schema["x-digits"])
            if fmt is None and view.doc.endswith("/types.json") and view.ptr.startswith("/$defs/"):
                fmt = view.ptr.rsplit("/", 1)[-1]
            code = code or schema.get("x-dict")
        return FieldSpec(
            direction=direction,
            node=node,
            name=name,
            title_zh=notes.get("title", ""),
            clause=notes.get("x-clause", f"{self.infno}.{direction}.{node}.{name}"),
            json_type=types[0] if types else "string",
            max_length=max_length,
            required=required,
            code=notes.get("x-code") or code,
            nullable=nullable,
            pointer=at.ptr if at.doc == self.schema_id else "",
            format=fmt,
            digits=digits,  # type: ignore[arg-type]
        )
