"""The non-schema contents of a spec version as values: code lists, business rules, failure causes.

Parsed from the JSON documents the loader read; a malformed document is a SpecError naming its file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import SpecError

__all__ = ["Cause", "CodeList", "Rule", "code_list_from", "rules_from"]


@dataclass(frozen=True, slots=True)
class CodeList:
    name: str
    title_zh: str
    values: tuple[str, ...]
    labels: Mapping[str, str]
    variants: Mapping[str, tuple[str, ...]]
    schema_id: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    clause: str
    title_zh: str
    title_en: str
    applies_to: tuple[str, ...]


def code_list_from(doc: Mapping[str, Any], schema_id: str, path: Path) -> CodeList:
    """A `codes/<dict>.json` document; the name is its `x-dict`, else the file name."""
    enum = doc.get("enum")
    if not isinstance(enum, list):
        raise SpecError("A code list needs an 'enum' array", location=str(path))
    variants = doc.get("x-variants") or {}
    return CodeList(
        name=doc.get("x-dict") or path.stem,
        title_zh=doc.get("title", ""),
        values=tuple(enum),
        labels=dict(doc.get("x-labels") or {}),
        variants={k: tuple(v) for k, v in variants.items()},
        schema_id=schema_id,
    )


def rules_from(doc: Any, path: Path) -> tuple[dict[str, Rule], dict[str, Cause]]:
    """rules.json: business rules and failure causes, each keyed by id."""
    try:
        rules = {
            r["id"]: Rule(r["id"], r.get("title_zh", ""), r.get("title_en", ""), r.get("text", ""),
                          r.get("source", ""))
            for r in doc.get("rules", [])
        }
        causes = {
            c["id"]: Cause(c["id"], c.get("clause", ""), c.get("title_zh", ""), c.get("title_en", ""),
                           tuple(str(x) for x in c.get("applies_to", ())))
            for c in doc.get("causes", [])
        }
    except (AttributeError, KeyError, TypeError) as exc:
        raise SpecError("rules.json is malformed", location=str(path), detail=repr(exc),
                        hint='expected {"rules": [{"id": …}], "causes": [{"id": …, "clause": …}]}') from exc
    return rules, causes
