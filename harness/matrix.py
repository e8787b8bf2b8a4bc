"""`hsa-cert matrix`: certify many sites at once, each as its own `certify` session in a worker process.

A provincial team re-certifies tens to thousands of sites after every interface change. Each site is one
certification (the `certify` code path: the site's profile selection, `run_session`, then
`finish_certification`), run in its own process from a bounded pool, with its own evidence folder
`<out>/<site id>/`, certificate and ledger rows. A site that fails, cannot be reached or has a broken
config is a row in the breakdown, never the end of the matrix. `<out>/matrix.json` holds per site
`id`, `verdict`, `pass_rate`, `exit_code` (and the figures behind them); it is rewritten as sites finish,
so a matrix stopped half-way still leaves what it did.

The matrix's exit code is the most serious of its sites': 3 if any site had an infrastructure error,
else 2 if any site config was unusable, else 1 if any site has findings, else 0 (every site certified).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import HsaCertError, InfrastructureError, UsageError

__all__ = ["MatrixResult", "SiteJob", "SiteResult", "certify_site", "collect_site_files", "in_shard",
           "matrix_exit_code", "parse_shard", "plan_jobs", "run_matrix"]

MATRIX_JSON = "matrix.json"
SITE_LOG = "matrix.log"  # what the site's session printed, in its evidence folder
# Severity of a site's exit code for the matrix's own: infrastructure > usage/config > findings > certified.
_SEVERITY = {0: 0, 1: 1, 2: 2, 3: 3}


@dataclass(frozen=True, slots=True)
class SiteJob:
    """One site of the matrix, as a worker process receives it (plain values: it crosses a process boundary)."""

    site_id: str
    source: str  # the site TOML
    out_dir: str  # the site's evidence folder
    ledger: str  # a SQLite file or a postgresql:// URL (every worker appends to it)
    reports_dir: str
    keyword: str | None = None
    profile: str | None = None  # certification profile; None: from the site's capabilities
    seed: int | None = None
    allure: bool = False
    masked: bool = True
    problem: str = ""  # the config could not be read when planning: reported, not run


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


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 ≤ I ≤ N): this runner takes the I-th of N stable parts of the province."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like I/N (e.g. 2/4), not {text!r}") from None
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text}: I must be between 1 and N", hint="e.g. --shard 1/4 … --shard 4/4")
    return index, count


def in_shard(site_id: str, shard: tuple[int, int] | None) -> bool:
    """Stable split by site id: the same site always lands in the same shard, whatever else is listed."""
    if shard is None:
        return True
    digest = hashlib.sha256(site_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shard[1] == shard[0] - 1


def collect_site_files(paths: Sequence[str]) -> list[Path]:
    """Site TOMLs from files and directories (a directory: its *.toml files, not recursive), sorted, unique."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError("no such site config file or directory", location=text)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UsageError("no site config (*.toml) found", location=", ".join(paths),
                         hint="give site TOML files or directories holding them")
    return unique


def _site_id(path: Path) -> tuple[str, str]:
    """(site id, problem): the id the site's config declares, or the file stem and why it cannot be read."""
    from harness.session import preload_site

    try:
        return preload_site(str(path)).id, ""
    except HsaCertError as exc:
        return path.stem, exc.render()


def plan_jobs(files: Sequence[Path], *, out: Path, shard: tuple[int, int] | None, ledger: Path | str,
              reports_dir: Path, keyword: str | None = None, profile: str | None = None,
              seed: int | None = None, allure: bool = False, masked: bool = True) -> list[SiteJob]:
    """One job per site of this shard. Two files naming one site id, or an evidence folder that is already
    there, are usage errors of the whole matrix (evidence is never overwritten nor mixed)."""
    jobs: list[SiteJob] = []
    seen: dict[str, Path] = {}
    for path in files:
        site_id, problem = _site_id(path)
        if site_id in seen:
            raise UsageError(f"two site configs name the site id {site_id!r}", location=f"{seen[site_id]}, {path}",
                             hint="site ids name evidence folders and ledger rows: they must be unique")
        seen[site_id] = path
        if not in_shard(site_id, shard):
            continue
        site_dir = out / site_id
        if site_dir.exists() and any(site_dir.iterdir()):
            raise UsageError("the evidence folder is already there", location=str(site_dir),
                             hint="give the matrix a new --out folder (the ledger keeps the history across runs)")
        jobs.append(SiteJob(site_id=site_id, source=str(path), out_dir=str(site_dir), ledger=str(ledger),
                            reports_dir=str(reports_dir), keyword=keyword, profile=profile, seed=seed,
                            allure=allure, masked=masked, problem=problem))
    return jobs


