"""One run end to end: the target (a site, or the embedded reference platform), the scenarios,
pytest with the scenario plugin, and the run's evidence on disk.

This is the composition root under the CLI: `hsa-cert run`, `certify` and `selftest` all go through
`run_session`, so there is one code path from options to results.json. It prints only through the
`echo` callable it is given.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from harness.errors import InfrastructureError, UsageError
from harness.gateway import make_signer
from harness.personas import load_catalogue
from harness.platform.config import PlatformConfig, parse_fault
from harness.platform.server import start_background
from harness.pytest_plugin import ScenarioPlugin, run_pytest
from harness.reporting.console import ConsoleReporter, render_summary
from harness.reporting.curl import secret_header_env
from harness.reporting.identity import tool_identity
from harness.reporting.masking import Masker
from harness.reporting.results_json import results_document, write_exchanges, write_results
from harness.runner import Runner, probe
from harness.scenarios.catalogue import load_suites
from harness.selftest import SELFTEST_SEED, SuiteResult, suite_result_from_document
from harness.siteconfig import SiteConfig, embedded_site, load_site
from harness.specs import deep_merge, load_registry
from harness.transport import HttpTarget
from harness.verdict import exit_code, group_summaries, summarize

__all__ = ["preload_site", "run_session", "selftest_suite_run"]


def run_session(*, site_file: object = None, suites: list[str] | None = None, seed: int | None = None,
               out: object = None, keyword: str | None = None, faults: list[str] | None = None,
               alluredir: object = None, masked: bool = True, scenarios: list | None = None,
               echo: Callable[[str], None] | None = None) -> tuple[int, Path, dict]:
    """Run scenarios against a site (or the embedded platform); returns (exit code, run dir, results doc).

    Writes <run dir>/results.json, exchanges.jsonl, junit.xml and allure-results/. `scenarios`
    replaces suite loading (certify passes its selection). Raises HsaCertError for usage, config and
    unreachable-site problems.
    """

    raw_say = echo or print
    masker = Masker(enabled=masked)  # one per run: every artefact and the console pass through it

    def say(text: str) -> None:
        raw_say(masker.text(text))

    registry = load_registry()
    catalogue = load_catalogue()
    run_seed = seed if seed is not None else secrets.randbelow(1_000_000)
    started = datetime.now().astimezone()
    run_id = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    site = None
    if site_file is not None:
        if faults:
            raise UsageError("--fault applies only to the embedded reference platform",
                             hint="drop --site to run against the embedded platform with faults")
        site = load_site(Path(str(site_file)), profiles=registry.profiles(),
                         archetypes=[a.id for a in catalogue.archetypes])
        problem = probe(site.base_url, min(site.limits.timeout_s, 5.0))
        if problem:
            raise InfrastructureError(f"the site is not reachable: {problem}", location=site.base_url,
                                      detail=f"site config: {site.source}",
                                      hint="check that the site is up and base_url (host and port) is right")
    profile_name = site.profile if site is not None else "baseline"
    selected = scenarios if scenarios is not None else load_suites(registry, profile_name, suites or None,
                                                                    catalogue=catalogue)
    platform = None
    tmp = None
    target = None
    try:
        if site is None:
            parsed = [parse_fault(spec) for spec in faults or []]
            tmp = tempfile.TemporaryDirectory(prefix="hsa-cert-platform-", ignore_cleanup_errors=True)
            platform = start_background(PlatformConfig(db_path=str(Path(tmp.name) / "platform.sqlite"),
                                                       faults=parsed, seed=catalogue.seed))
            site = embedded_site(platform.url, catalogue=catalogue)
            say(f"hsa-cert: embedded reference platform at {platform.url}"
                + (f" with faults {', '.join(faults or [])}" if faults else ""))
        for identity in site.identities.values():  # the site's test identities: masked wherever they appear
            masker.learn(identity)
        if platform is not None:
            for persona in catalogue.personas:
                masker.learn(persona.to_json())
        profile = registry.profile(site.profile)
        run_dir = Path(str(out)) if out is not None else Path("reports") / site.id / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        transport = dict(profile.transport)
        for key in ("url_style", "endpoint_path", "infno_path_template"):
            if getattr(site, key):
                transport[key] = getattr(site, key)
        gateway = deep_merge(profile.gateway, site.gateway.options)
        signer = make_signer(site.gateway.family, site.gateway.credentials(source=site.source), gateway)
        limits = {k: v for k in ("deadline_s", "max_answer_bytes") if (v := getattr(site.limits, k)) is not None}
        target = HttpTarget.from_profile(site.base_url, transport, timeout_s=site.limits.timeout_s, signer=signer,
                                         rate_limit_per_s=site.limits.rate_limit_per_s,
                                         verify_tls=site.tls.verify_option(), client_cert=site.tls.cert_option(),
                                         trust_env=site.trust_env, **limits)
        runner = Runner(target, registry, profile, site, ConsoleReporter(say), seed=run_seed)
        names = {spec.infno: spec.title_zh for spec in registry.interfaces()}
        plugin = ScenarioPlugin(selected, runner, interface_names=names, masked=masked,
                                header_env=secret_header_env(site.gateway.credential_env), masker=masker)
        say(f"hsa-cert: {len(selected)} scenarios against {site.id} ({site.base_url}), profile {site.profile}, "
            f"seed {run_seed}")
        status = run_pytest(plugin, root=Path.cwd(), keyword=keyword,
                                   alluredir=Path(str(alluredir)) if alluredir else run_dir / "allure-results",
                                   junitxml=run_dir / "junit.xml")
        if status in (3, 4):  # pytest internal or usage error (e.g. a bad -k expression)
            raise UsageError("pytest could not run the scenarios", detail=f"pytest exit status {status}",
                             hint="check the -k expression")
        results = plugin.ordered_results()
        if not results:
            raise UsageError("no scenario selected", detail=f"-k {keyword!r}" if keyword else "",
                             hint="`hsa-cert scenarios list` shows the ids; -k matches ids, areas, interfaces, tags")
        by_id = {s.id: s for s in selected}
        code = exit_code(results, by_id)
        finished = datetime.now().astimezone()
        run_info = {
            "run_id": run_id, "site": site.describe(), "profile": site.profile, "spec_version": registry.version,
            "seed": run_seed, "suites": suites or ["default"], "keyword": keyword or "", "faults": faults or [],
            "started_at": started.isoformat(timespec="seconds"), "finished_at": finished.isoformat(timespec="seconds"),
            "exit_code": code, "stop_reason": plugin.stop_reason or "",
        }
        # Masked before anything is written: certify builds the certificate and the ledger from this document.
        document = masker.document(results_document(results, by_id, run=run_info, masked=masked,
                                                 tool=tool_identity(registry).to_json()))
        write_results(run_dir / "results.json", document)
        write_exchanges(run_dir / "exchanges.jsonl", results, masked=masked, masker=masker,
                        run_exchanges=[runner.sign_in_exchange] if runner.sign_in_exchange else [])
        for problem in runner.listener_errors[:20]:
            say(f"hsa-cert: a reporter failed ({problem})")
        say("")
        say(render_summary(summarize(results), group_summaries(results, by_id, "area"),
                           group_summaries(results, by_id, "interface"), interface_names=names,
                           notes=[f"results: {run_dir / 'results.json'}"], results=results, scenarios=by_id))
        return code, run_dir, document
    finally:
        if target is not None:
            target.close()
        if platform is not None:
            platform.stop()
        if tmp is not None:
            tmp.cleanup()



def preload_site(site_file: str | None) -> SiteConfig:
    """The site config as the engine will load it, read first to select scenarios and check the profile."""

    catalogue = load_catalogue()
    if site_file is None:
        return embedded_site("http://127.0.0.1", catalogue=catalogue)
    return load_site(Path(site_file), profiles=load_registry().profiles(),
                     archetypes=[a.id for a in catalogue.archetypes])



def selftest_suite_run(scenario_ids: tuple[str, ...] | None, faults: tuple[str, ...]) -> SuiteResult:
    """The self-test's SuiteRunner: one engine run, quiet, in a temporary run directory.

    Module level so that worker processes (`--jobs`) can import it by name.
    """

    scenarios = load_suites(load_registry(), "baseline", catalogue=load_catalogue())
    if scenario_ids is not None:
        wanted = set(scenario_ids)
        scenarios = [s for s in scenarios if s.id in wanted]
    with tempfile.TemporaryDirectory(prefix="hsa-cert-selftest-", ignore_cleanup_errors=True) as tmp:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # pytest's progress: stdout may carry --json
            _code, _run_dir, document = run_session(scenarios=scenarios, faults=list(faults), out=tmp,
                                                   seed=SELFTEST_SEED, echo=lambda _text: None)
        return suite_result_from_document(document, time.perf_counter() - started)

