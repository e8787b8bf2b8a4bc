"""Benchmark: scenarios, wall time and peak memory of one run as the suite grows (1×, 5×, 10×, 20× the default suite).

    python bench/scale.py [--sizes 1,5,10,20] [--repeat 1] [-k EXPR]

Each measurement is a fresh process (`--child N`) that loads the default suite, repeats the scenario list N
times with distinct ids (`<id>` then `<id>~2`, `<id>~3` …), and runs it through `harness.session.run_session`
(the `hsa-cert run` code path, the embedded platform in the same process, evidence written to a temporary
folder), then reports its wall time and its peak resident set size (getrusage ru_maxrss: the whole process,
platform included). The table shows the sizes side by side; with --repeat R the headline is the median
of the R runs of a size, with every run listed below it. Target (issue 14): ≤ 300 MB peak at 10,000
scenarios, and 20,000 no higher than 10,000. Results, exchanges and junit.xml's test cases are spooled to disk as
each scenario ends (harness/reporting/spool.py, junit.py), the slim results too (kept.py), and the run's indices by
scenario id and the runner's ledger rows are in temporary SQLite files (harness/runner/diskindex.py, ledgerrows.py);
what memory keeps a scenario is 8 bytes of run order (and pytest's count of passed reports). The embedded
platform's caches are bounded and full by about 7,000 scenarios (served as a process of its own, the platform is flat
from 7,500 on). What grew after that (0.83 KB a scenario, in C memory: malloc's bytes in use climbed while Python's
allocated blocks and SQLite's heap stayed flat) was pytest's PYTEST_CURRENT_TEST: pytest puts "<node id> (<phase>)"
into the process environment at each phase of each item, three new strings a scenario, and glibc's setenv keeps every
string it was ever given for the life of the process (a pointer getenv handed out may still be in use), about 300
bytes a scenario. heaptrack found it (`heaptrack python bench/scale.py --child 2`, then `heaptrack_print
--print-leaks`: `__add_to_environ` and its `tsearch` node, three calls a scenario; compare --child 6). run_pytest
keeps pytest from setting it (harness/pytest_plugin/run.py: nothing reads it). The other step up past 10,000 scenarios
was Python's table of interned strings: pathlib (3.11) interns every part of a path it parses, so each of the dozen
unique Allure file names a scenario writes entered the table and left it, and the churn made the table (58,000 live
strings) be allocated anew every few thousand scenarios, from 2 MB to 4 MB and then 4 MB again, wherever malloc found
room (the 20× peak varied by 4 MB from run to run). Allure's files are now written by text paths
(harness/reporting/allure_files.py, HeldWrites); no string is interned per scenario any more (the table's entry count
stays put over a whole run).

What was left (the 20× peak 1.6–1.8 MB above the 10× one) was not the loop over the scenarios but the end of the run:
junit.xml's test cases were copied from their spool a million characters at a time, each piece held as bytes, as
text and encoded again while written, and one piece still held while the next was read. The spool is ~95 characters
a scenario: at 10,480 scenarios (0.98 M characters, one piece) the copy added 1.8 MB on top of the loop's plateau, at
20,960 (two pieces) 3.4–3.8 MB, and that was the whole run's peak both times (RSS sampled at each stage after the
loop; the same copy alone: 0.75 MB at 0.5 M characters, 1.8 MB at 0.98 M, 3.8–3.9 MB at 2 M and 3 M). The spool is
copied 64 K characters at a time now (harness/reporting/junit.py): 0.1–0.25 MB at any size (peaks after it: 10×
158.4 / 157.0 MB, 20× 158.1 / 156.8 MB, from 160.4 / 159.6 and 162.0 / 161.6). The loop's own plateau,
sampled every 500 scenarios (RSS, malloc's bytes in use and free, pymalloc's arenas, Python's blocks and objects,
SQLite's heap), is reached by 9,000 scenarios: from 10,000 to 20,500 RSS rose by 0.4 MB in one run, and the loop's
peak in a 20× run was 0.2 MB below that of a 10× run (glibc's heap and pymalloc's 74 arenas flat; Python's live
blocks swing by ~7 MB between full collections, alike at every size). What does grow with the run is 16 bytes a
scenario: the run order's positions (an array of 8 bytes a scenario, made when the scenarios are selected) and the
terminal reporter's list of passed reports (a pointer to one shared placeholder each): 0.17 MB more at 20,960
scenarios than at 10,480.

The repeated list is a sequence that makes each copy when it is asked for (`Repeated`), not twenty thousand
Scenario objects made up front: the run takes its scenarios as a sequence, copies nothing of it and refers to
scenarios by position (the pytest plugin, `harness.runner.diskindex.ScenariosById`), so what is measured is the
run's own memory, not the benchmark's input. That is fair to a real suite of that size, which is loaded from YAML
files and could be read lazily in the same way; `--eager-input` makes the copies up front (what the input alone
costs: the difference between the two).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# bench/ holds other scripts (bench/platform.py) that would shadow stdlib modules of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

SEED = 20240101


class Repeated(Sequence[Any]):
    """`base` `times` over, the copies after the first with ids `<id>~2`, `<id>~3` …, each made when asked for."""

    def __init__(self, base: Sequence[Any], times: int) -> None:
        self._base, self._times = base, times

    def __len__(self) -> int:
        return len(self._base) * self._times

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        copy, at = divmod(index, len(self._base))
        scenario = self._base[at]
        return scenario if copy == 0 else dataclasses.replace(scenario, id=f"{scenario.id}~{copy + 1}")


def child(times: int, keyword: str | None, eager: bool = False) -> dict[str, float | int]:
    from harness.personas import load_catalogue
    from harness.scenarios.catalogue import load_suites
    from harness.session import run_session
    from harness.specs import load_registry

    base = load_suites(load_registry(), "baseline", catalogue=load_catalogue())
    scenarios: Sequence[Any] = Repeated(base, times)
    if eager:
        scenarios = list(scenarios)
    with tempfile.TemporaryDirectory(prefix="hsa-cert-scale-") as tmp:
        started = time.perf_counter()
        # pytest's progress dots, thrown away (a StringIO holding them grew with the run: the benchmark's, not its)
        with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
            _code, _run_dir, document = run_session(scenarios=scenarios, out=tmp, seed=SEED, keyword=keyword,
                                                   echo=lambda _text: None, entries=False)
        wall = time.perf_counter() - started
        # Read before the evidence folder is deleted: removing tens of thousands of Allure files lists the whole
        # folder at once (shutil.rmtree), which is the benchmark tidying up, not the run.
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"times": times, "scenarios": document["summary"]["total"], "wall_s": round(wall, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1)}


def measure(times: int, keyword: str | None, eager: bool = False) -> dict[str, float | int]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(times)]
    if keyword:
        command += ["-k", keyword]
    if eager:
        command.append("--eager-input")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run of {times}× failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10,20", help="Multiples of the default suite, comma-separated.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per size; the median is the headline.")
    parser.add_argument("-k", dest="keyword", default=None, help="Only scenarios matching this -k expression.")
    parser.add_argument("--eager-input", action="store_true",
                        help="Make every repeated scenario up front (the input's own memory counted in).")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.keyword, args.eager_input)))
        return 0
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    rows = []
    for times in sizes:
        runs = [measure(times, args.keyword, args.eager_input) for _ in range(max(1, args.repeat))]
        rows.append((times, runs))
        print(f"{times}×: " + ", ".join(f"{r['scenarios']} scenarios {r['wall_s']} s {r['peak_rss_mb']} MB"
                                        for r in runs), file=sys.stderr, flush=True)
    print(f"{'size':>5}  {'scenarios':>9}  {'wall s':>8}  {'peak RSS MB':>11}  {'s / 1000':>8}  {'MB / 1000':>9}")
    for times, runs in rows:
        wall = statistics.median(r["wall_s"] for r in runs)
        rss = statistics.median(r["peak_rss_mb"] for r in runs)
        count = runs[0]["scenarios"]
        per = 1000 / count if count else 0.0
        print(f"{times:>4}×  {count:>9}  {wall:>8.1f}  {rss:>11.1f}  {wall * per:>8.1f}  {rss * per:>9.1f}")
        if len(runs) > 1:
            print("       runs: " + "; ".join(f"{r['wall_s']} s {r['peak_rss_mb']} MB" for r in runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