def certify_site(job: SiteJob) -> SiteResult:
    """Certify one site (the `hsa-cert certify` path), quietly: what it prints goes to <evidence>/matrix.log.

    Module level so that worker processes can import it by name. Never raises: every problem is the
    site's row (a traceback, should one happen, goes to the log, not to the user).
    """
    started = time.perf_counter()
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if job.problem:
        (out_dir / SITE_LOG).write_text(job.problem + "\n", encoding="utf-8")
        return SiteResult(job.site_id, job.source, "config error", None, 2, evidence=job.out_dir,
                          message=job.problem.splitlines()[0] if job.problem else "", wall_s=0.0)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = _certify(job, log.write)
    except HsaCertError as exc:
        log.write(exc.render() + "\n")
        verdict = "error" if exc.exit_code == 3 else "config error" if exc.exit_code == 2 else "not certified"
        result = SiteResult(job.site_id, job.source, verdict, None, exc.exit_code, evidence=job.out_dir,
                            message=exc.render().splitlines()[0])
    except Exception as exc:  # one site's crash is its own row, never the matrix's end
        log.write(traceback.format_exc())
        result = SiteResult(job.site_id, job.source, "error", None, 3, evidence=job.out_dir,
                            message=f"internal error: {type(exc).__name__}: {exc} (see {out_dir / SITE_LOG})")
    (out_dir / SITE_LOG).write_text(log.getvalue(), encoding="utf-8")
    return SiteResult(**{**result.to_json(), "wall_s": round(time.perf_counter() - started, 2)})


def _certify(job: SiteJob, say: Callable[[str], Any]) -> SiteResult:
    from harness.reporting.certify import finish_certification, note_breaker_stop, record_attempt, run_info
    from harness.reporting.certprofile import load_profile, profile_for_capabilities
    from harness.reporting.gate import GatePolicy
    from harness.reporting.ledger import ledger_location
    from harness.scenarios.catalogue import load_suites
    from harness.session import preload_site, run_session
    from harness.specs import load_registry

    site_config = preload_site(job.source)
    declared = tuple(site_config.capabilities)
    chosen = load_profile(job.profile or profile_for_capabilities(declared))
    chosen.check_site(declared, site_location=job.source)
    selection = chosen.select(load_suites(load_registry(), site_config.profile))
    try:
        _code, run_dir, document = run_session(site_file=job.source, seed=job.seed, out=job.out_dir,
                                              keyword=job.keyword, scenarios=list(selection.scenarios),
                                              masked=job.masked, echo=lambda text: say(text + "\n"))
    except InfrastructureError as exc:  # no verdict: the ledger notes the attempt (the dashboard shows it)
        record_attempt(ledger_location(job.ledger), site_config.id, exc, kind="matrix", out_dir=job.out_dir,
                       progress=lambda text: say(text + "\n"))
        raise
    outcome = finish_certification(
        Path(str(run_dir)), run_info(document, chosen), scenarios={s.id: s for s in selection.scenarios},
        levels=selection.levels, policy=GatePolicy(), ledger=ledger_location(job.ledger),
        reports_dir=Path(job.reports_dir),
        allure=job.allure, progress=lambda text: say(text + "\n"))
    note_breaker_stop(ledger_location(job.ledger), outcome, document, kind="matrix",
                      progress=lambda text: say(text + "\n"))
    summary = outcome.record.summary
    return SiteResult(job.site_id, job.source, outcome.gate.verdict, summary.pass_rate, outcome.exit_code,
                      scenarios=summary.total, passed=summary.passed, failed=summary.failed,
                      evidence=str(run_dir), certificate=str(outcome.certificate), digest=outcome.digest)


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
