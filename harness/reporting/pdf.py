"""The certificate as a PDF: certificate.html printed by Chromium headless on one A4 page.

Chromium is a program, not a Python library: it is looked up as `$HSA_CERT_CHROMIUM`, then
`chromium`, `chromium-browser`, `google-chrome` on PATH. It runs with a fresh profile in a temporary
folder and with every background service off (no network, no update, no sync), so printing is the
same offline and leaves nothing behind. The page size and margins come from the certificate's own
`@page` rule.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import UsageError

__all__ = ["CHROMIUM_ENV", "PDF_NAME", "find_chromium", "page_count", "print_pdf"]

CHROMIUM_ENV = "HSA_CERT_CHROMIUM"
PDF_NAME = "certificate.pdf"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
TIMEOUT_SECONDS = 180


def find_chromium() -> str | None:
    override = os.environ.get(CHROMIUM_ENV, "").strip()
    if override:
        return override
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def page_count(pdf: bytes) -> int:
    """The number of page objects (`/Type /Page`, not `/Pages`) in a PDF without object streams."""
    return len(_PAGE.findall(pdf))


def print_pdf(html: Path, out: Path | None = None) -> Path:
    """Print `html` to `out` (default certificate.pdf beside it); UsageError when Chromium is missing or fails."""
    chromium = find_chromium()
    if chromium is None:
        raise UsageError("Chromium is needed to print the certificate to PDF",
                         hint=f"install it (Debian: apt-get install chromium) or set ${CHROMIUM_ENV}; "
                         "certificate.html prints the same from any browser")
    out = out or html.with_name(PDF_NAME)
    with tempfile.TemporaryDirectory(prefix="hsa-cert-chromium-") as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}",
                   "--no-pdf-header-footer", "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", html.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError("Chromium could not print the certificate", detail=str(exc)) from exc
    if done.returncode != 0 or not out.is_file():
        raise UsageError("Chromium could not print the certificate", location=str(html),
                         detail=(done.stderr or done.stdout or f"exit {done.returncode}")[-2000:])
    return out
