"""The hsa-cert command line (Typer). Thin: parse arguments, call lower layers, render errors."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import typer

from harness.errors import HsaCertError
from harness.reporting.console import render_rows
from harness.resources import SPECS_ENV

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


def _fail(exc: HsaCertError) -> NoReturn:
    """Render an error to stderr and exit with its code. Commands call this themselves, so that the
    same happens under typer's CliRunner, which bypasses main()."""
    typer.echo(exc.render(), err=True)
    raise typer.Exit(exc.exit_code) from exc


# --- options before any command -------------------------------------------------------------------


def _use_specs(value: str | None) -> str | None:
    if value:  # eager and given first on the command line, so it also applies to --version
        os.environ[SPECS_ENV] = value
    return value


def _print_version(value: bool) -> None:
    if not value:
        return
    from harness.reporting.identity import tool_identity

    try:
        typer.echo(tool_identity().render())
    except HsaCertError as exc:
        _fail(exc)
    raise typer.Exit(0)


@app.callback()
def _options(
    specs: str | None = typer.Option(
        None, "--specs", metavar="DIR", is_eager=True, callback=_use_specs,
        help=f"A specs/ folder to use instead of the one installed with hsa-cert (e.g. a newer spec edition); "
             f"the same as ${SPECS_ENV}. Give it before the command."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version,
        help="Print the tool version, the spec edition and the suite fingerprint, then exit."),
) -> None:
    """Conformance harness and certification tool for the national healthcare-security platform interfaces."""


# --- specs commands ----------------------------------------------------------------------------------
# Imports of the heavier layers live inside the commands: they keep `hsa-cert --help` fast.


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
        typer.echo(render_rows(rows, ["infno", "名称", "name", "area"]))
        typer.echo(f"\n{len(rows)} interfaces, spec {registry.version}")

    try:
        run()
    except HsaCertError as exc:
        _fail(exc)


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
                typer.echo(render_rows(rows, ["field", "名称", "type", required, "code", "clause"]))

    try:
        run()
    except HsaCertError as exc:
        _fail(exc)


_TOO_DEEP = "a request or response envelope is a few levels deep; this file is nested hundreds deep"


@specs_app.command("coverage")
def specs_coverage(
    run_dir: str = typer.Argument(None, help="A run directory (its results.json); default: the spec's clauses only."),
    missing: bool = typer.Option(False, "--missing", help="List the clauses the run did not exercise."),
    as_json: bool = typer.Option(False, "--json", help="Print the coverage document as JSON."),
) -> None:
    """Clause coverage against the whole spec: per interface, the input, output and envelope field clauses a
    run exercised (an output clause counts when a validated success answer contained the field)."""
    import json
    from pathlib import Path

    from harness.errors import UsageError
    from harness.reporting.coverage import coverage_document, render_coverage
    from harness.specs import load_registry

    try:
        if run_dir is None:
            doc = coverage_document([], load_registry())
        else:
            path = Path(run_dir) / "results.json"
            try:
                results = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"no readable results.json in {run_dir}", location=str(path), detail=str(exc),
                                 hint="give the directory of a `hsa-cert run` or `certify`") from exc
            doc = results.get("coverage")
            if not isinstance(doc, dict):
                raise UsageError(f"{path} has no coverage", location=str(path),
                                 hint="the run was made by an older hsa-cert: run it again")
    except HsaCertError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2) if as_json else render_coverage(doc, missing=missing))


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
        except RecursionError as exc:
            raise UsageError(f"{file} nests too deeply to read", location=file, detail=_TOO_DEEP) from exc
        if not isinstance(doc, dict):
            raise UsageError(f"{file} is not a JSON object", location=file,
                             detail=f"it is a JSON {type(doc).__name__}",
                             hint="a request or response envelope is one JSON object")
        return doc

    def run() -> int:
        doc = read()
        registry = load_registry()
        validator = registry.validator(profile)
        try:
            return judge(doc, registry, validator)
        except (RecursionError, ValueError) as exc:  # the validator's own depth limit ("Recursion limit reached")
            if isinstance(exc, ValueError) and "recursion" not in str(exc).lower():
                raise
            raise UsageError(f"{file} nests too deeply to validate", location=file, detail=_TOO_DEEP) from exc

    def judge(doc: dict[str, object], registry: Any, validator: Any) -> int:
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
        # DEV.<id>: a known deviation this profile tolerates (harness/specs/deviations.py): an advisory
        advisories = [v for v in violations if v.clause.startswith("DEV.")]
        findings = [v for v in violations if not v.clause.startswith("DEV.")]
        if as_json:
            typer.echo(json.dumps({"file": file, "kind": kind, "infno": spec.infno, "profile": validator.profile.id,
                                   "valid": not findings,
                                   "violations": [dataclasses.asdict(v) for v in findings],
                                   "advisories": [dataclasses.asdict(v) for v in advisories]},
                                  ensure_ascii=False, indent=2))
        elif not violations:
            typer.echo(f"{file}: valid {what} ({where})")
        else:
            if findings:
                typer.echo(f"{file}: {len(findings)} violation(s) in {what} ({where})")
            else:
                typer.echo(f"{file}: valid {what} ({where}), with {len(advisories)} tolerated deviation(s)")
            for v in [*findings, *advisories]:
                name = f"  {v.field_zh}" if v.field_zh else ""
                typer.echo(f"  {v.path or '/'}{name}  [{v.clause}]")
                typer.echo(f"      {v.message}: expected {v.expected or '-'}, actual {v.actual or '-'}")
                if v.hint:
                    typer.echo(f"      hint: {v.hint}")
        return 1 if findings else 0

    status = 0
    try:
        status = run()
    except HsaCertError as exc:
        _fail(exc)
    if status:
        raise typer.Exit(status)


