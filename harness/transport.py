"""The one-method transport seam: `send(infno, envelope) -> Exchange`, over HTTP or a plain callable.

`HttpTarget` is the only user of requests in the package. It posts the envelope as UTF-8 JSON
(ensure_ascii=False) on a keep-alive `requests.Session`, signs each request with the gateway
signer, and never raises for infrastructure trouble: refused connections, timeouts, broken
connections, HTTP 5xx and bodies that are not JSON (an HTML error page from a proxy, a truncated
envelope) come back as an `Exchange` whose `error` says what happened, with the raw text kept:
"connection refused", "timeout", "connection dropped: …" (the answer broke off mid-body),
"connection error: …", "TLS: …" (with what to set), "HTTP 5xx", "not JSON: …", "answer too large: …".
Every exchange has a total deadline (not only a limit on the gap between bytes: a site that trickles one
byte at a time is cut off), and the answer is read in pieces up to a size cap counted after
decompression (a small gzip answer that inflates to a gigabyte is refused, not held in memory).
No retries: a state-changing call whose outcome is unknown is for 冲正 (2601), not for a resend.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harness.answer_guard import REAPER, FinalStatusResponse, Watch
from harness.errors import ConfigError
from harness.model import Exchange

__all__ = [
    "MAX_STORED_TEXT",
    "SECRET_HEADERS",
    "CallableTarget",
    "HttpTarget",
    "Target",
    "build_url",
    "mask_headers",
    "switch_fault",
]

MAX_STORED_TEXT = 64 * 1024  # characters of a response body kept in an Exchange
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024  # an answer's size cap, counted after decompression
DEFAULT_DEADLINE_FACTOR = 3  # the total deadline of an exchange, as a multiple of the read timeout
_READ_PIECE = 64 * 1024
SECRET_HEADERS = frozenset({
    "x-tif-paasid", "x-tif-signature", "_api_access_key", "_api_signature", "authorization", "cookie",
})
URL_STYLES = {"single": "single", "infno": "infno", "base+infno": "infno", "per-infno": "infno"}
_SNIPPET = 120

Signer = Callable[[str], Mapping[str, str]]


class Target(Protocol):
    def send(self, infno: str, envelope: Mapping[str, Any]) -> Exchange: ...


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to record: secret-bearing values replaced by their length."""
    return {k: (f"***({len(v)} chars)" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def build_url(base_url: str, infno: str, *, url_style: str = "single",
              endpoint_path: str = "/fsi/api/rsfComIfsService/callService",
              infno_path_template: str = "/fsi/api/{infno}") -> str:
    """single: one endpoint for every transaction (infno in the body); infno: base + the infno path."""
    style = URL_STYLES.get(url_style)
    if style is None:
        raise ConfigError(f"unknown url_style {url_style!r}", location="site config / profile transport.url_style",
                          hint="use 'single' (one callService endpoint) or 'infno' (base URL + infno)")
    path = endpoint_path if style == "single" else infno_path_template.replace("{infno}", infno)
    if not path:
        return base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_SNIPPET] if flat else "(empty body)"


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


def _json_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The envelope as UTF-8 JSON; a lone surrogate (sent back from a site's answer) goes as its \\u escape."""
    text = json.dumps(envelope, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(envelope).encode("ascii")


class _AnswerRefused(Exception):
    """The answer broke a limit of the harness (total deadline, size): an infrastructure error, named."""


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


# The deadline of the exchange this thread is sending, and the watches on the sockets it used (a redirect
# sends more than one request): set by HttpTarget._post, filled by the guarded connections below.
_EXCHANGE = threading.local()


def _watch(conn: HTTPConnection) -> None:
    deadline = getattr(_EXCHANGE, "deadline", None)
    if deadline is not None:
        _EXCHANGE.watches.append(REAPER.watch(deadline, conn.sock))


class _GuardedConnection(HTTPConnection):
    """urllib3's connection, reading past 102/103 answers and cut off at the exchange's total deadline."""

    response_class = FinalStatusResponse

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().request(*args, **kwargs)
        _watch(self)


class _GuardedTLSConnection(HTTPSConnection):
    response_class = FinalStatusResponse

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().request(*args, **kwargs)
        _watch(self)


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedTLSConnection


class _ReusingAdapter(requests.adapters.HTTPAdapter):
    """requests' HTTP adapter, but a host's connection pool and a URL's request target are looked up once.

    Without proxies, requests resolves both again on every request (URL parsing, a pool key of some
    thirty fields, the pool manager's lock), and the same scheme, host, `verify` and `cert` always get
    the same pool from the pool manager while it keeps it: until the adapter is closed, or it drops the
    pool for another host's. With proxies, requests' own lookups run.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pools: dict[tuple[Any, ...], Any] = {}
        self._targets: dict[str, str] = {}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedPool, "https": _GuardedTLSPool}

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: bool | str | None,
                                        proxies: Mapping[str, str] | None = None, cert: Any = None) -> Any:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        scheme, _, rest = (request.url or "").partition("://")
        key = (scheme.lower(), rest.split("/", 1)[0], verify, cert if not isinstance(cert, list) else tuple(cert))
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= self._pool_connections:
                # The pool manager keeps this many pools and drops the least recently used: what is held here
                # stays among them only while it holds no more (they are the ones it was asked for last).
                self._pools.clear()
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, proxies=proxies,
                                                                              cert=cert)
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: Mapping[str, str]) -> str:
        if proxies or request.url is None:
            return super().request_url(request, proxies)
        target = self._targets.get(request.url)
        if target is None:
            target = self._targets[request.url] = super().request_url(request, proxies)
        return target

    def close(self) -> None:
        self._pools.clear()  # the pool manager drops its pools: later requests get new ones, as from requests
        super().close()


class _RateLimiter:
    """At most `per_s` requests per second, evenly spaced; shared by the threads using one target."""

    def __init__(self, per_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_s <= 0:
            raise ConfigError(f"rate limit must be positive, got {per_s}", location="site config rate_limit_per_s")
        self._interval, self._next, self._lock = 1.0 / per_s, float("-inf"), threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            delay, self._next = max(0.0, self._next - now), max(now, self._next) + self._interval
        if delay:
            self._sleep(delay)


class HttpTarget:
    """A site (or the embedded platform) reached over HTTP with one keep-alive session."""

    def __init__(self, base_url: str, *, url_style: str = "single",
                 endpoint_path: str = "/fsi/api/rsfComIfsService/callService",
                 infno_path_template: str = "/fsi/api/{infno}", timeout_s: float = 10.0,
                 signer: Signer | None = None, content_type: str = "application/json;charset=utf-8",
                 rate_limit_per_s: float | None = None, verify_tls: bool | str = True,
                 trust_env: bool = False, client_cert: str | tuple[str, str] | None = None,
                 deadline_s: float | None = None, max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES) -> None:
        if not base_url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got {base_url!r}",
                              location="site config base_url", hint="e.g. http://127.0.0.1:8080")
        build_url(base_url, "0000", url_style=url_style)  # fail early on an unknown style
        if timeout_s <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout_s}", location="site config timeout_s")
        self.base_url, self.url_style = base_url, url_style
        self.endpoint_path, self.infno_path_template = endpoint_path, infno_path_template
        self.timeout_s, self.signer, self.content_type = timeout_s, signer, content_type
        self.deadline_s = deadline_s if deadline_s is not None else timeout_s * DEFAULT_DEADLINE_FACTOR
        if self.deadline_s <= 0 or max_answer_bytes <= 0:
            raise ConfigError("the deadline and the answer size cap must be positive",
                              location="site config [limits] deadline_s / max_answer_bytes")
        self.max_answer_bytes = max_answer_bytes
        self._limiter = _RateLimiter(rate_limit_per_s) if rate_limit_per_s else None
        self._session = requests.Session()
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, _ReusingAdapter())
        self._session.verify = verify_tls
        if client_cert:
            self._session.cert = client_cert
        # Off by default: proxy variables or a ~/.netrc must not silently reroute or re-authenticate test traffic.
        self._session.trust_env = trust_env
        self._urls: dict[str, str] = {}
        self._templates: dict[tuple[str, ...], requests.PreparedRequest] = {}

    @classmethod
    def from_profile(cls, base_url: str, transport: Mapping[str, Any], **options: Any) -> HttpTarget:
        """Build from a province profile's "transport" object; keyword options (timeout_s, signer, …) win."""
        keys = ("url_style", "endpoint_path", "infno_path_template", "content_type")
        return cls(base_url, **{**{k: transport[k] for k in keys if k in transport}, **options})

    def url_for(self, infno: str) -> str:
        url = self._urls.get(infno)
        if url is None:
            url = self._urls[infno] = build_url(self.base_url, infno, url_style=self.url_style,
                                                endpoint_path=self.endpoint_path,
                                                infno_path_template=self.infno_path_template)
        return url

    def _headers(self, infno: str, content_type: str | None) -> tuple[dict[str, str], bool]:
        """The request headers, and whether a signer added any (signatures differ on every request)."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        signed = self.signer(infno) if self.signer is not None else None
        if signed:
            headers.update(signed)
        return headers, bool(signed)

    def _post(self, infno: str, envelope: Mapping[str, Any], *, content_type: str | None, parse: bool,
              **payload: Any) -> tuple[Exchange, bytes]:
        url, (headers, signed) = self.url_for(infno), self._headers(infno, content_type)
        if self._limiter is not None:
            self._limiter.wait()
        started_at, t0 = _now_iso(), time.perf_counter()
        _EXCHANGE.deadline, _EXCHANGE.watches = t0 + self.deadline_s, []
        try:
            response = self._send(url, headers, payload, reusable=not signed)
            body = self._read_body(response, t0 + self.deadline_s)  # a truncated stream raises here
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            elapsed = (time.perf_counter() - t0) * 1000
            error = self._deadline_error(0) if self._released() else _network_error(exc)
            return _exchange(infno, url, headers, envelope, started_at, elapsed, error=error), b""
        except _AnswerRefused as exc:
            self._released()
            elapsed = (time.perf_counter() - t0) * 1000
            return _exchange(infno, url, headers, envelope, started_at, elapsed, error=str(exc)), b""
        self._released()  # the whole answer arrived: whatever the reaper did after that does not matter
        elapsed = (time.perf_counter() - t0) * 1000
        response_type = response.headers.get("Content-Type", "")
        binary = not parse and "json" not in response_type.lower() and response.status_code < 400
        text = f"<{len(body)} bytes {response_type or 'unknown type'}>" if binary else _decode(body, response_type)
        exchange = _exchange(infno, url, headers, envelope, started_at, elapsed, status=response.status_code,
                             response_headers=response.headers, text=text, parse=not binary)
        return exchange, (body if binary else b"")

    @staticmethod
    def _released() -> bool:
        """Stop watching this exchange's sockets; True when the deadline reaper had cut one off."""
        watches: list[Watch] = getattr(_EXCHANGE, "watches", [])
        for watch in watches:
            REAPER.release(watch)
        _EXCHANGE.deadline, _EXCHANGE.watches = None, []
        return any(w.fired for w in watches)

    def _deadline_error(self, size: int) -> str:
        return (f"timeout: no complete answer within the {self.deadline_s:g} s deadline (read {size} bytes); "
                "hint: raise [limits] deadline_s if the site is slow")

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The answer's body, decompressed, read piece by piece within the deadline and the size cap.

        `read1` returns what one read from the socket gives, so a site that trickles bytes cannot hold an
        exchange past the deadline (the read timeout only limits the gap between two pieces).
        """
        raw, parts, size = response.raw, [], 0
        try:
            while True:
                if time.perf_counter() > deadline:
                    raise _AnswerRefused(self._deadline_error(size))
                piece = raw.read1(_READ_PIECE, decode_content=True)
                if not piece:
                    return b"".join(parts)
                size += len(piece)
                if size > self.max_answer_bytes:
                    encoded = response.headers.get("Content-Encoding", "")
                    raise _AnswerRefused(f"answer too large: more than {self.max_answer_bytes} bytes"
                                         f"{f' after {encoded} decompression' if encoded else ''}; "
                                         "hint: raise [limits] max_answer_bytes if the site really sends that much")
                parts.append(piece)
        except BaseException:
            response.close()  # the rest is not read: the connection cannot be reused
            raise

    def _send(self, url: str, headers: dict[str, str], payload: Mapping[str, Any], *,
              reusable: bool) -> requests.Response:
        """`Session.post(url, headers=headers, timeout=…, **payload)`, without re-preparing the same request.

        Session.post builds the request from scratch every time: URL parsing, header and settings merges,
        cookie jars. For an unsigned JSON body to an endpoint already seen, while the session holds no
        cookies, the result differs only in the body: so a template prepared once per URL and headers is
        copied and given the body, then sent with `Session.send` (which still handles cookies, redirects
        and hooks as post does). Anything else (signed headers, multipart, cookies, proxies from the
        environment) takes the ordinary path.
        """
        session = self._session
        data = payload.get("data")
        if (not reusable or session.trust_env or len(payload) != 1 or not isinstance(data, bytes)
                or len(session.cookies)):
            return session.post(url, headers=headers, timeout=self.timeout_s, stream=True, **payload)
        key = (url, *headers.items())
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = session.prepare_request(requests.Request("POST", url, headers=headers))
        prepared = template.copy()
        prepared.prepare_body(data, None)
        return session.send(prepared, timeout=self.timeout_s, allow_redirects=True, proxies=dict(session.proxies),
                            stream=True, verify=session.verify, cert=session.cert)

    def send(self, infno: str, envelope: Mapping[str, Any]) -> Exchange:
        """POST the envelope; never raises for network trouble (see Exchange.error)."""
        return self._post(infno, envelope, content_type=self.content_type, parse=True, data=self._body(envelope))[0]

    def _body(self, envelope: Mapping[str, Any]) -> bytes:
        """The envelope as the request body; a national-crypto signer (gateway.SmWrapper) signs or wraps it."""
        wrap = getattr(self.signer, "body", None)
        return wrap(envelope) if wrap is not None else _json_bytes(envelope)

    def upload(self, envelope: Mapping[str, Any], filename: str, data: bytes) -> Exchange:
        """9101 file upload as multipart/form-data: a `jsonStr` text part (the envelope) and a `file` part."""
        infno = str(envelope.get("infno") or "9101")
        files = {
            "jsonStr": (None, _json_bytes(envelope), "application/json;charset=utf-8"),
            "file": (filename, data, "application/octet-stream"),
        }
        return self._post(infno, envelope, content_type=None, parse=True, files=files)[0]

    def download(self, envelope: Mapping[str, Any]) -> tuple[Exchange, bytes]:
        """9102 file download: the bytes of a binary answer; a JSON answer (e.g. a refusal) gives b""."""
        infno = str(envelope.get("infno") or "9102")
        return self._post(infno, envelope, content_type=self.content_type, parse=False, data=self._body(envelope))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTarget({self.base_url!r}, url_style={self.url_style!r}, signer={self.signer!r})"


def switch_fault(base_url: str, fault: Mapping[str, Any], *, timeout_s: float = 5.0) -> str | None:
    """Switch on a fault of the reference platform (`POST /__admin/faults`); None when done, else why not.

    `fault` is the platform's fault body, e.g. {"infno": "2207", "kind": "drop-after-commit", "times": 1}.
    Only the embedded reference platform has this endpoint; the runner never calls it for a real site.
    """
    url = base_url.rstrip("/") + "/__admin/faults"
    with requests.Session() as session:
        session.trust_env = False  # as HttpTarget: no proxy or ~/.netrc in the way of a loopback call
        try:
            response = session.post(url, json=dict(fault), timeout=timeout_s)
        except (requests.exceptions.RequestException, OSError) as exc:
            return f"{_network_error(exc)} at {url}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code} from {url}: {_snippet(response.text)}"
    return None


Responder = Callable[..., tuple[int, Mapping[str, str], str | bytes]]


class CallableTarget:
    """A fake target: a plain callable (infno, envelope) -> (status, headers, body_text).

    With pass_headers=True the callable also receives the signed request headers as a third
    argument. Built-in ConnectionRefusedError, TimeoutError and ConnectionError raised by the
    callable become infrastructure errors, as they would over HTTP; anything else propagates.
    """

    def __init__(self, responder: Responder, *, signer: Signer | None = None, name: str = "callable",
                 pass_headers: bool = False) -> None:
        self.responder, self.signer, self.name, self.pass_headers = responder, signer, name, pass_headers

    def send(self, infno: str, envelope: Mapping[str, Any]) -> Exchange:
        url = f"callable://{self.name}/{infno}"
        headers = {"Content-Type": "application/json;charset=utf-8", **(self.signer(infno) if self.signer else {})}
        started_at, t0 = _now_iso(), time.perf_counter()
        try:
            args = (infno, envelope, dict(headers)) if self.pass_headers else (infno, envelope)
            status, response_headers, body = self.responder(*args)
        except (ConnectionError, TimeoutError) as exc:
            elapsed = (time.perf_counter() - t0) * 1000
            return _exchange(infno, url, headers, envelope, started_at, elapsed, error=_network_error(exc))
        elapsed = (time.perf_counter() - t0) * 1000
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        return _exchange(infno, url, headers, envelope, started_at, elapsed, status=status,
                         response_headers=response_headers, text=text)
