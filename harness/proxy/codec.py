"""JSON with exact money: parse numbers with fractions as Decimal, write them back as the same digits.

The proxy changes amounts by cents; binary floats would turn 57.58 + 0.01 into 57.589999…, a
precision finding the mutation did not mean to plant.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]

_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(text: str) -> Any:
    return _DECODER.decode(text)


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON (ensure_ascii=False); a Decimal is written as a number with its own digits."""
    return "".join(_chunks(value))


def _chunks(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value, "f")
        yield text
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + json.dumps(str(key), ensure_ascii=False) + ":"
            yield from _chunks(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _chunks(item)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)
