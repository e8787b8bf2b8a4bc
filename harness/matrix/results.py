"""A site's row in the matrix, the matrix's exit code, and `<out>/matrix.json`.

`<out>/matrix.json` holds per site `id`, `verdict`, `pass_rate`, `exit_code` (and the figures behind them); it
is rewritten as sites finish, so a matrix stopped half-way still leaves what it did.

The matrix's exit code is the most serious of its sites': 3 if any site had an infrastructure error,
else 2 if any site config was unusable, else 1 if any site has findings, else 0 (every site certified).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MATRIX_JSON = "matrix.json"
# Severity of a site's exit code for the matrix's own: infrastructure > usage/config > findings > certified.
_SEVERITY = {0: 0, 1: 1, 2: 2, 3: 3}


@dataclass(frozen=True, slots=True)
class SiteResult:
    id: str
    source: str
    verdict: str  # certified / not certified / error / config error
    pass_rate: float | None
    exit_code: int
    scenarios: int = 0
    passed: int = 0
    failed: int = 0
    evidence: str = ""
    certificate: str = ""
    digest: str = ""
    message: str = ""
    wall_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MatrixResult:
    sites: tuple[SiteResult, ...]
    wall_s: float
    jobs: int
    shard: tuple[int, int] | None

    @property
    def exit_code(self) -> int:
        return matrix_exit_code(s.exit_code for s in self.sites)

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for s in self.sites:
            counts[s.verdict] = counts.get(s.verdict, 0) + 1
        return {
            "exit_code": self.exit_code, "wall_s": round(self.wall_s, 2), "jobs": self.jobs,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            "counts": dict(sorted(counts.items())),
            "sites": [s.to_json() for s in sorted(self.sites, key=lambda s: s.id)],
        }


def matrix_exit_code(codes: Iterable[int]) -> int:
    return max((code if code in _SEVERITY else 3 for code in codes), key=_SEVERITY.__getitem__, default=0)


def progress_line(done: int, total: int, result: SiteResult) -> str:
    rate = "-" if result.pass_rate is None else f"{result.pass_rate * 100:.1f}%"
    line = (f"[{done}/{total}] {result.id:<24} {result.verdict:<14} exit {result.exit_code}  pass {rate:>6}  "
            f"{result.passed}/{result.scenarios} passed  {result.wall_s:.1f} s")
    return line + (f"  {result.message}" if result.message else "")


def write_matrix(out: Path, result: MatrixResult) -> Path:
    path = out / MATRIX_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