# --- platform serve ----------------------------------------------------------------------------------


@platform_app.command("serve")
def platform_serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8080, "--port", help="TCP port (0 = any free port)."),
    db: str = typer.Option("hsa-platform.sqlite", "--db",
                           help="SQLite state file, seeded at first start and kept across restarts; :memory: keeps "
                                "nothing."),
    profile: str = typer.Option("baseline", "--profile", help="Province profile (see specs/profiles)."),
    fault: list[str] = typer.Option(None, "--fault",  # noqa: B008
                                    help="Fault INFNO:KIND[=VALUE][@TIMES], e.g. 2207:delay=500, "
                                         "2207:drop-after-commit, '*:http-5xx=503', 2207:mutant=skip-account-debit "
                                         "(repeatable)."),
    seed: int = typer.Option(20240101, "--seed", help="Persona seed (the same seed gives the same people)."),
    no_sign_in: bool = typer.Option(False, "--no-sign-in", help="Accept business calls without a 9001 sign_no."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Serve a TIF/CSB profile without verifying gateway "
                                   "signatures (otherwise its HSA_PLATFORM_* credentials are required)."),
    max_request_mb: float = typer.Option(10, "--max-request-mb", min=0.001,
                                         help="Largest request accepted, in MiB (larger: HTTP 413)."),
    max_upload_mb: float = typer.Option(64, "--max-upload-mb", min=0.001,
                                        help="Largest 9101 file upload request accepted, in MiB."),
) -> None:
    """Run the reference platform: the national-platform simulator a HIS can be developed and certified against.

    Beyond loopback (--host 0.0.0.0) it needs $HSA_PLATFORM_ADMIN_TOKEN; /__admin/* then needs
    'Authorization: Bearer <token>' (also on loopback when the variable is set)."""
    from harness.platform.config import ADMIN_TOKEN_ENV, PlatformConfig, parse_fault
    from harness.platform.core import Platform
    from harness.platform.server import check_serving, serve

    try:
        config = PlatformConfig(db_path=db, profile=profile, seed=seed, faults=[parse_fault(f) for f in fault or []],
                                require_sign_in=False if no_sign_in else None, verify_signatures=not no_verify,
                                admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
                                max_request_bytes=int(max_request_mb * 1024 * 1024),
                                max_upload_bytes=int(max_upload_mb * 1024 * 1024))
        platform = Platform(config)  # opens and seeds the database; config errors surface before binding
        try:
            check_serving(platform, host)
        except HsaCertError:
            platform.close()
            raise
        health = platform.health()
        url = f"http://{host}:{port}"
        typer.echo(f"hsa-cert reference platform on {url}")
        typer.echo(f"  profile {health['profile']} (spec {health['spec_version']}), state {db}, "
                   f"{health['persons']} persons, sign-in {'required' if health['require_sign_in'] else 'optional'}, "
                   f"gateway {health['gateway']}{' (verifying signatures)' if health['verifying_signatures'] else ''}")
        typer.echo(f"  POST {url}/fsi/api/rsfComIfsService/callService  (or {url}/fsi/api/<infno>)")
        typer.echo(f"  default institution {health['default_institution']}; identities: hsa-cert platform personas")
        typer.echo(f"  admin: {url}/__admin/health, /__admin/exchanges, /__admin/faults"
                   f"{' (Bearer token required)' if config.admin_token else ''}")
        if no_verify:
            typer.echo("  note: gateway signatures are NOT verified (--no-verify)")
        if fault:
            typer.echo(f"  faults: {', '.join(fault)}")
        serve(platform, host=host, port=port)
    except HsaCertError as exc:
        _fail(exc)


