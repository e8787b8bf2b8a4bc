"""Command lines that reproduce one recorded request: curl for POSIX shells, Invoke-RestMethod for PowerShell.

Gateway secrets never appear: the transport records secret-bearing headers masked, and this module
writes them as `$ENV_VAR` references to the variables the site config names (signatures are
time-bound and must be recomputed, so they become a placeholder).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from harness.model import Exchange

__all__ = ["curl_command", "powershell_command", "secret_header_env"]

# Which credential each secret-bearing header carries (as named in the site config's [gateway]).
_HEADER_CREDENTIAL = {"x-tif-paasid": "paasid", "_api_access_key": "access_key"}
_RESIGN = {"x-tif-signature", "_api_signature", "x-tif-timestamp", "x-tif-nonce", "_api_timestamp"}


def secret_header_env(credential_env: Mapping[str, str]) -> dict[str, str]:
    """Header name -> env var name, from the site's credential -> env var mapping."""
    return {header: credential_env[name] for header, name in _HEADER_CREDENTIAL.items() if name in credential_env}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def curl_command(exchange: Exchange, *, header_env: Mapping[str, str] | None = None) -> str:
    """`curl -X POST URL -H ... --data-raw BODY` for the exchange (POSIX shell quoting)."""
    env = {k.lower(): v for k, v in (header_env or {}).items()}
    parts = ["curl", "-sS", "-X", exchange.method or "POST", _quote(exchange.url)]
    for name, value in exchange.request_headers.items():
        lower = name.lower()
        if lower in env:
            value = f"${env[lower]}"
            parts += ["-H", f'"{name}: {value}"']
            continue
        if lower in _RESIGN:
            value = f"<re-sign: {lower} is time-bound>"
        elif value.startswith("***("):
            value = f"<secret: {lower}>"
        parts += ["-H", _quote(f"{name}: {value}")]
    body = json.dumps(exchange.request_body, ensure_ascii=False, separators=(",", ":"))
    parts += ["--data-raw", _quote(body)]
    return " ".join(parts)


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"  # PowerShell: a single quote doubles inside single quotes


def powershell_command(exchange: Exchange, *, header_env: Mapping[str, str] | None = None) -> str:
    """The same request for PowerShell (Windows HIS machines): Invoke-RestMethod, the body sent as UTF-8 bytes."""
    env = {k.lower(): v for k, v in (header_env or {}).items()}
    content_type = "application/json;charset=utf-8"
    headers = []
    for name, value in exchange.request_headers.items():
        lower = name.lower()
        if lower == "content-type":
            content_type = value
            continue
        if lower in env:
            headers.append(f"{_ps_quote(name)}=$env:{env[lower]}")
            continue
        if lower in _RESIGN:
            value = f"<re-sign: {lower} is time-bound>"
        elif value.startswith("***("):
            value = f"<secret: {lower}>"
        headers.append(f"{_ps_quote(name)}={_ps_quote(value)}")
    body = json.dumps(exchange.request_body, ensure_ascii=False, separators=(",", ":"))
    return (f"Invoke-RestMethod -Method {exchange.method or 'POST'} -Uri {_ps_quote(exchange.url)} "
            f"-Headers @{{{'; '.join(headers)}}} -ContentType {_ps_quote(content_type)} "
            f"-Body ([Text.Encoding]::UTF8.GetBytes({_ps_quote(body)}))")
