"""Hostile answers and TLS fronts at the transport: every one becomes a named infrastructure error, never a crash.

A small stdlib server answers each path with one malformation; a second one speaks HTTPS with a
certificate from a private CA made for the test with the openssl command line.
"""

from __future__ import annotations

import gzip
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tls_samples import make_private_ca, needs_openssl

from harness.hostile import CATALOGUE, HostileSite
from harness.transport import HttpTarget

ENVELOPE = {"infno": "2207", "msgid": "H1", "input": {"data": {"psn_no": "1"}}}
OK = b'{"infcode": 0, "err_msg": "", "output": {"ok": 1}}'


class _Server(ThreadingHTTPServer):
    """The test's server: a client that resets the connection after a hostile answer is what the tests expect,
    not an error of the server's to print (socketserver would print its traceback between tests)."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                            **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path
        if path == "/ok":
            self._answer(OK)
        elif path == "/trickle":  # one byte every 0.1 s: each gap is short, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif path == "/bomb":  # 64 KiB on the wire, 64 MiB inflated
            self._answer(gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9),
                         headers={"Content-Encoding": "gzip"})
        elif path == "/deep":
            self._answer(b"[" * 100_000 + b"]" * 100_000)
        elif path == "/redirect":
            self._answer(b"", status=302, headers={"Location": "/redirect"})
        elif path == "/bad-gzip":
            self._answer(b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
        else:
            self._answer(b"{}", status=404)

    do_GET = do_POST  # a followed redirect arrives as GET


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _send(base: str, path: str, **options: object) -> str | None:
    with HttpTarget(base, url_style="infno", infno_path_template=path, **options) as target:  # type: ignore[arg-type]
        return target.send("2207", ENVELOPE).error


def test_a_trickling_site_is_cut_off_at_the_total_deadline(hostile: str) -> None:
    started = time.monotonic()
    error = _send(hostile, "/trickle", timeout_s=2, deadline_s=0.5)
    assert error is not None and error.startswith("timeout: no complete answer within the 0.5 s deadline")
    assert time.monotonic() - started < 10  # not the 20 s the site would take


def test_a_decompression_bomb_is_refused_by_size_after_decompression(hostile: str) -> None:
    error = _send(hostile, "/bomb", timeout_s=5, max_answer_bytes=1024 * 1024)
    assert error is not None and error.startswith("answer too large: more than 1048576 bytes after gzip")


def test_deeply_nested_json_is_not_json_not_a_crash(hostile: str) -> None:
    error = _send(hostile, "/deep", timeout_s=5)
    assert error is not None and error.startswith("not JSON: [[[[")


def test_a_redirect_loop_is_named(hostile: str) -> None:
    error = _send(hostile, "/redirect", timeout_s=5)
    assert error is not None and error.startswith("redirect loop")


def test_a_body_that_is_not_the_gzip_it_claims_is_named(hostile: str) -> None:
    error = _send(hostile, "/bad-gzip", timeout_s=5)
    assert error is not None and error.startswith("undecodable answer")


def test_an_ordinary_answer_still_reads_and_the_connection_is_reused(hostile: str) -> None:
    with HttpTarget(hostile, url_style="infno", infno_path_template="/ok", timeout_s=5) as target:
        first, second = target.send("2207", ENVELOPE), target.send("2207", ENVELOPE)
    assert first.error is None and second.error is None and second.response_json == {
        "infcode": 0, "err_msg": "", "output": {"ok": 1}}


# --- HTTPS with a private CA ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private CA, and a certificate it signed for 127.0.0.1 (and one for another name)."""
    return make_private_ca(tmp_path_factory.mktemp("ca"), {"site": "IP:127.0.0.1", "other": "DNS:other.example"})


def _https_server(ca: Path, name: str) -> tuple[ThreadingHTTPServer, str]:
    httpd = _Server(("127.0.0.1", 0), _Hostile)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca / f"{name}.pem", ca / f"{name}.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"https://127.0.0.1:{httpd.server_address[1]}"


@needs_openssl
def test_https_with_a_private_ca(private_ca: Path) -> None:
    httpd, base = _https_server(private_ca, "site")
    try:
        unknown = _send(base, "/ok", timeout_s=5)
        assert unknown is not None and unknown.startswith("TLS: ") and "ca_bundle" in unknown
        assert _send(base, "/ok", timeout_s=5, verify_tls=str(private_ca / "ca.pem")) is None
    finally:
        httpd.shutdown()
        httpd.server_close()


@needs_openssl
def test_a_certificate_for_another_host_is_named(private_ca: Path) -> None:
    httpd, base = _https_server(private_ca, "other")
    try:
        error = _send(base, "/ok", timeout_s=5, verify_tls=str(private_ca / "ca.pem"))
        assert error is not None and error.startswith("TLS: the certificate does not name this host")
    finally:
        httpd.shutdown()
        httpd.server_close()


@needs_openssl
def test_plain_http_spoken_to_an_https_port_and_back(private_ca: Path, hostile: str) -> None:
    error = _send(hostile.replace("http://", "https://"), "/ok", timeout_s=5)
    assert error is not None and error.startswith("TLS: ")


# --- the hostile site's catalogue at the transport -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_malformation_is_an_exchange_never_an_exception(name: str) -> None:
    with HostileSite(only=[name]) as site, HttpTarget(site.url, timeout_s=1.0, deadline_s=1.5) as target:
        started = time.monotonic()
        exchange = target.send("2207", ENVELOPE)
        assert time.monotonic() - started < 1.5 + 1.0  # the deadline holds, headers trickled or not
    assert (exchange.error is None) == (exchange.response_json is not None)


@pytest.mark.parametrize("name", ["early-hints", "continue", "valid"])
def test_informational_answers_are_read_past(name: str) -> None:
    with HostileSite(only=[name]) as site, HttpTarget(site.url, timeout_s=2.0) as target:
        exchange = target.send("2207", ENVELOPE)
    assert exchange.error is None and exchange.status == 200 and exchange.response_json["infcode"] == 0


def test_a_trickled_status_line_and_headers_are_cut_off_too() -> None:
    with HostileSite(only=["trickle"]) as site, HttpTarget(site.url, timeout_s=2.0, deadline_s=0.5) as target:
        started = time.monotonic()
        exchange = target.send("2207", ENVELOPE)
    assert exchange.error is not None and exchange.error.startswith("timeout: no complete answer within the 0.5 s")
    assert time.monotonic() - started < 2.0


def test_a_connection_is_reused_after_a_cut_off_neighbour() -> None:
    with HostileSite(only=["valid"]) as site, HttpTarget(site.url, timeout_s=2.0, deadline_s=0.3) as target:
        for _ in range(3):
            assert target.send("2207", ENVELOPE).error is None
        time.sleep(0.5)  # every watch is past its deadline: the reaper must not cut the connection in use now
        assert target.send("2207", ENVELOPE).error is None
