"""The catalogue of malformed answers a hostile site gives: each a named way of being wrong on the wire.

Every entry turns the request it answers (its infno and msgid, when the request could be read) into the
raw bytes of an HTTP answer, or into a behaviour (trickle the bytes, go silent, reset the connection).
They are what real fronts, gateways and broken sites send: truncated and HTML bodies, wrong types,
nesting, lone surrogates, decompression bombs, informational answers, wrong charsets, duplicate keys.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["CATALOGUE", "SLOW", "Answer", "Malformation", "honest_answer", "plausible_envelope"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server does: write `data` (at `trickle_s` seconds per byte if set), then close or reset."""

    data: bytes = b""
    trickle_s: float = 0.0
    reset: bool = False  # abort the connection (RST) after writing `data`
    silent_s: float = 0.0  # say nothing for this long, then close


@dataclass(frozen=True, slots=True)
class Malformation:
    name: str
    what: str
    make: Callable[[random.Random, Mapping[str, Any]], Answer]


def _http(status: int, reason: str, body: bytes, *, content_type: str | None = "application/json;charset=utf-8",
          headers: Mapping[str, str] | None = None, length: int | None = None, informational: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
    lines.append("Connection: close")
    return informational + ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def plausible_envelope(request: Mapping[str, Any], **over: Any) -> dict[str, Any]:
    """A success answer of the right shape for the request (the output is empty: the site did 'something')."""
    envelope = {"infcode": 0, "inf_refmsgid": "520000202401011200000000000001", "refmsg_time": "20240101120000000",
                "respond_time": "20240101120000100", "err_msg": "", "warn_msg": None, "output": {},
                "cainfo": None, "signtype": None}
    envelope.update(over)
    return envelope


def honest_answer(request: Mapping[str, Any]) -> Answer:
    """A correct answer to a sign-in (9001), so that a run gets past it to the answers under test."""
    stamp = "2024-01-01 12:00:00"
    output = {"signinoutb": {"sign_time": stamp, "sign_no": "HOSTILE0000000000000000000000001"}}
    return _ok(_json(plausible_envelope(request, output=output)))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _ok(body: bytes, **kw: Any) -> Answer:
    return Answer(_http(200, "OK", body, **kw))


@cache
def _bomb() -> bytes:
    return gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)  # 64 KiB on the wire, 64 MiB inflated


def _deep(depth: int) -> bytes:
    return b'{"infcode":0,"err_msg":"","output":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


