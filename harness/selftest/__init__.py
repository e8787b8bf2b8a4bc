"""Mutation self-test (layer 4): prove that the certification suite catches broken sites.

The reference platform can plant named deviations ("mutants", `harness.platform.faults.MUTANTS`).
`run_selftest` runs the default suite once against the clean platform — where every scenario must
pass — and once per mutant against a fresh platform with that mutant switched on. A mutant is
caught when some scenario that passed clean fails; the mutation score is caught / total.

    CATALOGUE, select_mutants(names)          the mutants with category, clause and relevance
    run_selftest(run_suite, scenarios, mutants, relevant_only=, jobs=, baseline=, progress=) -> SelftestReport
    SelftestReport.render_text() / .to_json() / .exit_code
    load_baseline(path), write_baseline(report, path)
    suite_result_from_document(results_document, seconds) -> SuiteResult   (for the SuiteRunner)

`hsa-cert selftest` (harness/cli/selftest.py) supplies the SuiteRunner: the engine's `hsa-cert run` path.
"""

from harness.selftest.catalogue import CATALOGUE, CATEGORIES, MutantSpec, Relevance, select_mutants
from harness.selftest.report import (
    BASELINE_FORMAT,
    DEFAULT_BASELINE,
    REPORT_FORMAT,
    Baseline,
    SelftestReport,
    load_baseline,
    write_baseline,
)
from harness.selftest.results import FailureNote, MutantResult, SuiteResult, judge_mutant, suite_result_from_document
from harness.selftest.run import SuiteRunner, plan, run_selftest

__all__ = [
    "BASELINE_FORMAT",
    "CATALOGUE",
    "CATEGORIES",
    "DEFAULT_BASELINE",
    "REPORT_FORMAT",
    "SELFTEST_SEED",
    "Baseline",
    "FailureNote",
    "MutantResult",
    "MutantSpec",
    "Relevance",
    "SelftestReport",
    "SuiteResult",
    "SuiteRunner",
    "judge_mutant",
    "load_baseline",
    "plan",
    "run_selftest",
    "select_mutants",
    "suite_result_from_document",
    "write_baseline",
]

# run.uniq seed of every self-test run: the same seed gives the same request bodies, run after run.
SELFTEST_SEED = 20240101
