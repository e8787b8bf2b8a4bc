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
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from harness.errors import InfrastructureError, UsageError
from harness.gateway import SM_FAMILIES, make_signer
from harness.personas import load_catalogue
from harness.personcopies import more_personas
from harness.platform.config import PlatformConfig, parse_fault
from harness.platform.seed import seed_state
from harness.platform.server import start_background
from harness.proxy import MutatingTarget, load_mutations
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
from harness.runner.ledger import DayBook, Ledger
from harness.runner.pool import ScenarioPool
from harness.scenarios.catalogue import load_suites
from harness.selftest import SELFTEST_SEED, SuiteResult, suite_result_from_document
from harness.selftest.proxy import ProxyRun
from harness.siteconfig import SiteConfig, embedded_site, load_site
from harness.sm_crypto import sm2_keypair
from harness.specs import deep_merge, load_registry
from harness.transport import HttpTarget, Target
from harness.verdict import exit_code, group_summaries, summarize

__all__ = ["RunInterrupted", "open_daybook", "preload_site", "proxy_suite_run", "run_session", "selftest_suite_run"]

_PYTEST_INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED: Ctrl-C, the breaker's stop, or a collection error


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C while the scenarios ran (pytest caught it): the evidence of what ran is written, marked
    interrupted, before this is raised; the CLI names the folder and exits 130."""

    def __init__(self, run_dir: Path, ran: int, total: int) -> None:
        super().__init__(f"interrupted after {ran} of {total} scenarios")
        self.run_dir, self.ran, self.total = run_dir, ran, total


class _CtrlC:
    """Whether SIGINT arrived during the run (`watched`: whether that can be known at all here)."""

    def __init__(self, watched: bool) -> None:
        self.watched, self.noted = watched, False

    def __bool__(self) -> bool:  # unwatched: assume so, and let pytest's status decide alone
        return self.noted or not self.watched


@contextlib.contextmanager
def _noting_ctrl_c() -> Iterator[_CtrlC]:
    """Notes a SIGINT arriving in the block (pytest reports Ctrl-C and its own stops with one status); where it
    cannot be watched (a thread, SIGINT ignored) the answer is "maybe", and the status decides alone."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield _CtrlC(watched=False)
        return
    ctrl_c = _CtrlC(watched=True)

    def note(signum: int, frame: object) -> None:
        ctrl_c.noted = True
        # pluggy warns (with a path) when the interrupt lands in a plugin's teardown: the CLI says it once, plainly
        warnings.filterwarnings("ignore", message="A plugin raised an exception during an old-style hookwrapper")
        previous(signum, frame)  # Python's own: raises KeyboardInterrupt, which pytest catches

    signal.signal(signal.SIGINT, note)
    try:
        with warnings.catch_warnings():  # the filter above lasts as long as the run
            yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


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



def open_daybook(site: SiteConfig, run_id: str, reports: Path = Path("reports")) -> DayBook | None:
    """The harness's record of its settlements at a persistent site (recon_scope "day"), else None.

    Default file: reports/<site id>/daybook.sqlite (where runs go without --out), whatever --out says, so
    that runs writing their evidence elsewhere still share it; [site] daybook names another file.
    """
    if site.recon_scope != "day":
        return None
    path = Path(site.daybook) if site.daybook else reports / site.id / "daybook.sqlite"
    return DayBook(path, f"{site.id} {site.base_url}", run_id)


def _embedded_credentials(family: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """Fresh gateway credentials for one embedded run under a signing profile: (the harness's, the platform's)."""
    if family in SM_FAMILIES:
        return _embedded_sm_credentials()
    first, second = secrets.token_hex(8), secrets.token_hex(16)
    if family == "tif":
        return {"paasid": first, "token": second}, {"tif_paasid": first, "tif_token": second}
    if family == "csb":
        return {"access_key": first, "secret_key": second}, {"csb_ak": first, "csb_sk": second}
    return None


def _embedded_sm_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """Fresh national-crypto credentials for one embedded run: (the harness's, the platform's)."""
    private, public = sm2_keypair()
    app_id, token, sm4_key = f"hsa-cert-{secrets.token_hex(4)}", secrets.token_hex(16), secrets.token_hex(16)
    return ({"app_id": app_id, "access_token": token, "sm4_key": sm4_key, "sm2_private_key": private},
            {"sm_public_key": public, "sm_app_id": app_id, "sm_access_token": token, "sm4_key": sm4_key})


def preload_site(site_file: str | None) -> SiteConfig:
    """The site config as the engine will load it, read first to select scenarios and check the profile."""

    catalogue = load_catalogue()
    if site_file is None:
        return embedded_site("http://127.0.0.1", catalogue=catalogue)
    return load_site(Path(site_file), profiles=load_registry().profiles(),
                     archetypes=catalogue.archetypes, item_aliases=[i.alias for i in catalogue.items])



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
