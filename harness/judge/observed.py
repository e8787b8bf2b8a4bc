"""One exchange as the judge sees it: built from the platform observer's record.

The judge knows more than the client: whether the platform committed a call whose answer the
client never got (a dropped connection, a 5xx, a delay past the client's timeout). `outcome` is
what the *client* saw: ok, refused, or lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.model import Exchange

__all__ = ["LOSING_FAULTS", "Observed", "content_key", "observed_from_record"]

LOSING_FAULTS = frozenset({"drop-after-commit", "garbled", "truncated", "http-5xx", "html-error"})


def content_key(infno: str, envelope: Mapping[str, Any]) -> str:
    """What makes two messages 'the same message' for the judge: the transaction and its input."""
    return infno + ":" + json.dumps(envelope.get("input"), sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class Observed:
    seq: int
    received_at: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: str
    envelope: Mapping[str, Any] | None
    infno: str
    status: int
    response_headers: Mapping[str, str]
    response_body: str
    answer: Mapping[str, Any] | None  # the platform's answer envelope, also when the client never got it
    fault: str
    delay_ms: int
    cause: str
    replayed: bool
    client_timeout_ms: int

    @property
    def msgid(self) -> str:
        return str((self.envelope or {}).get("msgid") or "")

    @property
    def input(self) -> Mapping[str, Any]:
        value = (self.envelope or {}).get("input")
        return value if isinstance(value, Mapping) else {}

    def node(self, name: str) -> Any:
        return self.input.get(name)

    def data(self) -> Mapping[str, Any]:
        value = self.input.get("data")
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            return value[0]
        return value if isinstance(value, Mapping) else {}

    @property
    def lost(self) -> bool:
        """The client got no usable answer: a fault took it, or it came after the client's timeout."""
        return self.fault in LOSING_FAULTS or (self.delay_ms > 0 and self.delay_ms >= self.client_timeout_ms)

    @property
    def committed(self) -> bool:
        """The platform processed the call successfully (whatever the client saw)."""
        return self.answer is not None and self.answer.get("infcode") in (0, "0")

    @property
    def outcome(self) -> str:
        if self.lost:
            return "lost"
        return "ok" if self.committed and self.status == 200 else "refused"

    def output(self) -> Mapping[str, Any]:
        value = (self.answer or {}).get("output")
        return value if isinstance(value, Mapping) else {}

    def psn_no(self) -> str:
        for name in ("data", "mdtrtinfo", "dscginfo", "adminfo", "druginfo"):
            node = self.input.get(name)
            if isinstance(node, list) and node:
                node = node[0]
            if isinstance(node, Mapping) and node.get("psn_no"):
                return str(node["psn_no"])
        rows = self.input.get("feedetail")
        if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
            return str(rows[0].get("psn_no") or "")
        return ""

    def to_exchange(self) -> Exchange:
        return Exchange(
            infno=self.infno, url=self.path, method=self.method, request_headers=dict(self.headers),
            request_body=dict(self.envelope) if isinstance(self.envelope, Mapping) else {"raw": self.body[:4000]},
            status=self.status, response_headers=dict(self.response_headers), response_text=self.response_body,
            response_json=dict(self.answer) if self.answer is not None else None, elapsed_ms=float(self.delay_ms),
            started_at=self.received_at,
            error=f"answer lost to the client ({self.fault or 'timeout'})" if self.lost else None,
        )  # fmt: skip


def observed_from_record(seq: int, record: Mapping[str, Any], client_timeout_ms: int) -> Observed:
    answer = record.get("answer")
    if answer is None and record.get("status") == 200:
        try:
            parsed = json.loads(record.get("response_body") or "")
            answer = parsed if isinstance(parsed, dict) and "infcode" in parsed else None
        except ValueError:
            answer = None
    envelope = record.get("envelope")
    return Observed(
        seq=seq, received_at=str(record.get("received_at", "")), method=str(record.get("method", "POST")),
        path=str(record.get("path", "")), headers=dict(record.get("headers") or {}), body=str(record.get("body", "")),
        envelope=envelope if isinstance(envelope, Mapping) else None, infno=str(record.get("infno", "")),
        status=int(record.get("status") or 0), response_headers=dict(record.get("response_headers") or {}),
        response_body=str(record.get("response_body", "")), answer=answer, fault=str(record.get("fault") or ""),
        delay_ms=int(record.get("delay_ms") or 0), cause=str(record.get("cause") or ""),
        replayed=bool(record.get("replayed")), client_timeout_ms=client_timeout_ms,
    )  # fmt: skip
