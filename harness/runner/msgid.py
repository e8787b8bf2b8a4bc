"""Message ids: `fixmedins_code + yyyyMMddHHmmss + 4-digit serial` (IF §1.2 [C]).

The serial comes from one counter per process, shared by every runner in it: two runs in the same
second against one persistent site (the matrix, re-runs, a pytest session) then never reuse a msgid,
which the site would rightly refuse as 报文ID重复. The counter starts at a random point so separate
processes against one shared site rarely collide either; a forked process (the matrix's workers) starts
its own, else every worker would continue the parent's counter and send the same msgids.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from datetime import datetime

SERIALS = 10_000

_counter = itertools.count(secrets.randbelow(SERIALS))
_lock = threading.Lock()


def _restart() -> None:
    """A new counter at a random point (and a new lock: the parent's may have been held when it forked)."""
    global _counter, _lock
    _counter = itertools.count(secrets.randbelow(SERIALS))
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX; a spawned process (Windows) imports this module afresh anyway
    os.register_at_fork(after_in_child=_restart)


def next_serial() -> int:
    """The next 4-digit serial of this process."""
    with _lock:
        return next(_counter) % SERIALS


def make_msgid(fixmedins_code: str, now: datetime, stamp: str | None = None) -> str:
    """A msgid for a message sent at `now` (or at the already formatted `stamp`)."""
    return f"{fixmedins_code}{stamp or f'{now:%Y%m%d%H%M%S}'}{next_serial():04d}"
