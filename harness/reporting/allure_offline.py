"""The Allure report makes no network request: analytics and outbound links removed, then a scan for any left.

Every Allure 3 report plugin embeds a Google Analytics snippet; we remove it from the generated HTML,
neutralise the two outbound links in the bundled app (the "Powered by" link and the Playwright trace
viewer), add a Content-Security-Policy that allows nothing outside the report itself, and scan the
result: `external_urls()` must come back empty.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

__all__ = ["external_urls", "neutralise_network"]

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
