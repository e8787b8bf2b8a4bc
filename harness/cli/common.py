"""The main app, the options before any command, and how a command renders an error."""

from __future__ import annotations

import os
from typing import NoReturn

import typer

from harness.errors import HsaCertError
from harness.resources import SPECS_ENV

app = typer.Typer(
    name="hsa-cert",
    help="Conformance harness and certification tool for the national healthcare-security platform interfaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(exc: HsaCertError) -> NoReturn:
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
        fail(exc)
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
