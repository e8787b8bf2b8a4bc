"""National-crypto primitives (harness/sm_crypto.py) against the standards' own examples, and the two
SM transport families end to end: the harness signs/encrypts (harness/gateway.py), the platform
verifies/decrypts with its own code (harness/platform/gateway_sm.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_samples import Flow, memory_platform

from harness.gateway import cainfo_string, make_signer
from harness.platform.wire import HttpRequest
from harness.sm_crypto import (
    sm2_keypair,
    sm2_public_key,
    sm2_sign,
    sm2_verify,
    sm3_hex,
    sm4_decrypt,
    sm4_encrypt,
)

# GB/T 32905-2016 appendix A: SM3("abc") and SM3 of "abcd" repeated 16 times
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
# GB/T 32907-2016 appendix A example 1: key = plaintext = 0123456789abcdeffedcba9876543210
SM4_KEY = "0123456789abcdeffedcba9876543210"
SM4_CIPHER = "681edf34d206965e86b3e94f536e4246"
# GB/T 32918.5-2017 (recommended curve) signature example: private key d, public key, k and r
SM2_D = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
SM2_PUBLIC = ("09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
              "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13")
SM2_R = "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"


def test_sm3_matches_gb_t_32905() -> None:
    assert sm3_hex(b"abc") == SM3_ABC
    assert sm3_hex(b"abcd" * 16) == SM3_ABCD16


def test_sm4_matches_gb_t_32907_and_round_trips() -> None:
    block = bytes.fromhex(SM4_KEY)
    assert sm4_encrypt(SM4_KEY, block)[:16].hex() == SM4_CIPHER  # then one PKCS#7 padding block
    assert sm4_decrypt(SM4_KEY, sm4_encrypt(SM4_KEY, "医保 envelope".encode())) == "医保 envelope".encode()


def test_sm2_key_and_signature_match_gb_t_32918() -> None:
    from gmssl import sm2  # the standard's fixed k, through the owner library itself

    assert sm2_public_key(SM2_D) == SM2_PUBLIC
    signature = sm2.CryptSM2(private_key=SM2_D, public_key=SM2_PUBLIC).sign_with_sm3(
        b"message digest", "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21")
    assert signature[:64].lower() == SM2_R
    assert sm2_verify(SM2_PUBLIC, signature, b"message digest")
    assert not sm2_verify(SM2_PUBLIC, signature, b"message digesT")


def test_sm2_signs_and_verifies_with_fresh_keys() -> None:
    private, public = sm2_keypair()
    signature = sm2_sign(private, b"hello")
    assert sm2_verify(public, signature, b"hello") and not sm2_verify(public, signature, b"hellO")
    assert not sm2_verify(public, "00" * 64, b"hello") and not sm2_verify(public, "zz", b"hello")


def _credentials() -> tuple[dict[str, str], dict[str, str]]:
    private, public = sm2_keypair()
    harness = {"app_id": "app-1", "access_token": "token-1", "sm4_key": "00112233445566778899aabbccddeeff",
               "sm2_private_key": private}
    platform = {"sm_public_key": public, "sm_app_id": "app-1", "sm_access_token": "token-1",
                "sm4_key": "00112233445566778899aabbccddeeff"}
    return harness, platform


def _send_through(platform: Any, signer: Any, envelope: dict[str, Any],
                  tamper: Any = None) -> tuple[int, dict[str, Any]]:
    body = signer.body(envelope)
    headers = {"content-type": "application/json", **{k.lower(): v for k, v in signer(envelope["infno"]).items()}}
    if tamper is not None:
        headers, body = tamper(headers, body)
    response = platform.handle(HttpRequest("POST", "/fsi/api/rsfComIfsService/callService", headers, body))
    return response.status, json.loads(response.body)


@pytest.mark.parametrize("profile", ["jilin", "national-sm2"])
def test_the_platform_accepts_what_the_harness_signs(profile: str) -> None:
    harness, server = _credentials()
    platform = memory_platform(profile=profile, gateway_credentials=server)
    family = "oauth2-sm" if profile == "jilin" else "sm2-cainfo"
    signer = make_signer(family, harness, {"family": family})
    flow = Flow(lambda env: _send_through(platform, signer, env)[1])
    assert flow.sign_in()


def _tampered(kind: str) -> Any:
    def change(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        doc = json.loads(body)
        if kind == "no-token":
            headers = {k: v for k, v in headers.items() if k != "authorization"}
        elif kind == "bad-token":
            headers = {**headers, "authorization": "Bearer other"}
        elif kind == "bad-app":
            doc["appId"] = "app-2"
        elif kind == "bad-cipher":
            doc["encData"] = doc["encData"][:-2] + ("00" if doc["encData"][-2:] != "00" else "11")
        elif kind == "bad-signature":
            doc["timestamp"] = str(int(doc["timestamp"]) + 1)
        return headers, json.dumps(doc).encode()
    return change


@pytest.mark.parametrize(("kind", "message"), [("no-token", "缺少访问令牌!"), ("bad-token", "访问令牌无效!"),
                                               ("bad-app", "非法的应用!"), ("bad-cipher", "报文解密失败!"),
                                               ("bad-signature", "签名不一致!")])
def test_the_oauth2_sm_gateway_refuses_what_does_not_verify(kind: str, message: str) -> None:
    harness, server = _credentials()
    platform = memory_platform(profile="jilin", gateway_credentials=server)
    signer = make_signer("oauth2-sm", harness, {"family": "oauth2-sm"})
    envelope = Flow(platform.call).his.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "127.0.0.1"}})
    assert _send_through(platform, signer, envelope, _tampered(kind)) == (401, {"code": 401, "message": message})


def test_the_cainfo_signature_covers_every_field_and_the_input() -> None:
    harness, server = _credentials()
    platform = memory_platform(profile="national-sm2", gateway_credentials=server)
    signer = make_signer("sm2-cainfo", harness, {"family": "sm2-cainfo"})
    envelope = Flow(platform.call).his.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "127.0.0.1"}})
    signed = json.loads(signer.body(envelope))
    assert signed["signtype"] == "SM2" and len(signed["cainfo"]) == 128
    assert "input={\"signIn\":{" in cainfo_string(signed) and "cainfo=" not in cainfo_string(signed)

    def change_input(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        doc = json.loads(body)
        doc["input"]["signIn"]["ip"] = "10.0.0.1"
        return headers, json.dumps(doc).encode()

    def drop(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        return headers, json.dumps({**json.loads(body), "cainfo": ""}).encode()

    assert _send_through(platform, signer, envelope, change_input) == (401, {"code": 401, "message": "签名不一致!"})
    assert _send_through(platform, signer, envelope, drop)[1]["message"] == "缺少数字签名信息!"
