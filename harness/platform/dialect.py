"""The province's own code values in the platform's answers (interface-facts §5 [V] dictionaries).

The handlers answer in the baseline's codes; under a profile whose `code_variants` select another edition
of a dictionary, the platform speaks that edition, as a real provincial platform would. Only the codes
whose meaning moves between editions are listed, each with its source:

| dictionary | variant | baseline → variant | source |
|---|---|---|---|
| bas_medn_flag, hi_nego_drug_flag | one-two | 0 否 → 2 否 | IF §5: S1 (Jiangxi) 1 是 / 2 否; HN, real: 1 / 0 |
| dcla_souc | s1 | 01 → 1 (医院), 02 → 2 (中心) | IF §5: S1 1 医院, 2 中心; HN 01…05, 99 |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["VARIANT_CODES", "speak"]

VARIANT_CODES: dict[tuple[str, str], dict[str, str]] = {
    ("bas_medn_flag", "one-two"): {"0": "2"},
    ("hi_nego_drug_flag", "one-two"): {"0": "2"},
    ("dcla_souc", "s1"): {"01": "1", "02": "2"},
}


def speak(row: dict[str, Any], code_variants: Mapping[str, str]) -> dict[str, Any]:
    """`row` with its coded fields in the profile's editions (the same dict, changed in place)."""
    for field, value in row.items():
        variant = code_variants.get(field)
        if variant is None or not isinstance(value, str):
            continue
        row[field] = VARIANT_CODES.get((field, variant), {}).get(value, value)
    return row
