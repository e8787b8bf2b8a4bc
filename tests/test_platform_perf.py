"""The platform's echo baseline (`POST /__admin/echo`, a diagnostic outside the interface): parsed as a call
is, answered with a success envelope echoing the input, nothing validated or recorded. No timings here:
bench/platform_cost.py measures; these tests pin what the baseline does, so that the comparison stays fair."""

from __future__ import annotations

import json

import requests

from harness.personas import load_catalogue
from harness.platform.config import PlatformConfig
from harness.platform.core import Platform
from harness.platform.samples import SampleHis, person_input
from harness.platform.server import start_background
from harness.platform.wire import JSON_TYPE, HttpRequest


def _platform() -> Platform:
    return Platform(PlatformConfig(db_path=":memory:", seed=load_catalogue().seed))


def _envelope() -> dict:
    catalogue = load_catalogue()
    his = SampleHis.for_institution(catalogue.default_institution())
    who = catalogue.persona("filed-employee")
    return his.envelope("1101", person_input(who), who)


def test_the_echo_parses_the_envelope_and_answers_its_input_without_recording_it() -> None:
    platform = _platform()
    envelope = _envelope()
    before = len(platform.exchanges(limit="1000"))
    body = json.dumps(envelope, ensure_ascii=False).encode()
    answer = platform.echo(HttpRequest("POST", "/__admin/echo", {"content-type": JSON_TYPE}, body, ""))
    parsed = answer.json()
    assert answer.status == 200 and parsed["infcode"] == 0 and parsed["err_msg"] is None
    assert parsed["output"] == envelope["input"]
    assert len(parsed["inf_refmsgid"]) == 30 and len(parsed["refmsg_time"]) == 17
    assert len(platform.exchanges(limit="1000")) == before  # nothing validated, stored or recorded
    platform.close()


def test_the_echo_refuses_what_is_not_an_envelope_as_a_call_would() -> None:
    platform = _platform()
    for body in (b"{not json", b"[1, 2]"):
        answer = platform.echo(HttpRequest("POST", "/__admin/echo", {"content-type": JSON_TYPE}, body, "")).json()
        assert answer["infcode"] == -1 and answer["output"] is None and answer["err_msg"].startswith("/")
    platform.close()


def test_the_echo_is_served_over_http_by_the_same_stack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    running = start_background(PlatformConfig(db_path=str(tmp_path / "p.sqlite"), seed=load_catalogue().seed))
    try:
        envelope = _envelope()
        answer = requests.post(running.url + "/__admin/echo", data=json.dumps(envelope).encode(),
                               headers={"Content-Type": JSON_TYPE}, timeout=10)
        assert answer.status_code == 200 and answer.json()["output"] == envelope["input"]
    finally:
        running.stop()
