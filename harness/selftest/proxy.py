"""The proxy self-test: the suite against one site (ours or anyone's) through the mutation proxy.

One clean run goes through the proxy with no mutation (the baseline: what this site passes), then
one run per mutation over the scenarios that meet it (`Mutation.selects`: by interface, or by the
tags it names). A MUST mutation is *caught* when a scenario that passed in the baseline now has a
MUST-graded finding (outcome failed); a SHOULD/MAY mutation when such a scenario has a finding it
did not have in the baseline, of any grade. A mutation that altered no answer at all was *not
exercised* on this site (e.g. it echoes a pre-settlement setl_id and this site's pre-settlements
return none): it is reported and left out of the score. A catch is *reference-only* when every
finding behind it needs the reference platform (golden amounts, exact refusal texts).

    ProxyRun                   what one run through the proxy returns (suite result + answers altered)
    judge_mutation(mutation, clean, run) -> ProxyVerdict
    run_proxy_selftest(run, scenarios, mutations, jobs=, progress=) -> ProxyReport
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.model import Grade, Scenario
from harness.proxy import Mutation
from harness.selftest.results import SuiteResult
from harness.selftest.run import Task, _execute

__all__ = ["CLEAN", "CLEAN_AGAIN", "Catch", "ProxyReport", "ProxyRun", "ProxyRunner", "ProxyVerdict", "judge_mutation",
           "plan_proxy", "run_proxy_selftest"]

CLEAN = "(clean, through the proxy)"
CLEAN_AGAIN = "(clean again, at the end)"


@dataclass(frozen=True, slots=True)
class ProxyRun:
    suite: SuiteResult
    applied: int = 0  # answers the mutation altered in this run


ProxyRunner = Callable[[tuple[str, ...] | None, tuple[str, ...]], ProxyRun]


@dataclass(frozen=True, slots=True)
class Catch:
    scenario: str
    clause: str
    title: str
    grade: str


@dataclass(frozen=True, slots=True)
class ProxyVerdict:
    mutation: Mutation
    caught_by: tuple[Catch, ...]
    applied: int
    scenarios_run: int
    seconds: float
    reference_only: bool = False
    grade: Grade = Grade.MUST  # the mutation's grade under the site's profile (Mutation.grade_under)

    @property
    def tolerated(self) -> bool:
        """The profile tolerates the deviation the mutation plants: graded below the catalogue's grade there."""
        return self.grade is not self.mutation.grade

    @property
    def exercised(self) -> bool:
        return self.applied > 0

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)

    @property
    def status(self) -> str:
        if self.caught:
            return "caught"
        if not self.exercised:
            return "not exercised"
        return "tolerated by profile" if self.tolerated else "missed"

    def to_json(self) -> dict[str, Any]:
        first = self.caught_by[0] if self.caught_by else None
        return {
            "name": self.mutation.name, "category": self.mutation.category, "grade": self.grade.value,
            **({"catalogue_grade": self.mutation.grade.value} if self.tolerated else {}),
            "clauses": list(self.mutation.clauses), "description": self.mutation.description,
            "caught": self.caught, "status": self.status,
            "by": ({"scenario": first.scenario, "clause": first.clause, "title": first.title, "grade": first.grade}
                   if first else None),
            "caught_by_count": len({c.scenario for c in self.caught_by}),
            "clauses_flagged": sorted({c.clause for c in self.caught_by if c.clause}),
            "reference_only": self.reference_only, "answers_altered": self.applied,
            "scenarios_run": self.scenarios_run, "seconds": self.seconds,
        }


