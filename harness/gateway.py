"""Gateway request signing: the families of gateways provinces put in front of the platform.

TIF (Tencent, `x-tif-*`; Hebei, Chongqing, Guangdong): the signature is the hex SHA-256 of
timestamp + token + nonce + timestamp, timestamp in seconds. NHSA code sends lower-case hex; some
TIF deployments expect upper case, so the case is a profile setting.

CSB (Alibaba, `_api_*`; Hunan, Jiangxi, Jiangsu): the signature is Base64(HmacSHA1(SK, s)) where
s joins the four `_api_*` headers as key=value pairs with `&`, keys in natural (lexicographic)
order, UTF-8 (湖南 V1.1.27 "生成签名"). Timestamp in milliseconds.

National crypto (国密): the two SM families below; the platform verifies them with its own code
(harness/platform/gateway_sm.py), and only the SM2/SM3/SM4 primitives are shared (harness/sm_crypto.py).

**oauth2-sm** (Jilin-style wrapper; its exact field set is not in our sources [U]; the wrapper `version` is
the profile setting `gateway.oauth2_sm.version`): the request carries `Authorization: Bearer <access token>` and
the body is not the envelope but
    {"appId", "encType": "SM4", "signType": "SM2", "timestamp" (ms), "version",
     "encData": hex(SM4-ECB/PKCS#7(sm4_key, UTF-8 envelope JSON)),
     "signData": SM2(private key, string to sign)}
where the string to sign joins `key=value` with `&` over appId, data (the envelope JSON, before
encryption), encType, signType, timestamp and version, keys in natural order.

**sm2-cainfo**: the body is the envelope, with `signtype` "SM2" and `cainfo` = SM2(private key, string to
sign) where the string joins `key=value` with `&` over every envelope field but cainfo, keys in natural
order, `input` as compact JSON text with sorted keys, null fields left out (interface-facts §1.1 #8/#9:
cainfo 数字签名信息, signtype SM2/SM3).

Tampering (`tampered(signer, kind)`): the same signer, made to send a request a gateway must refuse, for the
gateway-signature scenarios (harness/runner/tamper.py): TAMPERS below, each where the family has the thing.

Signing only: the reference platform verifies with its own code. Secrets arrive from the caller
(who read them from environment variables named in the site config) and never appear in a repr.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import ConfigError
from harness.sm_crypto import sm2_sign, sm4_encrypt

__all__ = [
    "CSB_CREDENTIALS",
    "FAMILIES",
    "SM_FAMILIES",
    "TAMPERS",
    "TIF_CREDENTIALS",
    "Signer",
    "SmWrapper",
    "cainfo_string",
    "csb_headers",
    "csb_sign",
    "csb_string_to_sign",
    "make_signer",
    "tampered",
    "tif_headers",
    "tif_sign",
]

Signer = Callable[[str], dict[str, str]]  # infno -> headers to add to the request

FAMILIES = ("none", "tif", "csb", "oauth2-sm", "sm2-cainfo")
# signature-missing: the signature header (or signData / cainfo) left out; signature-wrong: signed with another
# secret (SM: a signature that does not verify); timestamp-stale: signed a day ago; app-unknown: an AK / paasid /
# appId the gateway never issued, signed with the real secret.
TAMPERS = ("signature-missing", "signature-wrong", "timestamp-stale", "app-unknown")
STALE_S = 86_400  # far beyond any tolerance (the CSB default is 30 minutes)
TIF_CREDENTIALS = ("paasid", "token")
CSB_CREDENTIALS = ("access_key", "secret_key")


def tif_sign(timestamp: str, token: str, nonce: str, *, upper: bool = False) -> str:
    digest = hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()
    return digest.upper() if upper else digest


def tif_headers(paasid: str, token: str, *, timestamp: int | None = None, nonce: str | None = None,
                upper: bool = False) -> dict[str, str]:
    """The four x-tif-* headers. timestamp (seconds) and nonce are drawn fresh unless given (tests pin them)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    nonce = uuid.uuid4().hex if nonce is None else nonce
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": ts,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_sign(ts, token, nonce, upper=upper),
    }