# --- platform personas -------------------------------------------------------------------------------


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
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(catalogue.to_json(), ensure_ascii=False, indent=2))
        return
    rows = [
        [p.archetype, p.psn_name, p.certno, f"{p.mdtrt_cert_type}:{p.mdtrt_cert_no}", p.insutype, p.insuplc_admdvs,
         p.balc, p.cause or "-"]
        for p in catalogue.personas
    ]
    typer.echo(render_rows(rows, ["archetype", "姓名", "certno", "mdtrt_cert", "insutype", "insuplc", "balc",
                                      "refused with"]))
    home = catalogue.default_institution()
    typer.echo(f"\n{len(rows)} personas, seed {catalogue.seed}; default institution {home.fixmedins_code} "
               f"{home.fixmedins_name} ({home.mdtrtarea_admvs}). Behaviours: --json.")


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


# --- run -----------------------------------------------------------------------------------

_RUN_SUITE = typer.Option(None, "--suite", help="Suite to run (repeatable); default: every suite.")
_RUN_FAULT = typer.Option(None, "--fault", help="Embedded platform fault, e.g. 2207:delay=500 (repeatable).")
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
) -> None:
    """Run the scenario suites against a site, or against the embedded reference platform.

    Exit codes: 0 every mandatory scenario passed, 1 findings, 2 usage or config error,
    3 infrastructure error (site unreachable, timeouts, circuit breaker).
    """
    from harness.session import run_session
    try:
        code, _run_dir, _doc = run_session(site_file=site, suites=list(suite or []), seed=seed, out=out,
                                          keyword=keyword, faults=list(fault or []), alluredir=alluredir,
                                          masked=not no_mask, progress=True, province=province)
    except HsaCertError as exc:
        _fail(exc)
    raise typer.Exit(code)


# --- certify, verify, history, report ----------------------------------------------------------------
# certify = run_session() (the same code path as `hsa-cert run`, given the profile's selection) plus
# harness.reporting.certify.finish_certification(): verdict, evidence, certificate, ledger, Allure.


