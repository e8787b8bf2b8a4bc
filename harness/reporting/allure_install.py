"""Allure 3 (npm `allure`, pinned), installed on first use into a cache directory; offline, it fails fast.

No Python import of Allure here: the report is built by the Allure 3 command line under Node, run as
a subprocess. It is installed once into a cache directory ($HSA_CERT_ALLURE_HOME, else
%LOCALAPPDATA%/hsa-cert/allure-<version> on Windows, $XDG_CACHE_HOME or ~/.cache/hsa-cert/allure-<version>
elsewhere). Without Node or npm the report is skipped with a "note:" (nothing else depends on it).

Offline, the install fails fast (npm with `--prefer-offline`, no fetch retries, a short fetch timeout: a
cached package installs without the network) and the failure is remembered for `RETRY_AFTER_S` in a
marker beside the install folder, so later runs skip the attempt with a note saying how to retry
(`HSA_CERT_ALLURE_RETRY=1`, or delete the marker).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import HsaCertError

__all__ = [
    "ALLURE_HOME_ENV",
    "ALLURE_VERSION",
    "RETRY_ENV",
    "AllureUnavailable",
    "Progress",
    "allure_home",
    "ensure_allure",
]

ALLURE_VERSION = "3.18.0"  # generate works on Node 20 (its quality-gate command needs Node 22; we gate ourselves)
ALLURE_HOME_ENV = "HSA_CERT_ALLURE_HOME"
RETRY_ENV = "HSA_CERT_ALLURE_RETRY"
RETRY_AFTER_S = 6 * 3600  # a failed install is not tried again for this long (unless $HSA_CERT_ALLURE_RETRY)
NPM_FETCH_TIMEOUT_MS = 20_000
MIN_NODE_MAJOR = 20
INSTALL_TIMEOUT_S = 900
Progress = Callable[[str], None]


class AllureUnavailable(HsaCertError):
    """Node, npm or the Allure install is missing: the HTML report is skipped, the run is not affected."""


def allure_home(version: str = ALLURE_VERSION) -> Path:
    override = os.environ.get(ALLURE_HOME_ENV, "").strip()
    if override:
        return Path(override)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"]) / "hsa-cert"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hsa-cert"
    return base / f"allure-{version}"


def _cli_js(home: Path) -> Path:
    return home / "node_modules" / "allure" / "cli.js"


def _installed_version(home: Path) -> str | None:
    try:
        return json.loads((home / "node_modules" / "allure" / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise AllureUnavailable(
            "Node.js is not installed: the Allure HTML report was not built",
            hint=f"install Node.js {MIN_NODE_MAJOR} or newer (https://nodejs.org) and run "
            "`hsa-cert report DIR` to build the report from the results on disk",
        )
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
        major = int(out.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise AllureUnavailable("Cannot run Node.js: the Allure HTML report was not built", detail=str(exc)) from exc
    if major < MIN_NODE_MAJOR:
        raise AllureUnavailable(
            f"Node.js {out.strip()} is too old for Allure {ALLURE_VERSION}: the Allure HTML report was not built",
            hint=f"install Node.js {MIN_NODE_MAJOR} or newer, then run `hsa-cert report DIR`",
        )
    return node


def ensure_allure(progress: Progress = lambda _m: None, *, version: str = ALLURE_VERSION) -> tuple[str, Path]:
    """(node, cli.js) of the pinned Allure, installing it into the cache directory on first use."""
    node = _node()
    home = allure_home(version)
    if _installed_version(home) == version:
        return node, _cli_js(home)
    npm = shutil.which("npm")
    if npm is None:
        raise AllureUnavailable(
            "npm is not installed: the Allure HTML report was not built",
            hint=f"install npm (it ships with Node.js), or install allure@{version} yourself into "
            f"{home} (npm install --prefix {home} allure@{version}) or point ${ALLURE_HOME_ENV} at such a folder",
        )
    marker = _failure_marker(home)
    _skip_if_failed_recently(marker, version)
    progress(f"installing Allure {version} into {home} (first use only; needs the npm registry) …")
    # Install into a sibling folder and rename it into place, so a half-finished install never counts.
    staging = home.with_name(f".{home.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text('{"name": "hsa-cert-allure", "private": true}\n', encoding="utf-8")
    # --prefer-offline: a package in npm's cache installs without the network; no retries and a short fetch
    # timeout: offline, npm gives up in seconds instead of retrying for a minute or more.
    cmd = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact", "--prefer-offline",
           "--fetch-retries=0", f"--fetch-timeout={NPM_FETCH_TIMEOUT_MS}", f"allure@{version}"]
    retry = (f"retry with {RETRY_ENV}=1 (or delete {marker}) and `hsa-cert report DIR` to build the report from "
             "the results on disk")
    try:
        proc = subprocess.run(cmd, cwd=staging, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                              encoding="utf-8", errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remember_failure(marker, str(exc))
        raise AllureUnavailable(f"Installing Allure {version} failed: the HTML report was not built",
                                detail=str(exc), location=str(home), hint=retry) from exc
    if proc.returncode != 0 or _installed_version(staging) != version:
        shutil.rmtree(staging, ignore_errors=True)
        reason = (proc.stderr or proc.stdout).strip()[-2000:]
        _remember_failure(marker, reason)
        raise AllureUnavailable(
            f"Installing Allure {version} with npm failed (offline? npm registry unreachable?): the HTML report "
            "was not built",
            location=str(home),
            detail=reason,
            hint=f"check that the npm registry is reachable (npm ping); not retried for {RETRY_AFTER_S // 3600} h: "
                 + retry,
        )
    with contextlib.suppress(OSError):
        marker.unlink()
    if _installed_version(home) != version:
        shutil.rmtree(home, ignore_errors=True)
        try:
            staging.rename(home)
        except OSError:
            if _installed_version(home) != version:  # not a concurrent install that won the race
                raise
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"Allure {version} installed")
    return node, _cli_js(home)


def _failure_marker(home: Path) -> Path:
    return home.with_name(f".{home.name}.install-failed")


def _remember_failure(marker: Path, reason: str) -> None:
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"at": time.time(), "reason": reason[-500:]}), encoding="utf-8")


def _skip_if_failed_recently(marker: Path, version: str) -> None:
    """Raise AllureUnavailable when an install failed less than RETRY_AFTER_S ago (and no retry is asked for)."""
    if os.environ.get(RETRY_ENV, "").strip() not in ("", "0"):
        return
    try:
        failed = json.loads(marker.read_text(encoding="utf-8"))
        age = time.time() - float(failed["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    if 0 <= age < RETRY_AFTER_S:
        raise AllureUnavailable(
            f"Allure {version} is not installed and the last install failed {round(age / 60)} min ago: the HTML "
            "report was not built (not retried for now)",
            detail=str(failed.get("reason", ""))[-300:],
            hint=f"to retry now: set {RETRY_ENV}=1 (or delete {marker}), then `hsa-cert report DIR`",
        )
