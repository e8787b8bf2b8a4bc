"""Gateway signing against vectors computed outside the code under test.

The literal digests below were produced with coreutils and OpenSSL:
  printf '%s' "1700000000tok-123nonce-abc1700000000" | sha256sum
  printf '%s' "_api_access_key=AK-test&_api_name=2207&_api_timestamp=1700000000000&_api_version=1.0.0" \
    | openssl dgst -sha1 -hmac "SK-secret" -binary | base64
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from harness.errors import ConfigError
from harness.gateway import csb_headers, csb_sign, csb_string_to_sign, make_signer, tif_headers, tif_sign

TIF_VECTOR = "1d696fca900c50ec301a3c9e6560a28e053cbb30fff2ec2151ee405948ccb28d"
CSB_VECTOR = "9i9cqaCvAAT5tF1I7p9sUVNKRvo="
CSB_UTF8_VECTOR = "gbm+U+PIn/WSTtnap81q8/kfJjU="  # api_name 医保-2207, SK 密钥SK, timestamp ...123, version 2.0


def test_tif_headers_match_the_sha256_vector() -> None:
    headers = tif_headers("paas-1", "tok-123", timestamp=1700000000, nonce="nonce-abc")
    assert headers == {
        "x-tif-paasid": "paas-1",
        "x-tif-timestamp": "1700000000",
        "x-tif-nonce": "nonce-abc",
        "x-tif-signature": TIF_VECTOR,
    }
    # An independent path: hashlib over the string written out by hand.
    assert hashlib.sha256(b"1700000000tok-123nonce-abc1700000000").hexdigest() == TIF_VECTOR


def test_tif_signature_case_follows_the_profile() -> None:
    assert tif_headers("p", "tok-123", timestamp=1700000000, nonce="nonce-abc", upper=True)[
        "x-tif-signature"
    ] == TIF_VECTOR.upper()
    assert tif_sign("1700000000", "tok-123", "nonce-abc") == TIF_VECTOR


def test_tif_fresh_values_are_seconds_and_unique_nonces() -> None:
    first, second = tif_headers("p", "t"), tif_headers("p", "t")
    assert re.fullmatch(r"\d{10}", first["x-tif-timestamp"])
    assert first["x-tif-nonce"] != second["x-tif-nonce"]
    expected = hashlib.sha256(
        (first["x-tif-timestamp"] + "t" + first["x-tif-nonce"] + first["x-tif-timestamp"]).encode()
    ).hexdigest()
    assert first["x-tif-signature"] == expected


def test_csb_headers_match_the_hmac_sha1_vector() -> None:
    headers = csb_headers("AK-test", "SK-secret", "2207", "1.0.0", timestamp_ms=1700000000000)
    assert headers == {
        "_api_access_key": "AK-test",
        "_api_name": "2207",
        "_api_timestamp": "1700000000000",
        "_api_version": "1.0.0",
        "_api_signature": CSB_VECTOR,
    }
    message = b"_api_access_key=AK-test&_api_name=2207&_api_timestamp=1700000000000&_api_version=1.0.0"
    assert base64.b64encode(hmac.new(b"SK-secret", message, "sha1").digest()).decode() == CSB_VECTOR


def test_csb_string_to_sign_sorts_keys_naturally_whatever_the_insertion_order() -> None:
    params = {"_api_version": "1.0.0", "_api_timestamp": "1", "_api_name": "1101", "_api_access_key": "AK"}
    assert csb_string_to_sign(params) == "_api_access_key=AK&_api_name=1101&_api_timestamp=1&_api_version=1.0.0"


def test_csb_signs_utf8() -> None:
    params = {"_api_access_key": "AK-test", "_api_name": "医保-2207", "_api_timestamp": "1700000000123",
              "_api_version": "2.0"}
    assert csb_sign("密钥SK", params) == CSB_UTF8_VECTOR


def test_csb_fresh_timestamp_is_milliseconds() -> None:
    assert re.fullmatch(r"\d{13}", csb_headers("a", "s", "1101", "1.0.0")["_api_timestamp"])


def test_make_signer_none_adds_nothing() -> None:
    assert make_signer("none", {}, {})("2207") == {}


def test_make_signer_tif_uses_profile_case_and_hides_secrets() -> None:
    signer = make_signer("tif", {"paasid": "paas-secret-id", "token": "tok-secret"},
                         {"tif": {"signature_case": "upper"}})
    headers = signer("2207")
    assert headers["x-tif-paasid"] == "paas-secret-id"
    ts, nonce = headers["x-tif-timestamp"], headers["x-tif-nonce"]
    assert headers["x-tif-signature"] == hashlib.sha256(f"{ts}tok-secret{nonce}{ts}".encode()).hexdigest().upper()
    assert "secret" not in repr(signer)


def test_make_signer_csb_uses_api_name_template_and_version() -> None:
    signer = make_signer("csb", {"access_key": "AK-x", "secret_key": "SK-secret"},
                         {"csb": {"api_version": "2.1.0", "api_name_template": "yfb-{infno}"}})
    headers = signer("2207")
    assert headers["_api_name"] == "yfb-2207"
    assert headers["_api_version"] == "2.1.0"
    params = {k: v for k, v in headers.items() if k != "_api_signature"}
    message = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
    assert headers["_api_signature"] == base64.b64encode(hmac.new(b"SK-secret", message, "sha1").digest()).decode()
    assert "SK-secret" not in repr(signer) and "AK-x" not in repr(signer)


def test_missing_credentials_name_the_credential_not_the_value() -> None:
    with pytest.raises(ConfigError) as info:
        make_signer("csb", {"access_key": "AK-visible", "secret_key": ""}, {})
    assert "secret_key" in info.value.title
    assert "AK-visible" not in info.value.render()


@pytest.mark.parametrize(
    ("family", "profile"),
    [("ntlm", {}), ("tif", {"tif": {"signature_case": "mixed"}}), ("csb", {"csb": {"api_name_template": "fixed"}})],
)
def test_bad_gateway_settings_are_config_errors(family: str, profile: dict) -> None:
    creds = {"paasid": "p", "token": "t", "access_key": "a", "secret_key": "s"}
    with pytest.raises(ConfigError):
        make_signer(family, creds, profile)