def _print_pdf(certificate: object) -> object:
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
        None, "--ledger", help="Ledger file; default <reports-dir>/ledger.sqlite or $HSA_CERT_LEDGER."),
    no_allure: bool = typer.Option(False, "--no-allure", help="Skip the Allure HTML report."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Keep personal data unmasked in reports."),
    province: str | None = _PROVINCE,
    signing_key: str | None = typer.Option(
        None, "--signing-key", help="Ed25519 private key (PEM) to sign the evidence; default $HSA_CERT_SIGNING_KEY; "
        "neither: unsigned."),
    issuer: str | None = typer.Option(None, "--issuer", help="Issuing organisation printed on the certificate; "
                                      "default: the certification profile's."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print the certificate to certificate.pdf (Chromium)."),
) -> None:
    """Run a certification profile and write the evidence: results.json, junit.xml, allure-results/,
    certificate.html and the Allure report; append the run to the ledger; apply the gate.

    Exit codes: 0 certified, 1 findings, 2 usage or config error, 3 infrastructure error.
    """
    from pathlib import Path

    from harness.reporting.certify import finish_certification, run_info
    from harness.reporting.certprofile import load_profile, profile_for_capabilities
    from harness.reporting.gate import GatePolicy, load_baseline, parse_pass_rate
    from harness.reporting.ledger import default_ledger_path
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
        _code, run_dir, document = run_session(site_file=site, seed=seed, out=out, keyword=keyword,
                                              faults=list(fault or []), scenarios=list(selection.scenarios),
                                              masked=not no_mask, progress=True, province=province)
        reports = Path(reports_dir)
        outcome = finish_certification(
            Path(str(run_dir)), run_info(document, chosen),
            scenarios={s.id: s for s in selection.scenarios}, levels=selection.levels, policy=policy,
            ledger=Path(ledger) if ledger else default_ledger_path(reports), reports_dir=reports,
            allure=not no_allure, progress=typer.echo, signing_key=key, issuer=issuer or chosen.issuer,
            validity_days=chosen.validity_days, pending_grace_days=chosen.pending_grace_days,
        )
        printed = _print_pdf(outcome.certificate) if pdf else None
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


@app.command("history")
def history_command(
    site: str | None = typer.Option(None, "--site", help="Only this site id; default: every site."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file; default reports/ledger.sqlite or $HSA_CERT_LEDGER."),
) -> None:
    """The pass-rate trend per site (overall and per interface) and what changed since the previous run."""
    import json
    from pathlib import Path

    from harness.reporting.certify import interface_names
    from harness.reporting.history import load_history, render_history
    from harness.reporting.ledger import default_ledger_path
    from harness.reporting.mutation_score import read_score, render_score

    try:
        ledger_path = Path(ledger) if ledger else default_ledger_path()
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
        printed = _print_pdf(outcome.certificate) if pdf else None
    except HsaCertError as exc:
        _fail(exc)
        return
    typer.echo(f"certificate: {outcome.certificate}")
    if printed is not None:
        typer.echo(f"certificate PDF: {printed}")
    if outcome.allure is not None:
        typer.echo(outcome.allure.message)


# --- selftest ----------------------------------------------------------------------------------------
# `hsa-cert selftest` (platform mutants, proxy mutations, --rules) and `hsa-cert proxy serve` live in
# harness/cli_selftest.py.

from harness.cli_selftest import proxy_app, selftest_command  # noqa: E402 - the command group registers here

app.command("selftest")(selftest_command)
app.add_typer(proxy_app, name="proxy")
from harness.cli_load import load_command  # noqa: E402 - `hsa-cert load` lives in harness/cli_load.py

app.command("load")(load_command)

from harness.cli_cert import keys_app, replay_command, verify_command  # noqa: E402 - registered here

app.command("verify")(verify_command)
app.command("replay")(replay_command)
app.add_typer(keys_app, name="keys")

from harness.cli_matrix import dashboard_command, matrix_command  # noqa: E402 - a province at once (issue 14)

app.command("matrix")(matrix_command)
app.command("dashboard")(dashboard_command)


def main() -> None:
    """The console entry point: errors rendered with their exit code; anything unexpected goes through the
    last-resort handler (a short message, the command, a crash file; exit 2 or 3, never a traceback)."""
    try:
        app()
    except HsaCertError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last resort: no traceback ever reaches the console
        from harness.reporting.crash import report_crash

        crash = report_crash(exc, sys.argv[1:])
        typer.echo(crash.message, err=True)
        sys.exit(crash.exit_code)


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
