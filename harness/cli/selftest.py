"""The `hsa-cert selftest` command: platform mutants, proxy mutations, rules.

Part of the command line (layer 7): it parses options and calls lower layers.
harness.selftest decides what to run and what it means; the suite runs go through
harness.session (the `hsa-cert run` code path).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError, UsageError
from harness.reporting.console import render_rows

__all__ = ["proxy_app", "selftest_command"]

ONLY = ("platform", "proxy")




def _parts(site: str | None, only: str | None, mutant: list[str], mutation: list[str]) -> tuple[bool, bool]:
    """Which self-tests run: (platform mutants, proxy mutations)."""
    if only is not None and only not in ONLY:
        raise UsageError(f"--only must be one of {', '.join(ONLY)}, not {only!r}")
    if site is not None:
        if only == "platform" or mutant:
            raise UsageError("platform mutants run only against the embedded reference platform",
                             hint="drop --site, or use --mutation (proxy mutations) with --site")
        return False, True
    if only is not None:
        return only == "platform", only == "proxy"
    if mutant and not mutation:
        return True, False
    if mutation and not mutant:
        return False, True
    return True, True


def _list(as_json: bool, mutant: list[str], mutation: list[str]) -> None:
    from harness.proxy import select_mutations
    from harness.selftest import select_mutants

    platform = [m.to_json() for m in select_mutants(mutant)] if mutant or not mutation else []
    proxy = [m.to_json() for m in select_mutations(mutation)] if mutation or not mutant else []
    if as_json:
        typer.echo(json.dumps({"platform": platform, "proxy": proxy}, ensure_ascii=False, indent=2))
        return
    if platform:
        typer.echo("platform mutants (switches inside the embedded reference platform):")
        typer.echo(render_rows([[str(r["name"]), str(r["category"]), str(r["clause"]), str(r["description"])]
                                for r in platform], ["mutant", "category", "clause", "deviation"]))
    if proxy:
        typer.echo("\nproxy mutations (answers rewritten on the wire, in front of any site):" if platform else
                   "proxy mutations (answers rewritten on the wire, in front of any site):")
        typer.echo(render_rows([[str(r["name"]), str(r["grade"]), ", ".join(r["infnos"]), ", ".join(r["clauses"]),
                                 str(r["description"])] for r in proxy],
                               ["mutation", "grade", "infnos", "clauses", "rewrite"]))


def _rules(as_json: bool, site: str | None) -> None:
    from harness.personas import load_catalogue
    from harness.proxy import select_mutations
    from harness.scenarios.catalogue import load_suites
    from harness.selftest import select_mutants
    from harness.selftest.rules import rules_report
    from harness.session import preload_site
    from harness.specs import load_registry

    registry = load_registry()
    catalogue = load_catalogue()
    scenarios = load_suites(registry, preload_site(site).profile, catalogue=catalogue)
    seen = {s.id for s in scenarios}  # the gateway-signature scenarios live in the signing profiles' suites
    for name in registry.profiles():
        scenarios += [s for s in load_suites(registry, name, ["gateway"], catalogue=catalogue) if s.id not in seen]
        seen.update(s.id for s in scenarios)
    report = rules_report(registry, scenarios, select_mutants(), select_mutations())
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json else report.render_text())


def _proxy_part(site: str | None, mutation: list[str], jobs: int) -> Any:
    from harness.personas import load_catalogue
    from harness.proxy import select_mutations
    from harness.scenarios.catalogue import load_suites
    from harness.selftest.proxy import run_proxy_selftest
    from harness.session import preload_site, proxy_suite_run
    from harness.specs import load_registry

    chosen = select_mutations(mutation)
    site_config = preload_site(site)
    scenarios = load_suites(load_registry(), site_config.profile, catalogue=load_catalogue())
    label = f"site {site_config.id} ({site})" if site else "the embedded reference platform"
    return run_proxy_selftest(functools.partial(proxy_suite_run, site), scenarios, chosen, site=label, jobs=jobs,
                              recheck=site is not None, progress=lambda text: typer.echo(text, err=True),
                              tolerated=load_registry().profile(site_config.profile).tolerated_deviations)


def _record_score(caught: int, total: int) -> None:
    """Keep the score beside the ledger, for the certificate and certify's summary."""
    from harness.reporting.identity import tool_identity
    from harness.reporting.ledger import default_ledger_path
    from harness.reporting.mutation_score import write_score

    path = write_score(default_ledger_path(), caught=caught, total=total,
                       suite_fingerprint=tool_identity().suite_fingerprint)
    typer.echo(f"mutation score recorded: {path}", err=True)


