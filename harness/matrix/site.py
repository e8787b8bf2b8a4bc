"""One site of the matrix certified in a worker process: the `certify` code path (the site's profile selection,
`run_session`, then `finish_certification`), with its own evidence folder, certificate and ledger rows. What the
session prints goes to the site's `matrix.log`; a site that fails, cannot be reached or has a broken config is
its row, never the end of the matrix.
"""

from __future__ import annotations

import contextlib
import io
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HsaCertError, InfrastructureError
from harness.matrix.plan import SiteJob
from harness.matrix.results import SiteResult

SITE_LOG = "matrix.log"  # what the site's session printed, in its evidence folder


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
    from harness.reporting.certify import finish_certification, note_breaker_stop, record_attempt
    from harness.reporting.certify_particulars import run_info
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
