"""Mutation testing of the modules a certificate rests on: how many one-line bugs the tests catch.

A certification tool's own tests are part of what a certificate rests on (issue 17). This script runs
mutmut 3 (the `mutation` extra: `pip install -e '.[mutation]'`) on each core module, with only the test
files that cover that module, and prints killed / survived / timeout / score per module and overall.

    python tools/mutation.py                    # every module (long: run it in pieces)
    python tools/mutation.py --module gate      # one module (repeatable)
    python tools/mutation.py --list             # the modules, their sources and test files
    python tools/mutation.py --report           # the table of the last runs, without running anything
    python tools/mutation.py --module gate --survivors   # the diff of each surviving mutant
    python tools/mutation.py --module gate --again       # re-test only the last run's survivors (tests added)
    python tools/mutation.py --module gate --again --tests tests/test_new.py   # ... against the new tests only
    python tools/mutation.py --json ...         # the figures as JSON

Each module runs in its own folder `<temp>/hsa-cert-mutation-<hash of the checkout path>/<module>/`
(or `$HSA_MUTATION_WORK/<module>/`), outside the checkout: a copy of `harness`, links to `tests` and
the data folders; mutmut copies them to `mutants/`, writes the mutants into the copy of the one source
file, and runs, for each mutant, only the tests that executed the mutated function (mutmut records
that in a first, traced run of the module's test files). The working tree is never changed. Every run
starts afresh, so a test added since the last run counts; `--again` re-tests only the survivors of the
last run (a mutant killed stays killed when tests are only added), while the module's source is unchanged.

mutmut does not mutate a decorated function (it could not wrap it safely), and every check is one
(`@check(...)`): in the copy, the module-level functions of the source under test are therefore
undecorated and decorated again after their definition (`f = check(...)(f)`, the same thing in
Python), so that their bodies are mutated too. Mutant diffs (`--survivors`) show that copy.

A survivor judged *equivalent* (no test can tell it from the original: the behaviour is the same) is
listed with its reason in `tools/mutation-survivors.md`, one line per mutant:

    - `harness.reporting.gate.x_evaluate__mutmut_12`: reason

The table counts such mutants as "equivalent", apart from the survivors; the score is
(killed + timeout) / (mutants - equivalent). Mutant names are per function (mutmut numbers the
mutants of each function), so a name stays valid until its function changes.

Exit code: 0, or 1 when `--min-score` is given and a module's score is below it.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Outside the checkout: its links to tests/ and the data would otherwise be packed into the sdist.
WORK = Path(os.environ.get("HSA_MUTATION_WORK") or Path(tempfile.gettempdir()) / (
    "hsa-cert-mutation-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]))
SURVIVORS_FILE = ROOT / "tools" / "mutation-survivors.md"
DATA_FOLDERS = ("specs", "scenarios", "fixtures")

# mutmut's exit codes of a mutant's test run, by what they mean for the score (mutmut.stats).
KILLED = {1, 3, 37}
TIMEOUT = {36, -24, 24, 152, 255}
NO_TESTS = {5, 33}
SURVIVED = {0}


@dataclass(frozen=True)
class Module:
    """One module under mutation: its source, the test files that cover it, and (optionally) only some
    of its functions (mutmut mutant-name globs relative to the module, e.g. `*_tls_error__mutmut_*`)."""

    name: str
    source: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return self.source.removesuffix(".py").replace("/", ".")

    @property
    def globs(self) -> list[str]:
        return [f"{self.dotted}.{f}" for f in self.functions] or [f"{self.dotted}.*"]


_RUNNER_TESTS = ("tests/test_runner.py", "tests/test_runner_faults.py", "tests/test_runner_refusals.py",
                 "tests/test_runner_verdict.py", "tests/test_runner_ledger.py", "tests/test_mutation_runner2601.py")
# settling and booking (the settlement's amounts, its answer and stored rows): without the whole-platform walks
# (test_platform_flows, _recon, the end-to-end run of test_mutation_platform), a minute per surviving mutant;
# the score is then a lower bound
_SETTLING_TESTS = ("tests/test_platform_calc.py", "tests/test_platform_causes.py", "tests/test_platform_correction.py",
                   "tests/test_known_values.py", "tests/test_mutation_settling.py",
                   "tests/test_mutation_settling_call.py")
_CHECK_TESTS = ("tests/test_checks.py", "tests/test_known_values.py", "tests/test_mutation_checks.py",
                "tests/test_mutation_envelope.py", "tests/test_mutation_registry.py", "tests/test_checks_relations.py")
_CERTIFY_TESTS = ("tests/test_certify_finish.py", "tests/test_certify_certificate.py", "tests/test_certify_profiles.py",
                  "tests/test_mutation_reporting.py", "tests/test_mutation_certify.py")

# Cheapest first (few mutants, fast tests): the order `--module` is not given in.
MODULES: dict[str, Module] = {m.name: m for m in (
    Module("checkdigit", "harness/personas/checkdigit.py",
           ("tests/test_known_values.py", "tests/test_personas.py", "tests/test_mutation_reporting.py")),
    Module("masking", "harness/reporting/masking.py",
           ("tests/test_known_values.py", "tests/test_mutation_reporting.py")),
    Module("transport", "harness/transport/errors.py",
           ("tests/test_transport.py", "tests/test_transport_hostile.py", "tests/test_mutation_transport.py"),
           functions=("x__network_error__mutmut_*", "x__tls_error__mutmut_*")),
    Module("checks.money", "harness/checks/money.py", _CHECK_TESTS),
    Module("checks.settlement", "harness/checks/settlement.py", _CHECK_TESTS),
    Module("checks.envelope", "harness/checks/envelope.py", _CHECK_TESTS),
    Module("checks.registry", "harness/checks/registry.py", _CHECK_TESTS),
    Module("verdict", "harness/verdict.py",
           ("tests/test_grades.py", "tests/test_grades_verdict.py", "tests/test_runner_verdict.py",
            "tests/test_mutation_verdict.py")),
    Module("gate", "harness/reporting/gate.py",
           ("tests/test_gate.py", "tests/test_known_values.py", "tests/test_grades_verdict.py",
            "tests/test_mutation_reporting.py")),
    Module("evidence", "harness/reporting/evidence.py",
           ("tests/test_evidence.py", "tests/test_mutation_reporting.py")),
    Module("certify", "harness/reporting/certify.py", (*_CERTIFY_TESTS, "tests/test_ledger_attempts.py")),
    Module("certify_particulars", "harness/reporting/certify_particulars.py", _CERTIFY_TESTS),
    # calc and rules are pure functions: their own test files suffice (the flows through the whole platform
    # add minutes per run and no sensitivity the known-value tests lack)
    Module("platform.calc", "harness/platform/calc.py",
           ("tests/test_platform_calc.py", "tests/test_known_values.py", "tests/test_mutation_platform.py",
            "tests/test_mutation_calc.py")),
    Module("platform.rules", "harness/platform/rules.py",
           ("tests/test_platform_causes.py", "tests/test_mutation_rules.py")),
    Module("platform.settling", "harness/platform/settling.py", _SETTLING_TESTS),
    Module("platform.booking", "harness/platform/booking.py", _SETTLING_TESTS),
    Module("runner.evaluate", "harness/runner/evaluate.py", (*_RUNNER_TESTS, "tests/test_mutation_evaluate.py")),
    Module("runner.engine-2601", "harness/runner/recovery.py", (*_RUNNER_TESTS, "tests/test_mutation_recovery.py"),
           functions=("xǁRecoveryǁ_resolve_unknown_outcome__mutmut_*", "xǁRecoveryǁ_run_fault_step__mutmut_*")),
)}


@dataclass
class Score:
    module: str
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    no_tests: int = 0
    equivalent: int = 0
    other: int = 0
    seconds: float = 0.0
    survivors: list[str] = field(default_factory=list)

    @property
    def mutants(self) -> int:
        return self.killed + self.timeout + self.survived + self.no_tests + self.equivalent + self.other

    @property
    def score(self) -> float | None:
        judged = self.mutants - self.equivalent
        return None if judged == 0 else (self.killed + self.timeout) / judged

    def as_dict(self) -> dict[str, object]:
        return {"module": self.module, "mutants": self.mutants, "killed": self.killed, "timeout": self.timeout,
                "survived": self.survived, "no_tests": self.no_tests, "equivalent": self.equivalent,
                "other": self.other, "score": None if self.score is None else round(self.score, 4),
                "seconds": round(self.seconds, 1), "survivors": self.survivors}


def equivalent_mutants(path: Path = SURVIVORS_FILE) -> dict[str, str]:
    """The mutants judged equivalent, name -> reason, from the survivors file."""
    if not path.is_file():
        return {}
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*-\s*`([^`]+)`\s*:\s*(.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def _toml_list(values: list[str]) -> str:
    return json.dumps(values, ensure_ascii=False)


def undecorate(source: str) -> str:
    """The module with each decorated module-level function decorated after its definition instead
    (`@d(x) def f` -> `def f ... f = d(x)(f)`): the same module, whose functions mutmut can mutate."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.decorator_list]
    for node in sorted(functions, key=lambda n: n.lineno, reverse=True):
        decorators = [ast.get_source_segment(source, d) or "" for d in node.decorator_list]
        if any("\n" in d for d in decorators):
            continue  # a decorator over several lines: left as it is (mutmut skips the function)
        applied = node.name
        for decorator in reversed(decorators):
            applied = f"({decorator})({applied})"
        first = min(d.lineno for d in node.decorator_list) - 1
        end = node.end_lineno or node.lineno
        lines[end:end] = [f"{node.name} = {applied}\n"]
        del lines[first:node.lineno - 1]
    return "".join(lines)