def selftest_command(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (progress still goes to stderr)."),
    mutant: list[str] = typer.Option(None, "--mutant", help="Only this platform mutant (repeatable); default: all."),  # noqa: B008
    mutation: list[str] = typer.Option(  # noqa: B008
        None, "--mutation", help="Only this proxy mutation (repeatable); default: all."),
    site: str | None = typer.Option(
        None, "--site", help="Site config (TOML): run the proxy mutations in front of that site (platform mutants "
        "need the embedded platform and do not run)."),
    only: str | None = typer.Option(None, "--only", help="Run only one self-test: platform or proxy."),
    relevant_only: bool = typer.Option(
        False, "--relevant-only", help="Per platform mutant, run only the scenarios its catalogue entry declares "
        "relevant (fast, for CI); the published score comes from a full run."),
    jobs: int = typer.Option(1, "--jobs", min=1, max=16, help="Suite runs in parallel, each in its own process and "
                             "platform."),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Platform mutants caught before (JSON); default fixtures/selftest-baseline.json."),
    write_baseline: bool = typer.Option(
        False, "--write-baseline", help="After a full run of every mutant, record what was caught as the baseline."),
    list_only: bool = typer.Option(False, "--list", help="List the mutant and mutation catalogues and exit."),
    rules: bool = typer.Option(False, "--rules", help="List the rules: the checks, scenarios, mutants and mutations "
                               "that cite them; the rules with no check and with no mutant; and exit."),
    province: str | None = typer.Option(
        None, "--province", help="Platform mutants: run the embedded platform and the suite under this province "
        "profile (specs/profiles), e.g. hunan, as `run --province` does; default baseline. Under a profile that "
        "signs requests the signing mutants (no-verify) are exercised."),
    keyword: str | None = typer.Option(
        None, "-k", help="Platform mutants: only the scenarios matching this pytest -k expression, in the clean "
        "run and every mutant run (as `run -k`)."),
) -> None:
    """Prove that the suite catches broken sites, two ways, and report both scores.

    Platform mutants: deviations planted inside the embedded reference platform (the clean platform
    must pass 100%). Proxy mutations: answers rewritten on the wire by a proxy in front of the
    embedded platform or of any site (--site): a clean run through the proxy is the baseline, and a
    mutation is caught when a scenario that passed there now has a MUST finding.

    Exit codes: 0 the clean platform passed, no mutant caught before is missed, and every MUST proxy
    mutation the run exercised is caught; 1 otherwise; 2 usage or config error; 3 infrastructure
    error (the site is unreachable).
    """
    from harness.personas import load_catalogue
    from harness.scenarios.catalogue import load_suites
    from harness.selftest import load_baseline, run_selftest, select_mutants
    from harness.selftest import write_baseline as record_baseline
    from harness.session import selftest_suite_run
    from harness.specs import load_registry

    mutant, mutation = list(mutant or []), list(mutation or [])
    platform_report = proxy_report = None
    try:
        if rules:
            _rules(as_json, site)
            return
        if list_only:
            _list(as_json, mutant, mutation)
            return
        run_platform, run_proxy = _parts(site, only, mutant, mutation)
        if write_baseline and (relevant_only or mutant or keyword or not run_platform):
            raise UsageError("--write-baseline needs a full run of every mutant",
                             hint="drop --relevant-only, --mutant, -k, --site and --only proxy")
        if (province is not None or keyword) and not run_platform:
            raise UsageError("--province and -k apply to the platform mutants only",
                             hint="the proxy mutations run under the site config's profile")
        if province is not None and write_baseline and baseline is None:
            raise UsageError("the default baseline records the baseline profile's full run",
                             hint="drop --province, or name another file with --baseline")
        registry = load_registry()
        if province is not None and province not in registry.profiles():
            raise UsageError(f"unknown province profile {province!r}",
                             hint="choose one of: " + ", ".join(sorted(registry.profiles())))
        chosen = select_mutants(mutant) if run_platform else []
        if run_proxy:
            from harness.proxy import select_mutations
            select_mutations(mutation)  # an unknown name is a usage error before anything runs
        known = load_baseline(Path(baseline) if baseline else None)
        if run_platform:
            scenarios = load_suites(registry, province or "baseline", catalogue=load_catalogue())
            signing = str(registry.profile(province or "baseline").gateway.get("family", "none")) != "none"
            run_suite = functools.partial(selftest_suite_run, province=province, keyword=keyword)
            platform_report = run_selftest(run_suite, scenarios, chosen, relevant_only=relevant_only,
                                           jobs=jobs, baseline=known, signing=signing,
                                           progress=lambda text: typer.echo(text, err=True))
            if write_baseline:
                written = record_baseline(platform_report, Path(baseline) if baseline else None)
                typer.echo(f"baseline written: {written}", err=True)
            if not relevant_only and not mutant and not keyword and province is None:  # the published score
                _record_score(len(platform_report.caught), len(platform_report.exercised))
        if run_proxy:
            proxy_report = _proxy_part(site, mutation, jobs)
    except HsaCertError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({"platform": platform_report.to_json() if platform_report else None,
                               "proxy": proxy_report.to_json() if proxy_report else None},
                              ensure_ascii=False, indent=2))
    else:
        texts = [r.render_text() for r in (platform_report, proxy_report) if r is not None]
        typer.echo("\n\n".join(texts))
        if platform_report is not None and proxy_report is not None:
            typer.echo(f"\nscores: platform mutants {len(platform_report.caught)}/{len(platform_report.exercised)}, "
                       f"proxy mutations (MUST) {proxy_report.to_json()['caught']}/{proxy_report.to_json()['total']}")
    raise typer.Exit(max(r.exit_code for r in (platform_report, proxy_report) if r is not None))


