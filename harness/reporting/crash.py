"""The last resort: what the command line shows when hsa-cert itself fails (a bug, not a finding).

The console gets four lines — what happened, the command to reproduce it, where the details are, and
where to report it — and never a traceback: that goes to a crash file (`hsa-cert-crash-<time>.txt`),
in the evidence folder the command was given (`--out`) when there is one, else the working folder,
else the temporary folder. Standard library only: this runs when anything else may be broken.
"""

from __future__ import annotations

import platform
import re
import shlex
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["CrashReport", "crash_exit_code", "report_crash"]

USAGE_EXIT = 2
INTERNAL_EXIT = 3


@dataclass(frozen=True)
class CrashReport:
    exit_code: int
    message: str  # for the console (stderr), no traceback
    file: Path | None  # where the traceback went (None: nowhere could be written)


def crash_exit_code(exc: BaseException) -> int:
    """2 when the command could not use a file or folder it was given (a usage problem), 3 otherwise."""
    return USAGE_EXIT if isinstance(exc, (OSError, UnicodeError)) else INTERNAL_EXIT


def _option(argv: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _version() -> str:
    try:
        from harness.resources import tool_version

        return tool_version()
    except Exception:  # the crash report must be written whatever else is broken
        return "unknown"


def _write(folders: Sequence[Path], name: str, text: str) -> Path | None:
    for folder in folders:
        try:
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="backslashreplace")
            return path
        except OSError:
            continue
    return None


def report_crash(exc: BaseException, argv: Sequence[str], *, now: datetime | None = None) -> CrashReport:
    """Write the crash file and return the console message and the exit code for `exc`."""
    moment = now or datetime.now(UTC)
    command = shlex.join(["hsa-cert", *argv])
    command = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", command)  # a ledger URL's password
    out = _option(argv, "--out")
    evidence = Path(out) if out and Path(out).is_dir() else None
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = (f"hsa-cert crash report\ntime: {moment.isoformat(timespec='seconds')}\nversion: {_version()}\n"
            f"python: {sys.version.split()[0]} on {platform.platform()}\ncommand: {command}\n"
            f"working folder: {Path.cwd()}\n\n{details}")  # fmt: skip
    folders = [f for f in (evidence, Path.cwd(), Path(tempfile.gettempdir())) if f is not None]
    written = _write(folders, f"hsa-cert-crash-{stamp}.txt", text)
    code = crash_exit_code(exc)
    what = f"{type(exc).__name__}: {str(exc)[:300]}" if str(exc) else type(exc).__name__
    kind = ("a file or folder it was given could not be used" if code == USAGE_EXIT
            else "this is a bug in hsa-cert, not a finding about the site")
    lines = [
        f"error: hsa-cert stopped unexpectedly ({what}); {kind}",
        f"  to reproduce: {command}",
        f"  details:      {written}" if written else "  details:      (no crash file could be written)",
        "  report it:    send the crash file" + (f" and the evidence folder {evidence}" if evidence else "")
        + " to the hsa-cert maintainers",
    ]
    return CrashReport(code, "\n".join(lines), written)