def csb_string_to_sign(params: Mapping[str, str]) -> str:
    """key=value pairs joined by '&', keys sorted in natural order (the spec's example shows the four _api_* keys)."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params))


def csb_sign(secret_key: str, params: Mapping[str, str]) -> str:
    mac = hmac.new(secret_key.encode(), csb_string_to_sign(params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def csb_headers(access_key: str, secret_key: str, api_name: str, api_version: str, *,
                timestamp_ms: int | None = None) -> dict[str, str]:
    """The five _api_* headers; timestamp in milliseconds (13 digits), drawn fresh unless given."""
    params = {
        "_api_access_key": access_key,
        "_api_name": api_name,
        "_api_timestamp": str(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)),
        "_api_version": api_version,
    }
    return {**params, "_api_signature": csb_sign(secret_key, params)}


def _other(text: str) -> str:
    """A different value of the same shape (a secret, an id or a signature that is not the right one)."""
    flipped = text[::-1]
    return flipped if flipped != text else text + "0"


class _NoSigner:
    family = "none"

    def __call__(self, infno: str) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:
        return "Signer(family='none')"


class _TifSigner:
    family = "tif"

    def __init__(self, paasid: str, token: str, upper: bool) -> None:
        self._paasid, self._token, self._upper = paasid, token, upper

    def __call__(self, infno: str) -> dict[str, str]:
        return tif_headers(self._paasid, self._token, upper=self._upper)

    def __repr__(self) -> str:  # never the paasid or the token
        return f"Signer(family='tif', signature_case={'upper' if self._upper else 'lower'!r})"

    def tampered(self, kind: str) -> Signer | None:
        paasid, token, upper = self._paasid, self._token, self._upper
        if kind == "signature-missing":
            return lambda infno: {k: v for k, v in self(infno).items() if k != "x-tif-signature"}
        if kind == "signature-wrong":
            return lambda infno: tif_headers(paasid, _other(token), upper=upper)
        if kind == "timestamp-stale":
            return lambda infno: tif_headers(paasid, token, timestamp=int(time.time()) - STALE_S, upper=upper)
        return lambda infno: tif_headers(_other(paasid), token, upper=upper)  # app-unknown


class _CsbSigner:
    family = "csb"

    def __init__(self, access_key: str, secret_key: str, api_version: str, api_name_template: str) -> None:
        self._ak, self._sk = access_key, secret_key
        self._version, self._template = api_version, api_name_template

    def __call__(self, infno: str) -> dict[str, str]:
        return csb_headers(self._ak, self._sk, self._template.replace("{infno}", infno), self._version)

    def __repr__(self) -> str:  # never the access key or the secret key
        return f"Signer(family='csb', api_version={self._version!r}, api_name_template={self._template!r})"

    def tampered(self, kind: str) -> Signer | None:
        ak, sk, version, name = self._ak, self._sk, self._version, self._template.replace
        if kind == "signature-missing":
            return lambda infno: {k: v for k, v in self(infno).items() if k != "_api_signature"}
        if kind == "signature-wrong":
            return lambda infno: csb_headers(ak, _other(sk), name("{infno}", infno), version)
        if kind == "timestamp-stale":
            stale = int((time.time() - STALE_S) * 1000)
            return lambda infno: csb_headers(ak, sk, name("{infno}", infno), version, timestamp_ms=stale)
        return lambda infno: csb_headers(_other(ak), sk, name("{infno}", infno), version)  # app-unknown


SM_FAMILIES = ("oauth2-sm", "sm2-cainfo")
SM_CREDENTIALS = {"oauth2-sm": ("app_id", "access_token", "sm4_key", "sm2_private_key"),
                  "sm2-cainfo": ("sm2_private_key",)}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def cainfo_string(envelope: Mapping[str, Any]) -> str:
    """The text an sm2-cainfo signature covers (see the module docstring)."""
    parts = []
    for key in sorted(envelope):
        value = envelope[key]
        if key == "cainfo" or value is None:
            continue
        parts.append(f"{key}={_compact(value) if key == 'input' or not isinstance(value, str) else value}")
    return "&".join(parts)


def oauth2_sign_string(fields: Mapping[str, str]) -> str:
    return "&".join(f"{key}={fields[key]}" for key in sorted(fields))


class SmWrapper:
    """Signer for a national-crypto family: headers per infno, and the body it turns an envelope into."""

    def __init__(self, family: str, credentials: Mapping[str, str], settings: Mapping[str, Any],
                 tamper: str | None = None) -> None:
        self.family = family
        self._creds = dict(credentials)
        self._settings = dict(settings)
        self._tamper = tamper

    def __call__(self, infno: str) -> dict[str, str]:
        if self.family == "oauth2-sm":
            return {"Authorization": f"Bearer {self._creds['access_token']}"}
        return {}

    def body(self, envelope: Mapping[str, Any]) -> bytes:
        """The bytes to POST for this envelope."""
        if self.family == "sm2-cainfo":
            signed = {**envelope, "signtype": "SM2"}
            signed["cainfo"] = sm2_sign(self._creds["sm2_private_key"], cainfo_string(signed).encode("utf-8"))
            if self._tamper == "signature-missing":
                del signed["cainfo"]
            elif self._tamper == "signature-wrong":
                signed["cainfo"] = _other(signed["cainfo"])
            return json.dumps(signed, ensure_ascii=False).encode("utf-8")
        data = json.dumps(envelope, ensure_ascii=False)
        app_id = _other(self._creds["app_id"]) if self._tamper == "app-unknown" else self._creds["app_id"]
        fields = {"appId": app_id, "encType": "SM4", "signType": "SM2",
                  "timestamp": str(int(time.time() * 1000)), "version": str(self._settings.get("version", "1.0.0"))}
        signature = sm2_sign(self._creds["sm2_private_key"], oauth2_sign_string({**fields, "data": data}).encode())
        wrapped = {**fields, "encData": sm4_encrypt(self._creds["sm4_key"], data.encode("utf-8")).hex().upper(),
                   "signData": _other(signature) if self._tamper == "signature-wrong" else signature}
        if self._tamper == "signature-missing":
            del wrapped["signData"]
        return json.dumps(wrapped, ensure_ascii=False).encode("utf-8")

    def __repr__(self) -> str:  # never a key or the token
        return f"Signer(family={self.family!r}{f', tamper={self._tamper!r}' if self._tamper else ''})"

    def tampered(self, kind: str) -> SmWrapper | None:
        """sm2-cainfo has no timestamp and no app id; the oauth2-sm wrapper's timestamp has no known tolerance [U]."""
        if kind == "timestamp-stale" or (kind == "app-unknown" and self.family == "sm2-cainfo"):
            return None
        return SmWrapper(self.family, self._creds, self._settings, tamper=kind)


