"""HttpTarget: a site (or the embedded platform) over HTTP, with a total deadline and a size cap per answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from harness.answer_guard import REAPER, Watch
from harness.errors import ConfigError
from harness.model import Exchange
from harness.transport.connections import _EXCHANGE, PreparedRequest, Response, new_session, post_template
from harness.transport.errors import NETWORK_ERRORS, _network_error
from harness.transport.exchange import _decode, _exchange, _json_bytes, _now_iso
from harness.transport.seam import Signer, build_url

DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024  # an answer's size cap, counted after decompression
DEFAULT_DEADLINE_FACTOR = 3  # the total deadline of an exchange, as a multiple of the read timeout
_READ_PIECE = 64 * 1024


class _AnswerRefused(Exception):
    """The answer broke a limit of the harness (total deadline, size): an infrastructure error, named."""


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
        self._session = new_session(verify_tls, client_cert, trust_env)
        self._urls: dict[str, str] = {}
        self._templates: dict[tuple[str, ...], PreparedRequest] = {}

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
        except NETWORK_ERRORS as exc:
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

    def _read_body(self, response: Response, deadline: float) -> bytes:
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
              reusable: bool) -> Response:
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
            template = self._templates[key] = post_template(session, url, headers)
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

