"""`hsa-cert ledger …`: work on a ledger as a whole (copy a province's SQLite ledger onto its shared ledger)."""

from __future__ import annotations

import typer

from harness.cli.common import app
from harness.cli.common import fail as _fail
from harness.errors import HsaCertError

ledger_app = typer.Typer(help="Work on a ledger as a whole: copy one into another.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("copy")
def ledger_copy(
    source: str = typer.Option(..., "--from", metavar="FILE|URL",
                               help="The ledger to copy: a SQLite file, or a postgresql://user:password@host/db URL."),
    target: str = typer.Option(..., "--to", metavar="FILE|URL",
                               help="The ledger that receives the runs (created if missing): a file or a URL."),
) -> None:
    """Copy every run (its outcomes and chain link too) missing from the target; each site's hash chain stays
    valid. Running it again copies nothing twice. Refused, with nothing written, when a site's runs in the
    target are not the start of its runs in the source. Exit 0 copied, 2 refused or unusable, 3 unreachable."""
    from harness.reporting.ledger import ledger_location
    from harness.reporting.ledger_copy import copy_ledger

    try:
        report = copy_ledger(ledger_location(source), ledger_location(target))
    except HsaCertError as exc:
        _fail(exc)
        return
    typer.echo(report.render())
