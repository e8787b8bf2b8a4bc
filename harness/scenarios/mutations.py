"""One-field mutations that make a valid message invalid: the vocabulary of generated negatives.

Each mutation breaks exactly one rule of one field: a required field removed, a code outside its code
list, a string one character too long, a number sent as text, a date or pattern malformed. The kind
is part of the scenario id (`neg.2207.in.data.psn_no.missing`), so ids say what they break and stay
the same between runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "Mutation", "Target", "apply_mutation", "leaf_differences", "mutations_for"]

# Order matters only for listing: ids never depend on it.
KINDS = ("missing", "code", "maxlength", "type", "pattern")

_KIND_TEXT = {
    "missing": ("missing", "缺失"),
    "code": ("outside its code list", "不在代码表内"),
    "maxlength": ("too long", "超长"),
    "type": ("of the wrong type", "类型错误"),
    "pattern": ("malformed", "格式错误"),
}

# Malformed values per format: each breaks the format's pattern but nothing else.
_BAD_FORMAT = {
    "date": "2024/06/01",
    "datetime": "2024-06-01T10:00:00",
    "timestamp17": "2024060110",
    "admdvs": "52010X",
}
_CODE_CANDIDATES = ("X9", "XX", "X", "Z", "#")


@dataclass(frozen=True, slots=True)
class Target:
    """A field a mutation can hit. node None: a top-level field (the envelope)."""

    name: str
    clause: str
    title_zh: str
    json_type: str  # string | number | integer | ...
    required: bool
    max_length: int | None = None
    codes: tuple[str, ...] | None = None  # allowed values when the field is a code
    code_name: str | None = None
    format: str | None = None  # date | datetime | timestamp17 | admdvs | money | ...
    pattern: str | None = None
    node: str | None = None
    row: int | None = None  # array nodes: the row that is mutated

    @property
    def location(self) -> tuple[str | int, ...]:
        """The path of the field inside the message part being mutated."""
        parts: list[str | int] = []
        if self.node is not None:
            parts.append(self.node)
            if self.row is not None:
                parts.append(self.row)
        parts.append(self.name)
        return tuple(parts)


@dataclass(frozen=True, slots=True)
class Mutation:
    kind: str
    target: Target
    value: Any = None  # the invalid value (unused for "missing")

    @property
    def describe_en(self) -> str:
        where = ".".join(str(p) for p in self.target.location if not isinstance(p, int))
        text = _KIND_TEXT[self.kind][0]
        if self.kind == "code" and self.target.code_name:
            text = f"outside code list {self.target.code_name}"
        if self.kind == "maxlength" and self.target.max_length is not None:
            text = f"longer than {self.target.max_length} characters"
        return f"{where} {text}"

    @property
    def describe_zh(self) -> str:
        text = _KIND_TEXT[self.kind][1]
        if self.kind == "maxlength" and self.target.max_length is not None:
            text = f"超过{self.target.max_length}位"
        return f"{self.target.title_zh or self.target.name}({self.target.name}){text}"


def _bad_code(target: Target) -> str | None:
    allowed = set(target.codes or ())
    limit = target.max_length or 6
    for candidate in _CODE_CANDIDATES:
        if len(candidate) <= limit and candidate not in allowed:
            return candidate
    return None


def _bad_pattern(target: Target) -> str | None:
    if target.format in _BAD_FORMAT:
        return _BAD_FORMAT[target.format]
    if target.pattern:
        # A generic value that fits any declared length but no digit-shaped pattern.
        return "!" * min(target.max_length or 4, 4)
    return None


def mutations_for(target: Target, *, present: bool = False) -> list[Mutation]:
    """Every mutation that applies to the field, in KINDS order.

    "missing" is proposed for required fields and for optional fields the base message carries (a
    province profile may require them); the validator then decides whether leaving it out is wrong.
    """
    found: list[Mutation] = []
    if target.required or present:
        found.append(Mutation("missing", target))
    if target.codes is not None:
        bad = _bad_code(target)
        if bad is not None:
            found.append(Mutation("code", target, bad))
    elif target.json_type == "string" and target.max_length is not None and not target.format:
        # Code fields are covered by "code" (an overlong code is also not in the list).
        found.append(Mutation("maxlength", target, "9" * (target.max_length + 1)))
    if target.json_type in ("number", "integer"):
        found.append(Mutation("type", target, "abc"))
    if target.json_type == "string" and target.codes is None:
        bad = _bad_pattern(target)
        if bad is not None:
            found.append(Mutation("pattern", target, bad))
    return found


def apply_mutation(message: Mapping[str, Any], mutation: Mutation) -> dict[str, Any]:
    """A deep copy of `message` with the one mutation applied (the original is untouched)."""
    out = copy.deepcopy(dict(message))
    *parents, name = mutation.target.location
    holder: Any = out
    for part in parents:
        holder = holder[part]
    if not isinstance(holder, dict):
        raise ValueError(f"cannot mutate {mutation.target.location}: the parent is not an object")
    if mutation.kind == "missing":
        holder.pop(name, None)
    else:
        holder[name] = mutation.value
    return out


def leaf_differences(a: Any, b: Any, path: Sequence[str | int] = ()) -> list[tuple[str | int, ...]]:
    """Paths where two nested values differ (a key present on one side only counts once)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        diffs = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                diffs.append((*path, key))
            else:
                diffs.extend(leaf_differences(a[key], b[key], (*path, key)))
        return diffs
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        diffs = []
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            diffs.extend(leaf_differences(x, y, (*path, index)))
        return diffs
    return [] if a == b and type(a) is type(b) else [tuple(path)]
