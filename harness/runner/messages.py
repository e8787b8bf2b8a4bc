"""Message helpers of the runner: paths into envelopes, Decimal parsing, JSON conversion, reachability."""

from __future__ import annotations

import json
import re
import socket
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from harness.checks import decimal_of
from harness.model import Exchange

__all__ = ["SETTLING", "ParsedAnswer", "describe_answer", "field_clause", "find_psn_no", "infcode_of", "jsonable",
           "parse_response", "probe", "resolve_path", "same_value", "show", "show_infcode"]

# 2601-reversible state changes (spec §6.3); 2207A is the A version of 2207 (IF §3.2)
SETTLING = ("2102", "2103", "2207", "2207A", "2208", "2304", "2305", "2401")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


def probe(base_url: str, timeout_s: float = 5.0) -> str | None:
    """Whether a TCP connection opens to the URL's host and port: None when it does, else why not.

    Run before a suite so that a site that is down ends the run at once with one clear message
    instead of N timeouts and a tripped circuit breaker.
    """
    parts = urllib.parse.urlsplit(base_url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"bad port in {base_url!r}"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on {host}:{port}"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc}"


def resolve_path(root: Any, path: str) -> tuple[bool, Any]:
    """Follow `output.insuinfo[0].balc` through mappings and lists: (found, value)."""
    value = root
    for name, index in _PATH_PART.findall(path):
        if name:
            if not isinstance(value, Mapping) or name not in value:
                return False, None
            value = value[name]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
    return True, value


class ParsedAnswer(dict):  # type: ignore[type-arg]
    """A parsed answer that named a key twice in one object: `duplicate_keys` lists those names."""

    duplicate_keys: tuple[str, ...] = ()


def parse_response(exchange: Exchange) -> Mapping[str, Any] | None:
    """The response envelope with money as Decimal (json.loads(parse_float=Decimal)), never floats.

    Keys named twice in one object are noted on the way (a ParsedAnswer with `duplicate_keys`)."""
    if exchange.response_json is None:
        return None
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(items)
        if len(built) != len(items):
            seen: set[str] = set()
            duplicates.extend(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return built

    try:
        parsed = json.JSONDecoder(parse_float=Decimal, object_pairs_hook=pairs).decode(exchange.response_text)
    except (ValueError, RecursionError):  # the stored text was cut at its size limit: fall back to the float parse
        return exchange.response_json
    if not isinstance(parsed, Mapping):
        return exchange.response_json
    if duplicates:
        parsed = ParsedAnswer(parsed)
        parsed.duplicate_keys = tuple(duplicates)
    return parsed


_SCALARS = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Decimals (from responses and TOML) become JSON numbers; everything else passes through."""
    if type(value) in _SCALARS:  # most template values: nothing to convert
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value



def same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, (int, float, Decimal)) and not isinstance(expected, bool):
        got = decimal_of(actual)
        return got is not None and got == decimal_of(expected)
    return expected == actual


def show(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else json.dumps(value, ensure_ascii=False)


def field_clause(infno: str, path: str) -> str:
    parts = [name for name, _ in _PATH_PART.findall(path) if name]
    if len(parts) == 3 and parts[0] == "output":
        return f"{infno}.out.{parts[1]}.{parts[2]}"
    return ""


def find_psn_no(value: Any) -> str | None:
    if isinstance(value, Mapping):
        if isinstance(value.get("psn_no"), str) and value["psn_no"]:
            return value["psn_no"]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = find_psn_no(item)
            if found:
                return found
    return None


def infcode_of(response: Mapping[str, Any]) -> int | None:
    """The infcode as the flow reads it: 0 (success), -1 (refusal) or None (neither, or absent).

    The spec types infcode as a number (interface-facts §1.2 [C]); some platforms send the string "0".
    For the flow a string "0" is success and "-1" a refusal; the type deviation is a schema finding.
    """
    value = response.get("infcode")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return int(value) if value in ("0", "-1") else None
    if isinstance(value, int | Decimal | float) and value in (0, -1):
        return int(value)
    return None


def show_infcode(value: Any) -> str:
    """An infcode as JSON shows it, so that "0" (a string) and 0 (a number) never read the same."""
    if isinstance(value, str):
        return f"{json.dumps(value, ensure_ascii=False)} (a string)"
    return show(value)


def describe_answer(exchange: Exchange, response: Mapping[str, Any]) -> str:
    """What a non-success answer says, also when it is no response envelope at all (e.g. a gateway's 401)."""
    if "infcode" in response:
        said = str(response.get("err_msg") or "").strip()
        return f"infcode {show_infcode(response.get('infcode'))}: {said}".rstrip(": ")
    said = response.get("message") or response.get("msg") or response.get("error") or exchange.response_text[:120]
    code = f" code {response['code']}" if "code" in response else ""
    return f"no response envelope (HTTP {exchange.status}{code}): {said}"
