"""The platform as an HTTP-neutral request handler: `Platform.handle(HttpRequest) -> HttpResponse`.

The Starlette app (app.py) and the `responses` mount (inprocess.py) are thin adapters over this
class, so the socket-free tests exercise exactly the code the server runs. Handling is split in
two so that a server can wait without blocking: `prepare` (parse, gateway signature, faults that
answer instead of the platform, the delay to wait) and `execute` (validate and process). Reading a
request is parsing.py's, the answers the entry gives itself answers.py's, one business call pipeline.py's.

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
import re
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import harness.platform.handlers  # noqa: F401  (registers every handler)
from harness.personas import load_catalogue
from harness.platform.admin import admin_response, exchanges, health
from harness.platform.answers import (
    call_response,
    observe,
    post_commit_fault,
    pre_process_fault,
    record_plain,
    refuse_invalid,
)
from harness.platform.config import PlatformConfig
from harness.platform.context import PlatformContext
from harness.platform.db import Database
from harness.platform.envelope import RefMsgIds, dump_json, response_envelope, stamp17
from harness.platform.faults import POST_COMMIT_KINDS, PRE_PROCESS_KINDS, FaultRegistry, Switches
from harness.platform.gateway_check import GatewayVerifier
from harness.platform.gateway_sm import SmGateway, SmRefused
from harness.platform.parsing import Prepared, content_type_policy, content_type_problem, parse_request, path_infno
from harness.platform.pipeline import process_call, violations_text
from harness.platform.refdata import RefData
from harness.platform.seed import seed_state
from harness.platform.tolerance import advisory_text, read_as_tolerated, split_tolerated
from harness.platform.wire import JSON_TYPE, HttpRequest, HttpResponse, json_response
from harness.specs import load_registry

__all__ = ["HttpRequest", "HttpResponse", "Platform", "Prepared"]

_JSON_9101 = re.compile(rb'"infno"\s*:\s*"9101"')


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
                  or path_infno(path) == "9101" or _JSON_9101.search(head) is not None)  # fmt: skip
        return self.config.max_upload_bytes if upload else self.config.max_request_bytes

    def refuse_oversized(self, request: HttpRequest, size: int, limit: int) -> Prepared:
        """HTTP 413 for a request over its limit; recorded by its size only (never verbatim)."""
        prepared = Prepared(request=request, received=datetime.now(), infno=path_infno(request.path))
        prepared.request_text = f"<request of {size} bytes refused: over the limit of {limit} bytes>"
        prepared.response = json_response(
            {"code": 413, "message": f"请求报文过大：{size} 字节，上限 {limit} 字节 (request too large)"}, 413)
        prepared.notes["cause"] = "too-large"
        record_plain(self.db, prepared, prepared.response, fault="", note="too large")
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
                record_plain(self.db, prepared, prepared.response, fault="", note=f"gateway: {refused.message}")
                return prepared
        parse_request(prepared, self.infno_aliases)
        infno = prepared.infno
        # the gateway routes by _api_name; a body naming no known interface is the platform's to refuse (envelope)
        refusal = None if unverified else self.gateway.check(request.headers, infno if infno in self._infnos else "")
        if refusal is not None:
            prepared.response = json_response(refusal.body, refusal.status)
            prepared.notes["gateway"] = refusal.message
            record_plain(self.db, prepared, prepared.response, fault="", note=f"gateway: {refusal.message}")
            return prepared
        fault = self.ctx.faults.take(infno, ("delay",))
        if fault is not None:
            prepared.delay_s = fault.delay_ms / 1000
        fault = self.ctx.faults.take(infno, PRE_PROCESS_KINDS)
        if fault is not None:
            prepared.notes["fault"] = fault.kind
            prepared.response = pre_process_fault(fault)
            record_plain(self.db, prepared, prepared.response, fault=fault.kind, note="")
        return prepared

    def execute(self, prepared: Prepared) -> HttpResponse:
        response = self._execute(prepared)
        if self.config.observer is not None and not prepared.request.path.startswith("/__admin"):
            observe(self.config.observer, prepared, response)
        return response

    def _execute(self, prepared: Prepared) -> HttpResponse:
        if prepared.response is not None:
            return prepared.response
        envelope = prepared.envelope
        if envelope is None:
            prepared.notes["cause"] = "invalid-request"
            return refuse_invalid(self.ctx, prepared, prepared.notes.get("parse_error", "报文不是合法的JSON"), [])
        if self.config.screen is not None:
            refusal = self.config.screen(prepared.request.headers, envelope)
            if refusal:
                prepared.notes["cause"] = "screened"
                return refuse_invalid(self.ctx, prepared, refusal, [])
        validator = self.ctx.validator
        # The compiled fast path answers "valid" without building any violation; only an invalid
        # request pays for the full report (the same verdict: the two run the same schemas).
        try:
            violations = [] if validator.is_valid_request(envelope) else validator.validate_request(envelope)
        except (ValueError, RecursionError) as exc:  # the validator's own limit: a request nested hundreds deep
            prepared.notes["cause"] = "invalid-request"
            return refuse_invalid(self.ctx, prepared, f"/ 报文嵌套过深，无法校验（{type(exc).__name__}）", [])
        if violations and Switches(self.ctx.faults, prepared.infno).on("skip-required-check"):
            violations = [v for v in violations if v.actual != "missing"]
        if violations and self.config.tolerate is not None:
            violations = [v for v in violations if not self.config.tolerate(v)]
        violations, advising = split_tolerated(violations)  # deviations the profile tolerates: served, advised
        if violations:
            prepared.notes["cause"] = "invalid-request"
            return refuse_invalid(self.ctx, prepared, violations_text(violations), violations)
        content_type = content_type_problem(self.ctx.profile.transport, prepared.request.headers)
        if content_type and content_type_policy(self.ctx.profile.transport) == "refuse":
            prepared.notes["cause"] = "invalid-request"
            return refuse_invalid(self.ctx, prepared, content_type, [])
        warnings = tuple(w for w in (content_type, advisory_text(advising) if advising else "") if w)
        result = process_call(self.ctx, read_as_tolerated(envelope, advising) if advising else envelope,
                              infno=prepared.infno, received=prepared.received,
                              path=prepared.request.path, request_text=prepared.request_text,
                              upload=prepared.upload, headers=prepared.request.headers,
                              warnings=warnings, advisories=advising)  # fmt: skip
        prepared.notes.update(cause=result.cause, replayed=result.replayed, answer=result.envelope)
        response = call_response(result)
        fault = self.ctx.faults.take(prepared.infno, POST_COMMIT_KINDS)
        if fault is not None:
            prepared.notes["fault"] = fault.kind
        return response if fault is None else post_commit_fault(fault, response)

    def echo(self, request: HttpRequest) -> HttpResponse:
        """`POST /__admin/echo`: a diagnostic, not part of the interface. The request is read and parsed
        as a call is (decoding, JSON, the envelope, its infno) and answered with a success envelope whose
        output is the request's input, encoded as every answer is; nothing is validated, checked, stored or
        recorded. The baseline the benchmarks set a call's cost against (bench/platform_cost.py)."""
        prepared = Prepared(request=request, received=datetime.now())
        parse_request(prepared, self.infno_aliases)
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

    # --- admin ------------------------------------------------------------------------------------

    def _admin(self, request: HttpRequest) -> HttpResponse:
        return admin_response(self, request)

    def health(self) -> dict[str, Any]:
        return health(self)

    def exchanges(self, limit: str = "100", since: str = "0", infno: str = "", msgid: str = "") -> list[dict[str, Any]]:
        """The newest `limit` recorded exchanges after id `since` (optionally of one infno or msgid), oldest first."""
        return exchanges(self.db, limit=limit, since=since, infno=infno, msgid=msgid)
