"""`hsa-cert proxy serve`: the mutation proxy as a standalone HTTP reverse proxy, for use with other tools.

Every request is forwarded to the upstream base URL with the same method, path, headers and body
(signatures stay valid); a JSON answer to a POST is rewritten by the mutation, as the in-process
`MutatingTarget` does, and its Content-Length set anew. Anything else (a multipart upload's answer
is still JSON and is rewritten; a binary download, an HTML error page) passes through unchanged.
The upstream is reached with the standard library, without environment proxies. One state per
server: stateful mutations (echo, replay) see every call that goes through it.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from harness.proxy.catalogue import Mutation
from harness.proxy.operations import ProxyState
from harness.proxy.wrapper import mutate_answer

__all__ = ["ProxyServer", "start_proxy"]

_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive", "accept-encoding"})
_INFNO_IN_PATH = re.compile(r"/(\d{4}[A-Z]?)/?$")


def _infno(path: str, body: bytes) -> tuple[str, Mapping[str, Any]]:
    """The transaction code and the request envelope: from a JSON body, else from the path."""
    envelope: Any = {}
    try:
        envelope = json.loads(body.decode("utf-8-sig")) if body else {}
    except (UnicodeDecodeError, ValueError):
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    match = _INFNO_IN_PATH.search(path.split("?", 1)[0])
    return str(envelope.get("infno") or (match.group(1) if match else "")), envelope


class ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream: str, mutation: Mutation | None, *,
                 err_msg_patterns: Mapping[str, Sequence[str]] | None = None, timeout_s: float = 30.0) -> None:
        super().__init__(address, _Handler)
        self.upstream, self.mutation, self.timeout_s = upstream.rstrip("/"), mutation, timeout_s
        self.patterns = dict(err_msg_patterns or {})
        self.state, self.lock = ProxyState(), threading.Lock()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the proxy is a test instrument, the tools around it log what they send

    def do_GET(self) -> None:
        self._forward(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._forward(self.rfile.read(length) if length else b"")

    def _forward(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        request = urllib.request.Request(self.server.upstream + self.path, headers=headers, method=self.command,
                                         data=body if self.command == "POST" else None)
        try:
            with self.server.opener.open(request, timeout=self.server.timeout_s) as answer:
                status, answer_headers, payload = answer.status, dict(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers, payload = exc.code, dict(exc.headers.items()), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            self._reply(502, {"Content-Type": "text/plain; charset=utf-8"},
                        f"hsa-cert proxy: upstream {self.server.upstream} unreachable: {exc}".encode())
            return
        if self.command == "POST" and status == 200 and self.server.mutation is not None \
                and "json" in answer_headers.get("Content-Type", "json").lower():
            infno, envelope = _infno(self.path, body)
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and infno:
                with self.server.lock:
                    rewritten = mutate_answer(self.server.mutation, infno, envelope, text, self.server.state,
                                              patterns=self.server.patterns)
                if rewritten is not None:
                    payload = rewritten.encode("utf-8")
        self._reply(status, answer_headers, payload)

    def _reply(self, status: int, headers: Mapping[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in _HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_proxy(upstream: str, mutation: Mutation | None, *, host: str = "127.0.0.1", port: int = 0,
                err_msg_patterns: Mapping[str, Sequence[str]] | None = None) -> tuple[ProxyServer, threading.Thread]:
    """A proxy serving in a background thread (stop with `server.shutdown(); server.server_close()`)."""
    server = ProxyServer((host, port), upstream, mutation, err_msg_patterns=err_msg_patterns)
    thread = threading.Thread(target=server.serve_forever, name="hsa-cert-proxy", daemon=True)
    thread.start()
    return server, thread
