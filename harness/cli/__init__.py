"""The hsa-cert command line (Typer). Thin: parse arguments, call lower layers, render errors.

One module per command group; each registers its commands on the main app (`common.app`) when imported.
Imports of the heavier layers live inside the commands: they keep `hsa-cert --help` fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from harness.cli.common import app
from harness.errors import HsaCertError

__all__ = ["app", "main"]
# Each group registers its commands when imported; this order is the order `hsa-cert --help` lists them in.
_GROUPS = ("specs", "platform", "scenarios", "run", "history", "selftest", "load", "cert", "matrix", "client", "ledger")
for _group in _GROUPS:
    importlib.import_module(f"harness.cli.{_group}")


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
