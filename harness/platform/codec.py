"""The platform's JSON codec (orjson: the only module that imports it).

Every answer, every stored record and every request goes through here: at about a thousand
settlements a second, the standard library's encoder and decoder were a tenth of the platform's
work, and orjson does the same job several times faster.

What the wire sees is what the standard library wrote with `ensure_ascii=False` and compact
separators: UTF-8 text, no escaping of 中文, the same shortest float forms (`0.1`, `100.0`, `1e+16`).
Where the two differ, the difference is spelled out:
- A number below 1e-4 has a shorter exponent (`1e-7`, not `1e-07`): the same value, and nothing the
  platform writes comes near it (money is in cents).
- `dump_json` hands what orjson does not take (keys that are not strings, integers beyond 64 bits)
  to the standard library, which writes it as before or raises the same TypeError. Dates and
  dataclasses are not serialised silently: they raise TypeError, as with the standard library.
- `dump_default_str` turns what is not JSON (Decimal, date …) into `str(value)`, as `default=str` did.
- `parse_json` reads strict RFC 8259 JSON: `NaN`, `Infinity` and lone surrogate escapes are
  refused (the standard library let them through, and a lone surrogate then failed later, when the
  text was stored or answered). An integer beyond 64 bits reads as a float.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dump_default_str", "dump_json", "dump_sorted", "parse_json"]

JSONDecodeError = orjson.JSONDecodeError  # a ValueError (and json.JSONDecodeError)

_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_STDLIB_DEFAULT_STR = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def dump_json(value: Any) -> str:
    """Compact JSON text, as `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`."""
    try:
        return orjson.dumps(value, option=_STRICT).decode()
    except TypeError:
        return _STDLIB.encode(value)


def dump_default_str(value: Any) -> str:
    """`dump_json` with `str(value)` for whatever JSON has no form for."""
    try:
        return orjson.dumps(value, default=str, option=_STRICT).decode()
    except TypeError:
        return _STDLIB_DEFAULT_STR.encode(value)


def dump_sorted(value: Any) -> bytes:
    """UTF-8 JSON with the keys of every object sorted (for content hashes); `str()` for what is not JSON."""
    try:
        return orjson.dumps(value, default=str, option=_STRICT | orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def parse_json(text: str | bytes) -> Any:
    """Parse JSON text (str, or UTF-8 bytes); raises JSONDecodeError (a ValueError) for anything else."""
    return orjson.loads(text)