proxy_app = typer.Typer(help="The mutation proxy: rewrite a site's answers on the wire (for other tools).",
                        no_args_is_help=True)


@proxy_app.command("serve")
def proxy_serve(
    upstream: str = typer.Option(..., "--upstream", help="Base URL of the site to stand in front of, e.g. "
                                 "http://127.0.0.1:8080."),
    mutation: str | None = typer.Option(None, "--mutation", help="The proxy mutation to apply (`hsa-cert selftest "
                                        "--list`); none: a transparent proxy."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8090, "--port", help="TCP port (0 = any free port)."),
    profile: str = typer.Option("baseline", "--profile", help="Province profile whose err_msg patterns name the "
                                "refusal causes (for mutations that accept one cause's refusals)."),
) -> None:
    """Serve the mutation proxy: forward every request to --upstream and rewrite its answers by one mutation."""
    import time

    from harness.proxy import select_mutations
    from harness.proxy.server import start_proxy
    from harness.specs import load_registry

    try:
        if not upstream.lower().startswith(("http://", "https://")):
            raise UsageError(f"--upstream must be an http:// or https:// URL, not {upstream!r}")
        chosen = select_mutations([mutation])[0] if mutation else None
        patterns = load_registry().profile(profile).err_msg_patterns
        server, thread = start_proxy(upstream, chosen, host=host, port=port, err_msg_patterns=patterns)
    except HsaCertError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(UsageError(f"cannot listen on {host}:{port}", detail=str(exc), hint="choose another --port"))
    typer.echo(f"hsa-cert mutation proxy on {server.url} -> {upstream}"
               f" ({'mutation ' + chosen.name + ': ' + chosen.description if chosen else 'no mutation: transparent'})")
    try:
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


app.command("selftest")(selftest_command)
app.add_typer(proxy_app, name="proxy")
