"""`hsa-cert platform serve|personas`: the reference platform."""

from __future__ import annotations

import os

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError
from harness.reporting.console import render_rows

platform_app = typer.Typer(help="The embedded reference platform.", no_args_is_help=True)
app.add_typer(platform_app, name="platform")

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
