"""Response envelopes, identifiers and the wire format of the platform's answers.

Response envelope (interface-facts §1.2): `infcode` 0 / -1 as a JSON number; `inf_refmsgid` =
receiver admdvs (6) + yyyyMMddHHmmss (14) + serial (10); `refmsg_time` (when the request arrived)
and `respond_time` as yyyyMMddHHmmssSSS; `err_msg` null on success; `output` null on refusal,
`{}` for transactions without output; `warn_msg` null unless there is something to warn about.

Identifiers issued by the platform are unique within one database and readable:
`M` + treating admdvs + yyMMdd + serial for mdtrt_id, `S…` for setl_id, `D…` for
trt_dcla_detl_sn, `F…` for file_qury_no; sign_no is 24 random hex characters.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["RefMsgIds", "dump_json", "new_sign_no", "stamp17", "wire_decimal"]


def stamp17(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS."""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def fmt_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def wire_decimal(value: Decimal | None) -> float | None:
    """Money on the wire: a JSON number (from an exact, already rounded Decimal)."""
    return None if value is None else float(value) + 0.0  # + 0.0 turns -0.0 into 0.0


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def new_sign_no() -> str:
    return secrets.token_hex(12)


class RefMsgIds:
    """inf_refmsgid generator: a process-wide 10-digit serial, starting at a random point so that a
    restarted platform does not repeat the ids of the previous run within the same second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serial = itertools.count(random.randrange(10**8, 10**9))

    def next(self, receiver: str, moment: datetime) -> str:
        with self._lock:
            serial = next(self._serial) % 10**10
        return f"{receiver}{moment.strftime('%Y%m%d%H%M%S')}{serial:010d}"


def business_id(prefix: str, admdvs: str, moment: datetime, serial: int) -> str:
    return f"{prefix}{admdvs}{moment.strftime('%y%m%d')}{serial:09d}"


def response_envelope(
    *,
    infcode: int,
    inf_refmsgid: str,
    refmsg_time: str,
    respond_time: str,
    output: Any,
    err_msg: str | None,
    warn_msg: str | None,
) -> dict[str, Any]:
    return {
        "infcode": infcode,
        "inf_refmsgid": inf_refmsgid,
        "refmsg_time": refmsg_time,
        "respond_time": respond_time,
        "err_msg": err_msg,
        "output": output,
        "warn_msg": warn_msg,
        "cainfo": None,
        "signtype": None,
    }
