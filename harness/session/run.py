"""`run_session`: one run end to end, from options to results.json.

The composition root under the CLI: the target (a site, or the embedded reference platform started for the
run), the scenarios, pytest with the scenario plugin, and the run's evidence on disk; `hsa-cert run`,
`certify` and `selftest` all go through it, so there is one code path from options to results.json. It
prints only through the `echo` callable it is given.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from harness.errors import InfrastructureError, UsageError
from harness.gateway import make_signer
from harness.personas import load_catalogue
from harness.personcopies import more_personas
from harness.platform.config import PlatformConfig, parse_fault
from harness.platform.seed import seed_state
from harness.platform.server import start_background
from harness.pytest_plugin import ScenarioPlugin, run_pytest
from harness.reporting.console import ConsoleReporter, render_summary
from harness.reporting.curl import secret_header_env
from harness.reporting.identity import tool_identity
from harness.reporting.kept import KeptResults
from harness.reporting.masking import Masker
from harness.reporting.progress import ProgressDisplay
from harness.reporting.results_json import results_head
from harness.reporting.spool import ResultSpool
from harness.runner import Runner, probe
from harness.runner.diskindex import ScenariosById
from harness.runner.ledger import Ledger
from harness.runner.pool import ScenarioPool
from harness.scenarios.catalogue import load_suites
from harness.session.credentials import _embedded_credentials
from harness.session.interrupt import RunInterrupted, _noting_ctrl_c
from harness.session.site import open_daybook
from harness.siteconfig import embedded_site, load_site
from harness.specs import deep_merge, load_registry
from harness.transport import HttpTarget, Target
from harness.verdict import exit_code, group_summaries, summarize

__all__ = ["run_session"]

_PYTEST_INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED: Ctrl-C, the breaker's stop, or a collection error


def run_session(*, site_file: object = None, suites: list[str] | None = None, seed: int | None = None,
               out: object = None, keyword: str | None = None, faults: list[str] | None = None,
               alluredir: object = None, masked: bool = True, scenarios: list | None = None,
               echo: Callable[[str], None] | None = None, progress: bool = False,
               wrap_target: Callable[[Target], Target] | None = None,
               province: str | None = None, jobs: int = 1, persons: int = 1,
               entries: bool = True) -> tuple[int, Path, dict]:
    """Run scenarios against a site (or the embedded platform); returns (exit code, run dir, results doc).

    Writes <run dir>/results.json, exchanges.jsonl, junit.xml and allure-results/, each scenario's record as it
    ends (harness.reporting.spool: memory stays bounded however many scenarios run); the document returned is
    results.json's, each scenario's entry without its steps and with its findings' evidence cut to the
    `inconclusive` flag (`spool.slim_entry`). `scenarios`
    replaces suite loading (certify passes its selection); `wrap_target` puts a Target in front of the
    site's (the self-test's mutation proxy). Raises HsaCertError for usage, config and
    unreachable-site problems. `progress`: a count and an estimate (a live line on a terminal, a plain
    line per tenth elsewhere) instead of pytest's dot per scenario. `province` runs the embedded platform
    (and the suite) under that province profile instead of the baseline; a site config names its own profile.
    `jobs` > 1 runs scenarios on that many Runners at once (harness.runner.pool), with the same results;
    `persons` > 1 gives the embedded platform that many persons per archetype (so that more of them run at once).
    `entries=False` leaves the scenarios' entries out of the document returned (`hsa-cert run`, which needs only
    the exit code, and the scale benchmark): results.json has them all the same, and memory at the end of a run
    then does not grow with the number of scenarios.
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
        if persons > 1:
            raise UsageError("--persons applies only to the embedded reference platform",
                             hint="a site config lists several persons as [[identities.<archetype>]]")
        if faults:
            raise UsageError("--fault applies only to the embedded reference platform",
                             hint="drop --site to run against the embedded platform with faults")
        site = load_site(Path(str(site_file)), profiles=registry.profiles(),
                         archetypes=catalogue.archetypes, item_aliases=[i.alias for i in catalogue.items])
        problem = probe(site.base_url, min(site.limits.timeout_s, 5.0))
        if problem:
            raise InfrastructureError(f"the site is not reachable: {problem}", location=site.base_url,
                                      detail=f"site config: {site.source}",
                                      hint="check that the site is up and base_url (host and port) is right")
    if province is not None and site is not None:
        raise UsageError("--province applies only to the embedded reference platform",
                         hint="a site config names its province in [site] profile")
    if province is not None and province not in registry.profiles():
        raise UsageError(f"unknown province profile {province!r}",
                         hint="choose one of: " + ", ".join(sorted(registry.profiles())))
    profile_name = site.profile if site is not None else (province or "baseline")
    selected = scenarios if scenarios is not None else load_suites(registry, profile_name, suites or None,
                                                                    catalogue=catalogue)
    platform = None
    tmp = None
    target = None
    worker_targets: list[HttpTarget] = []
    daybook = None
    spool = None
    kept = None
    by_id: ScenariosById | None = None
    runner: Runner | None = None
    pool: ScenarioPool | None = None
    test_keys: tuple[dict[str, str], dict[str, str]] | None = None
    extra: tuple = ()
    try:
        if site is None:
            parsed = [parse_fault(spec) for spec in faults or []]
            tmp = tempfile.TemporaryDirectory(prefix="hsa-cert-platform-", ignore_cleanup_errors=True)
            family = str(registry.profile(profile_name).gateway.get("family", "none"))
            test_keys = _embedded_credentials(family)
            platform = start_background(PlatformConfig(db_path=str(Path(tmp.name) / "platform.sqlite"),
                                                       faults=parsed, seed=catalogue.seed, profile=profile_name,
                                                       gateway_credentials=test_keys and test_keys[1]))
            extra = more_personas(catalogue, persons)
            seed_state(platform.platform.db, SimpleNamespace(seed=catalogue.seed, personas=extra))
            site = embedded_site(platform.url, catalogue=catalogue, profile=profile_name, more_persons=extra)
            say(f"hsa-cert: embedded reference platform at {platform.url}"
                + (f" with faults {', '.join(faults or [])}" if faults else ""))
        for archetype in site.identities:  # the site's test identities: masked wherever they appear
            for identity in site.persons(archetype):
                masker.learn(identity)
        if platform is not None:
            for persona in (*catalogue.personas, *extra):
                masker.learn(persona.to_json())
        profile = registry.profile(site.profile)
        run_dir = Path(str(out)) if out is not None else Path("reports") / site.id / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        transport = dict(profile.transport)
        for key in ("url_style", "endpoint_path", "infno_path_template"):
            if getattr(site, key):
                transport[key] = getattr(site, key)
        gateway = deep_merge(profile.gateway, site.gateway.options)
        if test_keys is not None:  # the embedded platform under a signing profile: its test keys (it verifies them)
            signer = make_signer(str(gateway.get("family")), test_keys[0], gateway)
        else:
            signer = make_signer(site.gateway.family, site.gateway.credentials(source=site.source), gateway)
        limits = {k: v for k in ("deadline_s", "max_answer_bytes") if (v := getattr(site.limits, k)) is not None}
        def make_target() -> HttpTarget:
            return HttpTarget.from_profile(site.base_url, transport, timeout_s=site.limits.timeout_s, signer=signer,
                                           rate_limit_per_s=site.limits.rate_limit_per_s,
                                           verify_tls=site.tls.verify_option(), client_cert=site.tls.cert_option(),
                                           trust_env=site.trust_env, **limits)

        target = make_target()
        sender = wrap_target(target) if wrap_target else target
        display = ProgressDisplay(say) if progress else None
        runner = Runner(sender, registry, profile, site, ConsoleReporter(display.write if display else say),
                        seed=run_seed)
        if display is not None:
            runner.add_listener(display)
        # A proxy self-test run sees answers the proxy altered: they must not enter the site's day book.
        daybook = open_daybook(site, run_id) if wrap_target is None else None
        if daybook is not None:  # a persistent site: the end-of-run 3201 counts the harness's earlier runs too
            runner.ledger = Ledger(daybook=daybook)
        if jobs > 1:  # each worker its own Target (connection, sign-in); the run's Runner gets their events
            worker_targets.extend(make_target() for _ in range(jobs))
            pool = ScenarioPool(runner, [Runner(wrap_target(own) if wrap_target else own, registry, profile, site,
                                                seed=run_seed) for own in worker_targets])
        names = {spec.infno: spec.title_zh for spec in registry.interfaces()}
        # scenario id -> scenario, an index on disk over `selected` (which it does not copy): issue 14
        by_id = ScenariosById(selected)
        # Each scenario's full result is written (masked) to the spool as it ends; memory keeps a slim one.
        spool = ResultSpool(by_id, masker, masked=masked, registry=registry)
        kept = KeptResults()  # the slim results too, on disk (harness.reporting.kept)
        plugin = ScenarioPlugin(selected, runner, interface_names=names, masked=masked,
                                header_env=secret_header_env(site.gateway.credential_env), letters=display is None,
                                masker=masker, pool=pool, spool=spool.add, results=kept)
        say(f"hsa-cert: {len(selected)} scenarios against {site.id} ({site.base_url}), profile {site.profile}, "
            f"seed {run_seed}" + (f", {jobs} jobs" if jobs > 1 else ""))
        try:
            with _noting_ctrl_c() as ctrl_c:
                try:
                    status = run_pytest(plugin, root=Path.cwd(), keyword=keyword,
                                        alluredir=Path(str(alluredir)) if alluredir else run_dir / "allure-results",
                                        junitxml=run_dir / "junit.xml",
                                        extra_args=("-o", "console_output_style=classic") if display else ())
                except Exception:
                    # An interrupt can land where pytest's own report of it breaks (a traceback entry without a
                    # line number); what ran is still kept as an interrupted run, not a crash.
                    if not (ctrl_c.watched and ctrl_c.noted):
                        raise
                    status = _PYTEST_INTERRUPTED
        finally:
            if display is not None:
                display.stop()
        if status in (3, 4):  # pytest internal or usage error (e.g. a bad -k expression)
            raise UsageError("pytest could not run the scenarios", detail=f"pytest exit status {status}",
                             hint="check the -k expression")
        interrupted = status == _PYTEST_INTERRUPTED and plugin.stop_reason is None and bool(ctrl_c)
        results = plugin.ordered_results()
        if not results:
            raise UsageError("no scenario selected", detail=f"-k {keyword!r}" if keyword else "",
                             hint="`hsa-cert scenarios list` shows the ids; -k matches ids, areas, interfaces, tags")
        code = exit_code(results, by_id)
        finished = datetime.now().astimezone()
        run_info = {
            "run_id": run_id, "site": site.describe(), "profile": site.profile, "spec_version": registry.version,
            "seed": run_seed, "suites": suites or ["default"], "keyword": keyword or "", "faults": faults or [],
            "started_at": started.isoformat(timespec="seconds"), "finished_at": finished.isoformat(timespec="seconds"),
            "exit_code": code, "stop_reason": plugin.stop_reason or "",
        }
        if interrupted:  # what ran is kept as evidence; it is not a finished run (and certify seals nothing)
            run_info.update(exit_code=130, interrupted=True, stop_reason="interrupted (Ctrl-C)")
        # Masked before anything is written: certify builds the certificate and the ledger from this document.
        # results.json and exchanges.jsonl are streamed from the spool; the document returned keeps each
        # scenario's entry without its steps (`slim_entry`).
        head = masker.document(results_head(results, by_id, run=run_info, tool=tool_identity(registry).to_json()))
        tail = {"coverage": spool.coverage.document() if spool.coverage else {}}  # spec-wide clause coverage
        kept_entries = spool.write_results(run_dir / "results.json", head, results, tail, keep=entries)
        spool.write_exchanges(run_dir / "exchanges.jsonl", results,
                              run_exchanges=[runner.sign_in_exchange] if runner.sign_in_exchange else [])
        document = {**head, **({"scenarios": kept_entries} if entries else {}), **tail}
        for problem in runner.listener_errors[:20]:
            say(f"hsa-cert: a reporter failed ({problem})")
        say("")
        say(render_summary(summarize(results), group_summaries(results, by_id, "area"),
                           group_summaries(results, by_id, "interface"), interface_names=names,
                           notes=[f"results: {run_dir / 'results.json'}"], results=results, scenarios=by_id))
        if interrupted:
            raise RunInterrupted(run_dir, len(plugin.results), len(results))
        return code, run_dir, document
    finally:
        if spool is not None:
            spool.close()
        if kept is not None:
            kept.close()
        if by_id is not None:
            by_id.close()
        if daybook is not None:
            daybook.close()
        for used in (runner, *(pool.workers if pool is not None else ())):
            if used is not None:
                used.close()  # its temporary databases (ledger rows, execution counts)
        if target is not None:
            target.close()
        for own in worker_targets:
            own.close()
        if platform is not None:
            platform.stop()
        if tmp is not None:
            tmp.cleanup()
