"""HttpTarget and CallableTarget: what goes on the wire, and how trouble becomes an Exchange error."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests
import responses

from harness.errors import ConfigError
from harness.gateway import make_signer
from harness.transport import MAX_STORED_TEXT, CallableTarget, HttpTarget, _RateLimiter, build_url, mask_headers

BASE = "http://127.0.0.1:9999"
SINGLE = BASE + "/fsi/api/rsfComIfsService/callService"
OK = {"infcode": 0, "inf_refmsgid": "520000202401011200000000000001", "err_msg": None, "output": {"a": "成功"}}
ENVELOPE = {"infno": "1101", "msgid": "H52010200001202401011200000001", "opter_name": "张三",
            "input": {"data": {"psn_name": "李四"}}}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def target() -> Iterator[HttpTarget]:
    with HttpTarget(BASE, timeout_s=2.0) as t:
        yield t


def test_success_posts_utf8_json_and_records_the_exchange(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json=OK)
    ex = target.send("1101", ENVELOPE)
    assert ex.error is None and not ex.infra_error
    assert ex.status == 200 and ex.response_json == OK and ex.url == SINGLE and ex.method == "POST"
    assert ex.request_body == ENVELOPE and ex.infno == "1101"
    assert ex.elapsed_ms >= 0 and datetime.fromisoformat(ex.started_at).tzinfo is not None
    sent = rsps.calls[0].request
    assert "张三".encode() in sent.body and b"\\u" not in sent.body  # ensure_ascii=False, UTF-8
    assert json.loads(sent.body.decode("utf-8")) == ENVELOPE
    assert sent.headers["Content-Type"] == "application/json;charset=utf-8"


@pytest.mark.parametrize("signer", [None, make_signer("none", {}, {})], ids=["no signer", "gateway none"])
def test_repeated_sends_put_on_the_wire_what_session_post_would(rsps: responses.RequestsMock, signer: object) -> None:
    """The prepared-request template (reused from the second send on) changes nothing that is sent."""
    rsps.post(SINGLE, json=OK)
    other = {**ENVELOPE, "msgid": "H52010200001202401011200000002", "input": {"data": {"psn_name": "王五六"}}}
    with HttpTarget(BASE, signer=signer) as t:  # type: ignore[arg-type]
        t.send("1101", ENVELOPE)
        t.send("1101", other)
    with requests.Session() as plain:
        plain.trust_env = False
        plain.post(SINGLE, data=json.dumps(other, ensure_ascii=False).encode("utf-8"), timeout=10.0,
                   headers={"Accept": "application/json", "Content-Type": "application/json;charset=utf-8"})
    first, templated, reference = (call.request for call in rsps.calls)
    assert templated.body == reference.body and json.loads(first.body) == ENVELOPE
    assert dict(templated.headers) == dict(reference.headers)
    assert (templated.method, templated.url) == (reference.method, reference.url) == ("POST", SINGLE)


def test_cookies_a_site_sets_go_back_with_later_requests(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json=OK, headers={"Set-Cookie": "route=node-2; Path=/"})
    target.send("1101", ENVELOPE)
    target.send("1101", ENVELOPE)
    assert "Cookie" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["Cookie"] == "route=node-2"


def test_infno_url_style_puts_the_infno_in_the_path(rsps: responses.RequestsMock) -> None:
    rsps.post(BASE + "/fsi/api/2207", json=OK)
    with HttpTarget(BASE + "/", url_style="infno") as t:
        assert t.send("2207", ENVELOPE).url == BASE + "/fsi/api/2207"


def test_build_url_styles() -> None:
    assert build_url("http://h:1/", "2207") == "http://h:1/fsi/api/rsfComIfsService/callService"
    assert build_url("http://h:1/gz/", "2207", url_style="infno", infno_path_template="{infno}") == "http://h:1/gz/2207"
    assert build_url("http://h:1", "9001", url_style="infno") == "http://h:1/fsi/api/9001"
    with pytest.raises(ConfigError):
        build_url("http://h:1", "2207", url_style="per-service-soap")


def test_from_profile_reads_the_transport_object(rsps: responses.RequestsMock) -> None:
    t = HttpTarget.from_profile(BASE, {"url_style": "infno", "infno_path_template": "/api/{infno}"}, timeout_s=1)
    assert t.url_for("2207") == BASE + "/api/2207" and t.timeout_s == 1


def test_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        HttpTarget("127.0.0.1:8080")


def test_signer_headers_go_on_the_wire_but_are_masked_in_the_exchange(rsps: responses.RequestsMock) -> None:
    rsps.post(SINGLE, json=OK)
    signer = make_signer("tif", {"paasid": "paas-secret", "token": "tok"}, {})
    with HttpTarget(BASE, signer=signer) as t:
        ex = t.send("1101", ENVELOPE)
    wire = rsps.calls[0].request.headers
    assert wire["x-tif-paasid"] == "paas-secret" and len(wire["x-tif-signature"]) == 64
    assert "paas-secret" not in json.dumps(dict(ex.request_headers))
    assert ex.request_headers["x-tif-signature"] == "***(64 chars)"
    assert ex.request_headers["x-tif-timestamp"] == wire["x-tif-timestamp"]  # not a secret: kept for evidence


def test_every_signed_request_carries_its_own_signature(rsps: responses.RequestsMock) -> None:
    rsps.post(SINGLE, json=OK)
    signer = make_signer("tif", {"paasid": "paas-secret", "token": "tok"}, {})
    with HttpTarget(BASE, signer=signer) as t:
        t.send("1101", ENVELOPE)
        t.send("1101", ENVELOPE)
    first, second = (call.request.headers for call in rsps.calls)
    assert first["x-tif-nonce"] != second["x-tif-nonce"]
    assert first["x-tif-signature"] != second["x-tif-signature"]


def test_mask_headers_is_case_insensitive() -> None:
    masked = mask_headers({"_API_SIGNATURE": "abc", "_api_access_key": "AK", "X-Other": "v"})
    assert masked == {"_API_SIGNATURE": "***(3 chars)", "_api_access_key": "***(2 chars)", "X-Other": "v"}


def test_http_5xx_is_an_infrastructure_error_even_with_json(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json={"infcode": -1, "err_msg": "busy"}, status=503)
    ex = target.send("2207", ENVELOPE)
    assert ex.error == "HTTP 503" and ex.status == 503 and ex.response_json == {"infcode": -1, "err_msg": "busy"}


def test_http_4xx_with_json_is_not_an_infrastructure_error(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json={"code": 401, "message": "签名不一致!"}, status=401)
    ex = target.send("2207", ENVELOPE)
    assert ex.error is None and ex.status == 401 and ex.response_json == {"code": 401, "message": "签名不一致!"}


def test_html_error_page_is_not_json(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    rsps.post(SINGLE, body=page, status=200, content_type="text/html")
    ex = target.send("2207", ENVELOPE)
    assert ex.error is not None and ex.error.startswith("not JSON: <html><head><title>502 Bad Gateway")
    assert ex.response_text == page and ex.response_json is None


def test_truncated_json_is_not_json(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, body=json.dumps(OK, ensure_ascii=False)[:40], content_type="application/json")
    ex = target.send("2207", ENVELOPE)
    assert ex.error is not None and ex.error.startswith("not JSON: ")
    assert ex.response_text == json.dumps(OK, ensure_ascii=False)[:40]


def test_json_that_is_not_an_object_is_not_an_envelope(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json=[1, 2])
    assert target.send("2207", ENVELOPE).error == "not JSON: [1, 2]"


def test_read_timeout(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, body=requests.exceptions.ReadTimeout("read timed out"))
    ex = target.send("2207", ENVELOPE)
    assert ex.error == "timeout" and ex.status is None and ex.response_json is None


def test_other_connection_errors_are_named(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, body=requests.exceptions.ConnectionError("Remote end closed connection without response"))
    ex = target.send("2207", ENVELOPE)
    assert ex.error == "connection error: ConnectionError: Remote end closed connection without response"


def test_connection_refused_on_a_closed_loopback_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with HttpTarget(f"http://127.0.0.1:{port}", timeout_s=5) as t:
        ex = t.send("1101", ENVELOPE)
    assert ex.error == "connection refused" and ex.status is None


def test_stored_text_is_truncated(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, body="x" * (MAX_STORED_TEXT + 10), status=502)
    ex = target.send("2207", ENVELOPE)
    assert ex.error == "HTTP 502" and len(ex.response_text) == MAX_STORED_TEXT


def test_upload_is_multipart_with_jsonstr_and_file(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, json={"infcode": 0, "output": {"file_qury_no": "F1", "filename": "d.zip"}})
    envelope = {"infno": "9101", "input": {"fsUploadIn": {"filename": "d.zip", "fixmedins_code": "H52010200001"}}}
    ex = target.upload(envelope, "d.zip", b"PK\x03\x04binary")
    sent = rsps.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="jsonStr"' in sent.body and b'name="file"; filename="d.zip"' in sent.body
    assert b"PK\x03\x04binary" in sent.body and json.dumps(envelope).encode() in sent.body
    assert ex.error is None and ex.response_json["output"]["file_qury_no"] == "F1"


def test_download_returns_the_bytes(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    rsps.post(SINGLE, body=b"PK\x03\x04zip", content_type="application/octet-stream")
    ex, data = target.download({"infno": "9102", "input": {"fsDownloadIn": {"file_qury_no": "F1"}}})
    assert data == b"PK\x03\x04zip" and ex.error is None and ex.response_json is None
    assert ex.response_text == "<7 bytes application/octet-stream>"


def test_download_refusal_comes_back_as_json(rsps: responses.RequestsMock, target: HttpTarget) -> None:
    refusal = {"infcode": -1, "err_msg": "文件不存在", "output": None}
    rsps.post(SINGLE, json=refusal)
    ex, data = target.download({"infno": "9102", "input": {}})
    assert data == b"" and ex.response_json == refusal and ex.error is None


def test_rate_limiter_spaces_requests_evenly() -> None:
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = _RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.25]
    now[0] += 10  # idle time is not banked as a burst
    limiter.wait()
    limiter.wait()
    assert slept == [0.25, 0.25, 0.25]
    with pytest.raises(ConfigError):
        _RateLimiter(0)


# --- a real loopback server: keep-alive, and a body cut short mid-stream ----------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[list[tuple[str, int]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).peers.append(self.client_address)
        body = json.dumps(OK, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.endswith("/cut"):  # promise more than is sent, then hang up
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.peers = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_keep_alive_reuses_one_connection(server: str) -> None:
    with HttpTarget(server, timeout_s=5) as t:
        first, second = t.send("1101", ENVELOPE), t.send("1101", ENVELOPE)
    assert first.error is None and second.error is None and first.response_json == OK
    assert len(_Handler.peers) == 2 and _Handler.peers[0] == _Handler.peers[1]


def test_a_urls_connection_pool_is_looked_up_once_until_it_is_closed(server: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    lookup = requests.adapters.HTTPAdapter.get_connection_with_tls_context

    def counted(self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, *args: object,
                **kwargs: object) -> object:
        lookups.append(request.url or "")
        return lookup(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "get_connection_with_tls_context", counted)
    with HttpTarget(server, timeout_s=5) as t:
        assert [t.send("1101", ENVELOPE).error for _ in range(3)] == [None, None, None]
        assert len(lookups) == 1
        t._session.get_adapter(server).close()  # closes the pools (as an eviction would)
        assert t.send("1101", ENVELOPE).error is None
        assert len(lookups) == 2
    assert _Handler.peers[0] == _Handler.peers[2] != _Handler.peers[3]  # kept alive, then a new connection


def test_a_held_pool_is_always_the_one_the_pool_manager_holds() -> None:
    """More hosts than the pool manager keeps pools for: what the adapter holds never goes stale."""
    from harness.transport import _ReusingAdapter

    adapter = _ReusingAdapter()
    requests_own = requests.adapters.HTTPAdapter.get_connection_with_tls_context
    visits = [f"http://10.0.0.{n % 13}:8080/fsi/api/{n % 3}" for n in range(200)]
    for url in visits:  # no connection is made: pools connect lazily
        request = requests.Request("POST", url, data=b"{}").prepare()
        assert adapter.get_connection_with_tls_context(request, True) is requests_own(adapter, request, True)
    assert adapter.request_url(request, {}) == requests.adapters.HTTPAdapter.request_url(adapter, request, {})


def test_body_cut_short_is_a_dropped_connection(server: str) -> None:
    with HttpTarget(server, url_style="infno", infno_path_template="/cut", timeout_s=5) as t:
        ex = t.send("2207", ENVELOPE)
    assert ex.error is not None and ex.error.startswith("connection dropped: ")
    assert "IncompleteRead" in ex.error
    assert "IncompleteRead" in ex.error  # the detail is kept after the wording


# --- CallableTarget ---------------------------------------------------------------------------


def test_callable_target_success_and_headers() -> None:
    seen = {}

    def fake(infno: str, envelope: dict, headers: dict) -> tuple[int, dict, str]:
        seen.update(headers)
        return 200, {"Content-Type": "application/json"}, json.dumps(OK, ensure_ascii=False)

    signer = make_signer("csb", {"access_key": "AK", "secret_key": "SK"}, {})
    ex = CallableTarget(fake, signer=signer, pass_headers=True).send("2207", ENVELOPE)
    assert ex.error is None and ex.response_json == OK and ex.url == "callable://callable/2207"
    assert seen["_api_name"] == "2207" and ex.request_headers["_api_signature"].startswith("***(")


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (TimeoutError("slow"), "timeout"),
        (ConnectionResetError(104, "reset"), "connection error: ConnectionResetError: [Errno 104] reset"),
        ((500, {}, "<html>oops</html>"), "HTTP 500"),
        ((200, {}, b"\xe4\xb8\xad"), "not JSON: 中"),
    ],
)
def test_callable_target_infrastructure_errors(outcome: object, error: str) -> None:
    def fake(infno: str, envelope: dict) -> object:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    assert CallableTarget(fake).send("2207", ENVELOPE).error == error


def test_callable_target_lets_bugs_propagate() -> None:
    def broken(infno: str, envelope: dict) -> tuple[int, dict, str]:
        raise KeyError("bug in the fake")

    with pytest.raises(KeyError):
        CallableTarget(broken).send("2207", ENVELOPE)
