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


# --- end specs commands ---------------------------------------------------------------------

# --- platform serve (PLATFORM stream) -------------------------------------------------------


# --- end platform serve ---------------------------------------------------------------------

# --- platform personas (PERSONAS stream) ----------------------------------------------------


# --- end platform personas ------------------------------------------------------------------

# --- scenarios commands (SUITE stream) ------------------------------------------------------


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
