"""`hsa-cert run` and `hsa-cert certify`: a run against a site, and a certification."""

from __future__ import annotations

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError

# --- run -----------------------------------------------------------------------------------

_RUN_SUITE = typer.Option(None, "--suite", help="Suite to run (repeatable); default: every suite.")
_RUN_FAULT = typer.Option(None, "--fault", help="Embedded platform fault, e.g. 2207:delay=500 (repeatable).")
_JOBS = typer.Option(1, "--jobs", "-j", min=1, max=64, help="Run scenarios of different test persons on N "
                     "Runners at once (same ids, outcomes and evidence as serial); 1: serial.")
_PERSONS = typer.Option(1, "--persons", min=1, max=16, help="Embedded platform only: test persons per archetype "
                        "(more scenarios of one behaviour can then run at once with --jobs); default 1.")
_PROVINCE = typer.Option(None, "--province", help="Embedded platform only: run it and the suite under this province "
                         "profile (specs/profiles), e.g. jiangxi; default baseline.")


@app.command("run")
def run_command(
    site: str = typer.Option(None, "--site", help="Site config (TOML); default: the embedded reference platform."),
    suite: list[str] = _RUN_SUITE,
    seed: int = typer.Option(None, "--seed", help="Seed for run.uniq: the same seed gives the same request bodies."),
    out: str = typer.Option(None, "--out", help="Run directory; default reports/<site-id>/<run-id>/."),
    keyword: str = typer.Option(None, "-k", help="pytest -k expression over ids, areas, interfaces, tags."),
    fault: list[str] = _RUN_FAULT,
    alluredir: str = typer.Option(None, "--alluredir", help="Allure results; default <run dir>/allure-results."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Keep personal data unmasked in reports."),
    province: str | None = _PROVINCE,
    jobs: int = _JOBS,
    persons: int = _PERSONS,
) -> None:
    """Run the scenario suites against a site, or against the embedded reference platform.

    Exit codes: 0 every mandatory scenario passed, 1 findings, 2 usage or config error,
    3 infrastructure error (site unreachable, timeouts, circuit breaker).
    """
    from harness.session import run_session
    try:
        code, _run_dir, _doc = run_session(site_file=site, suites=list(suite or []), seed=seed, out=out,
                                          keyword=keyword, faults=list(fault or []), alluredir=alluredir,
                                          masked=not no_mask, progress=True, province=province, jobs=jobs,
                                          persons=persons, entries=False)
    except HsaCertError as exc:
        _fail(exc)
    raise typer.Exit(code)


# --- certify, verify, history, report ----------------------------------------------------------------
# certify = run_session() (the same code path as `hsa-cert run`, given the profile's selection) plus
# harness.reporting.certify.finish_certification(): verdict, evidence, certificate, ledger, Allure.


def print_certificate_pdf(certificate: object) -> object:
    """certificate.pdf beside certificate.html; the page count is checked (a certificate is one A4 page)."""
    from harness.reporting.pdf import page_count, print_pdf

    printed = print_pdf(certificate)  # type: ignore[arg-type]
    pages = page_count(printed.read_bytes())
    if pages != 1:
        typer.echo(f"warning: the certificate printed on {pages} pages, not one", err=True)
    return printed


@app.command("certify")
def certify_command(
    site: str | None = typer.Option(None, "--site", help="Site config (TOML); default: the embedded platform."),
    profile: str | None = typer.Option(
        None, "--profile", help="Certification profile: hospital-outpatient, hospital-inpatient, hospital-full, "
        "pharmacy; default: chosen from the site's declared capabilities."),
    out: str | None = typer.Option(None, "--out", help="Evidence directory; default reports/<site>/<run-id>/."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for run.uniq: same seed, same request bodies."),
    keyword: str | None = typer.Option(None, "-k", help="Only scenarios matching this pytest -k expression."),
    fault: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring a repeatable option
        None, "--fault", help="Embedded platform fault, e.g. 2207:mutant=accept-not-filed (repeatable)."),
    min_pass_rate: str | None = typer.Option(
        None, "--min-pass-rate", help="Gate: minimum pass rate (passed / (passed + failed)), 0.95 or 95%."),
    min_coverage: str | None = typer.Option(
        None, "--min-coverage", help="Gate: minimum coverage (what ran / what applies), 0.9 or 90%."),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Gate: fail when a scenario that passed in the site's previous run "
        "fails now."),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Gate: known failures (TOML), each with a reason and an expiry date."),
    reports_dir: str = typer.Option("reports", "--reports-dir", help="Root of the reports, Allure history, ledger."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file, or a postgresql://user:password@host/db URL (a province's shared "
        "ledger); default <reports-dir>/ledger.sqlite or $HSA_CERT_LEDGER."),
    no_allure: bool = typer.Option(False, "--no-allure", help="Skip the Allure HTML report."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Keep personal data unmasked in reports."),
    province: str | None = _PROVINCE,
    signing_key: str | None = typer.Option(
        None, "--signing-key", help="Ed25519 private key (PEM) to sign the evidence; default $HSA_CERT_SIGNING_KEY; "
        "neither: unsigned."),
    issuer: str | None = typer.Option(None, "--issuer", help="Issuing organisation printed on the certificate; "
                                      "default: the certification profile's."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print the certificate to certificate.pdf (Chromium)."),
    jobs: int = _JOBS,
    persons: int = _PERSONS,
) -> None:
    """Run a certification profile and write the evidence: results.json, junit.xml, allure-results/,
    certificate.html and the Allure report; append the run to the ledger; apply the gate.

    Exit codes: 0 certified, 1 findings, 2 usage or config error, 3 infrastructure error.
    """
    from pathlib import Path

    from harness.errors import InfrastructureError
    from harness.reporting.certify import finish_certification, note_breaker_stop, record_attempt
    from harness.reporting.certify_particulars import run_info
    from harness.reporting.certprofile import load_profile, profile_for_capabilities
    from harness.reporting.gate import GatePolicy, load_baseline, parse_pass_rate
    from harness.reporting.ledger import ledger_location
    from harness.reporting.signing import load_signing_key
    from harness.scenarios.catalogue import load_suites
    from harness.session import preload_site, run_session
    from harness.specs import load_registry

    try:
        # Everything that can be wrong with the inputs is checked before a single request is sent.
        policy = GatePolicy(
            min_pass_rate=parse_pass_rate(min_pass_rate) if min_pass_rate is not None else None,
            fail_on_regression=fail_on_regression,
            baseline=load_baseline(Path(baseline)) if baseline else None,
            min_coverage=parse_pass_rate(min_coverage, "--min-coverage") if min_coverage is not None else None,
        )
        key = load_signing_key(Path(signing_key) if signing_key else None)
        site_config = preload_site(site)
        declared = tuple(site_config.capabilities)  # type: ignore[attr-defined]
        chosen = load_profile(profile or profile_for_capabilities(declared))
        chosen.check_site(declared, site_location=getattr(site_config, "source", "") or (site or ""))
        scenarios = load_suites(load_registry(), province or site_config.profile)  # type: ignore[attr-defined]
        selection = chosen.select(scenarios)
        typer.echo(f"hsa-cert certify: profile {chosen.id} ({chosen.title_zh}): {len(selection.scenarios)} of "
                   f"{len(scenarios)} scenarios")
        reports = Path(reports_dir)
        try:
            _code, run_dir, document = run_session(site_file=site, seed=seed, out=out, keyword=keyword,
                                                  faults=list(fault or []), scenarios=list(selection.scenarios),
                                                  masked=not no_mask, progress=True, province=province, jobs=jobs,
                                                  persons=persons)
        except InfrastructureError as exc:  # no verdict: the ledger notes the attempt (the dashboard shows it)
            record_attempt(ledger_location(ledger, reports), site_config.id,  # type: ignore[attr-defined]
                           exc, kind="certify", out_dir=out or "", progress=typer.echo)
            raise
        outcome = finish_certification(
            Path(str(run_dir)), run_info(document, chosen),
            scenarios={s.id: s for s in selection.scenarios}, levels=selection.levels, policy=policy,
            ledger=ledger_location(ledger, reports), reports_dir=reports,
            allure=not no_allure, progress=typer.echo, signing_key=key, issuer=issuer or chosen.issuer,
            validity_days=chosen.validity_days, pending_grace_days=chosen.pending_grace_days,
        )
        note_breaker_stop(ledger_location(ledger, reports), outcome, document, kind="certify", progress=typer.echo)
        printed = print_certificate_pdf(outcome.certificate) if pdf else None
    except HsaCertError as exc:
        _fail(exc)
        return
    from harness.reporting.mutation_score import render_score

    document = outcome.record.extra.get("certificate") or {}
    typer.echo("")
    typer.echo(f"certificate:     {outcome.certificate}")
    typer.echo(f"  number {outcome.number}, issued {document.get('issued')} by {document.get('issuer')}, "
               f"valid until {document.get('valid_until')}")
    typer.echo(f"  verification code {outcome.code}  (check: hsa-cert verify --code {outcome.code} {outcome.run_dir})")
    typer.echo(f"  signed by {outcome.key_fingerprint}" if outcome.key_fingerprint
               else "  UNSIGNED 未签名 (no --signing-key or $HSA_CERT_SIGNING_KEY)")
    score = render_score(document.get("mutation_score"), outcome.record.info.suite_fingerprint)
    typer.echo(f"  mutation score: {score}")
    typer.echo(f"evidence digest: {outcome.digest}  (check: hsa-cert verify {outcome.run_dir})")
    if printed is not None:
        typer.echo(f"certificate PDF: {printed}")
    if outcome.allure is not None:
        typer.echo(outcome.allure.message)
    typer.echo("")  # the gate's reasons and the verdict are the last lines, whatever came before
    typer.echo(outcome.gate.render(limit=10, full_list=str(Path(str(outcome.run_dir)) / "certification.json")))
    raise typer.Exit(outcome.exit_code)
