"""A hostile site: a raw TCP server that answers every request with a seeded malformation from the catalogue.

It speaks just enough HTTP to read a request (head, then Content-Length bytes) and then writes whatever
the malformation says, byte for byte: so it can send what no well-behaved HTTP server library would
(103 before the answer, a bad chunk size, no status line, a reset mid-body). The choice is seeded by
the request's order, so the same seed gives the same sequence of answers. Loopback only.
"""

from __future__ import annotations

import json
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.hostile.catalogue import CATALOGUE, SLOW, Answer, honest_answer

__all__ = ["HostileSite"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 32 * 1024 * 1024


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5.0)
        try:
            request = _read_request(conn)
        except (OSError, ValueError):
            return
        if request is None:  # a probe: connected and left
            return
        site = self.server.site
        infno = str(request.get("infno") or "")
        if infno in site.honest:
            _write(conn, honest_answer(request))
            return
        name = site.next_malformation()
        answer = CATALOGUE[name].make(site.rng_for(name), request)
        site.count(name, str(request.get("msgid") or ""), infno)
        _write(conn, answer)


def _read_request(conn: socket.socket) -> dict[str, Any] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None if not data else {}
        data += piece
        if len(data) > _MAX_HEAD:
            raise ValueError("request head too large")
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = min(int(value.strip() or 0), _MAX_BODY)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    try:
        parsed = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def _write(conn: socket.socket, answer: Answer) -> None:
    try:
        if answer.silent_s:
            time.sleep(answer.silent_s)
            return
        if answer.trickle_s:
            for i in range(len(answer.data)):
                conn.sendall(answer.data[i:i + 1])
                time.sleep(answer.trickle_s)
        elif answer.data:
            conn.sendall(answer.data)
        if answer.reset:  # SO_LINGER 0: close sends RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # the client gave up first (a deadline): that is its business


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: HostileSite


class HostileSite:
    """Start with `start()`, point a site config at `url`, read `counts` afterwards; `stop()` ends it."""

    def __init__(self, seed: int = 0, *, only: Iterable[str] | None = None, valid_share: float = 0.0,
                 honest: Iterable[str] = (), slow_weight: float = 1.0) -> None:
        """`honest`: infnos answered correctly (e.g. 9001, so that a run gets past sign-in); `slow_weight`:
        the relative weight of the slow malformations (trickle, silence), which cost a deadline each."""
        names = list(only) if only else sorted(CATALOGUE)
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown malformations: {', '.join(unknown)} (known: {', '.join(sorted(CATALOGUE))})")
        self.names, self.seed, self.valid_share, self.honest = names, seed, valid_share, frozenset(honest)
        self._weights = [slow_weight if n in SLOW else 1.0 for n in names]
        self._choice = random.Random(seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []  # (msgid, infno, malformation) of every answer, in order
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def next_malformation(self) -> str:
        with self._lock:
            if self.valid_share and self._choice.random() < self.valid_share:
                return "valid"
            return self._choice.choices(self.names, self._weights)[0]

    def rng_for(self, name: str) -> random.Random:
        with self._lock:
            return random.Random(f"{self.seed}:{name}:{self.counts[name]}")

    def count(self, name: str, msgid: str = "", infno: str = "") -> None:
        with self._lock:
            self.counts[name] += 1
            self.log.append((msgid, infno, name))

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the hostile site is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> HostileSite:
        if "gzip-bomb" in self.names:
            CATALOGUE["gzip-bomb"].make(random.Random(0), {})  # compressed once, before anyone waits for it
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.site = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HostileSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
