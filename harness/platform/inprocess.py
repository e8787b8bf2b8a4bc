"""Socket-free mounting of the platform under `responses` (the only module that imports it).

    with responses.RequestsMock() as rsps:
        platform = mount(rsps, "http://platform.test", PlatformConfig(db_path=":memory:"))
        requests.post("http://platform.test/fsi/api/rsfComIfsService/callService", json=envelope)

Every GET/POST/DELETE under `base_url` reaches the same `core.Platform.handle` the HTTP server
runs (delays are slept in the caller's thread). A `drop-after-commit` fault raises
`requests.ConnectionError` after the platform committed, as a dropped connection would.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import responses

from harness.platform.config import PlatformConfig
from harness.platform.core import Platform
from harness.platform.wire import HttpRequest

__all__ = ["mount"]


def _platform_of(config_or_app: Any) -> Platform:
    if isinstance(config_or_app, Platform):
        return config_or_app
    if isinstance(config_or_app, PlatformConfig):
        return Platform(config_or_app)
    state = getattr(config_or_app, "state", None)
    platform = getattr(state, "platform", None)
    if isinstance(platform, Platform):
        return platform  # a Starlette app from create_app
    raise TypeError("mount() takes a PlatformConfig, a Platform or an app made by create_app()")


def mount(rsps: responses.RequestsMock, base_url: str, config_or_app: Any) -> Platform:
    """Register the platform for every request under `base_url`; returns the Platform (for state checks)."""
    platform = _platform_of(config_or_app)
    base = base_url.rstrip("/")

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = platform.handle(HttpRequest(request.method, parts.path or "/", headers, bytes(body), parts.query))
        if answer.drop:
            raise responses.ConnectionError("connection closed by the platform after commit (drop-after-commit)")
        return answer.status, dict(answer.headers), answer.body

    pattern = re.compile(re.escape(base) + r"(/.*)?(\?.*)?$")
    for method in ("GET", "POST", "DELETE"):
        rsps.add_callback(method, pattern, callback=callback, content_type=None)
    return platform
