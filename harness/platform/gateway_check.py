"""Verification of gateway signatures (TIF `x-tif-*`, CSB `_api_*`), written independently of the
harness's signing code (harness/gateway.py): the platform and the harness must not share logic.

CSB (Alibaba service gateway; Hunan spec, 服务网关调用说明):
  `_api_signature` = Base64(HmacSHA1(SK, "_api_access_key=…&_api_name=…&_api_timestamp=…&_api_version=…"))
  with the four headers sorted by name; `_api_timestamp` in milliseconds, tolerance from the profile
  (default 30 minutes). Refusals are the gateway's own, at the HTTP level, exactly as the spec
  lists them: `{"code":401,"message":"缺少服务网关的请求头!" | "签名时间戳超时!" | "非法用户!" | "签名不一致!"}`.

TIF (Tencent gateway; interface-facts §2.3):
  `x-tif-signature` = hex(SHA-256(timestamp + token + nonce + timestamp)), compared without regard
  to case; `x-tif-timestamp` in seconds, tolerance from the profile (default 1800 s). No source
  gives the TIF gateway's refusal texts [U]; this platform answers in the CSB shape, HTTP 401,
  `{"code":401,"message": "缺少网关请求头!" | "签名时间戳超时!" | "非法的paasid!" | "签名不一致!"}`.

CSB routes a call by its `_api_name`, which the profile's `api_name_template` derives from the infno
(`{infno}`, `yfb-{infno}`): a signature made for one `_api_name` is refused on another infno with
`"API名称与交易编号不一致!"` (HTTP 401; the text is this platform's own, no source gives one [U]).

The refusal happens before the platform sees the message: no sign-in check, no state change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GatewayRefusal", "GatewayVerifier"]


@dataclass(frozen=True, slots=True)
class GatewayRefusal:
    status: int
    body: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


def _refuse(message: str) -> GatewayRefusal:
    return GatewayRefusal(401, {"code": 401, "message": message})


class GatewayVerifier:
    """Checks the headers of one request against the profile's gateway family and the credentials."""

    def __init__(self, gateway_profile: Mapping[str, Any], credentials: Mapping[str, str]) -> None:
        self.family = str(gateway_profile.get("family", "none"))
        self.tif = dict(gateway_profile.get("tif", {}) or {})
        self.csb = dict(gateway_profile.get("csb", {}) or {})
        self.credentials = dict(credentials)

    @property
    def enabled(self) -> bool:
        if self.family == "tif":
            return bool(self.credentials.get("tif_paasid") and self.credentials.get("tif_token"))
        if self.family == "csb":
            return bool(self.credentials.get("csb_ak") and self.credentials.get("csb_sk"))
        return False

    def check(self, headers: Mapping[str, str], infno: str, now: float | None = None) -> GatewayRefusal | None:
        """None when the request may pass; otherwise the gateway's refusal. `headers` keys are lower case."""
        if not self.enabled:
            return None
        clock = time.time() if now is None else now
        if self.family == "tif":
            return self._check_tif(headers, clock)
        return self._check_csb(headers, infno, clock)

    def _check_tif(self, headers: Mapping[str, str], now: float) -> GatewayRefusal | None:
        names = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")
        if any(not headers.get(n) for n in names):
            return _refuse("缺少网关请求头!")
        paasid, stamp, nonce, signature = (headers[n] for n in names)
        if not hmac.compare_digest(paasid, self.credentials["tif_paasid"]):
            return _refuse("非法的paasid!")
        tolerance = float(self.tif.get("timestamp_tolerance_s", 1800))
        if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
            return _refuse("签名时间戳超时!")
        token = self.credentials["tif_token"]
        expected = hashlib.sha256(f"{stamp}{token}{nonce}{stamp}".encode()).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            return _refuse("签名不一致!")
        return None

    def _check_csb(self, headers: Mapping[str, str], infno: str, now: float) -> GatewayRefusal | None:
        names = ("_api_name", "_api_version", "_api_timestamp", "_api_access_key", "_api_signature")
        if any(not headers.get(n) for n in names):
            return _refuse("缺少服务网关的请求头!")
        if not hmac.compare_digest(headers["_api_access_key"], self.credentials["csb_ak"]):
            return _refuse("非法用户!")
        stamp = headers["_api_timestamp"]
        tolerance_ms = float(self.csb.get("timestamp_tolerance_ms", 1_800_000))
        if not stamp.isdigit() or abs(now * 1000 - int(stamp)) > tolerance_ms:
            return _refuse("签名时间戳超时!")
        signed = {n: headers[n] for n in ("_api_access_key", "_api_name", "_api_timestamp", "_api_version")}
        text = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
        digest = hmac.new(self.credentials["csb_sk"].encode(), text.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), headers["_api_signature"]):
            return _refuse("签名不一致!")
        template = str(self.csb.get("api_name_template") or "{infno}")
        if infno and headers["_api_name"] != template.replace("{infno}", infno):
            return _refuse("API名称与交易编号不一致!")
        return None
