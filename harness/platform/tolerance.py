"""Requests that deviate from the spec in a way the province's profile tolerates: served, with an advisory.

The profile's validator names a known real-world deviation (specs/<version>/deviations.json) that the
profile lists in `tolerated_deviations` with the clause `DEV.<id>` (harness/specs/deviations.py). A real
platform of that province accepts such a request, so the reference platform does too: it serves it, reads
the deviating value the way that platform does (an empty string as the number 0, one object as a one-row
array, the string "null" as null …), and records the deviation as a SHOULD advisory in its exchange log
and in the answer's warn_msg. Under a profile that does not tolerate it the violation keeps its spec clause
and the request is refused as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from harness.model import SchemaViolation
from harness.specs.deviations import DEVIATION_CLAUSE_PREFIX

__all__ = ["advisory_text", "read_as_tolerated", "split_tolerated"]


def split_tolerated(violations: Sequence[SchemaViolation]) -> tuple[list[SchemaViolation], list[SchemaViolation]]:
    """(violations that refuse the request, tolerated deviations that only advise)."""
    refusing = [v for v in violations if not v.clause.startswith(DEVIATION_CLAUSE_PREFIX)]
    advising = [v for v in violations if v.clause.startswith(DEVIATION_CLAUSE_PREFIX)]
    return refusing, advising


def _zero(value: Any) -> Any:
    return 0 if value == "" else value


def _one_row(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


def _null(value: Any) -> Any:
    return None if value in ("null", "NULL") else value


def _midnight(value: Any) -> Any:
    return f"{value} 00:00:00" if isinstance(value, str) and len(value) == 10 else value


def _padded(value: Any) -> Any:
    return value.zfill(2) if isinstance(value, str) and value.isdigit() else value


# How the tolerating province's platform reads each deviating value (deviations without an entry are kept).
_READINGS: dict[str, Callable[[Any], Any]] = {
    "empty-string-number": _zero,  # IF §1.1: a number without a value is 0
    "object-for-array": _one_row,
    "null-string": _null,
    "date-only-datetime": _midnight,
    "unpadded-psn-cert-type": _padded,
}


def read_as_tolerated(envelope: dict[str, Any], advising: Sequence[SchemaViolation]) -> dict[str, Any]:
    """A copy of the envelope with each tolerated deviating value read as the tolerating platform reads it."""
    readings = [(v.path, _READINGS.get(v.clause[len(DEVIATION_CLAUSE_PREFIX):])) for v in advising]
    if not any(read for _path, read in readings):
        return envelope
    out = copy.deepcopy(envelope)
    for path, read in readings:
        if read is None or not path:
            continue
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent: Any = out
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.get(part) if isinstance(parent, dict) \
                else None
            if parent is None:
                break
        last = parts[-1] if parts else ""
        if isinstance(parent, dict) and last in parent:
            parent[last] = read(parent[last])
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            parent[int(last)] = read(parent[int(last)])
    return out


def advisory_text(advising: Sequence[SchemaViolation]) -> str:
    """The warn_msg of a served request that deviates in a tolerated way (SHOULD advisory)."""
    named = "；".join(f"{v.path}（{v.field_zh or v.clause}）{v.clause}" for v in advising[:3])
    more = f"；等共{len(advising)}处" if len(advising) > 3 else ""
    return f"已容忍的偏差（SHOULD 建议项，本省配置接受）：{named}{more}"
