"""The reference platform survives hostile requests (issue 12, R4): a size limit answered 413 and never
stored verbatim, an exchange log that never breaks on a stored record, an admin token beyond loopback,
no signing profile served without its credentials, `_api_name` checked against the infno, and the
request's Content-Type judged by the profile. Over real HTTP where the transport matters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from platform_samples import ENDPOINT, Flow, http_sender, memory_platform

from harness.errors import ConfigError
from harness.gateway import csb_headers
from harness.platform import HttpRequest, PlatformConfig
from harness.platform.samples import sign_in_input
from harness.platform.server import RunningPlatform, check_serving, start_background

pytestmark = pytest.mark.slow

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[RunningPlatform]:
    running = start_background(PlatformConfig(db_path=":memory:", max_request_bytes=LIMIT,
                                              max_upload_bytes=4 * LIMIT))
    yield running
    running.stop()


def sign_in_envelope(url: str) -> dict:
    return Flow(http_sender(url)).his.envelope("9001", sign_in_input())


def test_a_request_over_the_limit_is_refused_413_and_recorded_by_its_size(server: RunningPlatform) -> None:
    envelope = sign_in_envelope(server.url)
    envelope["input"]["signIn"]["padding"] = "秘" * LIMIT  # 3 bytes a character: three times the limit
    answer = requests.post(server.url + ENDPOINT, data=json.dumps(envelope, ensure_ascii=False).encode(),
                           headers={"content-type": "application/json"}, timeout=10)
    assert answer.status_code == 413 and "请求报文过大" in answer.json()["message"]
    (last,) = requests.get(server.url + "/__admin/exchanges", params={"limit": 1}, timeout=5).json()["exchanges"]
    assert last["http_status"] == 413 and last["request"].startswith("<request of ")
    assert "秘" not in json.dumps(last, ensure_ascii=False)
    with server.platform.db.reading() as conn:
        assert max(len(r[0]) for r in conn.execute("SELECT request FROM exchanges")) < LIMIT
    assert Flow(http_sender(server.url)).sign_in()  # and the platform keeps answering


def test_a_chunked_request_over_the_limit_is_refused_too(server: RunningPlatform) -> None:
    chunks = (b"x" * 16384 for _ in range(10))  # no Content-Length: read in chunks up to the limit
    answer = requests.post(server.url + ENDPOINT, data=chunks, headers={"content-type": "application/json"},
                           timeout=10)
    assert answer.status_code == 413


def test_a_9101_upload_has_its_own_larger_limit(server: RunningPlatform) -> None:
    envelope = sign_in_envelope(server.url)
    envelope["infno"] = "9101"
    envelope["input"] = {"fsUploadIn": {"filename": "a.txt", "fixmedins_code": envelope["fixmedins_code"]}}
    files = {"file": ("a.txt", b"z" * (2 * LIMIT))}
    answer = requests.post(server.url + ENDPOINT, data={"jsonStr": json.dumps(envelope)}, files=files, timeout=10)
    assert answer.status_code == 200  # above the request limit, below the upload limit: read and judged
    files = {"file": ("a.txt", b"z" * (5 * LIMIT))}
    answer = requests.post(server.url + ENDPOINT, data={"jsonStr": json.dumps(envelope)}, files=files, timeout=10)
    assert answer.status_code == 413


def test_the_in_process_adapter_applies_the_same_limit() -> None:
    platform = memory_platform(max_request_bytes=1000)
    answer = platform.handle(HttpRequest("POST", ENDPOINT, {"content-type": "application/json"}, b"{" + b" " * 2000))
    assert answer.status == 413
    platform.close()


def test_the_exchange_log_survives_a_deep_request_and_a_lone_surrogate() -> None:
    with start_background(PlatformConfig(db_path=":memory:")) as server:
        _survives(server)


def _survives(server: RunningPlatform) -> None:
    deep = b'{"infno":"9001","input":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    surrogate = b'{"infno":"9001","msgid":"\\ud800","input":{}}'
    nested_900 = b'{"infno":"9001","input":' + b"[" * 900 + b"]" * 900 + b"}"  # parsed, too deep to write back
    for body in (deep, surrogate, nested_900):
        answer = requests.post(server.url + ENDPOINT, data=body, headers={"content-type": "application/json"},
                               timeout=10)
        assert answer.status_code == 200 and answer.json()["infcode"] == -1
    for _ in range(2):
        listed = requests.get(server.url + "/__admin/exchanges", params={"limit": 1000}, timeout=10)
        assert listed.status_code == 200
        assert len(listed.json()["exchanges"]) >= 3


def test_the_admin_routes_need_the_token_when_one_is_set() -> None:
    with start_background(PlatformConfig(db_path=":memory:", admin_token="s3cret")) as running:
        assert requests.get(running.url + "/__admin/health", timeout=5).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert requests.post(running.url + "/__admin/faults", json={"infno": "*", "kind": "http-5xx"},
                             headers=wrong, timeout=5).status_code == 401
        assert running.platform.faults.list() == []
        right = {"Authorization": "Bearer s3cret"}
        assert requests.get(running.url + "/__admin/health", headers=right, timeout=5).json()["status"] == "ok"
        assert Flow(http_sender(running.url)).sign_in()  # business calls need no token


def test_serving_beyond_loopback_or_unsigned_is_refused_unless_told() -> None:
    platform = memory_platform()
    with pytest.raises(ConfigError, match="admin token"):
        check_serving(platform, "0.0.0.0")
    check_serving(platform, "127.0.0.1")
    check_serving(platform, "localhost")
    platform.close()
    check_serving(tokened := memory_platform(admin_token="t"), "0.0.0.0")
    tokened.close()
    hunan = memory_platform(profile="hunan", gateway_credentials={})
    with pytest.raises(ConfigError, match="HSA_PLATFORM_CSB_AK"):
        check_serving(hunan, "127.0.0.1")
    hunan.close()
    unverified = memory_platform(profile="hunan", verify_signatures=False,
                                 gateway_credentials={"csb_ak": "a", "csb_sk": "b"})
    check_serving(unverified, "127.0.0.1")
    assert not unverified.gateway.enabled
    unverified.close()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HSA_PLATFORM_")}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})})


def test_platform_serve_refuses_to_start_without_a_token_or_credentials() -> None:
    wide = _cli("platform", "serve", "--host", "0.0.0.0", "--port", "0", "--db", ":memory:")
    assert wide.returncode == 2 and "HSA_PLATFORM_ADMIN_TOKEN" in wide.stderr
    unsigned = _cli("platform", "serve", "--profile", "hunan", "--port", "0", "--db", ":memory:")
    assert unsigned.returncode == 2 and "--no-verify" in unsigned.stderr
    for run in (wide, unsigned):
        assert "Traceback" not in run.stdout + run.stderr


def test_a_csb_signature_for_one_api_name_is_refused_on_another_infno() -> None:
    config = PlatformConfig(db_path=":memory:", profile="hunan", gateway_credentials={"csb_ak": "ak", "csb_sk": "sk"})
    with start_background(config) as running:
        envelope = Flow(running.platform.call).his.envelope("9001", sign_in_input())

        def post(api_name: str) -> tuple[int, dict]:
            headers = {**csb_headers("ak", "sk", api_name, "1.0.0"), "Content-Type": "application/json"}
            answer = requests.post(running.url + ENDPOINT, data=json.dumps(envelope), headers=headers, timeout=5)
            return answer.status_code, answer.json()

        assert post("2207") == (401, {"code": 401, "message": "API名称与交易编号不一致!"})
        status, body = post("9001")
        assert status == 200 and body["infcode"] == 0


def test_the_content_type_is_judged_as_the_profile_says(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_background(PlatformConfig(db_path=":memory:")) as running:
        his = Flow(running.platform.call).his

        def post(content_type: str) -> dict:
            body = json.dumps(his.envelope("9001", sign_in_input())).encode()  # a new msgid each time
            return requests.post(running.url + ENDPOINT, data=body, headers={"Content-Type": content_type},
                                 timeout=5).json()

        assert post("text/plain;charset=utf-8")["warn_msg"] is None  # the spec's own sample (IF §2.2)
        assert post("application/json")["warn_msg"] is None
        tolerated = post("application/xml")
        assert tolerated["infcode"] == 0 and "Content-Type application/xml" in tolerated["warn_msg"]
        profile = running.platform.ctx.profile
        # the profile is the registry's (cached, shared): changed for this test only
        monkeypatch.setitem(profile.raw, "transport", {**profile.transport, "other_content_type": "refuse"})
        refused = post("application/x-www-form-urlencoded")
        assert refused["infcode"] == -1 and "Content-Type" in refused["err_msg"]