def judge_mutation(mutation: Mutation, clean: SuiteResult, run: ProxyRun,
                   tolerated: Sequence[str] = ()) -> ProxyVerdict:
    """Which scenarios that passed in the baseline now show the mutation; portable catches of its own clauses first.

    `tolerated`: the deviations the site's profile tolerates; a mutation planting one is judged at SHOULD there."""
    grade = mutation.grade_under(tolerated)
    if not run.applied:  # nothing was altered: whatever changed (a persistent site's state drifting) is not its doing
        return ProxyVerdict(mutation, (), 0, len(run.suite.outcomes), run.suite.seconds, grade=grade)
    catches: list[Catch] = []
    portable: list[bool] = []
    for sid, outcome in run.suite.outcomes.items():
        if clean.outcomes.get(sid) != "passed":
            continue
        before = {(n.title, n.clause) for n in clean.failures.get(sid, ())}
        notes = run.suite.failures.get(sid, ())
        if grade is Grade.MUST:
            found = [n for n in notes if n.grade == Grade.MUST.value] if outcome == "failed" else []
        else:
            found = [n for n in notes if (n.title, n.clause) not in before]
        for note in found:
            catches.append(Catch(sid, note.clause, note.title, note.grade))
            portable.append(not note.reference_only)
    named = set(mutation.clauses)  # a finding against the very clause the mutation breaks is the one to show
    order = sorted(range(len(catches)), key=lambda i: (not portable[i], catches[i].clause not in named,
                                                       catches[i].grade != Grade.MUST.value, i))
    return ProxyVerdict(mutation, tuple(catches[i] for i in order), run.applied, len(run.suite.outcomes),
                        run.suite.seconds, reference_only=bool(catches) and not any(portable), grade=grade)


