"""Message ids: `fixmedins_code + yyyyMMddHHmmss + 4-digit serial` (IF §1.2 [C]).

The serial comes from one counter per process, shared by every runner in it: two runs in the same
second against one persistent site (the matrix, re-runs, a pytest session) then never reuse a msgid,
which the site would rightly refuse as 报文ID重复. The counter starts at a random point so separate
processes against one shared site rarely collide either.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from datetime import datetime

SERIALS = 10_000

_counter = itertools.count(secrets.randbelow(SERIALS))
_lock = threading.Lock()


def next_serial() -> int:
    """The next 4-digit serial of this process."""
    with _lock:
        return next(_counter) % SERIALS


def make_msgid(fixmedins_code: str, now: datetime, stamp: str | None = None) -> str:
    """A msgid for a message sent at `now` (or at the already formatted `stamp`)."""
    return f"{fixmedins_code}{stamp or f'{now:%Y%m%d%H%M%S}'}{next_serial():04d}"
