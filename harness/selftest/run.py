"""Running the self-test: the default suite once against the clean platform, once per mutant.

The suite is run by the engine's own code path (`hsa-cert run`): the CLI hands `run_selftest` a
`SuiteRunner`, a function `(scenario ids or None for the whole suite, faults) -> SuiteResult` that
starts a fresh embedded platform (its own temporary SQLite file, a free port) with the given
faults, runs the scenarios through pytest and the Runner, and reduces the results document. This
module decides what to run and what it means; it never sends a request itself.

With `jobs > 1` the runs go to worker processes (the `spawn` start method, as on Windows), so
several platforms run side by side; the SuiteRunner must then be a module-level function.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from harness.model import Scenario
from harness.selftest.catalogue import MutantSpec
from harness.selftest.report import FULL, RELEVANT_ONLY, Baseline, SelftestReport
from harness.selftest.results import MutantResult, SuiteResult, false_failures, judge_mutant

__all__ = ["CLEAN", "SuiteRunner", "Task", "plan", "run_selftest"]

SuiteRunner = Callable[[tuple[str, ...] | None, tuple[str, ...]], SuiteResult]
CLEAN = "(clean)"


@dataclass(frozen=True, slots=True)
class Task:
    label: str  # CLEAN or a mutant name
    scenario_ids: tuple[str, ...] | None  # None: the whole default suite
    faults: tuple[str, ...]

    def size(self, suite_size: int) -> int:
        return suite_size if self.scenario_ids is None else len(self.scenario_ids)


def plan(scenarios: Sequence[Scenario], mutants: Sequence[MutantSpec], *, relevant_only: bool,
         signing: bool = False) -> list[Task]:
    """The clean run (always the whole suite) first, then one run per mutant the profile can exercise."""
    tasks = [Task(CLEAN, None, ())]
    for mutant in mutants:
        if mutant.signing and not signing:
            continue  # no request is signed under this profile: the switch would never fire
        ids = tuple(s.id for s in mutant.relevance.select(scenarios)) if relevant_only else None
        tasks.append(Task(mutant.name, ids, (mutant.fault,)))
    return tasks


def _execute(run_suite: SuiteRunner, tasks: Sequence[Task], jobs: int) -> Iterator[tuple[Task, SuiteResult]]:
    if jobs <= 1:
        for task in tasks:
            yield task, _run_one(run_suite, task)
        return
    context = multiprocessing.get_context("spawn")  # the same start method on Linux, macOS and Windows
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        pending = {pool.submit(_run_one, run_suite, task): task for task in tasks}
        for future in as_completed(pending):
            yield pending[future], future.result()
    finally:
        # On an error (or Ctrl-C) do not wait minutes for the queued runs: drop them, finish the running ones.
        pool.shutdown(wait=True, cancel_futures=True)


def _run_one(run_suite: SuiteRunner, task: Task) -> SuiteResult:
    if task.scenario_ids is not None and not task.scenario_ids:
        return SuiteResult(outcomes={})  # nothing declared relevant: nothing can catch it
    return run_suite(task.scenario_ids, task.faults)


def run_selftest(run_suite: SuiteRunner, scenarios: Sequence[Scenario], mutants: Sequence[MutantSpec], *,
                 relevant_only: bool = False, jobs: int = 1, baseline: Baseline | None = None,
                 progress: Callable[[str], None] | None = None, signing: bool = False) -> SelftestReport:
    """Run the clean suite and every mutant; judge each mutant against the clean run.

    `signing`: the run's province profile signs requests (its gateway family is not "none"); without it
    the signing mutants are not run and are reported "not exercised".
    """
    say = progress or (lambda _text: None)
    started = time.perf_counter()
    tasks = plan(scenarios, mutants, relevant_only=relevant_only, signing=signing)
    mode = RELEVANT_ONLY if relevant_only else FULL
    runs = sum(t.size(len(scenarios)) for t in tasks)
    say(f"selftest: clean run + {len(tasks) - 1} mutant run(s), {mode}, {runs} scenario executions, {jobs} job(s)")
    results: dict[str, SuiteResult] = {}
    for done, (task, result) in enumerate(_execute(run_suite, tasks, jobs), start=1):
        results[task.label] = result
        what = "clean platform" if task.label == CLEAN else f"mutant {task.label}"
        say(f"[{done}/{len(tasks)}] {what}: {len(result.not_passed())} of {len(result.outcomes)} scenarios did not "
            f"pass ({result.seconds:.1f} s)")
    clean = results[CLEAN]
    judged = [judge_mutant(m, clean, results[m.name]) if m.name in results
              else MutantResult(spec=m, caught_by=(), scenarios_run=0, seconds=0.0, exercised=False) for m in mutants]
    passed = sum(1 for outcome in clean.outcomes.values() if outcome == "passed")
    return SelftestReport(
        mode=mode, suite_size=len(scenarios), clean_passed=passed, clean_total=len(clean.outcomes),
        clean_seconds=clean.seconds, false_failures=false_failures(clean), mutants=judged,
        baseline=baseline or Baseline(""), seconds=time.perf_counter() - started, jobs=max(jobs, 1),
    )
