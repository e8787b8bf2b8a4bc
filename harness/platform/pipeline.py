"""One business call, from a parsed envelope to a response envelope, in one transaction.

Order: schema validation (envelope, input, the profile's cross-region fields) → inside one
`BEGIN IMMEDIATE` transaction: sign-in → msgid replay → the handler → recording. A refusal by the
handler rolls back to a savepoint, so it changes no state, and is then recorded like a success.

Replayed msgid (the choice, documented): for state-changing transactions (the interface schema's
`x-state-changing`), a message whose msgid this institution already sent is answered from the
record when its content is the same — the recorded response, byte for byte, refusal or success,
and nothing is processed again — and refused with 报文ID重复且报文内容不同 when its content differs.
"Content" is the transaction code, the routing fields (fixmedins_code, mdtrtarea_admvs,
insuplc_admdvs) and the input (key order ignored; an uploaded file by its SHA-256); volatile
envelope fields (inf_time, sign_no, operator, device, cainfo) are not part of it, so a HIS that
re-sends after a timeout with a fresh inf_time is still recognised. Queries are not recorded:
re-sending one simply asks again. Protocol refusals (invalid message, not signed in, signature)
are not recorded either: the corrected message may reuse the msgid.

Every inbound exchange — valid or not, replayed or not — is written to the `exchanges` table with
its validation result (GET /__admin/exchanges), in the same transaction as the state it changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.platform.codec import dump_sorted, parse_json
from harness.platform.context import HANDLERS, Call, PlatformContext
from harness.platform.envelope import dump_json, envelope_text, response_envelope, stamp17
from harness.platform.faults import Switches
from harness.platform.refusals import Refusal
from harness.platform.workingset import is_signed_in, may_know_msgid, remember_msgid

__all__ = [
    "CallResult", "content_hash", "process_call", "record_exchange", "refusal_envelope", "same_content",
    "violations_text",
]

ERR_MSG_LIMIT = 200


@dataclass
class CallResult:
    envelope: dict[str, Any] | None  # None for a 9102 download
    text: str  # the JSON response text ("" for a download)
    download: tuple[str, bytes] | None = None
    replayed: bool = False
    cause: str = ""


_CONTENT_FIELDS = ("infno", "fixmedins_code", "mdtrtarea_admvs", "insuplc_admdvs", "input")
_CONTENT_HASH_V2 = "2:"  # compact sorted JSON; a bare hex digest is the first form (spaced separators)
_V1_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _digest(envelope: dict[str, Any], upload: bytes | None, encode: Callable[[Any], bytes]) -> str:
    digest = hashlib.sha256(encode({k: envelope.get(k) for k in _CONTENT_FIELDS}))
    if upload is not None:
        digest.update(hashlib.sha256(upload).digest())
    return digest.hexdigest()


def content_hash(envelope: dict[str, Any], upload: bytes | None) -> str:
    return _CONTENT_HASH_V2 + _digest(envelope, upload, dump_sorted)


def same_content(stored_hash: str, envelope: dict[str, Any], upload: bytes | None) -> bool:
    """Whether a message recorded with `stored_hash` had this content (whichever form the hash has: a
    database written by an earlier version keeps its hashes, and a HIS re-sending after the upgrade is
    still recognised)."""
    if stored_hash.startswith(_CONTENT_HASH_V2):
        return stored_hash == content_hash(envelope, upload)
    return stored_hash == _digest(envelope, upload, lambda core: _V1_ENCODER.encode(core).encode())


def violations_text(violations: list[Any], limit: int = 3) -> str:
    parts = []
    for v in violations[:limit]:
        name = f"（{v.field_zh}）" if v.field_zh else ""
        expected = f"，应为 {v.expected}" if v.expected else ""
        parts.append(f"{v.path}{name} {v.message}{expected}")
    more = f"；等共{len(violations)}处" if len(violations) > limit else ""
    return "；".join(parts) + more


def refusal_envelope(
    ctx: PlatformContext, envelope: dict[str, Any], received: datetime, err_msg: str
) -> dict[str, Any]:
    receiver = ctx.receiver_override or ctx.ref.receiver_prefix(str(envelope.get("mdtrtarea_admvs") or ""))
    now = datetime.now()
    output = {} if Switches(ctx.faults, str(envelope.get("infno") or "")).on("refusal-output-not-null") else None
    return response_envelope(
        infcode=-1, inf_refmsgid=ctx.refmsgids.next(receiver, now), refmsg_time=stamp17(received),
        respond_time=stamp17(now), output=output, err_msg=err_msg[:ERR_MSG_LIMIT], warn_msg=None,
    )  # fmt: skip


def _success_envelope(ctx: PlatformContext, call: Call, received: datetime, output: Any) -> dict[str, Any]:
    receiver = ctx.receiver_override or ctx.ref.receiver_prefix(call.mdtrtarea_admvs)
    now = datetime.now()
    refmsgid = ctx.refmsgids.next(receiver, now)
    if call.switches.on("malformed-inf-refmsgid"):
        refmsgid = refmsgid[:6] + stamp17(now) + refmsgid[20:]
    return response_envelope(
        infcode="0" if call.switches.on("infcode-as-string") else 0,  # type: ignore[arg-type]
        inf_refmsgid=refmsgid, refmsg_time=stamp17(received),
        respond_time=stamp17(now), output={} if output is None else output, err_msg=None,
        warn_msg="；".join(call.warnings) or None,
    )  # fmt: skip


def record_exchange(
    conn: Any, *, received: datetime, path: str, envelope: dict[str, Any] | None, valid: bool,
    violations: list[Any], http_status: int, response: dict[str, Any] | None, response_text: str, request_text: str,
    fault: str = "", replayed: bool = False, headers: Any = None,
) -> int:  # fmt: skip
    """Write one exchange; returns its id."""
    env = envelope or {}
    rows = [{"path": v.path, "clause": v.clause, "message": v.message, "expected": v.expected, "actual": v.actual,
             "field_zh": v.field_zh, **({"hint": v.hint} if getattr(v, "hint", "") else {})}
            for v in violations]  # fmt: skip
    return conn.execute(
        "INSERT INTO exchanges(received_at, path, infno, msgid, fixmedins_code, valid, violations, http_status,"
        " infcode, err_msg, fault, replayed, elapsed_ms, request, response, request_headers)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            received.isoformat(timespec="milliseconds"), path, str(env.get("infno") or ""), str(env.get("msgid") or ""),
            str(env.get("fixmedins_code") or ""), int(valid), dump_json(rows) if rows else "[]", http_status,
            response.get("infcode") if response else None, response.get("err_msg") if response else None, fault,
            int(replayed), (datetime.now() - received).total_seconds() * 1000, request_text, response_text,
            dump_json(dict(headers or {})),
        ),
    ).lastrowid  # fmt: skip


def _signed_in(call: Call) -> bool:
    sign_no = str(call.envelope.get("sign_no") or "")
    if not sign_no and call.infno == "9002":
        sign_no = str((call.node("signOut") or {}).get("sign_no") or "")
    if not sign_no:
        return call.switches.on("accept-missing-sign-no")
    return is_signed_in(call.conn, sign_no, call.fixmedins_code)


def process_call(
    ctx: PlatformContext, envelope: dict[str, Any], *, infno: str, received: datetime, path: str, request_text: str,
    upload: bytes | None = None, headers: Any = None, warnings: tuple[str, ...] = (),
    advisories: Sequence[Any] = (),
) -> CallResult:  # fmt: skip
    """Process a schema-valid envelope: sign-in, replay, handler, recording — one transaction.
    `warnings` are added to a success's warn_msg (e.g. a Content-Type the profile tolerates); `advisories`
    (deviations the profile tolerates, clause DEV.<id>) are recorded with the exchange as its violations.

    A handler's refusal aborts that transaction (so it changes nothing); the refusal is then recorded
    in a second one. The database lock is held across both, so no other call comes in between.
    """
    state_changing = infno in ctx.state_changing
    msgid = str(envelope.get("msgid") or "")
    code = str(envelope.get("fixmedins_code") or "")
    institution = ctx.ref.institution(code, str(envelope.get("mdtrtarea_admvs") or ""))

    def answer(conn: Any, env: dict[str, Any], *, cause: str = "", remember: bool, ok: bool = False,
               effect: dict[str, Any] | None = None) -> CallResult:  # fmt: skip
        text = envelope_text(env)
        exchange_id = record_exchange(conn, received=received, path=path, envelope=envelope, valid=True,
                                      violations=list(advisories), http_status=200, response=env, response_text=text,
                                      request_text=request_text, headers=headers)  # fmt: skip
        if remember and state_changing and msgid:
            conn.execute(
                "INSERT INTO messages(fixmedins_code, msgid, infno, body_hash, response, exchange_id, ok, effect,"
                " received_at) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?)",  # response '': an older table has no default
                (code, msgid, infno, content_hash(envelope, upload), exchange_id, int(ok), dump_json(effect or {}),
                 received.isoformat(timespec="milliseconds")),
            )  # fmt: skip
            remember_msgid(conn, code, msgid)
        return CallResult(env, text, cause=cause)

    def refuse(conn: Any, refusal: Refusal, *, remember: bool) -> CallResult:
        env = refusal_envelope(ctx, envelope, received, refusal.err_msg)
        return answer(conn, env, cause=refusal.cause, remember=remember)

    with ctx.db.lock:
        try:
            with ctx.db.transaction() as conn:
                call = Call(ctx=ctx, conn=conn, infno=infno, msgid=msgid, envelope=envelope, institution=institution,
                            now=received, switches=Switches(ctx.faults, infno), upload=upload,
                            warnings=list(warnings))  # fmt: skip
                if ctx.require_sign_in and infno != "9001" and not _signed_in(call):
                    return refuse(conn, Refusal("not-signed-in"), remember=False)
                if state_changing and msgid and may_know_msgid(conn, code, msgid):
                    seen = conn.execute(
                        "SELECT m.body_hash, CASE WHEN m.exchange_id IS NULL THEN m.response ELSE e.response END"
                        " AS response FROM messages m LEFT JOIN exchanges e ON e.id = m.exchange_id"
                        " WHERE m.fixmedins_code = ? AND m.msgid = ?",
                        (code, msgid),
                    ).fetchone()
                    if seen is not None and (not same_content(seen["body_hash"], envelope, upload)
                                             or call.switches.on("replay-refused")):
                        return refuse(conn, Refusal("msgid-conflict"), remember=False)
                    if seen is not None:
                        replay = parse_json(seen["response"])
                        record_exchange(conn, received=received, path=path, envelope=envelope, valid=True,
                                        violations=[], http_status=200, response=replay,
                                        response_text=seen["response"], request_text=request_text,
                                        replayed=True, headers=headers)  # fmt: skip
                        return CallResult(replay, seen["response"], replayed=True)
                fn = HANDLERS.get(infno)
                if fn is None:
                    return refuse(conn, Refusal("", f"该交易暂不支持：{infno}"), remember=False)
                try:
                    output = fn(call)
                except Refusal as refusal:
                    if not getattr(refusal, "keep_changes", False):
                        raise
                    return refuse(conn, refusal, remember=True)  # mutant refusal-keeps-changes: the writes stay
                if call.download is not None:
                    name, content = call.download
                    record_exchange(conn, received=received, path=path, envelope=envelope, valid=True, violations=[],
                                    http_status=200, response=None, response_text=f"<file {name}, {len(content)} "
                                    "bytes>", request_text=request_text, headers=headers)  # fmt: skip
                    return CallResult(None, "", download=call.download)
                return answer(conn, _success_envelope(ctx, call, received, output), remember=True, ok=True,
                              effect=call.effect)  # fmt: skip
        except Refusal as refusal:
            with ctx.db.transaction() as conn:
                return refuse(conn, refusal, remember=True)
