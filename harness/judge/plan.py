"""Case plans as values: what a HIS must do per case, and what the platform does to it.

The YAML is read and validated against specs/client-plan.schema.json by the caller (the scenario
loader owns YAML); `plan_from_data` turns the validated data into these frozen values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Behaviour", "Case", "FlowStep", "Operator", "Plan", "plan_from_data"]

DEFAULT_CLIENT_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class FlowStep:
    infno: str
    outcome: str = "ok"  # ok | refused | lost | any (an answer, whichever)
    any_of: tuple[str, ...] = ()  # any of these transactions satisfies the step

    def accepts(self, infno: str) -> bool:
        return infno in (self.any_of or (self.infno,))

    def label(self) -> str:
        names = "|".join(self.any_of) if self.any_of else self.infno
        return names if self.outcome == "ok" else f"{names} ({self.outcome})"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The platform's scripted behaviour while a case is open (normal, refusal, or a fault)."""

    kind: str = "normal"  # normal | refusal | drop-after-commit | delay | http-5xx
    infno: str = "*"
    times: int | None = None
    delay_ms: int = 0
    status: int | None = None
    cause: str = ""

    def fault_spec(self) -> dict[str, Any] | None:
        """The platform fault (admin JSON form) that plays this behaviour; None for normal and refusal."""
        if self.kind in ("normal", "refusal"):
            return None
        spec: dict[str, Any] = {"infno": self.infno, "kind": self.kind}
        if self.kind == "delay":
            spec["delay_ms"] = self.delay_ms
        if self.status is not None:
            spec["status"] = self.status
        if self.times is not None:
            spec["times"] = self.times
        return spec


@dataclass(frozen=True, slots=True)
class Operator:
    do: str
    do_zh: str
    expect: str
    expect_zh: str


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    title_zh: str
    persona: str | None
    flow: tuple[FlowStep, ...]
    behaviour: Behaviour
    operator: Operator
    rules: tuple[str, ...] = ()
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    title: str
    title_zh: str
    area: str
    cases: tuple[Case, ...]
    client_timeout_ms: int = DEFAULT_CLIENT_TIMEOUT_MS
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    def case(self, case_id: str) -> Case | None:
        return next((c for c in self.cases if c.id == case_id), None)


def _flow_step(raw: Any) -> FlowStep:
    if isinstance(raw, str):
        return FlowStep(raw)
    return FlowStep(str(raw["infno"]), str(raw.get("outcome", "ok")), tuple(str(x) for x in raw.get("any_of", ())))


def _fingerprint(raw: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def plan_from_data(data: Mapping[str, Any], source: str = "") -> Plan:
    cases = []
    for raw in data["cases"]:
        b = raw.get("platform") or {"kind": "normal"}
        op = raw["operator"]
        cases.append(Case(
            id=raw["id"], title=raw["title"], title_zh=raw["title_zh"], persona=raw.get("persona"),
            flow=tuple(_flow_step(s) for s in raw["flow"]),
            behaviour=Behaviour(kind=b["kind"], infno=str(b.get("infno", "*")), times=b.get("times"),
                                delay_ms=int(b.get("delay_ms", 0)), status=b.get("status"), cause=b.get("cause", "")),
            operator=Operator(op["do"], op["do_zh"], op["expect"], op["expect_zh"]),
            rules=tuple(raw.get("rules") or ()), fingerprint=_fingerprint(raw),
        ))  # fmt: skip
    return Plan(name=data["plan"], title=data["title"], title_zh=data["title_zh"], area=data["area"],
                cases=tuple(cases), client_timeout_ms=int(data.get("client_timeout_ms", DEFAULT_CLIENT_TIMEOUT_MS)),
                source=source, raw=data)  # fmt: skip