def make_signer(family: str, credentials: Mapping[str, str], gateway_profile: Mapping[str, Any]) -> Signer:
    """A callable infno -> headers for the gateway family ("none", "tif" or "csb").

    credentials: tif needs paasid and token; csb needs access_key and secret_key (values already
    read from the environment by the caller). gateway_profile: the profile's "gateway" object
    (tif.signature_case; csb.api_version and csb.api_name_template such as "{infno}" or "yfb-{infno}").
    """
    if family == "none":
        return _NoSigner()
    if family not in FAMILIES:
        raise ConfigError(f"unknown gateway family {family!r}", detail=f"known families: {', '.join(FAMILIES)}",
                          location="site config [gateway] family / profile gateway.family",
                          hint="use 'tif' (x-tif-* headers), 'csb' (_api_* headers), 'oauth2-sm', 'sm2-cainfo' "
                          "or 'none'")
    needed = TIF_CREDENTIALS if family == "tif" else SM_CREDENTIALS.get(family, CSB_CREDENTIALS)
    missing = [name for name in needed if not credentials.get(name)]
    if missing:  # names only: the values are secrets
        raise ConfigError(f"gateway credentials missing for family {family!r}: {', '.join(missing)}",
                          location="site config [gateway]",
                          hint="set the environment variables the site config names for these credentials")
    settings = gateway_profile.get(family) or {}
    if family in SM_FAMILIES:
        return SmWrapper(family, credentials, gateway_profile.get(family.replace("-", "_")) or {})
    if family == "tif":
        case = settings.get("signature_case", "lower")
        if case not in ("lower", "upper"):
            raise ConfigError(f"gateway.tif.signature_case must be 'lower' or 'upper', got {case!r}",
                              location="profile gateway.tif.signature_case")
        return _TifSigner(credentials["paasid"], credentials["token"], case == "upper")
    template = str(settings.get("api_name_template", "{infno}"))
    if "{infno}" not in template:
        raise ConfigError(f"gateway.csb.api_name_template needs an {{infno}} placeholder, got {template!r}",
                          location="profile gateway.csb.api_name_template", hint='e.g. "{infno}" or "yfb-{infno}"')
    return _CsbSigner(credentials["access_key"], credentials["secret_key"],
                      str(settings.get("api_version", "1.0.0")), template)


def tampered(signer: Any, kind: str) -> Signer | None:
    """The signer made to send what a gateway must refuse (TAMPERS), or None when its family has no such thing
    (no signing at all, or e.g. no timestamp): the caller then has nothing to test."""
    if kind not in TAMPERS:
        raise ValueError(f"unknown gateway tamper {kind!r}; known: {', '.join(TAMPERS)}")
    make = getattr(signer, "tampered", None)
    return make(kind) if make is not None else None
