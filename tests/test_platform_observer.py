"""The platform's generic hooks for a watcher of the client: observer, screen, admin extension, headers."""

from __future__ import annotations

import json
from typing import Any

from harness.personas import load_catalogue
from harness.platform import HttpRequest, HttpResponse, Platform, PlatformConfig
from harness.platform.samples import SampleHis, sign_in_input

ENDPOINT = "/fsi/api/rsfComIfsService/callService"


def _post(platform: Platform, envelope: dict[str, Any], **headers: str) -> HttpResponse:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return platform.handle(HttpRequest("POST", ENDPOINT, {"content-type": "text/plain", **headers}, body))


def _his() -> SampleHis:
    return SampleHis.for_institution(load_catalogue().default_institution())


def test_observer_sees_headers_body_and_answer_of_each_exchange() -> None:
    seen: list[dict[str, Any]] = []
    platform = Platform(PlatformConfig(db_path=":memory:", observer=seen.append))
    his = _his()
    answer = _post(platform, his.envelope("9001", sign_in_input()), **{"x-test": "1"}).json()
    assert answer["infcode"] == 0
    assert len(seen) == 1
    record = seen[0]
    assert record["headers"]["x-test"] == "1" and record["headers"]["content-type"] == "text/plain"
    assert record["infno"] == "9001" and record["envelope"]["msgid"].startswith(his.fixmedins_code)
    assert record["answer"]["output"]["signinoutb"]["sign_no"] == answer["output"]["signinoutb"]["sign_no"]
    assert record["status"] == 200 and record["fault"] == "" and not record["dropped"]
    platform.handle(HttpRequest("GET", "/__admin/health", {}))
    assert len(seen) == 1  # admin calls are not exchanges


def test_observer_records_the_fault_applied_and_a_failing_observer_does_not_break_the_platform() -> None:
    seen: list[dict[str, Any]] = []

    def observer(record: dict[str, Any]) -> None:
        seen.append(record)
        raise RuntimeError("observer bug")

    platform = Platform(PlatformConfig(db_path=":memory:", observer=observer, faults=["9001:drop-after-commit@1"]))
    response = _post(platform, _his().envelope("9001", sign_in_input()))
    assert response.drop and seen[0]["dropped"] and seen[0]["fault"] == "drop-after-commit"


def test_screen_refuses_before_processing_and_admin_extension_answers_session_routes() -> None:
    platform = Platform(PlatformConfig(
        db_path=":memory:", screen=lambda headers, env: "msgid 格式错误" if len(env["msgid"]) != 30 else None,
        admin_extension=lambda request: HttpResponse(200, {}, b'{"ok": true}')))
    his = _his()
    answer = _post(platform, his.envelope("9001", sign_in_input(), msgid="x" * 8)).json()
    assert answer["infcode"] == -1 and "msgid 格式错误" in answer["err_msg"]
    assert _post(platform, his.envelope("9001", sign_in_input())).json()["infcode"] == 0
    assert platform.handle(HttpRequest("POST", "/__admin/session/finish", {})).json() == {"ok": True}


def test_admin_exchanges_carry_the_request_headers() -> None:
    platform = Platform(PlatformConfig(db_path=":memory:"))
    _post(platform, _his().envelope("9001", sign_in_input()), **{"_api_name": "9001"})
    rows = platform.exchanges()
    assert rows[-1]["request_headers"]["_api_name"] == "9001"
    assert rows[-1]["request_headers"]["content-type"] == "text/plain"
