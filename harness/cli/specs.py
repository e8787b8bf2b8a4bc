"""`hsa-cert specs …`: list, show, coverage and validate against the interface schemas."""

from __future__ import annotations

from typing import Any

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError
from harness.reporting.console import render_rows

specs_app = typer.Typer(help="List, show and validate against the interface schemas.", no_args_is_help=True)
app.add_typer(specs_app, name="specs")

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
