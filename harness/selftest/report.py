"""The self-test report (text and JSON) and the baseline of mutants caught before.

Exit status of a self-test: 0 when the clean platform passed every scenario and no mutant the
baseline lists as caught is missed now; 1 otherwise. The mutation score (caught / total) is
reported, never gated on: a new mutant that the suite misses is information, a mutant that it
stops catching is a regression.

The baseline (`fixtures/selftest-baseline.json` by default) is written only from a full run of the
whole catalogue (`hsa-cert selftest --write-baseline`), so that a relevant-only CI run is compared
with what a full run established.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.resources import fixtures_dir
from harness.selftest.catalogue import CATALOGUE
from harness.selftest.results import MutantResult, first_ids

__all__ = ["BASELINE_FORMAT", "DEFAULT_BASELINE", "REPORT_FORMAT", "Baseline", "SelftestReport", "load_baseline",
           "write_baseline"]

REPORT_FORMAT = "hsa-cert/selftest-1"
BASELINE_FORMAT = "hsa-cert/selftest-baseline-1"
DEFAULT_BASELINE = fixtures_dir() / "selftest-baseline.json"
FULL, RELEVANT_ONLY = "full", "relevant-only"


@dataclass(frozen=True, slots=True)
class Baseline:
    path: str
    caught: frozenset[str] = frozenset()
    exists: bool = False


def load_baseline(path: Path | None = None) -> Baseline:
    """The mutants a previous full run caught. A missing default file is an empty baseline."""
    target = path or DEFAULT_BASELINE
    if not target.exists():
        if path is not None:
            raise UsageError(f"baseline file {target} does not exist", location=str(target),
                             hint="write one with `hsa-cert selftest --write-baseline` (a full run)")
        return Baseline(str(target))
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        caught = data["caught"]
        if data.get("format") != BASELINE_FORMAT or not all(isinstance(n, str) for n in caught):
            raise ValueError(f"expected format {BASELINE_FORMAT} with a list of names under 'caught'")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"baseline file {target} is not a self-test baseline", detail=str(exc), location=str(target),
                         hint="regenerate it with `hsa-cert selftest --write-baseline`") from exc
    return Baseline(str(target), frozenset(caught), exists=True)


@dataclass
class SelftestReport:
    mode: str  # FULL or RELEVANT_ONLY
    suite_size: int
    clean_passed: int
    clean_total: int
    clean_seconds: float
    false_failures: list[tuple[str, str, str]]  # (scenario id, outcome, first finding)
    mutants: list[MutantResult]
    baseline: Baseline
    seconds: float = 0.0
    jobs: int = 1
    started_at: str = field(default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds"))

    @property
    def exercised(self) -> list[MutantResult]:
        """The mutants the run's profile could exercise: the score's denominator."""
        return [m for m in self.mutants if m.exercised]

    @property
    def caught(self) -> list[MutantResult]:
        return [m for m in self.mutants if m.caught]

    @property
    def missed(self) -> list[MutantResult]:
        return [m for m in self.exercised if not m.caught]

    @property
    def not_exercised(self) -> list[MutantResult]:
        return [m for m in self.mutants if not m.exercised]

    @property
    def score(self) -> float:
        return len(self.caught) / len(self.exercised) if self.exercised else 0.0

    @property
    def complete(self) -> bool:
        """A full run over the whole catalogue: the only kind of run whose score is the published one."""
        return self.mode == FULL and {m.spec.name for m in self.mutants} == set(CATALOGUE)

    @property
    def regressions(self) -> list[str]:
        return [m.spec.name for m in self.missed if m.spec.name in self.baseline.caught]

    @property
    def newly_caught(self) -> list[str]:
        return [m.spec.name for m in self.caught if self.baseline.exists and m.spec.name not in self.baseline.caught]

    @property
    def clean_ok(self) -> bool:
        return not self.false_failures and self.clean_passed == self.clean_total

    @property
    def exit_code(self) -> int:
        return 0 if self.clean_ok and not self.regressions else 1

    def to_json(self) -> dict[str, Any]:
        mutant_seconds = round(sum(m.seconds for m in self.mutants), 3)
        return {
            "format": REPORT_FORMAT,
            "mode": self.mode,
            "published_score": self.complete,
            "started_at": self.started_at,
            "suite": {"scenarios": self.suite_size},
            "clean": {"total": self.clean_total, "passed": self.clean_passed, "seconds": self.clean_seconds,
                      "false_failures": [{"id": sid, "outcome": outcome, "finding": finding}
                                         for sid, outcome, finding in self.false_failures]},
            "score": round(self.score, 4),
            "caught": len(self.caught),
            "total": len(self.exercised),
            "not_exercised": [m.spec.name for m in self.not_exercised],
            "reference_only": [m.spec.name for m in self.caught if m.reference_only],
            "missed": [m.spec.name for m in self.missed],
            "mutants": [m.to_json() for m in self.mutants],
            "baseline": {"path": self.baseline.path, "exists": self.baseline.exists,
                         "caught_before": sorted(self.baseline.caught), "regressions": self.regressions,
                         "newly_caught": self.newly_caught},
            "timing": {"clean_s": self.clean_seconds, "mutants_s": mutant_seconds, "wall_s": round(self.seconds, 3),
                       "jobs": self.jobs},
            "exit_code": self.exit_code,
        }

    def render_text(self) -> str:
        lines = [f"hsa-cert selftest: the default suite ({self.suite_size} scenarios) against {len(self.mutants)} "
                 f"mutants of the reference platform ({self._mode_words()})", ""]
        clean = f"clean platform: {self.clean_passed}/{self.clean_total} passed ({self.clean_seconds:.1f} s)"
        if self.false_failures:
            clean += f", {len(self.false_failures)} FALSE FAILURE(S): the suite or the platform is broken"
        lines.append(clean)
        for sid, outcome, finding in self.false_failures[:20]:
            lines.append(f"  {outcome:6}  {sid}: {finding}")
        lines.append("")
        width = max((len(m.spec.name) for m in self.mutants), default=6)
        clause_width = max((len(m.spec.clause) for m in self.mutants), default=6)
        lines.append(f"{'result':7} {'mutant':{width}}  {'category':9}  {'clause':{clause_width}}  caught by")
        lines.append(f"{'-' * 7} {'-' * width}  {'-' * 9}  {'-' * clause_width}  {'-' * 9}")
        for m in self.mutants:
            result = "caught" if m.caught else "MISSED" if m.exercised else "idle"
            if not m.exercised:
                caught_by = "not exercised: this province profile signs no request"
            elif m.caught:
                note = " [reference platform only]" if m.reference_only else ""
                note += " [infrastructure errors only]" if m.errors_only else ""
                note += " [advisory only: SHOULD]" if m.advisory_only else ""
                caught_by = f"{len(m.caught_by)} of {m.scenarios_run}: {first_ids(m.caught_by)}{note}"
            else:
                caught_by = f"none of {m.scenarios_run} scenarios"
            lines.append(f"{result:7} {m.spec.name:{width}}  {m.spec.category:9}  {m.spec.clause:{clause_width}}  "
                         f"{caught_by}")
        lines.append("")
        score = f"{len(self.caught)}/{len(self.exercised)} = {self.score:.3f}"
        lines.append(f"mutation score: {score}  ({self._mode_words()})")
        if self.not_exercised:
            lines.append(f"  not exercised under this profile (left out of the score): "
                         f"{', '.join(m.spec.name for m in self.not_exercised)}")
        reference_only = [m.spec.name for m in self.caught if m.reference_only]
        if reference_only:
            portable = len(self.caught) - len(reference_only)
            lines.append(f"  caught only through the reference platform's golden amounts or exact refusal texts: "
                         f"{', '.join(reference_only)} (on a real site: {portable}/{len(self.exercised)})")
        for m in self.missed:
            lines.append(f"  missed {m.spec.name}: {m.spec.description} [{m.spec.clause}]")
        lines.extend(self._baseline_lines())
        mutant_seconds = sum(m.seconds for m in self.mutants)
        lines.append(f"wall time: clean run {self.clean_seconds:.1f} s, mutant runs {mutant_seconds:.1f} s "
                     f"(sum), total {self.seconds:.1f} s with {self.jobs} job(s)")
        lines.append("self-test " + ("PASSED" if self.exit_code == 0 else "FAILED") + self._verdict_reason())
        return "\n".join(lines)

    def _mode_words(self) -> str:
        if self.mode == RELEVANT_ONLY:
            return ("RELEVANT-ONLY run: each mutant met only the scenarios its catalogue entry declares relevant; "
                    "this is not the published score, which comes from a full run")
        return "full run: every scenario against every mutant" + ("" if self.complete else ", selected mutants only")

    def _baseline_lines(self) -> list[str]:
        if not self.baseline.exists:
            return [f"baseline: none at {self.baseline.path} (nothing to regress against)"]
        line = f"baseline {self.baseline.path}: {len(self.baseline.caught)} mutants caught before"
        if self.regressions:
            line += f"; NOW MISSED: {', '.join(self.regressions)}"
        else:
            line += "; every one of those that ran is still caught"
        lines = [line]
        if self.newly_caught:
            lines.append(f"  newly caught (not in the baseline): {', '.join(self.newly_caught)}")
        return lines

    def _verdict_reason(self) -> str:
        reasons = []
        if not self.clean_ok:
            reasons.append(f"{len(self.false_failures)} false failure(s) on the clean platform")
        if self.regressions:
            reasons.append(f"{len(self.regressions)} mutant(s) caught before are missed now")
        return f": {'; '.join(reasons)}" if reasons else ""


def write_baseline(report: SelftestReport, path: Path | None = None) -> Path:
    """Record what a complete full run caught; refuses partial or relevant-only runs."""
    if not report.complete:
        raise UsageError("a baseline is written only from a full run of every mutant",
                         detail=f"this run: mode {report.mode}, {len(report.mutants)} of {len(CATALOGUE)} mutants",
                         hint="run `hsa-cert selftest --write-baseline` without --relevant-only and --mutant")
    if not report.clean_ok:
        raise UsageError("a baseline is not written while the clean platform has false failures",
                         detail=", ".join(sid for sid, _, _ in report.false_failures[:10]))
    target = path or DEFAULT_BASELINE
    data = {
        "format": BASELINE_FORMAT,
        "comment": "Mutants of the reference platform that a full `hsa-cert selftest` run caught. CI fails when one "
                   "of them is missed. Regenerate with `hsa-cert selftest --write-baseline` after a full run.",
        "recorded": {"at": report.started_at, "score": round(report.score, 4), "caught": len(report.caught),
                     "total": len(report.exercised), "suite_scenarios": report.suite_size},
        "caught": sorted(m.spec.name for m in report.caught),
        "missed": sorted(m.spec.name for m in report.missed),
        "not_exercised": sorted(m.spec.name for m in report.not_exercised),  # e.g. signing mutants: nothing signed
        # caught only by golden amounts or exact refusal texts: would slip through on a real site
        "reference_only": sorted(m.spec.name for m in report.caught if m.reference_only),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target
