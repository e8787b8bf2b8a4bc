"""Gateway signatures: the harness signs (harness/gateway.py), the platform verifies with its own code
(harness/platform/gateway_check.py) — two implementations that must agree, and refuse like the gateway."""

from __future__ import annotations

import json
import time

import pytest
from platform_samples import Flow, memory_platform, persona

from harness.gateway import csb_headers, tif_headers
from harness.platform import HttpRequest, Platform
from harness.platform.config import credentials_from_env
from harness.platform.samples import person_input, sign_in_input

CSB = {"csb_ak": "ak-test", "csb_sk": "sk-test"}
TIF = {"tif_paasid": "paas-test", "tif_token": "token-test"}


def post(platform: Platform, envelope: dict, headers: dict[str, str]) -> tuple[int, dict]:
    answer = platform.handle(HttpRequest("POST", "/fsi/api/rsfComIfsService/callService",
                                         {k.lower(): v for k, v in headers.items()}, json.dumps(envelope).encode()))
    return answer.status, answer.json()


@pytest.fixture()
def hunan() -> Platform:
    return memory_platform(profile="hunan", gateway_credentials=CSB)


@pytest.fixture()
def guangdong() -> Platform:
    return memory_platform(profile="guangdong", gateway_credentials=TIF)


def envelope(platform: Platform) -> dict:
    return Flow(platform.call).his.envelope("9001", sign_in_input())


def test_csb_signature_made_by_the_harness_passes(hunan: Platform) -> None:
    status, body = post(hunan, envelope(hunan), csb_headers("ak-test", "sk-test", "9001", "1.0.0"))
    assert status == 200 and body["infcode"] == 0


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "缺少服务网关的请求头!"),
    (csb_headers("someone-else", "sk-test", "9001", "1.0.0"), "非法用户!"),
    (csb_headers("ak-test", "wrong-secret", "9001", "1.0.0"), "签名不一致!"),
    (csb_headers("ak-test", "sk-test", "9001", "1.0.0", timestamp_ms=int(time.time() * 1000) - 31 * 60 * 1000),
     "签名时间戳超时!"),
])
def test_csb_refusals_are_the_gateways(hunan: Platform, headers: dict, message: str) -> None:
    status, body = post(hunan, envelope(hunan), headers)
    assert (status, body) == (401, {"code": 401, "message": message})
    (last,) = hunan.exchanges(limit="1")
    assert last["http_status"] == 401 and message in last["fault"]


def test_tif_signature_passes_in_either_hex_case(guangdong: Platform) -> None:
    for upper in (False, True):
        status, body = post(guangdong, envelope(guangdong), tif_headers("paas-test", "token-test", upper=upper))
        assert status == 200 and body["infcode"] == 0


@pytest.mark.parametrize(("headers", "message"), [
    ({"x-tif-paasid": "paas-test"}, "缺少网关请求头!"),
    (tif_headers("other", "token-test"), "非法的paasid!"),
    (tif_headers("paas-test", "wrong-token"), "签名不一致!"),
    (tif_headers("paas-test", "token-test", timestamp=int(time.time()) - 3600), "签名时间戳超时!"),
])
def test_tif_refusals(guangdong: Platform, headers: dict, message: str) -> None:
    assert post(guangdong, envelope(guangdong), headers) == (401, {"code": 401, "message": message})


def test_without_credentials_signatures_are_not_verified() -> None:
    platform = memory_platform(profile="hunan", gateway_credentials={})
    assert platform.health()["verifying_signatures"] is False
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    assert flow.ok("1101", person_input(who), who)["baseinfo"]["psn_no"] == who.psn_no


def test_credentials_come_from_the_environment() -> None:
    env = {"HSA_PLATFORM_CSB_AK": "a", "HSA_PLATFORM_CSB_SK": "s", "HSA_PLATFORM_TIF_TOKEN": "t"}
    assert credentials_from_env(env) == {"csb_ak": "a", "csb_sk": "s", "tif_token": "t"}
