"""Reading a request: its transaction code, its envelope and its Content-Type, before anything is judged.

A request names its transaction in one of two ways, and both are served: the single URL
(`POST /fsi/api/rsfComIfsService/callService`, the envelope's `infno`) and URL = base + infno
(`POST <anything>/{infno}`); a path and an envelope naming different codes make the request invalid.
The profile's `infno_aliases` map a province's own codes onto the spec's. 9101 (file upload) may come
as `multipart/form-data` (`jsonStr` + `file`, the file part standing for `fsUploadIn.in`) or as JSON.

Reading never answers: what cannot be read (not UTF-8, not JSON, not an object) is noted in
`Prepared.notes["parse_error"]`, and `execute` refuses and records it like any invalid request, so the
exchange log shows it. The Content-Type is judged apart, after validation: the profile's
`transport.other_content_type` says whether a type it does not accept refuses the request or only warns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from harness.platform.codec import parse_json
from harness.platform.wire import HttpRequest, HttpResponse

__all__ = ["Prepared", "content_type_policy", "content_type_problem", "parse_multipart", "parse_request", "path_infno"]

_INFNO_PATH = re.compile(r"/(\d{4}[A-Z]?)/?$")
# What a profile accepts as a JSON request when it says nothing (IF §2.2 [L]: the spec's sample sends
# text/plain, implementations application/json; 9101 may be multipart/form-data).
_DEFAULT_CONTENT_TYPES = ("application/json", "text/plain", "multipart/form-data")


@dataclass
class Prepared:
    request: HttpRequest
    received: datetime
    delay_s: float = 0.0
    response: HttpResponse | None = None  # already answered (admin, gateway, pre-process fault)
    envelope: dict[str, Any] | None = None
    upload: bytes | None = None
    infno: str = ""
    request_text: str = ""
    notes: dict[str, Any] = field(default_factory=dict)


def content_type_policy(transport: dict[str, Any]) -> str:
    return str(transport.get("other_content_type") or "warn")


def content_type_problem(transport: dict[str, Any], headers: dict[str, str]) -> str:
    """'' when the request's Content-Type is one the profile (its `transport`) accepts as JSON; else what is
    wrong (the profile's `transport.other_content_type` says whether that refuses the request or only warns)."""
    accepted = transport.get("request_content_types") or _DEFAULT_CONTENT_TYPES
    given = headers.get("content-type", "")
    media = given.split(";", 1)[0].strip().lower()
    if media in {str(a).lower() for a in accepted}:
        return ""
    return f"/ 请求的Content-Type {given or '(无)'} 不是JSON（应为 {' 或 '.join(accepted)}）"


def parse_request(prepared: Prepared, infno_aliases: dict[str, str]) -> None:
    """Read `prepared.request` into `prepared`: its text, envelope, upload and infno (or a parse error)."""
    request = prepared.request
    ctype = request.headers.get("content-type", "")
    body = request.body
    try:
        if ctype.lower().startswith("multipart/form-data"):
            fields, files = parse_multipart(ctype, body)
            text = fields.get("jsonStr") or fields.get("jsonstr") or ""
            prepared.upload = next(iter(files.values()), None)
            prepared.request_text = text + (f"\n<file: {len(prepared.upload)} bytes>" if prepared.upload else "")
        else:
            text = body.decode("utf-8")
            if text.startswith("\ufeff"):  # what the utf-8-sig codec drops: one leading byte-order mark
                text = text[1:]
            prepared.request_text = text
        envelope = parse_json(text)
    except (UnicodeDecodeError, ValueError) as exc:
        prepared.request_text = prepared.request_text or body[:4000].decode("utf-8", "replace")
        prepared.notes["parse_error"] = f"/ 报文不是合法的JSON（{type(exc).__name__}）"
        prepared.infno = path_infno(request.path)
        return
    if not isinstance(envelope, dict):
        prepared.notes["parse_error"] = "/ 报文应为JSON对象"
        prepared.infno = path_infno(request.path)
        return
    from_path = path_infno(request.path)
    infno = str(envelope.get("infno") or from_path)
    if from_path and envelope.get("infno") and envelope["infno"] != from_path:
        prepared.notes["parse_error"] = f"/infno 交易编号 {envelope['infno']} 与请求地址 {from_path} 不一致"
    infno = infno_aliases.get(infno, infno)
    if prepared.upload is not None:
        node = (envelope.get("input") or {}).get("fsUploadIn")
        if isinstance(node, dict) and "in" not in node:
            node["in"] = ""  # the multipart file part stands for fsUploadIn.in
    prepared.infno = infno
    if "parse_error" not in prepared.notes:
        prepared.envelope = envelope


def path_infno(path: str) -> str:
    """The transaction code a URL ends with (URL = base + infno); '' for the single URL."""
    match = _INFNO_PATH.search(path)
    return match.group(1) if match else ""


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """multipart/form-data with the standard library: text fields and file parts by field name."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[str(name)] = payload
        else:
            fields[str(name)] = payload.decode(part.get_content_charset() or "utf-8")
    return fields, files
