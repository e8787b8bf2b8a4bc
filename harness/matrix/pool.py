"""`run_matrix`: the sites' certifications on a bounded pool of worker processes, a progress line and a new
matrix.json as each site finishes. Before it forks its workers, the pool loads once what every site needs
(`warm_up`); a worker that dies is its site's row, never the matrix's end.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from harness.errors import HsaCertError
from harness.matrix.plan import SiteJob
from harness.matrix.results import MatrixResult, SiteResult, progress_line, write_matrix
from harness.matrix.site import certify_site


def warm_up(jobs: Sequence[SiteJob]) -> None:
    """Import what a certification needs and load the scenario suites of every site profile, once, here.

    Loading a profile's suites costs about a second of CPU (921 scenarios generated from the specs); each
    worker used to pay it again for every profile it met, so on a busy machine `--jobs 8` over sites of
    seven profiles did more work than `--jobs 1`. Workers forked after this start with it all loaded.
    A profile that cannot be loaded is left for its site's own row to report.
    """
    from harness.reporting import certify, certprofile, gate, ledger  # noqa: F401  (imported for the workers)
    from harness.scenarios.catalogue import load_suites
    from harness.session import preload_site
    from harness.specs import load_registry

    profiles: set[str] = set()
    for job in jobs:
        if job.problem:
            continue
        with contextlib.suppress(HsaCertError):
            profiles.add(preload_site(job.source).profile)
    for profile in sorted(profiles):
        with contextlib.suppress(HsaCertError):
            load_suites(load_registry(), profile)


def _worker_context(jobs: Sequence[SiteJob]) -> multiprocessing.context.BaseContext:
    """fork, after `warm_up`, where it is safe: on POSIX and with no other thread running here (a thread
    could hold a lock the child would inherit taken); else spawn, each worker loading on its own."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        warm_up(jobs)
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_matrix(jobs: Sequence[SiteJob], *, out: Path, workers: int, shard: tuple[int, int] | None = None,
               echo: Callable[[str], None] = print) -> MatrixResult:
    """Run the jobs on a pool of `workers` processes; a progress line per site as it finishes."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done: list[SiteResult] = []
    workers = max(1, min(workers, len(jobs) or 1))

    def finished(result: SiteResult) -> None:
        done.append(result)
        echo(progress_line(len(done), len(jobs), result))
        write_matrix(out, MatrixResult(tuple(done), time.perf_counter() - started, workers, shard))

    with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(jobs)) as pool:
        pending: dict[Future[SiteResult], SiteJob] = {pool.submit(certify_site, job): job for job in jobs}
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in ready:
                job = pending.pop(future)
                try:
                    finished(future.result())
                except Exception as exc:  # a worker that died (killed, out of memory)
                    finished(SiteResult(job.site_id, job.source, "error", None, 3, evidence=job.out_dir,
                                        message=f"the worker process died: {type(exc).__name__}: {exc}"))
    result = MatrixResult(tuple(done), time.perf_counter() - started, workers, shard)
    write_matrix(out, result)
    return result
