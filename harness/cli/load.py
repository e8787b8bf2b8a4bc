"""The `hsa-cert load` command: SLA and load certification on Locust.

Part of the command line (layer 7): it parses options and calls harness.load, which runs Locust (in a
process of its own), judges the service-level objectives and writes results.json, load.html and the
Allure results; then, from results.json, this command writes the run's certificate page and appends
the run to the ledger (harness/reporting/load_evidence.py), as `certify` does for conformance runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import app
from harness.errors import HsaCertError, UsageError

__all__ = ["load_command"]


def load_command(
    site: str | None = typer.Option(None, "--site", help="Site config (TOML); default: the embedded platform."),
    shape: str | None = typer.Option(None, "--shape", help="Load shape from specs/load/shapes.json: steady (default), "
                                     "ramp, morning-peak."),
    duration: float | None = typer.Option(None, "--duration", help="Run length in seconds (the shape stretches over "
                                          "it); needed except on a worker, which runs until its master ends."),
    out: Path | None = typer.Option(None, "--out",  # noqa: B008
                                    help="Evidence folder: results.json (the `load` object) and load.html. "
                                         "Default reports/<site>/load-<run id>/."),
    cert_profile: str = typer.Option("hospital-full", "--cert-profile", help="Certification profile whose `slo` "
                                     "objectives are judged (specs/certification-profiles)."),
    slo: list[str] = typer.Option(None, "--slo", help="An extra objective: INFNO:pNN<=MS (INFNO/INFNO for several) or "  # noqa: B008
                                  "INFNO|*:errors<=RATE, e.g. 2207:p95<=300 (repeatable)."),
    fault: list[str] = typer.Option(None, "--fault", help="Fault for the embedded platform, e.g. "  # noqa: B008
                                    "'2207:delay=1500' (repeatable)."),
    rate: float | None = typer.Option(None, "--rate", help="Cap on visits per second over all users."),
    master: bool = typer.Option(False, "--master", help="Distributed: run the master (starts the embedded "
                                "platform, drives the shape, merges the workers' figures, writes the evidence)."),
    worker: bool = typer.Option(False, "--worker", help="Distributed: run a worker that takes its users from the "
                                "master at --master-host."),
    master_host: str = typer.Option("127.0.0.1", "--master-host", help="The master's address (workers)."),
    master_port: int = typer.Option(5557, "--master-port", help="The master's port (both roles)."),
    expect_workers: int = typer.Option(2, "--expect-workers", help="Workers the master waits for (master)."),
    ledger: str | None = typer.Option(None, "--ledger", help="Ledger file the run is appended to; default "
                                      "reports/ledger.sqlite or $HSA_CERT_LEDGER."),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Do not record the run in the ledger."),
    no_mask: bool = typer.Option(False, "--no-mask", help="Keep personal data unmasked in the evidence (the "
                                 "refusal messages quoted in results.json and on the certificate)."),
) -> None:
    """Load and SLA certification: realistic HIS users against the site, per-interface percentiles, SLO verdict.

    Exit 0 when every service-level objective holds, 1 when one fails, 2 usage or config error, 3 the target could
    not be reached.

    Evidence: results.json (`load`), load.html, allure-results/ and certificate.html (the service-level
    certificate page) in the --out folder; the run is appended to the ledger (`hsa-cert history` shows it).

    Distributed: `hsa-cert load --master --expect-workers 2 --duration 60 --out DIR` on one machine and
    `hsa-cert load --worker --master-host HOST` on each worker.
    """
    from harness.load.run import check_options, default_out_dir, new_run_id, run_in_own_process

    try:
        if master and worker:
            raise UsageError("--master and --worker exclude each other")
        role = "master" if master else "worker" if worker else "local"
        if duration is None and role != "worker":
            raise UsageError("--duration SECONDS is needed", hint="e.g. --duration 60")
        options = {"site_file": site, "shape_name": shape, "duration_s": duration or 0.0,
                   "out": str(out) if out else None, "cert_profile": cert_profile, "slo_overrides": slo or [],
                   "faults": fault or [], "rate": rate, "role": role, "master_host": master_host,
                   "master_port": master_port, "expect_workers": expect_workers}
        check_options(**options)  # usage and config errors before a process starts
        if role != "worker":
            options["run_id"] = run_id = new_run_id()
            options["out"] = str(out or default_out_dir(site, run_id))
        code = run_in_own_process(options)
        if role != "worker":
            _finish(Path(options["out"]), options["run_id"], ledger, no_ledger, site=site, masked=not no_mask)
    except HsaCertError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(exc.exit_code) from exc
    raise typer.Exit(code)


def _finish(out: Path, run_id: str, ledger: str | None, no_ledger: bool, *, site: str | None = None,
            masked: bool = True) -> None:
    """The certificate page and the ledger entry, from the results.json this run wrote (none, or one left in
    the folder by an earlier run: nothing to do, the run failed before its verdict and said why).

    results.json is masked first, as every artefact of a conformance run is: a refusal message it quotes
    (the most frequent errors) may name a test person; the site's persons are masked wherever they appear."""
    import json

    from harness.errors import ConfigError
    from harness.reporting.certify_particulars import interface_names
    from harness.reporting.ledger import default_ledger_path
    from harness.reporting.load_evidence import finish_load_evidence
    from harness.reporting.masking import Masker

    results = out / "results.json"
    if not results.is_file():
        return
    try:
        document = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("cannot read the load run's results", location=str(results), detail=str(exc)) from exc
    if not isinstance(document, dict) or (document.get("run") or {}).get("run_id") != run_id:
        return
    masker = Masker(enabled=masked)
    for identity in _identities(site) if masked else []:
        masker.learn(identity)
    document = masker.document(document)
    results.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ledger_path = None if no_ledger else Path(ledger) if ledger else default_ledger_path()
    certificate, verdict = finish_load_evidence(out, document, ledger=ledger_path, interface_names=interface_names())
    typer.echo(f"certificate: {certificate} ({verdict})")
    if ledger_path is not None:
        typer.echo(f"ledger: run {document.get('run', {}).get('run_id', '')} recorded in {ledger_path} "
                   "(hsa-cert history shows it)")


def _identities(site: str | None) -> list[dict[str, object]]:
    """The test persons of the site config (or of the embedded platform): the values masked everywhere."""
    from harness.personas import load_catalogue
    from harness.siteconfig import embedded_site, load_site
    from harness.specs import load_registry

    catalogue = load_catalogue()
    if site is None:
        config = embedded_site("http://127.0.0.1", catalogue=catalogue)
    else:
        config = load_site(Path(site), profiles=load_registry().profiles(), archetypes=catalogue.archetypes,
                           item_aliases=[i.alias for i in catalogue.items])
    return [dict(identity) for identity in config.identities.values()]


app.command("load")(load_command)
