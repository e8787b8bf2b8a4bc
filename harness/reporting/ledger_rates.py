"""What the ledger's outcomes say across runs: pass rates per interface, area or level, and run-to-run diffs.

The pass rates are counted in SQL over the `outcomes` table of the runs asked for (the trend of
`history`, the dashboard's heat map); a diff compares two runs' outcomes (what newly fails, what was
fixed, what is new or gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.model import Outcome
from harness.reporting.ledger_backend import LedgerLocation
from harness.reporting.ledger_session import _connect
from harness.reporting.record import pass_rate

__all__ = ["RunDiff", "diff_outcomes", "interface_rates", "rates_by"]

FAILING = frozenset({Outcome.FAILED, Outcome.ERROR})


# Portable counts (PostgreSQL does not sum booleans).
_COUNT_PASSED = "SUM(CASE WHEN outcome = 'passed' THEN 1 ELSE 0 END) AS passed"
_COUNT_FAILED = "SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS failed"


def interface_rates(where: LedgerLocation, run_ids: list[str]) -> dict[str, dict[str, float | None]]:
    """infno -> run_id -> pass rate, for the given runs (`rates_by` per interface, turned around)."""
    rates: dict[str, dict[str, float | None]] = {}
    for run_id, by_interface in rates_by(where, run_ids, "interface").items():
        for interface, rate in by_interface.items():
            rates.setdefault(interface, {})[run_id] = rate
    return dict(sorted(rates.items()))


def rates_by(where: LedgerLocation, run_ids: list[str], column: str) -> dict[str, dict[str, float | None]]:
    """run_id -> area (or interface, level) -> pass rate, for the given runs (the dashboard's heat map)."""
    if column not in ("area", "interface", "level"):
        raise ValueError(f"no outcome column {column!r}")
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with _connect(where, create=False) as conn:
        rows = conn.rows(
            f"SELECT run_id, {column} AS name, {_COUNT_PASSED}, {_COUNT_FAILED}"
            f" FROM outcomes WHERE run_id IN ({marks}) GROUP BY run_id, {column}", run_ids)
    rates: dict[str, dict[str, float | None]] = {}
    for r in rows:
        rates.setdefault(r["run_id"], {})[r["name"] or "-"] = pass_rate(r["passed"], r["failed"])
    return rates


@dataclass(frozen=True, slots=True)
class RunDiff:
    """What changed between two runs of a site, scenario ids sorted."""

    newly_failing: tuple[str, ...]  # failed or error now, not before
    fixed: tuple[str, ...]  # failed or error before, passed now
    new: tuple[str, ...]  # in this run only
    removed: tuple[str, ...]  # in the previous run only

    @property
    def empty(self) -> bool:
        return not (self.newly_failing or self.fixed or self.new or self.removed)

    def to_json(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


def diff_outcomes(previous: Mapping[str, Outcome], current: Mapping[str, Outcome]) -> RunDiff:
    common = previous.keys() & current.keys()
    return RunDiff(
        newly_failing=tuple(sorted(s for s in common if current[s] in FAILING and previous[s] not in FAILING)),
        fixed=tuple(sorted(s for s in common if previous[s] in FAILING and current[s] is Outcome.PASSED)),
        new=tuple(sorted(current.keys() - previous.keys())),
        removed=tuple(sorted(previous.keys() - current.keys())),
    )
