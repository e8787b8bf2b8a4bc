"""Load shapes as data: `specs/load/shapes.json` (steady, ramp, morning peak), read and checked here.

A shape is a list of stages (`users` concurrent HIS users until `until`, a fraction of the run's
duration), the think time between two visits of one user, the mix of visit kinds and a rate cap.
`LoadShape.users_at(elapsed_s, duration_s)` is what the Locust shape class asks every second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.resources import specs_dir

__all__ = ["FLOWS", "LoadShape", "Stage", "load_shape", "shape_names", "shapes_file"]

FLOWS = ("outpatient", "inpatient")


def shapes_file() -> Path:
    return specs_dir() / "load" / "shapes.json"


@dataclass(frozen=True, slots=True)
class Stage:
    until: float  # fraction of the run's duration, (0, 1]
    users: int
    spawn_rate: float


@dataclass(frozen=True, slots=True)
class LoadShape:
    name: str
    description: str
    stages: tuple[Stage, ...]
    think_s: tuple[float, float]
    flows: dict[str, float]
    reverse_share: float
    rate_limit_per_s: float | None

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    def users_at(self, elapsed_s: float, duration_s: float) -> tuple[int, float] | None:
        """(users, spawn rate) at `elapsed_s` into a run of `duration_s`; None once the run is over."""
        if elapsed_s >= duration_s:
            return None
        for stage in self.stages:
            if elapsed_s < stage.until * duration_s:
                return stage.users, stage.spawn_rate
        return None

    def with_rate_limit(self, per_s: float | None) -> LoadShape:
        """The shape with the lower of its own cap and `per_s` (the site's [limits] or --rate)."""
        caps = [c for c in (self.rate_limit_per_s, per_s) if c]
        cap = min(caps) if caps else None
        return LoadShape(self.name, self.description, self.stages, self.think_s, self.flows, self.reverse_share, cap)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "peak_users": self.peak_users,
                "stages": [{"until": s.until, "users": s.users, "spawn_rate": s.spawn_rate} for s in self.stages],
                "think_s": list(self.think_s), "flows": dict(self.flows), "reverse_share": self.reverse_share,
                "rate_limit_per_s": self.rate_limit_per_s}


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("cannot read the load shapes", location=str(path), detail=str(exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), dict):
        raise ConfigError("the load shapes file needs a `shapes` object", location=str(path))
    return doc


def shape_names(path: Path | None = None) -> tuple[str, ...]:
    return tuple(_read(path or shapes_file())["shapes"])


def load_shape(name: str | None = None, path: Path | None = None) -> LoadShape:
    """The named shape (None: the file's `default`); ConfigError naming the file and the field when wrong."""
    source = path or shapes_file()
    doc = _read(source)
    name = name or str(doc.get("default", "steady"))
    raw = doc["shapes"].get(name)
    if not isinstance(raw, dict):
        raise ConfigError(f"unknown load shape {name!r}", location=str(source),
                          hint="known shapes: " + ", ".join(doc["shapes"]))
    where = f"{source}: shapes.{name}"
    try:
        stages = tuple(Stage(float(s["until"]), int(s["users"]), float(s.get("spawn_rate", s["users"])))
                       for s in raw["stages"])
        low, high = (float(v) for v in raw.get("think_s", [0.0, 0.0]))
        flows = {str(k): float(v) for k, v in (raw.get("flows") or {"outpatient": 1.0}).items()}
        reverse = float(raw.get("reverse_share", 0.0))
        cap = raw.get("rate_limit_per_s")
        cap = float(cap) if cap else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError("a load shape is malformed", location=where, detail=repr(exc),
                          hint="each stage needs until (fraction of the duration), users and spawn_rate") from exc
    problems = []
    if not stages or any(not 0 < s.until <= 1 or s.users < 1 or s.spawn_rate <= 0 for s in stages):
        problems.append("stages need 0 < until <= 1, users >= 1, spawn_rate > 0")
    if [s.until for s in stages] != sorted(s.until for s in stages):
        problems.append("stages must be in increasing `until` order")
    if not 0 <= low <= high:
        problems.append("think_s is [min, max] with 0 <= min <= max")
    if set(flows) - set(FLOWS) or not any(v > 0 for v in flows.values()) or any(v < 0 for v in flows.values()):
        problems.append(f"flows weigh {', '.join(FLOWS)} with non-negative weights, one positive")
    if not 0 <= reverse <= 1:
        problems.append("reverse_share is between 0 and 1")
    if problems:
        raise ConfigError("a load shape is malformed", location=where, detail="; ".join(problems))
    return LoadShape(name, str(raw.get("description", "")), stages, (low, high), flows, reverse, cap)
