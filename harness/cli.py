"""The hsa-cert command line (Typer). Thin: parse arguments, call lower layers, render errors."""

from __future__ import annotations

import sys

import typer

from harness.errors import HsaCertError

app = typer.Typer(
    name="hsa-cert",
    help="Conformance harness and certification tool for the national healthcare-security platform interfaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
specs_app = typer.Typer(help="List, show and validate against the interface schemas.", no_args_is_help=True)
platform_app = typer.Typer(help="The embedded reference platform.", no_args_is_help=True)
app.add_typer(specs_app, name="specs")
app.add_typer(platform_app, name="platform")


# --- specs commands (SPECS-CODE stream) -----------------------------------------------------
# Imports live inside the commands: the other streams own the top of this file, and a lazy import
# keeps `hsa-cert --help` fast.


def _specs_fail(exc: HsaCertError) -> None:
    """Render an HsaCertError to stderr and exit with its code (also under CliRunner, unlike main())."""
    typer.echo(exc.render(), err=True)
    raise typer.Exit(exc.exit_code) from exc


def _cell_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table that lines up 中文 (double-width) cells too."""
    widths = [max(_cell_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [cell + " " * (w - _cell_width(cell)) for cell, w in zip(row, widths, strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


@specs_app.command("list")
def specs_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every interface of the spec: infno, 中文 name, English name, area."""
    import json

    from harness.specs import load_registry

    def run() -> None:
        registry = load_registry()
        rows = [[s.infno, s.title_zh, s.name_en, s.area] for s in registry.interfaces()]
        if as_json:
            keys = ("infno", "title_zh", "name_en", "area")
            typer.echo(json.dumps([dict(zip(keys, r, strict=True)) for r in rows], ensure_ascii=False, indent=2))
            return
        typer.echo(_table(rows, ["infno", "名称", "name", "area"]))
        typer.echo(f"\n{len(rows)} interfaces, spec {registry.version}")

    try:
        run()
    except HsaCertError as exc:
        _specs_fail(exc)


@specs_app.command("show")
def specs_show(
    infno: str = typer.Argument(..., help="Transaction code, e.g. 2207."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show an interface: each input and output node and its fields."""
    import dataclasses
    import json

    from harness.specs import FieldSpec, load_registry

    def kind(f: FieldSpec) -> str:
        if f.format in ("date", "datetime", "timestamp17"):
            return f.format
        if f.digits:
            return f"{f.json_type}({f.digits[0]},{f.digits[1]})"
        return f"{f.json_type}({f.max_length})" if f.max_length else f.json_type

    def run() -> None:
        spec = load_registry().interface(infno)
        if as_json:
            body = {
                "infno": spec.infno, "title_zh": spec.title_zh, "name_en": spec.name_en, "area": spec.area,
                "state_changing": spec.state_changing, "source": spec.source,
                "input_nodes": spec.input_nodes, "output_nodes": spec.output_nodes,
                "fields": [dataclasses.asdict(f) for d in ("in", "out") for f in spec.fields(d)],
            }
            typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        flags = ", state-changing" if spec.state_changing else ""
        typer.echo(f"【{spec.infno}】{spec.title_zh} ({spec.name_en}) · area {spec.area}{flags}")
        if spec.source:
            typer.echo(f"source: {spec.source}")
        sections = (("in", "输入 input", spec.input_nodes), ("out", "输出 output", spec.output_nodes))
        for direction, label, nodes in sections:
            fields = spec.fields(direction)
            if not nodes:
                typer.echo(f"\n{label}: none")
            for node, shape in nodes.items():
                rows = [
                    [f.name, f.title_zh, kind(f), "Y" if f.required else "", f.code or "", f.clause]
                    for f in fields if f.node == node
                ]
                typer.echo(f"\n{label} · node {node} ({shape})")
                required = "必填" if direction == "in" else "非空"
                typer.echo(_table(rows, ["field", "名称", "type", required, "code", "clause"]))

    try:
        run()
    except HsaCertError as exc:
        _specs_fail(exc)


@specs_app.command("validate")
def specs_validate(
    file: str = typer.Argument(..., help="A captured request or response envelope (JSON, UTF-8, BOM allowed)."),
    profile: str = typer.Option("baseline", "--profile", "-p", help="Province profile to validate under."),
    infno: str | None = typer.Option(None, "--infno", help="Transaction code; required for a response."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Validate a captured message; exit 0 if valid, 1 listing every violation, 2 on bad input."""
    import dataclasses
    import json
    from pathlib import Path

    from harness.errors import UsageError
    from harness.specs import load_registry

    def read() -> dict[str, object]:
        try:
            text = Path(file).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise UsageError(f"Cannot read {file}", detail=str(exc), location=file,
                             hint="give the path of a saved request or response body") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"{file} is not UTF-8 text", detail=str(exc), location=file,
                             hint="save the captured body as UTF-8 (the platform's messages are UTF-8 JSON)") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{file} is not valid JSON", detail=exc.msg, location=f"{file}:{exc.lineno}:{exc.colno}",
                             hint="a captured envelope is one JSON object; check for truncation") from exc
        if not isinstance(doc, dict):
            raise UsageError(f"{file} is not a JSON object", location=file,
                             detail=f"it is a JSON {type(doc).__name__}",
                             hint="a request or response envelope is one JSON object")
        return doc

    def run() -> int:
        doc = read()
        registry = load_registry()
        validator = registry.validator(profile)
        if "infcode" in doc:
            kind = "response"
            if not infno:
                raise UsageError(f"{file} is a response: say which transaction it answers with --infno",
                                 location=file, hint=f"hsa-cert specs validate {file} --infno 2207")
            code = infno
            spec = registry.interface(code)
            violations = validator.validate_response(code, doc)
        elif "infno" in doc:
            kind = "request"
            code = str(doc["infno"])
            if infno and infno != code:
                raise UsageError(f"--infno {infno} contradicts the request's infno {code}", location=file)
            spec = registry.interface(code)
            violations = validator.validate_request(doc)
        else:
            raise UsageError(f"{file} is neither a request nor a response envelope", location=file,
                             detail="a request has 'infno' and 'input'; a response has 'infcode'",
                             hint="validate the whole captured body, not just its input or output")
        what = f"{spec.infno} {spec.title_zh} {kind}"
        where = f"profile {validator.profile.id}, spec {registry.version}"
        if as_json:
            typer.echo(json.dumps({"file": file, "kind": kind, "infno": spec.infno, "profile": validator.profile.id,
                                   "valid": not violations,
                                   "violations": [dataclasses.asdict(v) for v in violations]},
                                  ensure_ascii=False, indent=2))
        elif not violations:
            typer.echo(f"{file}: valid {what} ({where})")
        else:
            typer.echo(f"{file}: {len(violations)} violation(s) in {what} ({where})")
            for v in violations:
                name = f"  {v.field_zh}" if v.field_zh else ""
                typer.echo(f"  {v.path or '/'}{name}  [{v.clause}]")
                typer.echo(f"      {v.message}: expected {v.expected or '-'}, actual {v.actual or '-'}")
        return 1 if violations else 0

    status = 0
    try:
        status = run()
    except HsaCertError as exc:
        _specs_fail(exc)
    if status:
        raise typer.Exit(status)


# --- end specs commands ---------------------------------------------------------------------

# --- platform serve (PLATFORM stream) -------------------------------------------------------


# --- end platform serve ---------------------------------------------------------------------

# --- platform personas (PERSONAS stream) ----------------------------------------------------


@platform_app.command("personas")
def platform_personas(
    as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON (personas, institutions, items)."),
    seed: int | None = typer.Option(None, "--seed", help="Identity seed (default: the catalogue's DEFAULT_SEED)."),
) -> None:
    """List the synthetic test people of the embedded platform: archetype, identity and guaranteed behaviour."""
    import json

    from harness.personas import DEFAULT_SEED, load_catalogue

    try:
        catalogue = load_catalogue(DEFAULT_SEED if seed is None else seed)
    except HsaCertError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(exc.exit_code) from exc
    if as_json:
        typer.echo(json.dumps(catalogue.to_json(), ensure_ascii=False, indent=2))
        return
    rows = [
        [p.archetype, p.psn_name, p.certno, f"{p.mdtrt_cert_type}:{p.mdtrt_cert_no}", p.insutype, p.insuplc_admdvs,
         p.balc, p.cause or "-"]
        for p in catalogue.personas
    ]
    typer.echo(_personas_table(rows, ["archetype", "姓名", "certno", "mdtrt_cert", "insutype", "insuplc", "balc",
                                      "refused with"]))
    home = catalogue.default_institution()
    typer.echo(f"\n{len(rows)} personas, seed {catalogue.seed}; default institution {home.fixmedins_code} "
               f"{home.fixmedins_name} ({home.mdtrtarea_admvs}). Behaviours: --json.")


def _personas_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table whose columns line up with 中文 (double-width) cells."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# --- end platform personas ------------------------------------------------------------------

# --- scenarios commands (SUITE stream) ------------------------------------------------------

scenarios_app = typer.Typer(help="List and show the certification scenarios (hand-written and generated).",
                            no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")


def _scenarios_fail(exc: HsaCertError) -> None:
    typer.echo(exc.render(), err=True)
    raise typer.Exit(exc.exit_code) from exc


@scenarios_app.command("list")
def scenarios_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    suite: list[str] = typer.Option(None, "--suite", help="Only these suites (repeatable); default: all."),  # noqa: B008
    profile: str = typer.Option("baseline", "--profile", help="Province profile the negatives are generated for."),
) -> None:
    """List scenarios: id, level, area, interface and title. Loading reports every problem in every file."""
    import json
    from collections import Counter

    from harness.scenarios.catalogue import load_catalogue_of_scenarios

    try:
        found = load_catalogue_of_scenarios(profile=profile)
        chosen = found.select(suite or None)
    except HsaCertError as exc:
        _scenarios_fail(exc)
        return
    if as_json:
        keys = ("id", "suite", "level", "area", "interface", "title", "title_zh", "clauses", "capabilities",
                "archetype", "kind", "source", "fingerprint")
        rows = [dict(zip(keys, (s.id, found.suite_of[s.id], s.level.value, s.area, s.interface, s.title, s.title_zh,
                                list(s.clauses), list(s.capabilities), s.archetype, s.kind, s.source,
                                s.fingerprint), strict=True)) for s in chosen]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(_table([[s.id, s.level.value, s.area, s.interface, s.title] for s in chosen],
                      ["id", "level", "area", "infno", "title"]))
    per_suite = Counter(found.suite_of[s.id] for s in chosen)
    summary = ", ".join(f"{name} {count}" for name, count in sorted(per_suite.items()))
    typer.echo(f"\n{len(chosen)} scenarios ({summary}); suites: {', '.join(found.suites)}")


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
        _scenarios_fail(exc)
        return
    data = {"suite": found.suite_of[scenario.id], **scenario_to_dict(scenario)}
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else dump_yaml(data))


# --- end scenarios commands -----------------------------------------------------------------

# --- run command (ENGINE stream) ------------------------------------------------------------


# --- end run command ------------------------------------------------------------------------

# --- certify, verify, history, report (REPORTING stream) ------------------------------------


# --- end certify, verify, history, report ---------------------------------------------------

# --- selftest (SELFTEST stream) -------------------------------------------------------------


# --- end selftest ---------------------------------------------------------------------------


def main() -> None:
    try:
        app()
    except HsaCertError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