def _entries() -> list[Malformation]:
    req: Callable[[Mapping[str, Any]], dict[str, Any]] = plausible_envelope
    m = Malformation
    return [
        m("truncated", "a JSON envelope cut in the middle (complete HTTP message)",
          lambda r, q: _ok(_json(req(q))[: r.randint(1, 40)])),
        m("truncated-connection", "Content-Length promises more than is sent, then the connection closes",
          lambda r, q: Answer(_http(200, "OK", _json(req(q))[:20], length=400))),
        m("html-200", "an HTML error page with status 200",
          lambda r, q: _ok(b"<html><body><h1>System busy</h1></body></html>", content_type="text/html")),
        m("html-502", "a gateway's 502 page", lambda r, q: Answer(_http(502, "Bad Gateway", b"<html>502</html>",
                                                                        content_type="text/html"))),
        m("empty-200", "status 200 and no body", lambda r, q: _ok(b"")),
        m("json-array", "a JSON array instead of the envelope", lambda r, q: _ok(b"[]")),
        m("json-null", "JSON null", lambda r, q: _ok(b"null")),
        m("json-string", "a JSON string", lambda r, q: _ok(b'"ok"')),
        m("infcode-string", "infcode a non-numeric string", lambda r, q: _ok(_json(req(q, infcode="abc")))),
        m("infcode-string-zero", "infcode the string \"0\"", lambda r, q: _ok(_json(req(q, infcode="0")))),
        m("infcode-missing", "no infcode",
          lambda r, q: _ok(_json({k: v for k, v in req(q).items() if k != "infcode"}))),
        m("infcode-float", "infcode 0.0", lambda r, q: _ok(_json(req(q, infcode=0.0)))),
        m("infcode-bool", "infcode true", lambda r, q: _ok(_json(req(q, infcode=True)))),
        m("output-list", "success with output a list", lambda r, q: _ok(_json(req(q, output=[])))),
        m("output-string", "success with output the string \"null\"", lambda r, q: _ok(_json(req(q, output="null")))),
        m("output-nested-wrong", "success with every output node of the wrong type",
          lambda r, q: _ok(_json(req(q, output={"setlinfo": [], "baseinfo": "x", "insuinfo": {}, "data": 3,
                                                 "result": None, "signinoutb": [1], "setldetail": {}})))),
        m("err-msg-object", "a refusal whose err_msg is an object",
          lambda r, q: _ok(_json(req(q, infcode=-1, err_msg={"code": 1}, output=None)))),
        m("lone-surrogate", "a refusal whose err_msg holds a lone surrogate",
          lambda r, q: _ok(b'{"infcode":-1,"err_msg":"\\ud800 bad \\udfff","output":null}')),
        m("surrogate-in-output", "a success whose output strings hold lone surrogates",
          lambda r, q: _ok(b'{"infcode":0,"err_msg":"","output":{"setlinfo":{"setl_id":"\\udc80"},'
                           b'"baseinfo":{"psn_no":"\\ud83d"}}}')),
        m("deep-nesting", "100,000 levels of nesting", lambda r, q: _ok(b"[" * 100_000 + b"]" * 100_000)),
        m("moderate-nesting", "900 levels of nesting inside output (parses; recursive code may not cope)",
          lambda r, q: _ok(_deep(900))),
        m("huge-err-msg", "a 4 MB err_msg", lambda r, q: _ok(_json(req(q, infcode=-1, err_msg="错" * 1_400_000,
                                                                        output=None)))),
        m("huge-array", "an output list of 200,000 rows", lambda r, q: _ok(_json(req(q, output={"setldetail": [
            {"fund_payamt": 1}] * 200_000})))),
        m("gzip-bomb", "64 KiB of gzip that inflates to 64 MiB",
          lambda r, q: _ok(_bomb(), headers={"Content-Encoding": "gzip"})),
        m("bad-gzip", "Content-Encoding gzip over a body that is not gzip",
          lambda r, q: _ok(_json(req(q)), headers={"Content-Encoding": "gzip"})),
        m("trickle", "the whole answer, status line and headers included, one byte every 50 ms",
          lambda r, q: Answer(_http(200, "OK", _json(req(q))), trickle_s=0.05)),
        m("silence", "the request read, then nothing until the server gives up", lambda r, q: Answer(silent_s=3.0)),
        m("reset", "the connection reset after the request", lambda r, q: Answer(reset=True)),
        m("reset-mid-body", "half the answer, then a reset",
          lambda r, q: Answer(_http(200, "OK", _json(req(q)))[:60], reset=True)),
        m("close-no-answer", "the connection closed without an answer", lambda r, q: Answer(b"")),
        m("redirect-loop", "a redirect to itself",
          lambda r, q: Answer(_http(302, "Found", b"", content_type=None, headers={"Location": "/loop"}))),
        m("early-hints", "103 Early Hints, then a valid answer",
          lambda r, q: Answer(_http(200, "OK", _json(req(q)), informational=b"HTTP/1.1 103 Early Hints\r\n"
                                    b"Link: </style.css>; rel=preload\r\n\r\n"))),
        m("continue", "100 Continue, then a valid answer",
          lambda r, q: Answer(_http(200, "OK", _json(req(q)), informational=b"HTTP/1.1 100 Continue\r\n\r\n"))),
        m("no-content", "204 No Content", lambda r, q: Answer(_http(204, "No Content", b"", content_type=None))),
        m("not-modified", "304 Not Modified", lambda r, q: Answer(_http(304, "Not Modified", b"", content_type=None))),
        m("wrong-charset", "a GBK body labelled UTF-8",
          lambda r, q: _ok(json.dumps(req(q, infcode=-1, err_msg="参保人未备案", output=None),
                                      ensure_ascii=False).encode("gbk"))),
        m("unknown-charset", "charset=x-unknown",
          lambda r, q: _ok(_json(req(q)), content_type="application/json;charset=x-unknown")),
        m("bom", "a UTF-8 byte-order mark before the JSON", lambda r, q: _ok(b"\xef\xbb\xbf" + _json(req(q)))),
        m("duplicate-keys", "infcode given twice, 0 then -1",
          lambda r, q: _ok(b'{"infcode":0,"infcode":-1,"err_msg":"","output":{}}')),
        m("nan-infinity", "NaN and Infinity as numbers",
          lambda r, q: _ok(b'{"infcode":0,"err_msg":"","output":{"setlinfo":{"medfee_sumamt":NaN,'
                           b'"fund_pay_sumamt":Infinity,"psn_part_amt":-Infinity}}}')),
        m("huge-number", "numbers beyond any float",
          lambda r, q: _ok(b'{"infcode":0,"err_msg":"","output":{"setlinfo":{"medfee_sumamt":1e400,'
                           b'"psn_part_amt":123456789012345678901234567890.123456789}}}')),
        m("bad-chunked", "chunked transfer with a chunk size that is not hex",
          lambda r, q: Answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                              b"Connection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")),
        m("text-plain-json", "a valid answer sent as text/plain", lambda r, q: _ok(_json(req(q)),
                                                                                    content_type="text/plain")),
        m("garbage-binary", "random bytes as the body",
          lambda r, q: _ok(bytes(r.getrandbits(8) for _ in range(256)), content_type="application/octet-stream")),
        m("header-flood", "150 header lines", lambda r, q: _ok(_json(req(q)), headers={
            f"X-Flood-{i}": "x" for i in range(150)})),
        m("bad-status-line", "a status line that is not HTTP", lambda r, q: Answer(b"HELLO WORLD\r\n\r\n{}")),
        m("http09", "a bare JSON body without any status line", lambda r, q: Answer(_json(req(q)))),
        m("status-4xx-json", "404 with a JSON refusal", lambda r, q: Answer(_http(404, "Not Found", _json(
            req(q, infcode=-1, err_msg="接口不存在", output=None))))),
        m("valid", "a plausible success (control)", lambda r, q: _ok(_json(req(q)))),
    ]


CATALOGUE: dict[str, Malformation] = {entry.name: entry for entry in _entries()}
SLOW = frozenset({"trickle", "silence"})  # each costs the client a timeout or a deadline
