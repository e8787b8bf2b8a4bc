"""The platform as an HTTP-neutral request handler: `Platform.handle(HttpRequest) -> HttpResponse`.

The Starlette app (app.py) and the `responses` mount (inprocess.py) are thin adapters over this
class, so the socket-free tests exercise exactly the code the server runs. Handling is split in
two so that a server can wait without blocking: `prepare` (parse, gateway signature, faults that
answer instead of the platform, the delay to wait) and `execute` (validate and process).

Routes:
- `POST /fsi/api/rsfComIfsService/callService` (single URL) and `POST <anything>/{infno}`
  (URL = base + infno); any other POST path is served as the single URL. 9101 accepts
  `multipart/form-data` (`jsonStr` + `file`) or JSON; 9102 answers `application/octet-stream`.
- `GET /__admin/health`, `GET /__admin/exchanges?limit=&since=&infno=&msgid=`,
  `GET|POST|DELETE /__admin/faults`, `DELETE /__admin/faults/{id}` and `POST /__admin/checkpoint` (when
  `config.admin`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import harness.platform.handlers  # noqa: F401  (registers every handler)
from harness.personas import load_catalogue
from harness.platform.admin import admin_response, exchanges, health
from harness.platform.codec import parse_json
from harness.platform.config import Fault, PlatformConfig
from harness.platform.context import PlatformContext
from harness.platform.db import Database
from harness.platform.envelope import RefMsgIds, dump_json, response_envelope, stamp17
from harness.platform.faults import POST_COMMIT_KINDS, PRE_PROCESS_KINDS, FaultRegistry, Switches
from harness.platform.gateway_check import GatewayVerifier
from harness.platform.gateway_sm import SmGateway, SmRefused
from harness.platform.pipeline import CallResult, process_call, record_exchange, refusal_envelope, violations_text
from harness.platform.refdata import RefData
from harness.platform.refusals import CAUSE_MESSAGES
from harness.platform.seed import seed_state
from harness.platform.tolerance import advisory_text, read_as_tolerated, split_tolerated
from harness.platform.wire import JSON_TYPE, HttpRequest, HttpResponse, json_response
from harness.specs import load_registry

__all__ = ["HttpRequest", "HttpResponse", "Platform", "Prepared"]

_INFNO_PATH = re.compile(r"/(\d{4}[A-Z]?)/?$")
_JSON_9101 = re.compile(rb'"infno"\s*:\s*"9101"')
# What a profile accepts as a JSON request when it says nothing (IF §2.2 [L]: the spec's sample sends
# text/plain, implementations application/json; 9101 may be multipart/form-data).
_DEFAULT_CONTENT_TYPES = ("application/json", "text/plain", "multipart/form-data")
HTML_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>"
)


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


class Platform:
    """One reference platform: state, profile, faults; thread-safe."""

    def __init__(self, config: PlatformConfig | None = None) -> None:
        self.config = config or PlatformConfig()
        registry = load_registry(self.config.specs_root)
        profile = registry.profile(self.config.profile)
        catalogue = load_catalogue(self.config.seed, self.config.catalogue_root)
        self.db = Database(self.config.db_path)
        seed_state(self.db, catalogue)
        require = profile.require_sign_in if self.config.require_sign_in is None else self.config.require_sign_in
        stmt_list = registry.code_list("stmt_rslt")
        stmt_variant = profile.code_variants.get("stmt_rslt")
        clr_variant = profile.code_variants.get("clr_way", "unpadded")
        self.ctx = PlatformContext(
            db=self.db,
            ref=RefData(catalogue),
            registry=registry,
            profile=profile,
            validator=registry.validator(profile.id),
            require_sign_in=bool(require),
            reversible=profile.reversible_by_2601,
            faults=FaultRegistry(),
            refmsgids=RefMsgIds(),
            clr_way="01" if clr_variant == "padded" else "1",
            stmt_rslt_codes=tuple(stmt_list.variants.get(stmt_variant, stmt_list.values)),
            input_node_aliases=dict(profile.raw.get("input_node_aliases") or {}),
            state_changing=frozenset(i.infno for i in registry.interfaces() if i.state_changing),
            receiver_override=self.config.receiver_admdvs,
            tolerate=self.config.tolerate,
        )
        self.infno_aliases: dict[str, str] = dict(profile.raw.get("infno_aliases") or {})
        for fault in self.config.parsed_faults():
            self.ctx.faults.add(fault)
        self._infnos = frozenset(i.infno for i in registry.interfaces())
        self.gateway = GatewayVerifier(profile.gateway, self.config.credentials())  # {} with verify_signatures off
        self.sm_gateway = SmGateway(str(profile.gateway.get("family", "none")), self.config.credentials())
        self._closed = threading.Event()

    # --- convenience for in-process callers --------------------------------------------------------

    @property
    def faults(self) -> FaultRegistry:
        return self.ctx.faults

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Prepare, wait (blocking) and execute: for synchronous adapters."""
        prepared = self.prepare(request)
        if prepared.delay_s:
            time.sleep(prepared.delay_s)
        return self.execute(prepared)

    def call(self, envelope: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Send one envelope as a single-URL POST and return the parsed response (tests, tools)."""
        request = HttpRequest("POST", "/fsi/api/rsfComIfsService/callService", {"content-type": JSON_TYPE,
                              **{k.lower(): v for k, v in (headers or {}).items()}},
                              json.dumps(envelope, ensure_ascii=False).encode())  # fmt: skip
        return self.handle(request).json()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self.db.close()

    # --- the two phases ---------------------------------------------------------------------------

    def body_limit(self, headers: dict[str, str], path: str, head: bytes = b"") -> int:
        """The most bytes a request may have: a 9101 upload (multipart, a 9101 URL, or a JSON body whose
        first `head` bytes name infno 9101) has its own, larger limit."""
        upload = (headers.get("content-type", "").lower().startswith("multipart/form-data")
                  or _path_infno(path) == "9101" or _JSON_9101.search(head) is not None)  # fmt: skip
        return self.config.max_upload_bytes if upload else self.config.max_request_bytes

    def refuse_oversized(self, request: HttpRequest, size: int, limit: int) -> Prepared:
        """HTTP 413 for a request over its limit; recorded by its size only (never verbatim)."""
        prepared = Prepared(request=request, received=datetime.now(), infno=_path_infno(request.path))
        prepared.request_text = f"<request of {size} bytes refused: over the limit of {limit} bytes>"
        prepared.response = json_response(
            {"code": 413, "message": f"请求报文过大：{size} 字节，上限 {limit} 字节 (request too large)"}, 413)
        prepared.notes["cause"] = "too-large"
        self._record_plain(prepared, prepared.response, fault="", note="too large")
        return prepared

    def prepare(self, request: HttpRequest) -> Prepared:
        prepared = Prepared(request=request, received=datetime.now())
        if request.path.startswith("/__admin"):
            prepared.response = self._admin(request)
            return prepared
        if request.method != "POST":
            prepared.response = json_response({"code": 405, "message": "method not allowed"}, 405)
            return prepared
        if len(request.body) > self.config.max_request_bytes:  # the HTTP adapter stops reading before; in-process not
            limit = self.body_limit(request.headers, request.path, request.body[: self.config.max_request_bytes])
            if len(request.body) > limit:
                return self.refuse_oversized(HttpRequest(request.method, request.path, request.headers, b"",
                                                         request.query), len(request.body), limit)  # fmt: skip
        unverified = Switches(self.ctx.faults, "*").on("no-verify")  # mutant: no signature is checked
        if self.sm_gateway.enabled and not request.headers.get("content-type", "").lower().startswith("multipart/"):
            try:  # national-crypto families: decrypt and verify before anything reads the message
                prepared.request = request = replace(request, body=self.sm_gateway.open(request.headers, request.body,
                                                                                     verify=not unverified))
            except SmRefused as refused:
                prepared.response = json_response({"code": 401, "message": refused.message}, 401)
                self._record_plain(prepared, prepared.response, fault="", note=f"gateway: {refused.message}")
                return prepared
        self._parse(prepared)
        infno = prepared.infno
        # the gateway routes by _api_name; a body naming no known interface is the platform's to refuse (envelope)
        refusal = None if unverified else self.gateway.check(request.headers, infno if infno in self._infnos else "")
        if refusal is not None:
            prepared.response = json_response(refusal.body, refusal.status)
            prepared.notes["gateway"] = refusal.message
            self._record_plain(prepared, prepared.response, fault="", note=f"gateway: {refusal.message}")
            return prepared
        fault = self.ctx.faults.take(infno, ("delay",))
        if fault is not None:
            prepared.delay_s = fault.delay_ms / 1000
        fault = self.ctx.faults.take(infno, PRE_PROCESS_KINDS)
        if fault is not None:
            prepared.notes["fault"] = fault.kind
            prepared.response = self._pre_fault(fault)
            self._record_plain(prepared, prepared.response, fault=fault.kind, note="")
        return prepared

    def execute(self, prepared: Prepared) -> HttpResponse:
        response = self._execute(prepared)
        if self.config.observer is not None and not prepared.request.path.startswith("/__admin"):
            self._observe(prepared, response)
        return response

    def _execute(self, prepared: Prepared) -> HttpResponse:
        if prepared.response is not None:
            return prepared.response
        envelope = prepared.envelope
        if envelope is None:
            prepared.notes["cause"] = "invalid-request"
            return self._refuse_invalid(prepared, prepared.notes.get("parse_error", "报文不是合法的JSON"), [])
        if self.config.screen is not None:
            refusal = self.config.screen(prepared.request.headers, envelope)
            if refusal:
                prepared.notes["cause"] = "screened"
                return self._refuse_invalid(prepared, refusal, [])
        validator = self.ctx.validator
        # The compiled fast path answers "valid" without building any violation; only an invalid
        # request pays for the full report (the same verdict: the two run the same schemas).
        try:
            violations = [] if validator.is_valid_request(envelope) else validator.validate_request(envelope)
        except (ValueError, RecursionError) as exc:  # the validator's own limit: a request nested hundreds deep
            prepared.notes["cause"] = "invalid-request"
            return self._refuse_invalid(prepared, f"/ 报文嵌套过深，无法校验（{type(exc).__name__}）", [])
        if violations and Switches(self.ctx.faults, prepared.infno).on("skip-required-check"):
            violations = [v for v in violations if v.actual != "missing"]
        if violations and self.config.tolerate is not None:
            violations = [v for v in violations if not self.config.tolerate(v)]
        violations, advising = split_tolerated(violations)  # deviations the profile tolerates: served, advised
        if violations:
            prepared.notes["cause"] = "invalid-request"
            return self._refuse_invalid(prepared, violations_text(violations), violations)
        content_type = self._content_type_problem(prepared.request.headers)
        if content_type and self._content_type_policy() == "refuse":
            prepared.notes["cause"] = "invalid-request"
            return self._refuse_invalid(prepared, content_type, [])
        warnings = tuple(w for w in (content_type, advisory_text(advising) if advising else "") if w)
        result = process_call(self.ctx, read_as_tolerated(envelope, advising) if advising else envelope,
                              infno=prepared.infno, received=prepared.received,
                              path=prepared.request.path, request_text=prepared.request_text,
                              upload=prepared.upload, headers=prepared.request.headers,
                              warnings=warnings, advisories=advising)  # fmt: skip
        prepared.notes.update(cause=result.cause, replayed=result.replayed, answer=result.envelope)
        response = self._to_http(result)
        fault = self.ctx.faults.take(prepared.infno, POST_COMMIT_KINDS)
        if fault is not None:
            prepared.notes["fault"] = fault.kind
        return response if fault is None else self._post_fault(fault, response)

    def _observe(self, prepared: Prepared, response: HttpResponse) -> None:
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
            self.config.observer(record)  # type: ignore[misc]
        except Exception:
            logging.getLogger("hsa_cert.platform").exception("the exchange observer failed")

    def echo(self, request: HttpRequest) -> HttpResponse:
        """`POST /__admin/echo`: a diagnostic, not part of the interface. The request is read and parsed
        as a call is (decoding, JSON, the envelope, its infno) and answered with a success envelope whose
        output is the request's input, encoded as every answer is; nothing is validated, checked, stored or
        recorded. The baseline the benchmarks set a call's cost against (bench/platform_cost.py)."""
        prepared = Prepared(request=request, received=datetime.now())
        self._parse(prepared)
        envelope = prepared.envelope
        now = datetime.now()
        receiver = self.ctx.receiver_override or self.ctx.ref.receiver_prefix(
            str((envelope or {}).get("mdtrtarea_admvs") or ""))
        ok = envelope is not None
        answer = response_envelope(
            infcode=0 if ok else -1, inf_refmsgid=self.ctx.refmsgids.next(receiver, now),
            refmsg_time=stamp17(prepared.received), respond_time=stamp17(now),
            output=(envelope or {}).get("input") if ok else None,
            err_msg=None if ok else prepared.notes.get("parse_error", "/ 报文不是合法的JSON"), warn_msg=None)
        return HttpResponse(200, {"content-type": JSON_TYPE}, dump_json(answer).encode())

    # --- parsing ----------------------------------------------------------------------------------

    def _content_type_policy(self) -> str:
        return str(self.ctx.profile.transport.get("other_content_type") or "warn")

    def _content_type_problem(self, headers: dict[str, str]) -> str:
        """'' when the request's Content-Type is one the profile accepts as JSON; else what is wrong (the
        profile's `transport.other_content_type` says whether that refuses the request or only warns)."""
        accepted = self.ctx.profile.transport.get("request_content_types") or _DEFAULT_CONTENT_TYPES
        given = headers.get("content-type", "")
        media = given.split(";", 1)[0].strip().lower()
        if media in {str(a).lower() for a in accepted}:
            return ""
        return f"/ 请求的Content-Type {given or '(无)'} 不是JSON（应为 {' 或 '.join(accepted)}）"

    def _parse(self, prepared: Prepared) -> None:
        request = prepared.request
        ctype = request.headers.get("content-type", "")
        body = request.body
        try:
            if ctype.lower().startswith("multipart/form-data"):
                fields, files = _parse_multipart(ctype, body)
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
            prepared.infno = _path_infno(request.path)
            return
        if not isinstance(envelope, dict):
            prepared.notes["parse_error"] = "/ 报文应为JSON对象"
            prepared.infno = _path_infno(request.path)
            return
        path_infno = _path_infno(request.path)
        infno = str(envelope.get("infno") or path_infno)
        if path_infno and envelope.get("infno") and envelope["infno"] != path_infno:
            prepared.notes["parse_error"] = f"/infno 交易编号 {envelope['infno']} 与请求地址 {path_infno} 不一致"
        infno = self.infno_aliases.get(infno, infno)
        if prepared.upload is not None:
            node = (envelope.get("input") or {}).get("fsUploadIn")
            if isinstance(node, dict) and "in" not in node:
                node["in"] = ""  # the multipart file part stands for fsUploadIn.in
        prepared.infno = infno
        if "parse_error" not in prepared.notes:
            prepared.envelope = envelope

    # --- answers ----------------------------------------------------------------------------------

    def _refuse_invalid(self, prepared: Prepared, detail: str, violations: list[Any]) -> HttpResponse:
        envelope = prepared.envelope or {}
        env = refusal_envelope(self.ctx, envelope, prepared.received, CAUSE_MESSAGES["invalid-request"] + detail)
        text = dump_json(env)
        with self.db.transaction() as conn:
            record_exchange(conn, received=prepared.received, path=prepared.request.path, envelope=envelope or
                            {"infno": prepared.infno}, valid=False, violations=violations, http_status=200,
                            response=env, response_text=text, request_text=prepared.request_text,
                            headers=prepared.request.headers)  # fmt: skip
        return HttpResponse(200, {"content-type": JSON_TYPE}, text.encode())

    def _record_plain(self, prepared: Prepared, response: HttpResponse, *, fault: str, note: str) -> None:
        envelope = prepared.envelope or {"infno": prepared.infno}
        with self.db.transaction() as conn:
            record_exchange(conn, received=prepared.received, path=prepared.request.path, envelope=envelope,
                            valid=not note, violations=[], http_status=response.status, response=None,
                            response_text=response.body.decode("utf-8", "replace")[:4000],
                            request_text=prepared.request_text, fault=fault or note,
                            headers=prepared.request.headers)  # fmt: skip

    @staticmethod
    def _to_http(result: CallResult) -> HttpResponse:
        if result.download is not None:
            name, content = result.download
            return HttpResponse(200, {"content-type": "application/octet-stream",
                                      "content-disposition": f'attachment; filename="{name}"'}, content)  # fmt: skip
        return HttpResponse(200, {"content-type": JSON_TYPE}, result.text.encode())

    @staticmethod
    def _pre_fault(fault: Fault) -> HttpResponse:
        status = fault.effective_status()
        if fault.kind == "http-5xx":
            return HttpResponse(status, {"content-type": "text/plain;charset=utf-8"}, b"Service Unavailable")
        return HttpResponse(status, {"content-type": "text/html;charset=utf-8"}, HTML_ERROR_PAGE.encode())

    @staticmethod
    def _post_fault(fault: Fault, response: HttpResponse) -> HttpResponse:
        if fault.kind == "drop-after-commit":
            return HttpResponse(response.status, response.headers, response.body, drop=True)
        if fault.kind == "garbled":
            garbage = b"\xff\xfe\x00{\x9c\x81garbled\x00" + response.body[:16]
            return HttpResponse(200, {"content-type": JSON_TYPE}, garbage)
        return HttpResponse(200, {"content-type": JSON_TYPE}, response.body[: max(1, len(response.body) // 2)])

    # --- admin ------------------------------------------------------------------------------------

    def _admin(self, request: HttpRequest) -> HttpResponse:
        return admin_response(self, request)

    def health(self) -> dict[str, Any]:
        return health(self)

    def exchanges(self, limit: str = "100", since: str = "0", infno: str = "", msgid: str = "") -> list[dict[str, Any]]:
        """The newest `limit` recorded exchanges after id `since` (optionally of one infno or msgid), oldest first."""
        return exchanges(self.db, limit=limit, since=since, infno=infno, msgid=msgid)


def _path_infno(path: str) -> str:
    match = _INFNO_PATH.search(path)
    return match.group(1) if match else ""


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
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
