"""The requests session of an HttpTarget and its connections: cut off at the exchange's total deadline,
reading past 102/103 answers, a host's pool looked up once; and the reference platform's fault switch."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harness.answer_guard import REAPER, FinalStatusResponse
from harness.transport.errors import _network_error
from harness.transport.exchange import _snippet

# The types HttpTarget handles (it does not import requests itself).
Response = requests.Response
PreparedRequest = requests.PreparedRequest


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


def new_session(verify_tls: bool | str, client_cert: str | tuple[str, str] | None, trust_env: bool) -> requests.Session:
    """A keep-alive session whose connections are guarded (see above)."""
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _ReusingAdapter())
    session.verify = verify_tls
    if client_cert:
        session.cert = client_cert
    # Off by default: proxy variables or a ~/.netrc must not silently reroute or re-authenticate test traffic.
    session.trust_env = trust_env
    return session


def post_template(session: requests.Session, url: str, headers: Mapping[str, str]) -> PreparedRequest:
    """A POST to `url` with `headers` prepared by the session, without a body (HttpTarget copies it)."""
    return session.prepare_request(requests.Request("POST", url, headers=headers))


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

