"""Scenario <-> plain data, and the content fingerprint that makes ids and Allure history stable.

The fingerprint is SHA-256 over canonical JSON (sorted keys, no whitespace, UTF-8) of everything that
defines what a scenario does. It excludes `source` (moving a scenario between files or lines does not
change it) and the fingerprint itself. No run data ever enters a Scenario, so the same files and
schemas always give the same fingerprints, whatever PYTHONHASHSEED or the clock say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.model import Expectation, Grade, Level, Scenario, Step

__all__ = ["canonical_json", "expectation_from_dict", "fingerprint", "scenario_to_dict", "step_from_dict",
           "step_to_dict", "with_fingerprint"]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def expectation_to_dict(expect: Expectation) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ok": expect.ok,
        "cause": expect.cause,
        "output_schema": expect.output_schema,
        "checks": list(expect.checks),
        "save": _plain(expect.save),
        "golden": _plain(expect.golden),
        "state_unchanged": expect.state_unchanged,
    }
    if expect.may_refuse is not None:  # only when set: the fingerprints of other steps stay what they were
        data["may_refuse"] = expect.may_refuse
    return data


def step_to_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"infno": step.infno}
    if step.name:
        data["name"] = step.name
    data["input"] = _plain(step.input)
    if step.envelope:
        data["envelope"] = _plain(step.envelope)
    data["expect"] = expectation_to_dict(step.expect)
    if step.when is not None:
        data["when"] = step.when
    if step.fault is not None:  # only when set: the fingerprints of steps without faults stay what they were
        data["fault"] = step.fault
    if step.tamper is not None:  # likewise
        data["tamper"] = step.tamper
    return data


def scenario_to_dict(scenario: Scenario, *, with_meta: bool = True) -> dict[str, Any]:
    """Plain data in the YAML shape; with_meta adds source and fingerprint (for `scenarios show`)."""
    data: dict[str, Any] = {
        "id": scenario.id,
        "title": scenario.title,
        "title_zh": scenario.title_zh,
        "clauses": list(scenario.clauses),
        "capabilities": list(scenario.capabilities),
        "level": scenario.level.value,
        "area": scenario.area,
        "interface": scenario.interface,
        "archetype": scenario.archetype,
        "tags": list(scenario.tags),
        "kind": scenario.kind,
        **({"grade": scenario.grade.value} if scenario.grade is not Grade.MUST else {}),  # MUST: fingerprints unchanged
        "steps": [step_to_dict(s) for s in scenario.steps],
        "teardown": [step_to_dict(s) for s in scenario.teardown],
    }
    if with_meta:
        data["source"] = scenario.source
        data["fingerprint"] = scenario.fingerprint
    return data


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def fingerprint(scenario: Scenario) -> str:
    return hashlib.sha256(canonical_json(scenario_to_dict(scenario, with_meta=False)).encode("utf-8")).hexdigest()


def with_fingerprint(scenario: Scenario) -> Scenario:
    return replace(scenario, fingerprint=fingerprint(scenario))


def expectation_from_dict(data: Mapping[str, Any] | None) -> Expectation:
    data = data or {}
    return Expectation(
        ok=data.get("ok", True),
        cause=data.get("cause"),
        output_schema=data.get("output_schema", True),
        checks=tuple(data.get("checks", ())),
        save=dict(data.get("save", {})),
        golden=dict(data.get("golden", {})),
        state_unchanged=bool(data.get("state_unchanged", False)),
        may_refuse=data.get("may_refuse"),
    )


def step_from_dict(data: Mapping[str, Any]) -> Step:
    return Step(
        infno=str(data["infno"]),
        input=dict(data.get("input", {})),
        expect=expectation_from_dict(data.get("expect")),
        envelope=dict(data.get("envelope", {})),
        name=str(data.get("name", "")),
        when=data.get("when"),
        fault=data.get("fault"),
        tamper=data.get("tamper"),
    )


def level_of(value: str | None) -> Level:
    return Level(value or "mandatory")
