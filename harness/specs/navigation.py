"""Read-only navigation in schema documents keyed by `$id`: JSON pointers, local `$ref`s, field lookup.

The validators report an instance location and an evaluation path; this module finds the schema that
governs that location (for its clause and 中文 title) and the keyword that failed (for "expected").
Nothing here is fetched: every `$ref` resolves against the documents handed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

__all__ = ["SchemaAt", "SchemaNavigator", "escape_token", "pointer_of", "resolve_pointer"]

_COMBINATORS = ("allOf", "anyOf", "oneOf")
_ANNOTATIONS = ("title", "x-clause", "x-code")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def escape_token(token: str | int) -> str:
    """One RFC 6901 reference token (`~` and `/` escaped)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(parts: Sequence[str | int]) -> str:
    """RFC 6901 JSON pointer of a path given as its parts."""
    return "".join("/" + escape_token(p) for p in parts)


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer; KeyError when it does not exist."""
    node = doc
    if pointer == "":
        return node
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    for raw in pointer[1:].split("/"):
        token = _unescape(raw)
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise KeyError(pointer)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


@dataclass(frozen=True, slots=True)
class SchemaAt:
    """A schema at a known place: the `$id` of its document and its JSON pointer there."""

    doc: str
    ptr: str
    schema: Any


class SchemaNavigator:
    """Read-only navigation over a set of schema documents keyed by `$id` (refs resolved locally).

    Used to find, for an instance location, the field schema that governs it: its clause, its
    中文 title and the constraints to quote as "expected".
    """

    def __init__(self, docs: Mapping[str, Any]) -> None:
        self.docs = docs

    def get(self, uri: str) -> SchemaAt | None:
        url, fragment = urldefrag(uri)
        doc = self.docs.get(url)
        if doc is None:
            return None
        try:
            return SchemaAt(url, fragment, resolve_pointer(doc, fragment))
        except KeyError:
            return None

    def deref(self, at: SchemaAt) -> SchemaAt | None:
        ref = at.schema.get("$ref") if isinstance(at.schema, Mapping) else None
        return self.get(urljoin(at.doc, ref)) if isinstance(ref, str) else None

    def expand(self, at: SchemaAt) -> list[SchemaAt]:
        """The schema and every schema it pulls in through $ref and allOf/anyOf/oneOf, outermost first."""
        views: list[SchemaAt] = []
        queue = [at]
        seen: set[tuple[str, str]] = set()
        while queue:
            cur = queue.pop(0)
            if (cur.doc, cur.ptr) in seen or not isinstance(cur.schema, Mapping):
                continue
            seen.add((cur.doc, cur.ptr))
            views.append(cur)
            target = self.deref(cur)
            if target is not None:
                queue.append(target)
            for keyword in _COMBINATORS:
                for i, branch in enumerate(cur.schema.get(keyword, ())):
                    queue.append(SchemaAt(cur.doc, f"{cur.ptr}/{keyword}/{i}", branch))
        return views

    def child(self, at: SchemaAt, key: str | int) -> SchemaAt | None:
        """The subschema that governs `instance[key]` where `at` governs `instance`."""
        for view in self.expand(at):
            schema = view.schema
            if isinstance(key, int):
                prefix = schema.get("prefixItems")
                if isinstance(prefix, list) and key < len(prefix):
                    return SchemaAt(view.doc, f"{view.ptr}/prefixItems/{key}", prefix[key])
                if isinstance(schema.get("items"), Mapping):
                    return SchemaAt(view.doc, f"{view.ptr}/items", schema["items"])
            else:
                props = schema.get("properties")
                if isinstance(props, Mapping) and key in props:
                    return SchemaAt(view.doc, f"{view.ptr}/properties/{escape_token(key)}", props[key])
        return None

    def walk(self, start: SchemaAt, parts: Sequence[str | int]) -> SchemaAt | None:
        at: SchemaAt | None = start
        for part in parts:
            if at is None:
                return None
            at = self.child(at, part)
        return at

    def follow(self, start: SchemaAt, evaluation_path: Sequence[str | int]) -> SchemaAt | None:
        """Follow an evaluation path (keywords, $ref included) to the schema value it ends at."""
        at: SchemaAt | None = start
        for token in evaluation_path:
            if at is None:
                return None
            if token == "$ref":
                at = self.deref(at)
            elif isinstance(at.schema, Mapping) and token in at.schema:
                at = SchemaAt(at.doc, f"{at.ptr}/{escape_token(token)}", at.schema[token])
            elif isinstance(at.schema, list) and isinstance(token, int) and token < len(at.schema):
                at = SchemaAt(at.doc, f"{at.ptr}/{token}", at.schema[token])
            else:
                return None
        return at

    def annotations(self, at: SchemaAt) -> dict[str, Any]:
        """title / x-clause / x-code of a location; the outermost schema wins (the field over its $ref)."""
        found: dict[str, Any] = {}
        for view in self.expand(at):
            for key in _ANNOTATIONS:
                if key in view.schema:
                    found.setdefault(key, view.schema[key])
        return found
