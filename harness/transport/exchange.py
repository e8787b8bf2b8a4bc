"""An `Exchange` from what came back: decoding, JSON or not, 5xx, and the headers safe to record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from harness.model import Exchange

MAX_STORED_TEXT = 64 * 1024  # characters of a response body kept in an Exchange
SECRET_HEADERS = frozenset({
    "x-tif-paasid", "x-tif-signature", "_api_access_key", "_api_signature", "authorization", "cookie",
})
_SNIPPET = 120


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to record: secret-bearing values replaced by their length."""
    return {k: (f"***({len(v)} chars)" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_SNIPPET] if flat else "(empty body)"


def _json_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The envelope as UTF-8 JSON; a lone surrogate (sent back from a site's answer) goes as its \\u escape."""
    text = json.dumps(envelope, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(envelope).encode("ascii")


def _decode(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: the spec says UTF-8
        return body.decode("utf-8", errors="replace")


def _exchange(infno: str, url: str, headers: Mapping[str, str], envelope: Mapping[str, Any], started_at: str,
              elapsed_ms: float, *, status: int | None = None, response_headers: Mapping[str, str] | None = None,
              text: str = "", error: str | None = None, parse: bool = True) -> Exchange:
    """Classify a response: 5xx and non-JSON bodies are infrastructure errors; 4xx with JSON is not."""
    parsed: Any = None
    if parse and error is None:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            parsed = None
        if not isinstance(parsed, dict):
            parsed, error = None, f"not JSON: {_snippet(text)}"
    if status is not None and status >= 500:
        error = f"HTTP {status}"
    return Exchange(
        infno=infno, url=url, method="POST", request_headers=mask_headers(headers), request_body=envelope,
        status=status, response_headers=dict(response_headers or {}), response_text=text[:MAX_STORED_TEXT],
        response_json=parsed, elapsed_ms=elapsed_ms, started_at=started_at, error=error,
    )

