"""The admin endpoint: health, the exchange log, and switching faults at run time.

| route | answer |
|---|---|
| `GET /__admin/health` | profile, spec version, state file, sign-in, gateway, interfaces, persons |
| `GET /__admin/exchanges?limit=&since=&infno=&msgid=` | recorded exchanges with their validation result, oldest first |
| `GET /__admin/faults` | active faults and the known mutants |
| `POST /__admin/faults` | add one fault or a list: `{"infno": "2207", "kind": "delay", "delay_ms": 500}` |
| `DELETE /__admin/faults`, `DELETE /__admin/faults/{id}` | remove all, or one |
| `POST /__admin/checkpoint` | a passive WAL checkpoint now: `{"frames": n, "copied": n}` (db.py) |
| `/__admin/session/*` | answered by `PlatformConfig.admin_extension` when one is set (the client judge) |

(`POST /__admin/echo`, the benchmarks' baseline, a diagnostic outside the interface, is served by the app and
`Platform.echo`.)

With `PlatformConfig.admin_token` set (from `HSA_PLATFORM_ADMIN_TOKEN`; required to listen beyond
loopback), every route needs `Authorization: Bearer <token>`, else 401.

A stored record never breaks the exchange log: a request or response that is not JSON, nests deeper
than the encoder goes, or is larger than `SHOWN_CHARS` is shown as (the start of) its text.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qs

from harness.errors import ConfigError, HsaCertError
from harness.platform.codec import dump_json, parse_json
from harness.platform.config import parse_fault
from harness.platform.context import HANDLERS
from harness.platform.db import Database
from harness.platform.faults import MUTANTS
from harness.platform.wire import HttpRequest, HttpResponse, json_response

__all__ = ["admin_response", "authorised", "exchanges", "health"]

SHOWN_CHARS = 256 * 1024  # a stored request or response longer than this is shown cut, as text


def authorised(token: str | None, headers: dict[str, str]) -> bool:
    """Whether a request may use the admin routes: always without a token, else with the right Bearer."""
    if not token:
        return True
    given = headers.get("authorization", "")
    return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode())


def admin_response(platform: Any, request: HttpRequest) -> HttpResponse:
    """Answer one /__admin request of `platform` (a core.Platform)."""
    if not platform.config.admin:
        return json_response({"code": 404, "message": "admin endpoint disabled"}, 404)
    if not authorised(platform.config.admin_token, request.headers):
        return json_response({"code": 401, "message": "admin token required: Authorization: Bearer <token>"}, 401)
    path = request.path.rstrip("/")
    if path.startswith("/__admin/session") and platform.config.admin_extension is not None:
        return platform.config.admin_extension(request)  # e.g. the client judge's case and finish routes
    try:
        if path == "/__admin/health" and request.method == "GET":
            return json_response(health(platform))
        if path == "/__admin/checkpoint" and request.method == "POST":
            frames, copied = platform.db.checkpoint()
            return json_response({"frames": frames, "copied": copied})
        if path == "/__admin/exchanges" and request.method == "GET":
            return json_response({"exchanges": exchanges(platform.db, **_query(request.query))})
        if path == "/__admin/faults":
            if request.method == "GET":
                return json_response({"faults": platform.ctx.faults.list(), "mutants": MUTANTS})
            if request.method == "POST":
                body = json.loads(request.body or b"{}")
                items = body if isinstance(body, list) else [body]
                ids = [platform.ctx.faults.add(parse_fault(item)) for item in items]
                return json_response({"added": ids, "faults": platform.ctx.faults.list()}, 201)
            if request.method == "DELETE":
                platform.ctx.faults.clear()
                return json_response({"faults": []})
        match = re.fullmatch(r"/__admin/faults/(\d+)", path)
        if match and request.method == "DELETE":
            removed = platform.ctx.faults.remove(int(match.group(1)))
            return json_response({"removed": removed, "faults": platform.ctx.faults.list()}, 200 if removed else 404)
    except (ValueError, HsaCertError) as exc:
        message = exc.render() if isinstance(exc, HsaCertError) else f"not JSON: {exc}"
        return json_response({"code": 400, "message": message}, 400)
    return json_response({"code": 404, "message": f"no admin route {request.method} {path}"}, 404)


def health(platform: Any) -> dict[str, Any]:
    with platform.db.reading() as conn:
        people = conn.execute("SELECT COUNT(*) AS n FROM persons").fetchone()["n"]
    return {
        "status": "ok",
        "profile": platform.ctx.profile.id,
        "spec_version": platform.ctx.registry.version,
        "db": platform.config.db_path,
        "require_sign_in": platform.ctx.require_sign_in,
        "gateway": platform.gateway.family,
        "verifying_signatures": platform.gateway.enabled,
        "interfaces": sorted(HANDLERS),
        "persons": people,
        "default_institution": platform.ctx.ref.default_institution_code,
    }


def exchanges(
    db: Database, *, limit: str = "100", since: str = "0", infno: str = "", msgid: str = ""
) -> list[dict[str, Any]]:
    """The newest `limit` exchanges after id `since` (optionally of one infno or msgid), oldest first."""
    try:
        count = max(1, min(int(limit), 1000))
        after = int(since)
    except ValueError as exc:
        raise ConfigError("limit and since must be whole numbers") from exc
    sql = "SELECT * FROM exchanges WHERE id > ?"
    args: list[Any] = [after]
    if infno:
        sql += " AND infno = ?"
        args.append(infno)
    if msgid:
        sql += " AND msgid = ?"
        args.append(msgid)
    with db.reading() as conn:
        newest = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id"
        rows = conn.execute(newest, (*args, count)).fetchall()
    return [_exchange_json(r) for r in rows]


def _exchange_json(row: Any) -> dict[str, Any]:
    out = {k: v for k, v in dict(row).items()
           if k not in ("violations", "request", "response", "valid", "replayed", "request_headers")}
    out["request_headers"] = _stored_json(row["request_headers"] or "{}")
    out["valid"] = bool(row["valid"])
    out["replayed"] = bool(row["replayed"])
    out["violations"] = _stored_json(row["violations"] or "[]")
    for key in ("request", "response"):
        out[key] = _stored_json(row[key])
    return out


def _stored_json(text: Any) -> Any:
    """A stored JSON text as its value; as text when it is not JSON, too large, or not writable back."""
    if not isinstance(text, str):
        return text
    if len(text) > SHOWN_CHARS:
        return f"<{len(text)} characters; the first {SHOWN_CHARS}:> " + text[:SHOWN_CHARS]
    try:
        value = parse_json(text)  # strict: lone surrogates and depths past 1024 are refused, never a crash
        dump_json(value)  # what the encoder cannot write back (nesting too deep) is shown as text
    except (ValueError, TypeError, RecursionError):
        return text
    return value


def _query(query: str) -> dict[str, str]:
    allowed = {"limit", "since", "infno", "msgid"}
    return {k: v[-1] for k, v in parse_qs(query).items() if k in allowed}
