"""The answers the request entry gives itself, and how it records and reports them.

Most answers come from the pipeline (pipeline.py), which records them in the transaction of the call.
The entry (core.py) answers the rest before or around it, and each of those is recorded too, so the
exchange log (GET /__admin/exchanges) holds every request the platform received:
- a request that cannot be read or is invalid: a refusal envelope (`infcode = -1`, 入参校验失败：…);
- one answered without being processed (refused by the gateway, too large, a pre-process fault): its
  HTTP answer, recorded as text with what stopped it;
- faults that make the answer misbehave: before processing an HTTP 5xx or an nginx error page, after the
  commit a dropped connection, a garbled or a cut body (the state has changed; the client cannot tell).
A processed call becomes HTTP here: JSON, or `application/octet-stream` for a 9102 download.

A configured observer (`PlatformConfig.observer`, e.g. a judge of the client) gets one plain record per
exchange; its failure is logged and never reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from harness.platform.config import Fault
from harness.platform.context import PlatformContext
from harness.platform.db import Database
from harness.platform.envelope import dump_json
from harness.platform.parsing import Prepared
from harness.platform.pipeline import CallResult, record_exchange, refusal_envelope
from harness.platform.refusals import CAUSE_MESSAGES
from harness.platform.wire import JSON_TYPE, HttpResponse

__all__ = [
    "HTML_ERROR_PAGE", "call_response", "observe", "post_commit_fault", "pre_process_fault", "record_plain",
    "refuse_invalid",
]

HTML_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>"
)


def refuse_invalid(ctx: PlatformContext, prepared: Prepared, detail: str, violations: list[Any]) -> HttpResponse:
    """入参校验失败：`detail` as a refusal envelope, recorded with its `violations`."""
    envelope = prepared.envelope or {}
    env = refusal_envelope(ctx, envelope, prepared.received, CAUSE_MESSAGES["invalid-request"] + detail)
    text = dump_json(env)
    with ctx.db.transaction() as conn:
        record_exchange(conn, received=prepared.received, path=prepared.request.path, envelope=envelope or
                        {"infno": prepared.infno}, valid=False, violations=violations, http_status=200,
                        response=env, response_text=text, request_text=prepared.request_text,
                        headers=prepared.request.headers)  # fmt: skip
    return HttpResponse(200, {"content-type": JSON_TYPE}, text.encode())


def record_plain(db: Database, prepared: Prepared, response: HttpResponse, *, fault: str, note: str) -> None:
    """Record an answer given without processing; `note` (what refused it) marks the request invalid."""
    envelope = prepared.envelope or {"infno": prepared.infno}
    with db.transaction() as conn:
        record_exchange(conn, received=prepared.received, path=prepared.request.path, envelope=envelope,
                        valid=not note, violations=[], http_status=response.status, response=None,
                        response_text=response.body.decode("utf-8", "replace")[:4000],
                        request_text=prepared.request_text, fault=fault or note,
                        headers=prepared.request.headers)  # fmt: skip


def call_response(result: CallResult) -> HttpResponse:
    """A processed call as HTTP: its JSON text, or the file of a download."""
    if result.download is not None:
        name, content = result.download
        return HttpResponse(200, {"content-type": "application/octet-stream",
                                  "content-disposition": f'attachment; filename="{name}"'}, content)  # fmt: skip
    return HttpResponse(200, {"content-type": JSON_TYPE}, result.text.encode())


def pre_process_fault(fault: Fault) -> HttpResponse:
    """The answer of a fault that stands in for the platform (nothing is processed)."""
    status = fault.effective_status()
    if fault.kind == "http-5xx":
        return HttpResponse(status, {"content-type": "text/plain;charset=utf-8"}, b"Service Unavailable")
    return HttpResponse(status, {"content-type": "text/html;charset=utf-8"}, HTML_ERROR_PAGE.encode())


def post_commit_fault(fault: Fault, response: HttpResponse) -> HttpResponse:
    """`response` as a fault after the commit delivers it: dropped, garbled or cut short."""
    if fault.kind == "drop-after-commit":
        return HttpResponse(response.status, response.headers, response.body, drop=True)
    if fault.kind == "garbled":
        garbage = b"\xff\xfe\x00{\x9c\x81garbled\x00" + response.body[:16]
        return HttpResponse(200, {"content-type": JSON_TYPE}, garbage)
    return HttpResponse(200, {"content-type": JSON_TYPE}, response.body[: max(1, len(response.body) // 2)])


def observe(observer: Callable[[dict[str, Any]], None], prepared: Prepared, response: HttpResponse) -> None:
    """One record per exchange for the configured observer; an observer's error never reaches the client."""
    notes = prepared.notes
    request = prepared.request
    record = {
        "received_at": prepared.received.isoformat(timespec="milliseconds"),
        "method": request.method, "path": request.path, "headers": dict(request.headers),
        "body": prepared.request_text or request.body[:40000].decode("utf-8", "replace"),
        "envelope": prepared.envelope, "infno": prepared.infno, "status": response.status,
        "response_headers": dict(response.headers), "response_body": response.body.decode("utf-8", "replace"),
        "answer": notes.get("answer"), "fault": notes.get("fault", ""), "dropped": response.drop,
        "delay_ms": round(prepared.delay_s * 1000), "cause": notes.get("cause", ""),
        "replayed": bool(notes.get("replayed")), "note": notes.get("gateway", ""),
    }  # fmt: skip
    try:
        observer(record)
    except Exception:
        logging.getLogger("hsa_cert.platform").exception("the exchange observer failed")
