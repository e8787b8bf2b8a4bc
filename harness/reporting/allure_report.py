"""The Allure HTML report: Allure 3 (npm `allure`, pinned), installed on first use, history per site.

No Python import of Allure here: the report is built by the Allure 3 command line under Node, run as
a subprocess. It is installed once into a cache directory ($HSA_CERT_ALLURE_HOME, else
%LOCALAPPDATA%/hsa-cert/allure-<version> on Windows, $XDG_CACHE_HOME or ~/.cache/hsa-cert/allure-<version>
elsewhere). Without Node or npm the report is skipped with a "note:" (nothing else depends on it).

Offline, the install fails fast (npm with `--prefer-offline`, no fetch retries, a short fetch timeout: a
cached package installs without the network) and the failure is remembered for `RETRY_AFTER_S` in a
marker beside the install folder, so later runs skip the attempt with a note saying how to retry
(`HSA_CERT_ALLURE_RETRY=1`, or delete the marker).

The report must make no network request. Every Allure 3 report plugin embeds a Google Analytics
snippet; we remove it from the generated HTML, neutralise the two outbound links in the bundled app
(the "Powered by" link and the Playwright trace viewer), add a Content-Security-Policy that allows
nothing outside the report itself, and scan the result: `external_urls()` must come back empty.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HsaCertError

__all__ = [
    "ALLURE_HOME_ENV",
    "ALLURE_VERSION",
    "CHARTS",
    "RETRY_ENV",
    "AllureUnavailable",
    "ReportOutcome",
    "allure_home",
    "ensure_allure",
    "external_urls",
    "generate_report",
    "neutralise_network",
]

ALLURE_VERSION = "3.18.0"  # generate works on Node 20 (its quality-gate command needs Node 22; we gate ourselves)
ALLURE_HOME_ENV = "HSA_CERT_ALLURE_HOME"
RETRY_ENV = "HSA_CERT_ALLURE_RETRY"
RETRY_AFTER_S = 6 * 3600  # a failed install is not tried again for this long (unless $HSA_CERT_ALLURE_RETRY)
NPM_FETCH_TIMEOUT_MS = 20_000
MIN_NODE_MAJOR = 20
INSTALL_TIMEOUT_S = 900
GENERATE_TIMEOUT_S = 600
Progress = Callable[[str], None]

# Strings that look like URLs but are never fetched: XML namespaces, and the loopback origin the app
# uses as a base when resolving its own relative paths.
ALLOWED_URL_PREFIXES = (
    "http://www.w3.org/",
    "https://www.w3.org/",
    "https://localhost",
    "http://localhost",
)
_ANALYTICS_SCRIPTS = (
    re.compile(r"\s*<script[^>]*\bsrc=\"https?://[^\"]*googletagmanager[^\"]*\"[^>]*>\s*</script>", re.I),
    re.compile(r"\s*<script>(?:(?!</script>).)*?\bgtag\((?:(?!</script>).)*?</script>", re.I | re.S),
)
# Outbound links in the bundled app (opened only on a click, but a report must not point outside).
_JS_REPLACEMENTS = (
    ('"https://allurereport.org"', '"#"'),
    ('"https://trace.playwright.dev"', '"about:blank"'),
)
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'self\' data: blob: '
    "'unsafe-inline' 'unsafe-eval'; connect-src 'self' data: blob:; form-action 'none'\">"
)
# A host must follow: `http://${e.url}` in the bundled linkifier is a template, not a URL.
_URL = re.compile(r"https?://[A-Za-z0-9\[][^\s\"'`<>)\\]*")
_DATA_URI = re.compile(r"data:(text/javascript|application/javascript|text/html);base64,([A-Za-z0-9+/=]+)")


class AllureUnavailable(HsaCertError):
    """Node, npm or the Allure install is missing: the HTML report is skipped, the run is not affected."""


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    ok: bool
    report_dir: Path | None
    message: str
    neutralised: tuple[str, ...] = field(default_factory=tuple)


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


# The runs of a site kept in its history.jsonl (Allure drops the oldest past this): the trend and each
# scenario's history reach this far back; the ledger keeps every run.
HISTORY_RUNS = 100
TREND_RUNS = 30  # runs shown in the trend charts

# The "charts" section of the report, built by Allure 3 from the current results and the site's history: the pass
# rate now and its trend across the site's runs first, then what changed since the previous run (issue 14).
# Allure counts every result: its rate is passed / all, where hsa-cert's pass rate leaves out what did not run
# (skipped: inconclusive, not provisioned, not applicable; broken: infrastructure errors); both are shown.
CHARTS: tuple[dict[str, object], ...] = (
    {"type": "currentStatus", "title": "通过率 Pass rate (passed / all results)", "metric": "passed"},
    {"type": "statusDynamics", "title": "通过率趋势 Pass-rate trend across this site's runs", "limit": TREND_RUNS},
    {"type": "statusTransitions", "title": "修复与回退 Fixed and regressed since the previous run",
     "limit": TREND_RUNS},
    {"type": "stabilityDistribution", "title": "各业务域稳定性 Stability by business area", "groupBy": "epic",
     "skipStatuses": ["skipped", "unknown"], "threshold": 90},
    {"type": "durationDynamics", "title": "耗时趋势 Duration trend"},
)


def write_config(path: Path, *, output: Path, history: Path, name: str, environment: str,
                 variables: Mapping[str, str], append_history: bool = True) -> None:
    config = {
        "name": name,
        "output": str(output),
        "historyPath": str(history),
        "historyLimit": HISTORY_RUNS,
        "appendHistory": append_history,
        "environment": environment,
        "variables": dict(variables),
        "plugins": {
            "awesome": {
                "options": {
                    "singleFile": True,  # opens from disk by double-click, and is one file to hand over
                    "reportName": name,
                    "reportLanguage": "zh",
                    "groupBy": ["epic", "feature", "story"],
                    "charts": [dict(chart) for chart in CHARTS],
                }
            }
        },
    }
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def generate_report(
    results_dirs: Sequence[Path],
    output: Path,
    *,
    history: Path,
    name: str,
    environment: str,
    variables: Mapping[str, str] | None = None,
    progress: Progress = lambda _m: None,
    append_history: bool = True,
) -> ReportOutcome:
    """Build the report; never raises for a missing or failing Allure (returns ok=False and why)."""
    try:
        node, cli = ensure_allure(progress)
    except AllureUnavailable as exc:  # the run is not affected: a note, not an error
        return ReportOutcome(False, None, "note:" + exc.render().removeprefix("error:"))
    # Absolute paths: Allure runs in the run directory and resolves relative ones against it.
    output, history = output.resolve(), history.resolve()
    results_dirs = [Path(d).resolve() for d in results_dirs]
    output.parent.mkdir(parents=True, exist_ok=True)
    history.parent.mkdir(parents=True, exist_ok=True)
    config = output.parent / "allurerc.json"
    write_config(config, output=output, history=history, name=name, environment=environment,
                 variables=variables or {}, append_history=append_history)
    cmd = [node, str(cli), "generate", *map(str, results_dirs), "--config", str(config), "--output", str(output)]
    progress(f"building the Allure report into {output} …")
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        proc = subprocess.run(cmd, cwd=output.parent, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S,
                              env=env, encoding="utf-8", errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        return ReportOutcome(False, None, f"error: Allure report generation failed\n  {exc}")
    if proc.returncode != 0 or not (output / "index.html").is_file():
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        return ReportOutcome(False, None, f"error: Allure report generation failed (exit {proc.returncode})\n  {tail}")
    neutralised = neutralise_network(output)
    leftover = external_urls(output)
    if leftover:
        listed = ", ".join(sorted({url for _f, url in leftover})[:5])
        return ReportOutcome(False, output, f"warning: the Allure report still names external URLs ({listed}); "
                             "do not open it on a machine with network access before checking", tuple(neutralised))
    return ReportOutcome(True, output, f"Allure report: {output / 'index.html'}", tuple(neutralised))


def _clean_js(text: str, removed: list[str]) -> str:
    for old, new in _JS_REPLACEMENTS:
        if old in text:
            removed.append(old.strip('"'))
            text = text.replace(old, new)
    return text


def _clean_html(text: str, removed: list[str]) -> str:
    for pattern in _ANALYTICS_SCRIPTS:
        text, count = pattern.subn("", text)
        if count:
            removed.append("analytics script")

    def data_uri(match: re.Match[str]) -> str:
        body = base64.b64decode(match.group(2)).decode("utf-8", errors="surrogateescape")
        cleaned = _clean_html(body, removed) if match.group(1) == "text/html" else _clean_js(body, removed)
        if cleaned == body:
            return match.group(0)
        encoded = base64.b64encode(cleaned.encode("utf-8", errors="surrogateescape")).decode("ascii")
        return f"data:{match.group(1)};base64,{encoded}"

    text = _DATA_URI.sub(data_uri, text)
    text = _clean_js(text, removed)
    if "Content-Security-Policy" not in text:
        anchor = '<meta charset="utf-8">' if '<meta charset="utf-8">' in text else "<head>"
        text = text.replace(anchor, f"{anchor}\n    {_CSP}", 1)
    return text


def neutralise_network(report_dir: Path) -> list[str]:
    """Strip analytics and outbound links from a generated report in place; return what was removed."""
    removed: list[str] = []
    for path in sorted(report_dir.rglob("*")):
        if path.suffix in (".html", ".js") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            cleaned = _clean_html(text, removed) if path.suffix == ".html" else _clean_js(text, removed)
            if cleaned != text:
                path.write_text(cleaned, encoding="utf-8", errors="surrogateescape")
    return removed


def _urls_in(text: str) -> list[str]:
    found = [u for u in _URL.findall(text) if not u.startswith(ALLOWED_URL_PREFIXES)]
    for match in _DATA_URI.finditer(text):
        found.extend(_urls_in(base64.b64decode(match.group(2)).decode("utf-8", errors="replace")))
    return found


def external_urls(report_dir: Path) -> list[tuple[str, str]]:
    """(file, url) for every absolute http(s) URL in the report's HTML and JS, embedded scripts included."""
    hits: list[tuple[str, str]] = []
    for path in sorted(report_dir.rglob("*")):
        if path.suffix in (".html", ".js") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            hits.extend((path.relative_to(report_dir).as_posix(), url) for url in _urls_in(text))
    return hits
