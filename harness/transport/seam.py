"""The one-method transport seam (`Target.send(infno, envelope) -> Exchange`), the URL of an interface, and
a Target over a plain callable (tests, in-process fakes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from harness.errors import ConfigError
from harness.model import Exchange
from harness.transport.errors import _network_error
from harness.transport.exchange import _exchange, _now_iso

URL_STYLES = {"single": "single", "infno": "infno", "base+infno": "infno", "per-infno": "infno"}

Signer = Callable[[str], Mapping[str, str]]


class Target(Protocol):
    def send(self, infno: str, envelope: Mapping[str, Any]) -> Exchange: ...


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
