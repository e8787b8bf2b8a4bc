"""The `hsa-cert matrix` and `hsa-cert dashboard` commands: a province at once.

Part of the command line (layer 7): it parses options and calls harness.matrix (the sites'
certifications) and harness.reporting.dashboard (the page built from the ledger).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError

__all__ = ["dashboard_command", "matrix_command"]




def matrix_command(
    sites: list[str] = typer.Argument(..., help="Site configs (TOML) and/or directories holding them."),  # noqa: B008
    out: str = typer.Option(..., "--out", help="Matrix folder: one evidence folder per site, and matrix.json."),
    jobs: int = typer.Option(max(1, min(4, os.cpu_count() or 1)), "--jobs", min=1, max=64,
                             help="Sites certified at the same time, each in its own process."),
    shard: str | None = typer.Option(None, "--shard", help="I/N: only this runner's part of the sites (stable split "
                                     "by site id), e.g. 2/4."),
    profile: str | None = typer.Option(None, "--profile", help="Certification profile for every site; default: "
                                       "chosen per site from its declared capabilities."),
    keyword: str | None = typer.Option(None, "-k", help="Only scenarios matching this pytest -k expression."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for run.uniq at every site."),
    reports_dir: str = typer.Option("reports", "--reports-dir", help="Root of the Allure history and the ledger."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file, or a postgresql://user:password@host/db URL that every site's worker "
        "writes to (a province's shared ledger); default <reports-dir>/ledger.sqlite or $HSA_CERT_LEDGER."),
    allure: bool = typer.Option(False, "--allure", help="Also build each site's Allure HTML report (needs Node)."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Keep personal data unmasked in reports."),
) -> None:
    """Certify many sites concurrently: an evidence folder, certificate and ledger rows per site, a progress line
    per site, OUT/matrix.json with the breakdown.

    Exit codes: 0 every site certified, 1 a site has findings, 2 a site config (or the command) is unusable,
    3 a site had an infrastructure error (unreachable, timeouts); the most serious wins.
    """
    from harness.matrix import collect_site_files, parse_shard, plan_jobs, run_matrix
    from harness.reporting.console import render_rows
    from harness.reporting.ledger import ledger_location

    try:
        part = parse_shard(shard) if shard else None
        reports = Path(reports_dir)
        planned = plan_jobs(collect_site_files(sites), out=Path(out), shard=part,
                            ledger=ledger_location(ledger, reports), reports_dir=reports,
                            keyword=keyword, profile=profile, seed=seed, allure=allure, masked=not no_mask)
    except HsaCertError as exc:
        _fail(exc)
    label = f" (shard {shard})" if shard else ""
    typer.echo(f"hsa-cert matrix: {len(planned)} sites{label}, {min(jobs, max(1, len(planned)))} at a time, "
               f"evidence under {out}")
    result = run_matrix(planned, out=Path(out), workers=jobs, shard=part, echo=typer.echo)
    rows = [[s.id, s.verdict, str(s.exit_code), "-" if s.pass_rate is None else f"{s.pass_rate * 100:.1f}%",
             f"{s.passed}/{s.scenarios}", f"{s.wall_s:.1f}"] for s in sorted(result.sites, key=lambda s: s.id)]
    typer.echo("")
    typer.echo(render_rows(rows, ["site 站点", "verdict 结论", "exit", "pass rate 通过率", "passed", "seconds"]))
    typer.echo(f"\nmatrix: {len(result.sites)} sites in {result.wall_s:.1f} s, exit {result.exit_code}; "
               f"{Path(out) / 'matrix.json'}")
    raise typer.Exit(result.exit_code)


def dashboard_command(
    out: str = typer.Option(..., "--out", help="The HTML page to write."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file, or a postgresql://user:password@host/db URL (a province's shared "
        "ledger); default reports/ledger.sqlite or $HSA_CERT_LEDGER."),
    sites: list[str] = typer.Option(  # noqa: B008
        None, "--sites", help="Site configs (TOML files or directories) for city/level/vendor filters; default: "
        "the configs recorded with each site's latest run."),
    stale_days: int = typer.Option(7, "--stale-days", min=1, help="A site not run for this many days is listed "
                                   "as not run recently."),
) -> None:
    """The provincial dashboard: one static HTML page (no network requests) from the ledger: pass-rate heat map per
    site and business area, trend charts, regressed sites with the scenarios that broke, sites not run recently,
    sites that could not be reached (their latest attempt ended without a verdict)."""
    from harness.matrix import collect_site_files
    from harness.reporting.dashboard import META_KEYS, write_dashboard
    from harness.reporting.ledger import ledger_location
    from harness.session import preload_site

    try:
        metadata = {}
        for path in collect_site_files(list(sites)) if sites else []:
            described = preload_site(str(path)).describe()
            metadata[str(described["id"])] = {k: str(v) for k, v in described.items() if k in META_KEYS}
        page = write_dashboard(ledger_location(ledger), Path(out), metadata=metadata,
                               stale_days=stale_days)
    except HsaCertError as exc:
        _fail(exc)
    down = f", {len(page.unreachable)} unreachable: {', '.join(page.unreachable)}" if page.unreachable else ""
    typer.echo(f"dashboard: {page.path} ({page.sites} sites, {page.runs} runs, {len(page.regressed)} regressed{down})")


app.command("matrix")(matrix_command)
app.command("dashboard")(dashboard_command)
