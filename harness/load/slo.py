"""Service-level objectives as data: the `slo` list of a certification profile, judged per interface.

An objective names interfaces (or "*": every interface the run exercised) and one limit: a latency
percentile (`percentile` 50/95/99 with `max_ms`) or an error rate (`max_error_rate`, errors ÷ count,
where an answer that is refused, malformed or off-schema counts as an error however fast it was).
Each exercised interface an objective names is judged on its own; the objective holds when every one
holds. An objective none of whose interfaces ran is not held: there is no evidence for it.

`--slo` adds objectives on the command line: `2207:p95<=300` (milliseconds) or `*:errors<=0.001`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.resources import specs_dir

__all__ = ["InterfaceStats", "Objective", "judge", "load_objectives", "parse_objective"]

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True, slots=True)
class InterfaceStats:
    count: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "errors": self.errors, "error_rate": round(self.error_rate, 6),
                "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms}


@dataclass(frozen=True, slots=True)
class Objective:
    id: str
    interfaces: tuple[str, ...]  # ("*",) = every exercised interface
    percentile: int | None = None  # with max_ms
    max_ms: float | None = None
    max_error_rate: float | None = None
    title_zh: str = ""
    source: str = ""

    @property
    def metric(self) -> str:
        return f"p{self.percentile}_ms" if self.percentile is not None else "error_rate"

    @property
    def limit(self) -> float:
        return float(self.max_ms if self.percentile is not None else self.max_error_rate)  # type: ignore[arg-type]

    def describe(self) -> str:
        names = "every interface" if self.interfaces == ("*",) else "/".join(self.interfaces)
        if self.percentile is not None:
            return f"{names} p{self.percentile} <= {self.limit:g} ms"
        return f"{names} error rate <= {self.limit:.4%}"

    def observe(self, stats: InterfaceStats) -> float:
        return stats.error_rate if self.percentile is None else float(getattr(stats, self.metric))


def _objective(raw: Any, where: str) -> Objective:
    if not isinstance(raw, Mapping) or not raw.get("id"):
        raise ConfigError("an SLO objective needs an id", location=where)
    ifs = raw.get("interfaces", "*")
    interfaces = ("*",) if ifs == "*" else tuple(str(i) for i in ifs)
    pct, max_ms, max_err = raw.get("percentile"), raw.get("max_ms"), raw.get("max_error_rate")
    if (pct is None) == (max_err is None) or (pct is not None and (pct not in PERCENTILES or max_ms is None)):
        raise ConfigError(f"SLO objective {raw['id']!r} needs either percentile (50, 95 or 99) with max_ms, "
                          "or max_error_rate", location=where)
    return Objective(str(raw["id"]), interfaces, int(pct) if pct is not None else None,
                     float(max_ms) if max_ms is not None else None,
                     float(max_err) if max_err is not None else None,
                     str(raw.get("title_zh", "")), str(raw.get("source", "")))


def load_objectives(cert_profile: str, root: Path | None = None) -> list[Objective]:
    """The `slo` objectives of certification profile `cert_profile` (specs/certification-profiles/NAME.json)."""
    path = (root or specs_dir() / "certification-profiles") / f"{cert_profile}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"unknown certification profile {cert_profile!r}", location=str(path),
                         hint="see specs/certification-profiles/") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError("cannot read the certification profile", location=str(path), detail=str(exc)) from exc
    return [_objective(raw, f"{path}: slo") for raw in doc.get("slo", [])]


_OVERRIDE = re.compile(r"^(?P<ifs>\*|\d{4}(?:/\d{4})*):(?:p(?P<pct>\d+)<=(?P<ms>[\d.]+)|errors<=(?P<err>[\d.]+))$")


def parse_objective(text: str) -> Objective:
    """`2207:p95<=300`, `2207/2304:p99<=10000` or `*:errors<=0.001` (an --slo option)."""
    match = _OVERRIDE.match(text.replace(" ", ""))
    if not match or (match["pct"] and int(match["pct"]) not in PERCENTILES):
        raise UsageError(f"cannot read --slo {text!r}",
                         hint="INFNO[/INFNO…]:pNN<=MS (NN 50, 95 or 99) or INFNO|*:errors<=RATE, e.g. 2207:p95<=300")
    ifs = ("*",) if match["ifs"] == "*" else tuple(match["ifs"].split("/"))
    if match["pct"]:
        return Objective(f"cli:{text}", ifs, int(match["pct"]), float(match["ms"]))
    return Objective(f"cli:{text}", ifs, max_error_rate=float(match["err"]))


def judge(objectives: Sequence[Objective], stats: Mapping[str, InterfaceStats]) -> dict[str, dict[str, Any]]:
    """objective id -> {holds, description, limit, metric, per_interface: {infno: {observed, holds}}}."""
    verdicts: dict[str, dict[str, Any]] = {}
    for objective in objectives:
        names = sorted(stats) if objective.interfaces == ("*",) else [i for i in objective.interfaces if i in stats]
        per = {}
        for infno in names:
            if stats[infno].count == 0:
                continue
            observed = objective.observe(stats[infno])
            per[infno] = {"observed": round(observed, 6), "holds": observed <= objective.limit}
        verdicts[objective.id] = {
            "holds": bool(per) and all(v["holds"] for v in per.values()),
            "description": objective.describe(), "title_zh": objective.title_zh, "metric": objective.metric,
            "limit": objective.limit, "source": objective.source, "per_interface": per,
            **({} if per else {"reason": "no answer of these interfaces was measured: no evidence"}),
        }
    return verdicts
