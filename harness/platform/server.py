"""Serving the platform with uvicorn (the only module that imports it).

- `serve(config, host, port)` blocks until interrupted: what `hsa-cert platform serve` runs.
- `start_background(config, port=0)` runs the server on a thread (port 0 picks a free port) and
  returns a `RunningPlatform` with `.url`, `.port`, `.platform` and `.stop()`: what the harness
  uses for its embedded target, and what the tests use to drive the platform over real HTTP.

Loopback only by default; nothing here listens anywhere else unless told to.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from harness.errors import InfrastructureError
from harness.platform.app import create_app
from harness.platform.config import PlatformConfig
from harness.platform.core import Platform

__all__ = ["RunningPlatform", "serve", "start_background"]


class _QuietDrops(logging.Filter):
    """uvicorn logs a dropped response as an error; for the drop fault that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _server(app: object, host: str, port: int, log_level: str) -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on")
    return uvicorn.Server(config)


def _check_port(host: str, port: int) -> None:
    """Fail clearly (exit 3) when the port is taken, before uvicorn would exit with a log line."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        if os.name != "nt":  # as uvicorn does; on Windows SO_REUSEADDR would let two servers share a port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InfrastructureError(
                "The platform cannot listen on that address",
                location=f"{host}:{port}",
                detail=str(exc),
                hint="another process uses the port: pass another --port (0 picks a free one)",
            ) from exc


def serve(
    config: PlatformConfig | Platform, host: str = "127.0.0.1", port: int = 8080, *, log_level: str = "info"
) -> None:
    """Run the platform in the foreground until Ctrl-C (closing it afterwards)."""
    platform = config if isinstance(config, Platform) else Platform(config)
    gc.freeze()  # the loaded specs, catalogue and code never die: keep them out of every collection
    try:
        _check_port(host, port)
        _server(create_app(platform), host, port, log_level).run()
    finally:
        platform.close()


@dataclass
class RunningPlatform:
    url: str
    port: int
    platform: Platform
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout_s: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self.platform.close()

    def __enter__(self) -> RunningPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_background(
    config: PlatformConfig | Platform | None = None, host: str = "127.0.0.1", port: int = 0, *,
    log_level: str = "warning", timeout_s: float = 10.0,
) -> RunningPlatform:  # fmt: skip
    """Start the platform (built from `config`, or one already built) on a background thread and wait until it
    accepts connections."""
    platform = config if isinstance(config, Platform) else Platform(config or PlatformConfig())
    server = _server(create_app(platform), host, port, log_level)
    thread = threading.Thread(target=server.run, name="hsa-platform", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            platform.close()
            raise InfrastructureError(
                "The reference platform did not start",
                location=f"{host}:{port}",
                hint="is the port already in use? pass port=0 for a free port",
            )
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningPlatform(f"http://{host}:{bound}", bound, platform, server, thread)
