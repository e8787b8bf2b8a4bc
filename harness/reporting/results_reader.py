"""The engine's results.json read into the record: what certify and every report after it start from.

The engine writes `results.json`; certify adds what a certificate needs and the engine does not know
(the certification profile, each scenario's effective level under it, the site's identity) and keeps
the result as `certification.json`. Older and other spellings of an entry's keys are accepted; what an
entry lacks is filled from the Scenario objects. Read slim: each scenario's steps and each finding's
evidence (beyond its `inconclusive` flag) are dropped as the file is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.model import Level, Outcome, Scenario
from harness.reporting.record import FailureRecord, RunInfo, RunRecord, ScenarioRecord

__all__ = ["load_results", "record_from_results"]


def _first(entry: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if entry.get(key) not in (None, ""):
            return entry[key]
    return default


def _failure(raw: Any) -> FailureRecord:
    if not isinstance(raw, Mapping):
        return FailureRecord(title=str(raw), clause="")
    return FailureRecord(
        title=str(_first(raw, "title", "message", default="")),
        clause=str(_first(raw, "clause", default="")),
        severity=str(_first(raw, "severity", default="major")),
        detail=str(_first(raw, "detail", default="")),
        expected=str(_first(raw, "expected", default="")),
        actual=str(_first(raw, "actual", default="")),
        grade=str(_first(raw, "grade", default="MUST")),
        title_zh=str(_first(raw, "title_zh", default="")),
        inconclusive=raw.get("inconclusive") is True or (isinstance(raw.get("evidence"), Mapping)
                                                         and raw["evidence"].get("inconclusive") is True),
    )


def _duration_ms(entry: Mapping[str, Any]) -> float:
    if "duration_ms" in entry:
        return float(entry["duration_ms"] or 0.0)
    if "duration_s" in entry:
        return float(entry["duration_s"] or 0.0) * 1000.0
    return float(entry.get("duration") or 0.0) * 1000.0  # seconds, pytest style


def record_from_results(
    results: Mapping[str, Any],
    info: RunInfo,
    *,
    scenarios: Mapping[str, Scenario] | None = None,
    levels: Mapping[str, Level] | None = None,
) -> RunRecord:
    """Build the record from the engine's results.json, filling what it lacks from the Scenario objects.

    `levels` are the effective levels under the certification profile; without them the scenario's own
    level (from results.json or the Scenario) is used.
    """
    scenarios = scenarios or {}
    levels = levels or {}
    entries = results.get("scenarios") or results.get("results") or []
    records = []
    for entry in entries:
        sid = str(_first(entry, "id", "scenario_id"))
        scenario = scenarios.get(sid)
        level = levels.get(sid) or Level(_first(entry, "level", default=scenario.level if scenario else "mandatory"))
        records.append(
            ScenarioRecord(
                id=sid,
                outcome=Outcome(entry["outcome"]),
                level=level,
                area=str(_first(entry, "area", default=scenario.area if scenario else "unknown")),
                interface=str(_first(entry, "interface", "infno", default=scenario.interface if scenario else "")),
                title=str(_first(entry, "title", default=scenario.title if scenario else "")),
                title_zh=str(_first(entry, "title_zh", default=scenario.title_zh if scenario else "")),
                clauses=tuple(_first(entry, "clauses", "clause_ids", default=scenario.clauses if scenario else ())),
                reason=str(_first(entry, "reason", default="")),
                duration_ms=_duration_ms(entry),
                failures=tuple(_failure(f) for f in entry.get("failures") or ()),
                grade=str(_first(entry, "grade", default=scenario.grade.value if scenario else "MUST")),
            )
        )
    return RunRecord(info, tuple(records))


_ENTRY_KEYS = frozenset({"id", "outcome", "steps"})
_FINDING_KEYS = frozenset({"title", "clause", "grade", "evidence"})


def _slim_object(data: dict[str, Any]) -> dict[str, Any]:
    if data.keys() >= _ENTRY_KEYS:  # a scenario's entry: its steps are not part of the record
        del data["steps"]
    elif data.keys() >= _FINDING_KEYS and isinstance(data["evidence"], dict):
        data["evidence"] = {"inconclusive": True} if data["evidence"].get("inconclusive") is True else {}
    return data


def load_results(path: Path) -> dict[str, Any]:
    """results.json as the record needs it: every key, each scenario's entry without its steps and each finding's
    evidence cut to its `inconclusive` flag, dropped as the file is parsed (a run of 20,000 scenarios)."""
    with path.open(encoding="utf-8") as data:
        loaded = json.load(data, object_hook=_slim_object)
    if not isinstance(loaded, dict):
        raise ValueError("results.json does not hold a JSON object")
    return loaded