def prepare(module: Module) -> Path:
    """A fresh folder for the module's run: a copy of the package (the source under test undecorated),
    links to the tests and data, and a pyproject.toml that configures mutmut for this one source file
    and these test files."""
    work = WORK / module.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "harness", work / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    target = work / module.source
    target.write_text(undecorate(target.read_text(encoding="utf-8")), encoding="utf-8")
    for name in ("tests", *DATA_FOLDERS):
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    configure(work, module)
    return work


def configure(work: Path, module: Module) -> None:
    """The run folder's pyproject.toml: the project's, with mutmut set to this source file and these tests."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject += (
        "\n[tool.mutmut]\n"
        'source_paths = ["harness"]\n'
        f"only_mutate = {_toml_list([module.source])}\n"
        f"also_copy = {_toml_list(list(DATA_FOLDERS))}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(list(module.tests))}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        "use_git_change_detection = false\n"
    )
    (work / "pyproject.toml").write_text(pyproject, encoding="utf-8")


def _mutmut() -> str:
    found = Path(sys.executable).parent / "mutmut"
    if not found.exists():
        sys.exit("mutmut is not installed in this environment: pip install -e '.[mutation]'")
    return str(found)


def unchanged_since_last_run(module: Module) -> bool:
    """Whether the module's run folder holds the mutants of the module's current source (and its results)."""
    copy = WORK / module.name / module.source
    meta = WORK / module.name / "mutants" / (module.source + ".meta")
    source = undecorate((ROOT / module.source).read_text(encoding="utf-8"))
    return meta.is_file() and copy.is_file() and copy.read_text(encoding="utf-8") == source


def run(module: Module, children: int, only: list[str] | None = None) -> float:
    """Runs mutmut on the module (or, with `only`, re-tests these mutants of its last run, keeping the other
    results); returns the seconds it took. Its output goes to <work>/<module>/log."""
    work = WORK / module.name if only else prepare(module)
    meta = work / "mutants" / (module.source + ".meta")
    kept: dict[str, int | None] = {}
    if only:
        kept = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        configure(work, module)  # the module's test files as they are now (a test file may have been added)
    started = time.monotonic()
    with open(work / "log", "a" if only else "w", encoding="utf-8") as log:
        completed = subprocess.run([_mutmut(), "run", "--max-children", str(children), *(only or module.globs)],
                                   cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False)
    elapsed = time.monotonic() - started
    if only and meta.is_file():
        # mutmut forgets the results of the mutants not re-tested when its configuration changed: keep them
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data["exit_code_by_key"]
        for name, code in kept.items():
            if name not in only and codes.get(name) is None:
                codes[name] = code
        meta.write_text(json.dumps(data), encoding="utf-8")
    if only:
        previous = work / "seconds"
        elapsed += float(previous.read_text()) if previous.is_file() else 0.0
    (work / "seconds").write_text(f"{elapsed:.1f}\n", encoding="utf-8")
    if completed.returncode != 0:
        tail = (work / "log").read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"mutmut failed on {module.name} (exit {completed.returncode}); end of {work / 'log'}:\n{tail}",
              file=sys.stderr)
    return elapsed


def collect(module: Module, equivalent: dict[str, str]) -> Score | None:
    """The figures of the module's last run, from mutmut's result file; None when it never ran."""
    work = WORK / module.name
    meta = work / "mutants" / (module.source + ".meta")
    if not meta.is_file():
        return None
    codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    score = Score(module.name)
    seconds = work / "seconds"
    score.seconds = float(seconds.read_text()) if seconds.is_file() else 0.0
    for name, code in sorted(codes.items()):
        if not any(fnmatch(name, g) for g in module.globs):
            continue
        if code in SURVIVED or code in NO_TESTS:
            if name in equivalent:
                score.equivalent += 1
                continue
            if code in SURVIVED:
                score.survived += 1
            else:
                score.no_tests += 1
            score.survivors.append(name)
        elif code in KILLED:
            score.killed += 1
        elif code in TIMEOUT:
            score.timeout += 1
        else:
            score.other += 1
            score.survivors.append(name)
    return score


def show_survivors(module: Module, score: Score) -> None:
    for name in score.survivors:
        diff = subprocess.run([_mutmut(), "show", name], cwd=WORK / module.name, capture_output=True,
                              text=True, check=False)
        print(diff.stdout.rstrip() or diff.stderr.rstrip())
        print()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def table(scores: list[Score]) -> str:
    total = Score("overall")
    for s in scores:
        for attr in ("killed", "timeout", "survived", "no_tests", "equivalent", "other", "seconds"):
            setattr(total, attr, getattr(total, attr) + getattr(s, attr))
    header = ("module", "mutants", "killed", "timeout", "survived", "no tests", "equivalent", "score", "seconds")
    rows = [(s.module, s.mutants, s.killed, s.timeout, s.survived + s.other, s.no_tests, s.equivalent,
             _percent(s.score), f"{s.seconds:.0f}") for s in [*scores, total]]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="only this module (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the modules and their test files")
    parser.add_argument("--report", action="store_true", help="print the figures of the last runs, run nothing")
    parser.add_argument("--survivors", action="store_true", help="print the diff of each surviving mutant")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--again", action="store_true",
                        help="re-test only the survivors of the module's last run (after adding tests); the source "
                             "must be unchanged since that run")
    parser.add_argument("--tests", action="append", metavar="FILE",
                        help="only these test files (repeatable); with --again, to re-test survivors against new "
                             "tests only (a mutant they kill is killed, whatever the other tests do)")
    parser.add_argument("--min-score", type=float, help="exit 1 when a module's score is below this (0..1)")
    args = parser.parse_args(argv)
    modules = [MODULES[n] for n in args.module] if args.module else list(MODULES.values())
    if args.tests:
        modules = [replace(m, tests=tuple(args.tests)) for m in modules]
    if args.list:
        for m in modules:
            print(f"{m.name}: {m.source} {' '.join(m.functions)}\n    " + "\n    ".join(m.tests))
        return 0
    equivalent = equivalent_mutants()
    scores: list[Score] = []
    for module in modules:
        if args.again and not args.report:
            last = collect(module, equivalent)
            if last is None or not unchanged_since_last_run(module):
                print(f"{module.name}: no run of its current source to re-test: run it in full", file=sys.stderr)
                return 2
            if last.survivors:
                print(f"re-testing the {len(last.survivors)} survivors of {module.name} ...", file=sys.stderr,
                      flush=True)
                run(module, args.children, only=last.survivors)
        elif not args.report:
            print(f"mutating {module.name} ({module.source}) ...", file=sys.stderr, flush=True)
            run(module, args.children)
        score = collect(module, equivalent)
        if score is not None:
            scores.append(score)
            if not args.json and not args.report:
                print(f"  {module.name}: {_percent(score.score)} of {score.mutants}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([s.as_dict() for s in scores], ensure_ascii=False, indent=2))
    else:
        print(table(scores))
    if args.survivors:
        for module in modules:
            score = next((s for s in scores if s.module == module.name), None)
            if score is not None and score.survivors:
                print(f"\n=== survivors of {module.name} ===")
                show_survivors(module, score)
    low = [s for s in scores if args.min_score is not None and s.score is not None and s.score < args.min_score]
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
