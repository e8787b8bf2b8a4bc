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
    last-resort handler (a short message, the command, a crash file; exit 2 or 3, never a traceback);
    Ctrl-C exits 130 with a line saying what was interrupted (never 1, which a CI gate reads as findings)."""
    try:
        app()
    except SystemExit as exc:
        # typer turns Ctrl-C into exit 130 (older versions: "Aborted!", exit 1), the KeyboardInterrupt chained.
        interrupt = _interrupt_in(exc)
        if interrupt is None or exc.code == 0:
            raise
        _interrupted(interrupt)
    except KeyboardInterrupt as exc:  # outside a command's own handling
        _interrupted(exc)
    except HsaCertError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # the last resort: no traceback ever reaches the console
        from harness.reporting.crash import report_crash

        crash = report_crash(exc, sys.argv[1:])
        typer.echo(crash.message, err=True)
        sys.exit(crash.exit_code)


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt behind an exit, following the chain of causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _command_words(argv: list[str]) -> str:
    """The command (and subcommand) interrupted, without its options: they may hold a password."""
    command: object = typer.main.get_command(app)
    words: list[str] = []
    value_next = False
    for arg in argv:
        commands = getattr(command, "commands", None)
        if commands is None or value_next:  # a command, not a group: the rest are its arguments
            value_next = False
            if commands is None:
                break
            continue
        if arg.startswith("-"):  # a group's option (--specs DIR): its value is not a command
            option = next((p for p in getattr(command, "params", ()) if arg in getattr(p, "opts", ())), None)
            value_next = option is not None and not getattr(option, "is_flag", False)
        elif arg in commands:
            words.append(arg)
            command = commands[arg]
        else:
            break
    return " ".join(["hsa-cert", *words])


def _interrupted(interrupt: KeyboardInterrupt) -> None:
    try:
        command = _command_words(sys.argv[1:])
    except Exception:  # naming the command is a courtesy: the exit code matters more
        command = "hsa-cert"
    run_dir = getattr(interrupt, "run_dir", None)
    if run_dir is None or not (run_dir / "results.json").is_file():  # the self-test's runs are in temporary folders
        typer.echo(f"\nhsa-cert: interrupted (Ctrl-C) during `{command}`: stopped before it finished (exit "
                   f"{INTERRUPTED_EXIT}, not a verdict); whatever it wrote so far is where its output said. Run the "
                   "command again to do it completely.", err=True)
    else:
        typer.echo(f"\nhsa-cert: interrupted (Ctrl-C) during `{command}` after {interrupt.ran} of {interrupt.total}"
                   f" scenarios.\n  evidence of what ran, marked interrupted: {run_dir / 'results.json'} (the scenarios"
                   " not run are errors \"not run: the run was interrupted\"; no certificate, no ledger entry)\n"
                   "  a run does not resume: run the command again to run every scenario.", err=True)
    sys.exit(INTERRUPTED_EXIT)
