"""Naming an infrastructure failure the way `Exchange.error` values are documented: network and TLS errors."""

from __future__ import annotations

import requests
import urllib3

from harness.transport.exchange import _snippet

# What HttpTarget catches around one exchange: whatever requests, urllib3 or the socket raise.
NETWORK_ERRORS = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)

_TLS_PROBLEMS = (
    # (text in the error, what it means, what to do): the first match names the failure
    ("certificate has expired", "the site's certificate has expired", "the site must renew its certificate"),
    ("not yet valid", "the site's certificate is not valid yet", "check the clocks of both machines"),
    ("ip address mismatch", "the certificate does not name this host",
     "use the host name or address the certificate names in base_url"),
    ("hostname mismatch", "the certificate does not name this host",
     "use the host name the certificate names in base_url"),
    ("doesn't match", "the certificate does not name this host", "use the host name the certificate names in base_url"),
    ("self-signed certificate", "the certificate is self-signed or from an unknown CA",
     "set [tls] ca_bundle to the CA that signed it"),
    ("unable to get local issuer", "the certificate comes from a CA this machine does not trust",
     "set [tls] ca_bundle to the site's CA bundle (PEM)"),
    ("certificate verify failed", "the certificate could not be verified",
     "set [tls] ca_bundle to the site's CA bundle"),
    ("certificate required", "the site asks for a client certificate",
     "set [tls] client_cert and client_key (mutual TLS)"),
    ("wrong version number", "the site does not speak TLS on this port", "use http:// or the site's HTTPS port"),
)


def _tls_error(text: str) -> str:
    lowered = text.lower()
    for needle, what, hint in _TLS_PROBLEMS:
        if needle in lowered:
            return f"TLS: {what} ({_snippet(text)}); hint: {hint}"
    return f"TLS: handshake failed ({_snippet(text)}); hint: check [tls] ca_bundle, client_cert and client_key"


def _network_error(exc: BaseException) -> str:
    """Name an infrastructure failure the way Exchange.error values are documented; never raises."""
    if isinstance(exc, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
        return _tls_error(str(exc))
    if isinstance(exc, requests.exceptions.Timeout | TimeoutError | urllib3.exceptions.TimeoutError):
        return "timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | urllib3.exceptions.ProtocolError):
        # The answer had begun and the connection closed mid-body: the request did arrive, its outcome is unknown.
        return f"connection dropped: {type(exc).__name__}: {_snippet(str(exc))}"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"redirect loop: {_snippet(str(exc))}"
    if isinstance(exc, requests.exceptions.ContentDecodingError | urllib3.exceptions.DecodeError):
        return f"undecodable answer: {_snippet(str(exc))}"
    seen: set[int] = set()
    cur: object = exc
    while isinstance(cur, BaseException) and id(cur) not in seen:  # the refusal hides a few causes deep in urllib3
        seen.add(id(cur))
        text = str(cur)
        if isinstance(cur, ConnectionRefusedError) or "Connection refused" in text or "10061" in text:
            return "connection refused"
        if isinstance(cur, urllib3.exceptions.SSLError) or "SSL" in type(cur).__name__:
            return _tls_error(text)
        nested = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = cur.__cause__ or cur.__context__ or nested or getattr(cur, "reason", None)
    return f"connection error: {type(exc).__name__}: {_snippet(str(exc))}"

