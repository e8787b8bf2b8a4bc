"""`hsa-cert scenarios list|archetypes|show`: the certification scenarios."""

from __future__ import annotations

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError
from harness.reporting.console import render_rows

# --- scenarios commands ------------------------------------------------------------------------------

scenarios_app = typer.Typer(help="List and show the certification scenarios (hand-written and generated).",
                            no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list")
def scenarios_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    suite: list[str] = typer.Option(None, "--suite", help="Only these suites (repeatable); default: all."),  # noqa: B008
    profile: str = typer.Option("baseline", "--profile", help="Province profile the negatives are generated for."),
) -> None:
    """List scenarios: id, level, grade, area, interface and title. Loading reports every problem in every file."""
    import json
    from collections import Counter

    from harness.scenarios.catalogue import load_catalogue_of_scenarios

    try:
        found = load_catalogue_of_scenarios(profile=profile)
        chosen = found.select(suite or None)
    except HsaCertError as exc:
        _fail(exc)
        return
    if as_json:
        keys = ("id", "suite", "level", "grade", "area", "interface", "title", "title_zh", "clauses", "capabilities",
                "archetype", "kind", "source", "fingerprint")
        rows = [dict(zip(keys, (s.id, found.suite_of[s.id], s.level.value, s.grade.value, s.area, s.interface,
                                s.title, s.title_zh, list(s.clauses), list(s.capabilities), s.archetype, s.kind,
                                s.source, s.fingerprint), strict=True)) for s in chosen]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(render_rows([[s.id, s.level.value, s.grade.value, s.area, s.interface, s.title] for s in chosen],
                      ["id", "level", "grade", "area", "infno", "title"]))
    per_suite = Counter(found.suite_of[s.id] for s in chosen)
    summary = ", ".join(f"{name} {count}" for name, count in sorted(per_suite.items()))
    grades = Counter(s.grade.value for s in chosen)
    typer.echo(f"\n{len(chosen)} scenarios ({summary}); suites: {', '.join(found.suites)}; grades: "
               f"MUST {grades['MUST']}, SHOULD {grades['SHOULD']}, MAY {grades['MAY']}")


@scenarios_app.command("archetypes")
def scenarios_archetypes(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    site: str = typer.Option(None, "--site", help="A site config: show who runs each archetype's scenarios there."),
    profile: str = typer.Option("baseline", "--profile", help="Province profile the negatives are generated for."),
) -> None:
    """The test persons the suites need: each archetype's behaviour, whether it needs a person of its own
    (independent) or may be run with its fallback's person, how many scenarios use it and which identity
    fields they read."""
    import json

    from harness.personas import load_catalogue
    from harness.scenarios.catalogue import load_catalogue_of_scenarios
    from harness.session import preload_site
    from harness.siteconfig import archetype_needs

    try:
        found = load_catalogue_of_scenarios(profile=profile)
        site_config = preload_site(site) if site else None
        rows = archetype_needs(found.select(None), load_catalogue().archetypes, site_config)
    except HsaCertError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    head = ["archetype", "independent", "fallback", "scenarios", "identity fields"] + (["at the site"] if site else [])
    typer.echo(render_rows([[r["archetype"], "yes" if r["independent"] else "no", r["fallback"] or "-",
                             str(r["scenarios"]), ", ".join(r["identity_fields"]) or "-",
                             *([r["at_site"]] if site else [])] for r in rows], head))
    independent = [r["archetype"] for r in rows if r["independent"] and r["scenarios"]]
    typer.echo(f"\n{len(independent)} independent archetypes are used: one test person each runs every scenario; "
               "a variant (independent = no) runs with its fallback's person when the site gives none for it.")


@scenarios_app.command("show")
def scenarios_show(
    scenario_id: str = typer.Argument(..., help="The scenario id, as `hsa-cert scenarios list` shows it."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML."),
    profile: str = typer.Option("baseline", "--profile", help="Province profile the negatives are generated for."),
) -> None:
    """Show one scenario in full (templates expanded), with its source file:line and fingerprint."""
    import json

    from harness.scenarios.catalogue import load_catalogue_of_scenarios
    from harness.scenarios.fingerprint import scenario_to_dict
    from harness.scenarios.loader import dump_yaml

    try:
        found = load_catalogue_of_scenarios(profile=profile)
        scenario = found.get(scenario_id)
    except HsaCertError as exc:
        _fail(exc)
        return
    full = scenario_to_dict(scenario)
    data = {"id": full.pop("id"), "suite": found.suite_of[scenario.id], "source": full.pop("source"),
            "fingerprint": full.pop("fingerprint"), **full}
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else dump_yaml(data))
