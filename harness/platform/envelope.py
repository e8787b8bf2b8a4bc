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
import random
import secrets
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

from harness.platform.codec import dump_json

__all__ = ["EncodedOutput", "RefMsgIds", "dump_json", "envelope_text", "new_sign_no", "stamp17", "wire_decimal"]


def stamp14(moment: datetime) -> str:
    """yyyyMMddHHmmss (what strftime("%Y%m%d%H%M%S") gives, without its cost on the hot path)."""
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"


def stamp17(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS."""
    return f"{stamp14(moment)}{moment.microsecond // 1000:03d}"


def fmt_datetime(moment: datetime) -> str:
    """yyyy-MM-dd HH:mm:ss."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")  # fmt: skip


def wire_decimal(value: Decimal | None) -> float | None:
    """Money on the wire: a JSON number (from an exact, already rounded Decimal).

    A zero of either sign is 0.0 (+ 0.0 turns -0.0 into 0.0), without float(), which goes through the
    Decimal's text (a third of a microsecond; a settlement answer has a dozen zero amounts)."""
    if value is None:
        return None
    return float(value) + 0.0 if value else 0.0


class EncodedOutput(dict):  # type: ignore[type-arg]
    """An output node that carries its own `dump_json` text, so the response envelope does not encode
    it a second time (a settlement's setlinfo and setldetail are encoded once, for the database).
    Whoever builds one guarantees `text == dump_json(self)` and changes neither afterwards."""

    __slots__ = ("text",)

    def __init__(self, value: dict[str, Any], text: str) -> None:
        super().__init__(value)
        self.text = text


def envelope_text(envelope: dict[str, Any]) -> str:
    """`dump_json(envelope)`, splicing in an `EncodedOutput`'s text instead of encoding it again.

    With the output set to None, `"output":null` occurs exactly once in the text: a key of the
    envelope's top level (a quote inside a JSON string is always escaped)."""
    output = envelope.get("output")
    if type(output) is not EncodedOutput:
        return dump_json(envelope)
    return dump_json({**envelope, "output": None}).replace('"output":null', '"output":' + output.text, 1)


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
        return f"{receiver}{stamp14(moment)}{serial:010d}"


def business_id(prefix: str, admdvs: str, moment: datetime, serial: int) -> str:
    return f"{prefix}{admdvs}{moment.year % 100:02d}{moment.month:02d}{moment.day:02d}{serial:09d}"


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
