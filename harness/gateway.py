"""Gateway request signing: the two header families provinces put in front of the platform.

TIF (Tencent, `x-tif-*`; Hebei, Chongqing, Guangdong): the signature is the hex SHA-256 of
timestamp + token + nonce + timestamp, timestamp in seconds. NHSA code sends lower-case hex; some
TIF deployments expect upper case, so the case is a profile setting.

CSB (Alibaba, `_api_*`; Hunan, Jiangxi, Jiangsu): the signature is Base64(HmacSHA1(SK, s)) where
s joins the four `_api_*` headers as key=value pairs with `&`, keys in natural (lexicographic)
order, UTF-8 (湖南 V1.1.27 "生成签名"). Timestamp in milliseconds.

Signing only: the reference platform verifies with its own code. Secrets arrive from the caller
(who read them from environment variables named in the site config) and never appear in a repr.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import ConfigError

__all__ = [
    "CSB_CREDENTIALS",
    "FAMILIES",
    "TIF_CREDENTIALS",
    "Signer",
    "csb_headers",
    "csb_sign",
    "csb_string_to_sign",
    "make_signer",
    "tif_headers",
    "tif_sign",
]

Signer = Callable[[str], dict[str, str]]  # infno -> headers to add to the request

FAMILIES = ("none", "tif", "csb")
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


class _NoSigner:
    def __call__(self, infno: str) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:
        return "Signer(family='none')"


class _TifSigner:
    def __init__(self, paasid: str, token: str, upper: bool) -> None:
        self._paasid, self._token, self._upper = paasid, token, upper

    def __call__(self, infno: str) -> dict[str, str]:
        return tif_headers(self._paasid, self._token, upper=self._upper)

    def __repr__(self) -> str:  # never the paasid or the token
        return f"Signer(family='tif', signature_case={'upper' if self._upper else 'lower'!r})"


class _CsbSigner:
    def __init__(self, access_key: str, secret_key: str, api_version: str, api_name_template: str) -> None:
        self._ak, self._sk = access_key, secret_key
        self._version, self._template = api_version, api_name_template

    def __call__(self, infno: str) -> dict[str, str]:
        return csb_headers(self._ak, self._sk, self._template.replace("{infno}", infno), self._version)

    def __repr__(self) -> str:  # never the access key or the secret key
        return f"Signer(family='csb', api_version={self._version!r}, api_name_template={self._template!r})"


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
                          hint="use 'tif' (x-tif-* headers), 'csb' (_api_* headers) or 'none'")
    needed = TIF_CREDENTIALS if family == "tif" else CSB_CREDENTIALS
    missing = [name for name in needed if not credentials.get(name)]
    if missing:  # names only: the values are secrets
        raise ConfigError(f"gateway credentials missing for family {family!r}: {', '.join(missing)}",
                          location="site config [gateway]",
                          hint="set the environment variables the site config names for these credentials")
    settings = gateway_profile.get(family) or {}
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