@dataclass
class ProxyReport:
    site: str
    clean: SuiteResult
    verdicts: list[ProxyVerdict]
    seconds: float = 0.0
    jobs: int = 1
    notes: list[str] = field(default_factory=list)

    def _must(self) -> list[ProxyVerdict]:
        return [v for v in self.verdicts if v.grade is Grade.MUST and v.exercised]

    @property
    def missed_must(self) -> list[ProxyVerdict]:
        return [v for v in self._must() if not v.caught]

    @property
    def score(self) -> float:
        must = self._must()
        return sum(1 for v in must if v.caught) / len(must) if must else 0.0

    @property
    def portable_score(self) -> float:
        """The score without the catches that only the reference platform's golden values or texts make."""
        must = self._must()
        return sum(1 for v in must if v.caught and not v.reference_only) / len(must) if must else 0.0

    @property
    def exit_code(self) -> int:
        return 0 if not self.missed_must else 1

    def to_json(self) -> dict[str, Any]:
        must = self._must()
        clean_failed = [sid for sid, outcome in self.clean.outcomes.items() if outcome != "passed"]
        return {
            "site": self.site,
            "score": round(self.score, 4),
            "caught": sum(1 for v in must if v.caught),
            "total": len(must),
            "portable_score": round(self.portable_score, 4),
            "not_exercised": [v.mutation.name for v in self.verdicts if not v.exercised],
            "advisory": [v.mutation.name for v in self.verdicts if v.grade is not Grade.MUST],
            "tolerated_by_profile": [v.mutation.name for v in self.verdicts if v.tolerated],
            "missed": [v.mutation.name for v in self.missed_must],
            "clean": {"total": len(self.clean.outcomes), "passed": len(self.clean.outcomes) - len(clean_failed),
                      "not_passed": clean_failed, "seconds": self.clean.seconds},
            "mutations": [v.to_json() for v in self.verdicts],
            "seconds": round(self.seconds, 3), "jobs": self.jobs,
        }

    def render_text(self) -> str:
        rows = []
        for v in self.verdicts:
            first = v.caught_by[0] if v.caught_by else None
            by = f"{first.scenario} [{first.clause}]" if first else "-"
            mark = v.status + (" (reference only)" if v.reference_only else "")
            rows.append([v.mutation.name, v.grade.value, ", ".join(v.mutation.clauses), mark, by])
        lines = [f"proxy self-test against {self.site}: {len(self.verdicts)} mutations on the wire",
                 _table(rows, ["mutation", "grade", "clauses", "status", "caught by (scenario [finding clause])"])]
        clean_failed = [sid for sid, outcome in self.clean.outcomes.items() if outcome != "passed"]
        lines.append(f"baseline through the proxy: {len(self.clean.outcomes) - len(clean_failed)}/"
                     f"{len(self.clean.outcomes)} scenarios passed"
                     + (f" (not passed, so they cannot catch anything: {', '.join(clean_failed[:5])}"
                        f"{' …' if len(clean_failed) > 5 else ''})" if clean_failed else ""))
        must = self._must()
        caught = sum(1 for v in must if v.caught)
        lines.append(f"proxy score (MUST mutations caught): {caught}/{len(must)} = {self.score:.3f}; "
                     f"without reference-only catches: {self.portable_score:.3f}")
        for v in self.missed_must:
            lines.append(f"  missed {v.mutation.name}: {v.mutation.description} [{', '.join(v.mutation.clauses)}]")
        idle = [v.mutation.name for v in self.verdicts if not v.exercised]
        if idle:
            lines.append(f"  not exercised on this site (altered no answer, left out of the score): {', '.join(idle)}")
        tolerant = [v.mutation.name for v in self.verdicts if v.tolerated]
        if tolerant:
            lines.append("  tolerated by the site's profile (a known deviation it grades SHOULD; not in the MUST "
                         f"score): {', '.join(tolerant)}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [headers, *rows])


def _bounded(met: list[Scenario], per_interface: int) -> tuple[str, ...]:
    """The ids of the scenarios met, at most `per_interface` per interface (MUST-graded first; 0: all)."""
    if not per_interface:
        return tuple(s.id for s in met)
    kept: dict[str, list[Scenario]] = {}
    for scenario in sorted(met, key=lambda s: s.grade.rank):
        group = kept.setdefault(scenario.interface, [])
        if len(group) < per_interface:
            group.append(scenario)
    wanted = {s.id for group in kept.values() for s in group}
    return tuple(s.id for s in met if s.id in wanted)


def plan_proxy(scenarios: Sequence[Scenario], mutations: Sequence[Mutation]) -> list[Task]:
    """The clean run over every scenario some mutation meets, then one run per mutation (none if it meets none)."""
    chosen = {m.name: _bounded([s for s in scenarios if m.selects(s)], m.per_interface) for m in mutations}
    union = {sid for ids in chosen.values() for sid in ids}
    tasks = [Task(CLEAN, tuple(s.id for s in scenarios if s.id in union), ())]
    tasks.extend(Task(m.name, chosen[m.name], (m.name,)) for m in mutations if chosen[m.name])
    return tasks


def run_proxy_selftest(run: ProxyRunner, scenarios: Sequence[Scenario], mutations: Sequence[Mutation], *,
                       site: str = "the embedded reference platform", jobs: int = 1, recheck: bool = False,
                       progress: Callable[[str], None] | None = None, tolerated: Sequence[str] = ()) -> ProxyReport:
    """The clean run and one run per mutation; with `recheck` (a persistent site, whose state every run changes)
    the runs go one after another and the clean run is repeated at the end: a scenario counts as passing in the
    baseline only when it passed both times, so that the site's drift is never taken for a catch."""
    say = progress or (lambda _text: None)
    started = time.perf_counter()
    tasks = plan_proxy(scenarios, mutations)
    if recheck:
        tasks.append(Task(CLEAN_AGAIN, tasks[0].scenario_ids, ()))
        jobs = 1  # runs against one site would see each other's settlements (3201 totals, balances)
    executions = sum(len(t.scenario_ids or ()) for t in tasks)
    say(f"selftest --proxy: clean run + {len(mutations)} mutation run(s) through the proxy against {site}, "
        f"{executions} scenario executions, {jobs} job(s)")
    results: dict[str, ProxyRun] = {}
    for done, (task, result) in enumerate(_execute(run, tasks, jobs), start=1):  # type: ignore[arg-type]
        results[task.label] = result  # type: ignore[assignment]
        suite = result.suite  # type: ignore[attr-defined]
        say(f"[{done}/{len(tasks)}] {task.label}: {len(suite.not_passed())} of {len(suite.outcomes)} scenarios did "
            f"not pass, {result.applied} answers altered ({suite.seconds:.1f} s)")  # type: ignore[attr-defined]
    clean = results[CLEAN].suite
    notes = []
    if recheck:
        again = results[CLEAN_AGAIN].suite
        drifted = [sid for sid, outcome in clean.outcomes.items()
                   if outcome == "passed" and again.outcomes.get(sid) != "passed"]
        if drifted:
            clean = dataclasses.replace(clean, outcomes={**clean.outcomes, **dict.fromkeys(drifted, "drifted")})
            notes.append(f"  the clean run repeated at the end failed {len(drifted)} scenario(s) that had passed at "
                         f"first (the site's state drifted); they count as no catch: {', '.join(drifted[:5])}"
                         f"{' …' if len(drifted) > 5 else ''}")
        else:
            notes.append("  the clean run repeated at the end passed the same scenarios: no drift of the site's state")
    empty = ProxyRun(SuiteResult(outcomes={}))
    verdicts = [judge_mutation(m, clean, results.get(m.name, empty), tolerated) for m in mutations]
    return ProxyReport(site=site, clean=clean, verdicts=verdicts, seconds=time.perf_counter() - started,
                       jobs=max(jobs, 1), notes=notes)
