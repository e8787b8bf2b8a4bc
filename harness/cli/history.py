"""`hsa-cert history` and `hsa-cert report`: the trend per site, and rebuilding reports from evidence."""

from __future__ import annotations

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.cli.run import print_certificate_pdf
from harness.errors import HsaCertError


@app.command("history")
def history_command(
    site: str | None = typer.Option(None, "--site", help="Only this site id; default: every site."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file, or a postgresql://user:password@host/db URL (a province's shared "
        "ledger); default reports/ledger.sqlite or $HSA_CERT_LEDGER."),
) -> None:
    """The pass-rate trend per site (overall and per interface) and what changed since the previous run."""
    import json

    from harness.reporting.certify_particulars import interface_names
    from harness.reporting.history import load_history, render_history
    from harness.reporting.ledger import ledger_location
    from harness.reporting.mutation_score import read_score, render_score

    try:
        ledger_path = ledger_location(ledger)
        histories = load_history(ledger_path, site)
    except HsaCertError as exc:
        _fail(exc)
        return
    score = read_score(ledger_path)  # the suite's, from the last full `hsa-cert selftest`
    if as_json:
        typer.echo(json.dumps({"sites": [h.to_json() for h in histories], "mutation_score": score},
                              ensure_ascii=False, indent=2))
    else:
        typer.echo(render_history(histories, interface_names()), nl=False)
        typer.echo(f"suite mutation score: {render_score(score)}")


@app.command("report")
def report_command(
    run_dir: str = typer.Argument(..., help="An evidence directory written by certify."),
    reports_dir: str = typer.Option("reports", "--reports-dir", help="Root holding <site>/history.jsonl."),
    no_allure: bool = typer.Option(False, "--no-allure", help="Only the certificate."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print the certificate to certificate.pdf (Chromium)."),
) -> None:
    """Render the certificate and the Allure report again from the evidence on disk (after verifying it)."""
    from pathlib import Path

    from harness.reporting.certify import rebuild_reports

    try:
        outcome = rebuild_reports(Path(run_dir), reports_dir=Path(reports_dir), allure=not no_allure,
                                  progress=typer.echo)
        printed = print_certificate_pdf(outcome.certificate) if pdf else None
    except HsaCertError as exc:
        _fail(exc)
        return
    typer.echo(f"certificate: {outcome.certificate}")
    if printed is not None:
        typer.echo(f"certificate PDF: {printed}")
    if outcome.allure is not None:
        typer.echo(outcome.allure.message)
