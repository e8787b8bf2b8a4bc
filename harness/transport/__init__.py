"""The one-method transport seam: `send(infno, envelope) -> Exchange`, over HTTP or a plain callable.

`HttpTarget` is the only user of requests (through `connections` and `errors`). It posts the envelope
as UTF-8 JSON (ensure_ascii=False) on a keep-alive `requests.Session`, signs each request with the gateway
signer, and never raises for infrastructure trouble: refused connections, timeouts, broken
connections, HTTP 5xx and bodies that are not JSON (an HTML error page from a proxy, a truncated
envelope) come back as an `Exchange` whose `error` says what happened, with the raw text kept:
"connection refused", "timeout", "connection dropped: …" (the answer broke off mid-body),
"connection error: …", "TLS: …" (with what to set), "HTTP 5xx", "not JSON: …", "answer too large: …".
Every exchange has a total deadline (not only a limit on the gap between bytes: a site that trickles one
byte at a time is cut off), and the answer is read in pieces up to a size cap counted after
decompression (a small gzip answer that inflates to a gigabyte is refused, not held in memory).
No retries: a state-changing call whose outcome is unknown is for 冲正 (2601), not for a resend.

The package: `seam` (Target, build_url, CallableTarget), `exchange` (an Exchange from what came back),
`target` (HttpTarget: deadline, size cap, rate limit), `connections` (the requests session, its guarded
connections and pools, switch_fault) and `errors` (naming network and TLS failures); `connections` and
`errors` are the only modules that import requests and urllib3.
"""

from __future__ import annotations

from harness.transport.connections import _ReusingAdapter as _ReusingAdapter
from harness.transport.connections import switch_fault
from harness.transport.errors import _network_error as _network_error
from harness.transport.errors import _tls_error as _tls_error
from harness.transport.exchange import MAX_STORED_TEXT, SECRET_HEADERS, mask_headers
from harness.transport.seam import URL_STYLES, CallableTarget, Responder, Signer, Target, build_url
from harness.transport.target import DEFAULT_DEADLINE_FACTOR, DEFAULT_MAX_ANSWER_BYTES, HttpTarget
from harness.transport.target import _RateLimiter as _RateLimiter

__all__ = [
    "DEFAULT_DEADLINE_FACTOR",
    "DEFAULT_MAX_ANSWER_BYTES",
    "MAX_STORED_TEXT",
    "SECRET_HEADERS",
    "URL_STYLES",
    "CallableTarget",
    "HttpTarget",
    "Responder",
    "Signer",
    "Target",
    "build_url",
    "mask_headers",
    "switch_fault",
]
