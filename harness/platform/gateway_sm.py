"""The national-crypto transport families, platform side: verifying and decrypting what arrives.

Written apart from the harness's signing code (harness/gateway.py); only the SM2/SM3/SM4 primitives
are shared (harness/sm_crypto.py, the gmssl owner). The message formats are described there; here:

- **oauth2-sm**: the `Authorization: Bearer` token must be the configured one; the body is the wrapper
  {appId, encType, signType, timestamp, version, encData, signData}: appId must be the configured client,
  encData is decrypted with the client's SM4 key, and signData verified with the client's SM2 public key
  over appId, data (the decrypted envelope), encType, signType, timestamp and version (key=value joined by
  &, keys sorted). The decrypted envelope then goes through the ordinary pipeline.
- **sm2-cainfo**: `cainfo` must be an SM2 signature, by the client's public key, over every other
  envelope field (sorted, `input` as compact JSON with sorted keys, nulls left out); signtype SM2.

Refusals are the gateway's, HTTP 401, before the platform sees the message (as for TIF and CSB):
`{"code": 401, "message": "缺少访问令牌!" | "访问令牌无效!" | "非法的应用!" | "报文解密失败!" | "签名不一致!"}`.
The texts are this platform's own: no source gives a Jilin gateway's refusal texts [U].
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.sm_crypto import SmError, sm2_verify, sm4_decrypt

__all__ = ["SM_FAMILIES", "SmGateway", "SmRefused"]

SM_FAMILIES = ("oauth2-sm", "sm2-cainfo")


class SmRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _signed_text(envelope: Mapping[str, Any]) -> str:
    pieces = []
    for name in sorted(envelope):
        value = envelope[name]
        if name == "cainfo" or value is None:
            continue
        if name == "input" or not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        pieces.append(f"{name}={value}")
    return "&".join(pieces)


class SmGateway:
    """Opens (oauth2-sm) and checks (sm2-cainfo) requests for one profile and one set of credentials."""

    def __init__(self, family: str, credentials: Mapping[str, str]) -> None:
        self.family = family
        self.credentials = dict(credentials)

    @property
    def enabled(self) -> bool:
        needed = ("sm_public_key",) if self.family == "sm2-cainfo" else (
            "sm_public_key", "sm_app_id", "sm_access_token", "sm4_key")
        return self.family in SM_FAMILIES and all(self.credentials.get(n) for n in needed)

    def open(self, headers: Mapping[str, str], body: bytes, *, verify: bool = True) -> bytes:
        """The envelope bytes inside the request; raises SmRefused. Lower-case header names.

        `verify=False` (the mutant no-verify): the SM2 signatures are not checked; the envelope is still opened.
        """
        if not self.enabled:
            return body
        if self.family == "sm2-cainfo":
            if verify:
                self._check_cainfo(body)
            return body
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise SmRefused("缺少访问令牌!")
        if auth[7:].strip() != self.credentials["sm_access_token"]:
            raise SmRefused("访问令牌无效!")
        try:
            wrapper = json.loads(body.decode("utf-8"))
            if not isinstance(wrapper, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            raise SmRefused("报文解密失败!") from exc
        if wrapper.get("appId") != self.credentials["sm_app_id"]:
            raise SmRefused("非法的应用!")
        try:
            plain = sm4_decrypt(self.credentials["sm4_key"], bytes.fromhex(str(wrapper.get("encData") or "")))
            text = plain.decode("utf-8")
        except (SmError, ValueError, UnicodeDecodeError) as exc:
            raise SmRefused("报文解密失败!") from exc
        fields = {k: str(wrapper.get(k) or "") for k in ("appId", "encType", "signType", "timestamp", "version")}
        signed = "&".join(f"{k}={v}" for k, v in sorted({**fields, "data": text}.items()))
        if verify and not sm2_verify(self.credentials["sm_public_key"], str(wrapper.get("signData") or ""),
                                     signed.encode()):
            raise SmRefused("签名不一致!")
        return plain

    def _check_cainfo(self, body: bytes) -> None:
        try:
            envelope = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return  # not JSON: the pipeline refuses it as such
        if not isinstance(envelope, dict):
            return
        cainfo = str(envelope.get("cainfo") or "")
        if not cainfo:
            raise SmRefused("缺少数字签名信息!")
        if not sm2_verify(self.credentials["sm_public_key"], cainfo, _signed_text(envelope).encode("utf-8")):
            raise SmRefused("签名不一致!")
