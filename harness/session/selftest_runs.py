"""The self-tests' suite runners: one engine run each, quiet, in a temporary run directory.

`hsa-cert selftest` runs the suite once clean and once per platform mutant (`selftest_suite_run`), or once
per mutation through the mutation proxy (`proxy_suite_run`), each through `run_session`: the self-test
judges the same code path as `hsa-cert run`. Module level so that worker processes (`--jobs`) can import
them by name.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time

from harness.personas import load_catalogue
from harness.proxy import MutatingTarget, load_mutations
from harness.scenarios.catalogue import load_suites
from harness.selftest import SELFTEST_SEED, SuiteResult, suite_result_from_document
from harness.selftest.proxy import ProxyRun
from harness.session.run import run_session
from harness.session.site import preload_site
from harness.specs import load_registry
from harness.transport import Target

__all__ = ["proxy_suite_run", "selftest_suite_run"]


def selftest_suite_run(scenario_ids: tuple[str, ...] | None, faults: tuple[str, ...], *,
                       province: str | None = None, keyword: str | None = None) -> SuiteResult:
    """The self-test's SuiteRunner: one engine run, quiet, in a temporary run directory.

    `province` and `keyword` are `hsa-cert run`'s --province and -k (give them with functools.partial).
    Module level so that worker processes (`--jobs`) can import it by name.
    """

    scenarios = load_suites(load_registry(), province or "baseline", catalogue=load_catalogue())
    if scenario_ids is not None:
        wanted = set(scenario_ids)
        scenarios = [s for s in scenarios if s.id in wanted]
    with tempfile.TemporaryDirectory(prefix="hsa-cert-selftest-", ignore_cleanup_errors=True) as tmp:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # pytest's progress: stdout may carry --json
            _code, _run_dir, document = run_session(scenarios=scenarios, faults=list(faults), out=tmp,
                                                   seed=SELFTEST_SEED, echo=lambda _text: None,
                                                   province=province, keyword=keyword)
        return suite_result_from_document(document, time.perf_counter() - started)


def proxy_suite_run(site_file: str | None, scenario_ids: tuple[str, ...] | None,
                    mutation_names: tuple[str, ...]) -> ProxyRun:
    """The proxy self-test's runner: one engine run through the mutation proxy (no name: a transparent proxy).

    Against the embedded platform each run gets a fresh platform and the self-test seed; against a site,
    a fresh seed per run, so that runs against one persistent test environment do not reuse fee serials.
    Module level (use functools.partial for the site) so that worker processes (`--jobs`) can import it.
    """

    registry = load_registry()
    site_config = preload_site(site_file)
    profile = registry.profile(site_config.profile)
    patterns = {k: list(v) for k, v in profile.err_msg_patterns.items()}
    for cause, extra in (getattr(site_config, "err_msg_patterns", None) or {}).items():
        patterns.setdefault(cause, []).extend(extra)
    mutation = load_mutations()[mutation_names[0]] if mutation_names else None
    scenarios = load_suites(registry, site_config.profile, catalogue=load_catalogue())
    if scenario_ids is not None:
        wanted = set(scenario_ids)
        scenarios = [s for s in scenarios if s.id in wanted]
    proxies: list[MutatingTarget] = []

    def wrap(target: Target) -> Target:
        proxies.append(MutatingTarget(target, mutation, err_msg_patterns=patterns))
        return proxies[-1]

    with tempfile.TemporaryDirectory(prefix="hsa-cert-proxy-", ignore_cleanup_errors=True) as tmp:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            _code, _run_dir, document = run_session(site_file=site_file, scenarios=scenarios, out=tmp,
                                                   seed=SELFTEST_SEED if site_file is None else None,
                                                   echo=lambda _text: None, wrap_target=wrap)
        suite = suite_result_from_document(document, time.perf_counter() - started)
    return ProxyRun(suite=suite, applied=sum(p.applied for p in proxies))
