"""Known real-world deviations (specs/<version>/deviations.json): naming them in schema violations.

Real traffic deviates from the spec in a few recurring ways (infcode as a string, "" for an empty
number, a multi-row node sent as an object, other msgid shapes, the national sample's own slips). A
violation that is such a deviation is told apart from an unknown error:

- under a profile that lists the deviation in `tolerated_deviations`, the violation's clause becomes
  `DEV.<id>`: the province is known to accept it, so it is reported, graded by the profile's `grades`
  (`{"DEV.*": "SHOULD"}`: an advisory), never silently passed;
- under any other profile the violation keeps the spec's clause (a MUST) and gains a hint naming the
  deviation, the profiles that tolerate it, and, for the national sample's slips, "the national sample
  itself deviates here".
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.model import SchemaViolation

__all__ = ["DEVIATION_CLAUSE_PREFIX", "MISSING", "Deviation", "DeviationCatalogue"]

DEVIATION_CLAUSE_PREFIX = "DEV."
MISSING = object()  # the value at a path that the message does not have
_TYPES = {"string": str, "object": dict, "array": list}


@dataclass(frozen=True, slots=True)
class Deviation:
    id: str
    title_en: str
    title_zh: str
    clauses: tuple[str, ...]
    value_type: str
    pattern: re.Pattern[str] | None
    expected_contains: tuple[str, ...]
    national_sample: bool
    source: str

    @property
    def clause(self) -> str:
        return DEVIATION_CLAUSE_PREFIX + self.id

    def matches(self, violation: SchemaViolation, value: Any) -> bool:
        if not any(fnmatch.fnmatchcase(violation.clause, glob) for glob in self.clauses):
            return False
        if self.expected_contains and not any(word in violation.expected for word in self.expected_contains):
            return False
        if self.value_type == "missing":
            return value is MISSING
        kind = _TYPES.get(self.value_type)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            return False
        return self.pattern is None or (isinstance(value, str) and self.pattern.search(value) is not None)


def value_at(message: Any, pointer: str) -> Any:
    """The value at a JSON pointer (/input/data/psn_no), or MISSING."""
    node = message
    for raw in pointer.split("/")[1:] if pointer else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


class DeviationCatalogue:
    """The deviations of one spec edition, and which profiles tolerate each (read once per registry)."""

    def __init__(self, doc: Mapping[str, Any] | None, tolerant: Mapping[str, Sequence[str]]) -> None:
        self.deviations: tuple[Deviation, ...] = tuple(_deviation(d) for d in (doc or {}).get("deviations", []))
        self.tolerant = {k: tuple(sorted(v)) for k, v in tolerant.items()}  # deviation id -> profiles

    def by_id(self, id: str) -> Deviation:
        return next(d for d in self.deviations if d.id == id)

    def find(self, violation: SchemaViolation, message: Any) -> Deviation | None:
        value = value_at(message, violation.path)
        return next((d for d in self.deviations if d.matches(violation, value)), None)

    def classify(self, violations: Iterable[SchemaViolation], message: Any,
                 tolerated: Iterable[str]) -> list[SchemaViolation]:
        """The violations with known deviations named: re-claused when tolerated, else a hint added."""
        allowed = set(tolerated)
        out: list[SchemaViolation] = []
        seen: set[tuple[str, str]] = set()
        for violation in violations:
            deviation = self.find(violation, message)
            if deviation is None:
                out.append(violation)
                continue
            if deviation.id in allowed:
                key = (violation.path, deviation.id)
                if key in seen:  # one advisory per field, not one per failed keyword
                    continue
                seen.add(key)
                out.append(replace(violation, clause=deviation.clause, message=f"tolerated deviation: "
                                   f"{deviation.title_en} ({deviation.title_zh}); spec clause {violation.clause}",
                                   hint=f"known real-world deviation ({deviation.source}); this province's profile "
                                   "accepts it: a SHOULD advisory"))
                continue
            out.append(replace(violation, hint=self.hint(deviation)))
        return out

    def hint(self, deviation: Deviation) -> str:
        parts = [f"known real-world deviation: {deviation.title_en} ({deviation.title_zh})"]
        if deviation.national_sample:
            parts.append("the national sample itself deviates here (HN 附录 B.1); fix the message, not the spec")
        profiles = self.tolerant.get(deviation.id, ())
        parts.append(f"tolerated by the profile(s) {', '.join(profiles)}" if profiles
                     else "no province profile tolerates it")
        parts.append(f"source: {deviation.source}")
        return "; ".join(parts)


def _deviation(raw: Mapping[str, Any]) -> Deviation:
    value = raw.get("value") or {}
    pattern = value.get("pattern")
    return Deviation(id=str(raw["id"]), title_en=str(raw.get("title_en", "")), title_zh=str(raw.get("title_zh", "")),
                     clauses=tuple(raw.get("clauses") or ("*",)), value_type=str(value.get("type", "string")),
                     pattern=re.compile(pattern) if pattern else None,
                     expected_contains=tuple(raw.get("expected_contains") or ()),
                     national_sample=bool(raw.get("national_sample")), source=str(raw.get("source", "")))
