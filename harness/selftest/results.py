"""What one suite run tells the self-test, and what the self-test concludes per mutant.

A `SuiteResult` is the per-scenario outcome of one engine run (`hsa-cert run`'s results document,
reduced to what the self-test needs; plain data, so it crosses process boundaries). A mutant is
*caught* when at least one scenario that passed on the clean platform does not pass with the mutant
switched on. Each catch is also classified: a catch is *reference-only* when every finding behind it
is one the harness can make only against the embedded reference platform — a golden amount, or a
refusal whose err_msg is not the reference platform's exact text (on a real site that is a warning,
not a failure). Such a mutant is caught here but would slip through on a real site. A mutant that breaks
only a SHOULD rule (e.g. refusing a msgid replay) leaves its scenarios passed with advisories: it is
caught *as an advisory* when a scenario that passed clean without findings carries SHOULD/MAY findings
with the mutant (`advisory_only`: seen, but it would not stop a certificate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.selftest.catalogue import MutantSpec

__all__ = ["REFERENCE_ONLY_TITLES", "FailureNote", "MutantResult", "SuiteResult", "false_failures", "first_ids",
           "judge_mutant", "suite_result_from_document"]

NOT_PASSED = ("failed", "error")
# Findings the runner makes only against the reference platform (see harness/runner/evaluate.py):
# golden amounts apply to the embedded platform only, and an err_msg that matches no pattern of the
# expected cause is a failure there but a warning on a real site.
REFERENCE_ONLY_TITLES = ("differs from the reference platform's golden value", "refused, cause unconfirmed")


@dataclass(frozen=True, slots=True)
class FailureNote:
    title: str
    clause: str
    grade: str = "MUST"  # the finding's effective grade, when the results document carries one

    @property
    def reference_only(self) -> bool:
        return any(marker in self.title for marker in REFERENCE_ONLY_TITLES)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """One engine run: outcome and failures per scenario id, in run order, and its wall time."""

    outcomes: Mapping[str, str]
    failures: Mapping[str, tuple[FailureNote, ...]] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int = 0

    def not_passed(self) -> list[str]:
        return [sid for sid, outcome in self.outcomes.items() if outcome in NOT_PASSED]


def suite_result_from_document(document: Mapping[str, Any], seconds: float) -> SuiteResult:
    """Reduce a results document (harness.reporting.results_json format) to a SuiteResult."""
    outcomes: dict[str, str] = {}
    failures: dict[str, tuple[FailureNote, ...]] = {}
    for entry in document.get("scenarios", []):
        sid = str(entry["id"])
        outcomes[sid] = str(entry["outcome"])
        notes = tuple(FailureNote(str(f.get("title", "")), str(f.get("clause", "")),
                                  str(f.get("effective_grade") or f.get("grade") or "MUST"))
                      for f in entry.get("failures", []))
        if notes:
            failures[sid] = notes
        elif entry["outcome"] == "error":
            failures[sid] = (FailureNote(f"infrastructure error: {entry.get('reason', '')}", ""),)
    exit_code = int((document.get("run") or {}).get("exit_code") or 0)
    return SuiteResult(outcomes=outcomes, failures=failures, seconds=round(seconds, 3), exit_code=exit_code)


@dataclass(frozen=True, slots=True)
class MutantResult:
    spec: MutantSpec
    caught_by: tuple[str, ...]  # scenario ids that passed clean and not with the mutant, in run order
    scenarios_run: int
    seconds: float
    clauses_flagged: tuple[str, ...] = ()  # clauses of the catching findings, most frequent first
    reference_only: bool = False  # caught only by findings that need the reference platform
    errors_only: bool = False  # caught only as infrastructure errors (the mutant crashed something)
    advisory_only: bool = False  # caught only by SHOULD/MAY findings of scenarios that still passed
    exercised: bool = True  # False: the run's province profile cannot exercise it (a signing mutant, nothing signed)

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)

    @property
    def status(self) -> str:
        if not self.exercised:
            return "not exercised"
        return "caught" if self.caught else "missed"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.spec.to_json(),
            "status": self.status,
            "caught_by_count": len(self.caught_by),
            "caught_by": list(self.caught_by),
            "clauses_flagged": list(self.clauses_flagged),
            "reference_only": self.reference_only,
            "errors_only": self.errors_only,
            "advisory_only": self.advisory_only,
            "scenarios_run": self.scenarios_run,
            "seconds": self.seconds,
        }


def judge_mutant(spec: MutantSpec, clean: SuiteResult, run: SuiteResult) -> MutantResult:
    """Compare a mutant run with the clean run: which scenarios that passed clean no longer pass."""
    failed = [sid for sid, outcome in run.outcomes.items()
              if outcome in NOT_PASSED and clean.outcomes.get(sid) == "passed"]
    advised = [sid for sid, outcome in run.outcomes.items()
               if outcome == "passed" and clean.outcomes.get(sid) == "passed" and not clean.failures.get(sid)
               and any(note.grade != "MUST" for note in run.failures.get(sid, ()))]
    caught = failed or advised
    notes = [note for sid in caught for note in run.failures.get(sid, ())]
    clauses = Counter(note.clause for note in notes if note.clause)
    flagged = tuple(clause for clause, _ in sorted(clauses.items(), key=lambda kv: (-kv[1], kv[0])))
    return MutantResult(
        spec=spec,
        caught_by=tuple(caught),
        scenarios_run=len(run.outcomes),
        seconds=run.seconds,
        clauses_flagged=flagged,
        reference_only=bool(caught) and all(note.reference_only for note in notes),
        errors_only=bool(failed) and all(run.outcomes[sid] == "error" for sid in failed),
        advisory_only=not failed and bool(advised),
    )


def false_failures(clean: SuiteResult) -> list[tuple[str, str, str]]:
    """Scenarios that did not pass on the clean platform (any outcome but passed): (id, outcome, first finding)."""
    found = []
    for sid in [sid for sid, outcome in clean.outcomes.items() if outcome != "passed"]:
        first = next(iter(clean.failures.get(sid, ())), None)
        found.append((sid, clean.outcomes[sid], first.title if first else ""))
    return found


def first_ids(ids: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return f"{shown} (+{len(ids) - limit} more)" if len(ids) > limit else shown
