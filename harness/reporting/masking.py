"""Personal data masking for everything a report shows (Allure attachments, results, exchanges).

Test identities should be synthetic, but a site's test environment may hold real people, so reports
mask personal fields by default: the first and last characters stay (enough to tell records apart),
the middle becomes `*`. The curl reproduction line in the terminal is the one place that keeps the
real request, because a masked request cannot reproduce anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["PERSONAL_FIELDS", "mask", "mask_json_text", "mask_text"]

# Spec field names that carry personal data: ID numbers, names, card data, contact data, birth date.
PERSONAL_FIELDS: frozenset[str] = frozenset({
    "certno", "psn_name", "mdtrt_cert_no", "card_sn", "card_no", "brdy", "tel", "addr",
    "agnter_name", "agnter_certno", "agnter_tel", "agnter_addr", "coner_name",
})


def mask_text(text: str) -> str:
    """Keep the first and last characters: 张三丰 -> 张*丰, 430102199207221062 -> 430************062."""
    n = len(text)
    if n <= 1:
        return "*" * n
    if n == 2:
        return text[0] + "*"
    keep = 3 if n >= 12 else 1
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]


def mask(value: Any, fields: frozenset[str] = PERSONAL_FIELDS) -> Any:
    """A copy of a JSON-like value with the personal fields masked, at any depth."""
    if isinstance(value, Mapping):
        return {k: (mask_text(v) if k in fields and isinstance(v, str) and v else mask(v, fields))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, fields) for v in value]
    return value


_PERSONAL_VALUE = re.compile(r'("(?:' + "|".join(sorted(PERSONAL_FIELDS)) + r')"\s*:\s*")((?:[^"\\]|\\.)+)"')


def mask_json_text(text: str) -> str:
    """Mask personal string fields inside raw JSON text, leaving every other byte (and number) as sent."""

    def one(match: re.Match[str]) -> str:
        try:
            value = json.loads(f'"{match.group(2)}"')
        except ValueError:
            value = match.group(2)
        return match.group(1) + mask_text(value) + '"'

    return _PERSONAL_VALUE.sub(one, text)
