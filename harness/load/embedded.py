"""The embedded reference platform for a load run: its own process (`python -m harness platform
serve`), so that Locust's gevent patching and the platform's event loop never share a process and
the platform gets a core of its own, on a fresh database in a temporary folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from harness.errors import InfrastructureError

__all__ = ["EmbeddedPlatform", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPlatform:
    """`with EmbeddedPlatform(faults) as url:` a running platform at `url`, stopped on exit."""

    def __init__(self, faults: list[str] | None = None, *, start_timeout_s: float = 30.0) -> None:
        self.faults = list(faults or [])
        self.start_timeout_s = start_timeout_s
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self._tmp = tempfile.TemporaryDirectory(prefix="hsa-cert-load-", ignore_cleanup_errors=True)
        port = free_port()
        command = [sys.executable, "-m", "harness", "platform", "serve", "--port", str(port),
                   "--db", str(Path(self._tmp.name) / "platform.sqlite")]
        for fault in self.faults:
            command += ["--fault", fault]
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                detail = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace")[-2000:]
                self._close()
                raise InfrastructureError("the embedded reference platform did not start", detail=detail,
                                          hint="check the --fault values (`hsa-cert platform serve --help`)")
            try:
                with urllib.request.urlopen(url + "/__admin/health", timeout=1.0) as answer:
                    if answer.status == 200:
                        return url
            except OSError:
                time.sleep(0.1)
        self._close()
        raise InfrastructureError("the embedded reference platform did not answer its health check",
                                  location=url)

    def _close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._close()
