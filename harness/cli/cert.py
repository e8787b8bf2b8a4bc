"""`hsa-cert keys` and `hsa-cert verify`: the signing key of an issuer, and checking what it signed.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError, UsageError

keys_app = typer.Typer(help="Signing keys (Ed25519) for certificates and their evidence.", no_args_is_help=True)




@keys_app.command("new")
def keys_new(out: str = typer.Option(..., "--out", help="Where to write the new private key (PEM); never "
                                     "overwritten.")) -> None:
    """Create an Ed25519 signing key: the private key goes to --out (owner-only permissions where the OS has
    them); the public key and its fingerprint are printed, for the issuer to publish."""
    from harness.reporting.signing import KEY_ENV, new_key_file

    try:
        key = new_key_file(Path(out))
    except HsaCertError as exc:
        _fail(exc)
    typer.echo(f"private key written: {out}" + ("" if os.name == "posix" else " (restrict its permissions)"))
    typer.echo(f"use it: hsa-cert certify --signing-key {out} …   or   {KEY_ENV}={out}")
    typer.echo("public key (publish it with its fingerprint; keep the private key secret):")
    typer.echo(key.public_pem().rstrip())
    typer.echo(f"fingerprint: {key.fingerprint}")


def _trusted(values: list[str]) -> frozenset[str]:
    from harness.reporting.signing import fingerprint_of, public_key_from_text

    found: set[str] = set()
    for value in values:
        if value.startswith("SHA256:"):
            found.add(value)
            continue
        try:
            found.add(fingerprint_of(public_key_from_text(Path(value).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--trust {value!r} is neither a key fingerprint (SHA256:…) nor a public key file",
                             detail=str(exc)) from exc
    return frozenset(found)


def verify_command(
    run_dir: str | None = typer.Argument(None, help="An evidence directory written by certify."),
    chain: bool = typer.Option(False, "--chain", help="Check the hash chain of the site's runs in the ledger."),
    site: str | None = typer.Option(None, "--site", help="With --chain: only this site id; default every site."),
    code: str | None = typer.Option(None, "--code", help="The verification code printed on the certificate."),
    trust: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring a repeatable option
        None, "--trust", help="A trusted signing key: its fingerprint (SHA256:…) or public key file (repeatable)."),
    require_signature: bool = typer.Option(False, "--require-signature", help="An unsigned run fails (exit 1)."),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger file or postgresql://user:password@host/db URL: check the run against its "
        "chain link; --chain default reports/ledger.sqlite or $HSA_CERT_LEDGER."),
) -> None:
    """Check a certify run's evidence, manifest, signature (naming the key) and verification code, and with
    --chain the hash chain of every run in the ledger. Exit 0 intact, 1 tampered or broken."""
    from harness.reporting.chain import verify_chain, verify_run
    from harness.reporting.ledger import LEDGER_ENV, default_ledger_path, ledger_location

    if run_dir is None and not chain:
        _fail(UsageError("Nothing to verify", hint="pass an evidence directory, or --chain"))
    ok = True
    try:
        explicit = ledger_location(ledger) if ledger else (default_ledger_path() if os.environ.get(LEDGER_ENV)
                                                           else None)
        if run_dir is not None:
            result = verify_run(Path(run_dir), trusted=_trusted(list(trust or [])), code=code, ledger=explicit,
                                require_signature=require_signature)
            typer.echo(result.render())
            ok = result.intact
        if chain:
            report = verify_chain(explicit or default_ledger_path(), site)
            typer.echo(report.render())
            ok = ok and report.intact
    except HsaCertError as exc:
        _fail(exc)
    raise typer.Exit(0 if ok else 1)


def replay_command(
    run_dir: str = typer.Argument(..., help="A run directory (certify or run) holding the recorded flow."),
    scenario_id: str = typer.Argument(..., help="The scenario to run again."),
    site: str | None = typer.Option(None, "--site", help="Site config (TOML) of a run against a site; default: "
                                    "the embedded platform."),
    fault: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring a repeatable option
        None, "--fault", help="Embedded platform faults; default: the recorded run's."),
    clean: bool = typer.Option(False, "--clean", help="Embedded platform without the recorded faults."),
    out: str | None = typer.Option(None, "--out", help="Keep the replay's evidence here; default: a temporary "
                                   "folder, removed afterwards."),
) -> None:
    """Run one scenario's whole flow again (fresh message ids, times and signatures; the recorded seed) and
    print how its exchanges differ from the recorded ones. Exit 0 same outcome, 1 the outcome changed."""
    import tempfile

    from harness.reporting.replay import diff_flows, load_flow
    from harness.scenarios.catalogue import load_suites
    from harness.session import run_session
    from harness.specs import load_registry

    try:
        flow = load_flow(Path(run_dir), scenario_id)
        recorded_site = flow.run.get("site") or {}
        if site is None and not recorded_site.get("reference", True):
            raise UsageError("The run was against a site: pass its config with --site",
                             hint=f"hsa-cert replay {run_dir} {scenario_id} --site SITE.toml")
        profile = str(flow.run.get("profile") or "baseline")
        chosen = [s for s in load_suites(load_registry(), profile) if s.id == scenario_id]
        if not chosen:
            raise UsageError(f"Scenario {scenario_id!r} is no longer in the suite", hint="it was renamed or removed")
        faults = list(fault) if fault else ([] if site or clean else list(flow.run.get("faults") or []))
        seed = flow.run.get("seed")
        with tempfile.TemporaryDirectory(prefix="hsa-cert-replay-") as scratch:
            _code, new_dir, document = run_session(
                site_file=site, seed=seed if isinstance(seed, int) else None, out=out or scratch, faults=faults,
                scenarios=chosen, echo=lambda _m: None)
            replayed = load_flow(Path(str(new_dir)), scenario_id)
    except HsaCertError as exc:
        _fail(exc)
    differences = diff_flows(flow.exchanges, replayed.exchanges)
    typer.echo(f"replay of {scenario_id} from {run_dir}" + (f" with faults {', '.join(faults)}" if faults else ""))
    typer.echo(f"  outcome: recorded {flow.outcome}, now {replayed.outcome}"
               f"{'' if flow.outcome == replayed.outcome else '  (CHANGED)'}")
    typer.echo(f"  steps: recorded {len(flow.exchanges)}, now {len(replayed.exchanges)}")
    for scenario in document.get("scenarios") or ():
        for failure in scenario.get("failures") or ():
            typer.echo(f"  finding: {failure.get('title', '')}")
    typer.echo("\n".join(f"  {line}" for line in differences) if differences
               else "  no difference in the exchanges (ids, times and signatures aside)")
    raise typer.Exit(0 if flow.outcome == replayed.outcome else 1)


app.command("verify")(verify_command)
app.command("replay")(replay_command)
app.add_typer(keys_app, name="keys")
