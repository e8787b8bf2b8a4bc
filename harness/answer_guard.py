"""Guards for reading a site's answer: a total deadline per exchange, and informational (1xx) answers skipped.

The HTTP client's read timeout limits only the gap between two bytes, so a site that trickles its
answer (headers included) one byte at a time would hold an exchange for as long as it likes. The
`DeadlineReaper` is one background thread for the process that shuts down the socket of an exchange
whose total deadline has passed; the blocked read then ends, and the transport names the error.

`FinalStatusResponse` is http.client's response, except that it reads past 102 Processing and 103 Early
Hints (http.client itself skips only 100 Continue and takes any other 1xx for the final answer).
Standard library only; `harness.transport` plugs both into its connections.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field

__all__ = ["REAPER", "DeadlineReaper", "FinalStatusResponse", "Watch"]

_POLL_S = 0.05  # how late past its deadline an exchange may be cut off
_MAX_INFORMATIONAL_HEADERS = 100


class FinalStatusResponse(http.client.HTTPResponse):
    """Skips informational answers other than 100 (which http.client skips) and 101 (a protocol switch)."""

    def _read_status(self) -> tuple[str, int, str]:  # http.client's hook for one status line
        version, status, reason = super()._read_status()
        while 102 <= status < 200:
            for _ in range(_MAX_INFORMATIONAL_HEADERS + 1):
                line = self.fp.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
            else:
                raise http.client.HTTPException(f"an informational {status} answer with more than "
                                                f"{_MAX_INFORMATIONAL_HEADERS} header lines")
            version, status, reason = super()._read_status()
        return version, status, reason


@dataclass(eq=False)
class Watch:
    """One exchange under watch: `fired` once the reaper cut it off."""

    deadline: float
    sock: socket.socket | None = None
    done: bool = False
    fired: bool = False
    order: int = field(default=0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __lt__(self, other: Watch) -> bool:
        return (self.deadline, self.order) < (other.deadline, other.order)


class DeadlineReaper:
    """Cuts off exchanges past their deadline; cheap to use (a heap push), one polling thread started lazily."""

    def __init__(self) -> None:
        self._heap: list[Watch] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._order = 0

    def watch(self, deadline: float, sock: socket.socket | None) -> Watch:
        with self._lock:
            self._order += 1
            item = Watch(deadline, sock, order=self._order)
            heapq.heappush(self._heap, item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hsa-cert-deadline", daemon=True)
                self._thread.start()
        return item

    @staticmethod
    def release(item: Watch) -> None:
        with item.lock:  # after this the reaper never touches the socket (it may be reused by the next exchange)
            item.done = True  # the heap drops it when its deadline comes
            # ... and lets the socket go now: a closed connection's socket (a TLS one holds OpenSSL's buffers) is
            # not kept alive by the heap until a deadline that may be minutes away.
            item.sock = None

    def _run(self) -> None:
        while True:
            time.sleep(_POLL_S)
            now = time.perf_counter()
            due: list[Watch] = []
            with self._lock:
                while self._heap and self._heap[0].deadline <= now:
                    due.append(heapq.heappop(self._heap))
            for item in due:
                with item.lock:
                    if item.done or item.sock is None:
                        continue
                    item.fired = True
                    with contextlib.suppress(OSError):  # the blocked read returns; the transport names it
                        item.sock.shutdown(socket.SHUT_RDWR)


REAPER = DeadlineReaper()
