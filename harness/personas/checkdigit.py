"""GB 11643-1999 resident ID numbers: the MOD 11-2 check character."""

from __future__ import annotations

import re
from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the remainder mod 11 picks the check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_CERTNO_RE = re.compile(r"^\d{17}[\dX]$")


def gb11643_check_digit(first17: str) -> str:
    """The MOD 11-2 check character ("0"-"9" or "X") for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_certno(certno: str) -> bool:
    """True for an 18-character resident ID number with a real birth date and a correct check character."""
    if not isinstance(certno, str) or not _CERTNO_RE.match(certno):
        return False
    try:
        date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return False
    return gb11643_check_digit(certno[:17]) == certno[17]


