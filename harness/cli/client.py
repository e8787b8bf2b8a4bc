"""`hsa-cert client …`: certify a hospital's HIS (the reference platform judges the client)."""

from __future__ import annotations

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError
from harness.reporting.console import render_rows

# --- client commands: certify a hospital's HIS (the reference platform judges the client) ------------------
# Thin: the logic is in harness.client (typer-free); these only parse options and render.

client_app = typer.Typer(help="Certify a HIS (client mode): the reference platform judges what the HIS sends.",
                         no_args_is_help=True)
app.add_typer(client_app, name="client")


@client_app.command("serve")
def client_serve(
    port: int = typer.Option(..., "--port", help="Listen on 127.0.0.1:PORT (the HIS's platform URL)."),
    out: str = typer.Option(..., "--out", help="Evidence directory (results.json, junit, Allure, certificate)."),
    plan: str = typer.Option("hospital-outpatient", "--plan", help="Case plan: a name in scenarios/client/ or a path."),
    profile: str = typer.Option("baseline", "--profile", help="Province profile the HIS is judged under."),
    strict: bool = typer.Option(False, "--strict", help="Refuse deviations a real platform might let through."),
    allure_report: bool = typer.Option(False, "--allure-report", help="Also build the Allure HTML report (Node)."),
) -> None:
    """Judge a HIS until Ctrl-C, SIGTERM or POST /__admin/session/finish; exit 0 certified, 1 findings."""
    from pathlib import Path

    from harness.client.serve import serve_client

    try:
        evidence = serve_client(plan_name=plan, port=port, out=Path(out), profile=profile, strict=strict,
                                allure_report=allure_report, echo=lambda text: typer.echo(text, err=True))
    except HsaCertError as exc:
        _fail(exc)
    raise typer.Exit(evidence.exit_code)


@client_app.command("case")
def client_case(
    action: str = typer.Argument(..., help="start or end"),
    case_id: str = typer.Argument(..., help="The case id, as in the checklist."),
    port: int = typer.Option(..., "--port", help="The port `client serve` listens on."),
) -> None:
    """Mark the start or end of a case on a running judge (its faults are switched on at start, off at end)."""
    import json

    from harness.client.serve import admin_post
    from harness.errors import UsageError

    try:
        if action.lower() not in ("start", "end"):
            raise UsageError("the action is start or end", detail=action)
        answer = admin_post(port, "/__admin/session/case", {"action": action.lower(), "case": case_id})
    except HsaCertError as exc:
        _fail(exc)
    typer.echo(json.dumps(answer, ensure_ascii=False))


@client_app.command("finish")
def client_finish(port: int = typer.Option(..., "--port", help="The port `client serve` listens on.")) -> None:
    """Tell a running judge to finish: it writes the evidence and exits with the gate's code."""
    from harness.client.serve import admin_post

    try:
        admin_post(port, "/__admin/session/finish", {})
    except HsaCertError as exc:
        _fail(exc)
    typer.echo("finishing")


@client_app.command("checklist")
def client_checklist(
    plan: str = typer.Option("hospital-outpatient", "--plan", help="Case plan name or path."),
    as_json: bool = typer.Option(False, "--json", help="JSON for an automated HIS test driver."),
    html_out: str = typer.Option("", "--html", help="Write an A4-printable HTML page to this file."),
) -> None:
    """The operator checklist: per case the persona and card, what to do in the HIS, what it should show."""
    import json
    from pathlib import Path

    from harness.client.checklist import checklist_data, checklist_html, checklist_text
    from harness.client.session import load_plan

    try:
        loaded = load_plan(plan)
    except HsaCertError as exc:
        _fail(exc)
    if html_out:
        Path(html_out).write_text(checklist_html(loaded), encoding="utf-8")
        typer.echo(f"checklist written: {html_out}", err=True)
    if as_json:
        typer.echo(json.dumps(checklist_data(loaded), ensure_ascii=False, indent=2))
    elif not html_out:
        typer.echo(checklist_text(loaded), nl=False)


@client_app.command("plans")
def client_plans() -> None:
    """List the client case plans."""
    from harness.client.session import list_plans, load_plan

    try:
        rows = [[name, (p := load_plan(name)).title_zh, p.title, str(len(p.cases))] for name in list_plans()]
    except HsaCertError as exc:
        _fail(exc)
    typer.echo(render_rows(rows, ["plan", "名称", "title", "cases"]))


@client_app.command("selftest")
def client_selftest(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The built-in HIS, conforming and with each planted bug: conforming must pass, each bug must be caught."""
    import json

    from harness.client.selftest import run_selftest

    try:
        report = run_selftest()
    except HsaCertError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        conforming = report["conforming"]
        typer.echo(f"conforming HIS: pass rate {conforming['pass_rate']:.0%} ({conforming['cases']} cases; "
                   f"failed: {', '.join(conforming['failed']) or '-'})")
        typer.echo(render_rows([[m["name"], "caught" if m["caught"] else "MISSED", m["grade"] or "-",
                                 ", ".join(m["caught_by"][:4])] for m in report["mutants"]],
                               ["planted bug", "result", "by", "clauses"]))
        typer.echo(f"score {report['score']:.0%} in {report['duration_s']} s")
    ok = report["conforming"]["pass_rate"] == 1.0 and report["score"] == 1.0
    raise typer.Exit(0 if ok else 1)
