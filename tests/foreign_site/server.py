"""The HTTP front of the foreign site: one POST per call at /ybjk/{infno}, JSON in and out.

What it does to every call, in order: parse the body (UTF-8 JSON); check the path's infno against the
body's; validate the envelope; sign-in (every infno but 9001 needs a live sign_no); msgid replay (the
same msgid of the same institution with the same infno and input gets the recorded answer again,
with no second effect; different content is refused); validate the input; run the handler inside one
transaction; record successful answers. Interfaces it does not offer are answered "未开放".
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import flows, ops
from .data import RECEIVER_ADMDVS
from .store import Store, dumps, loads
from .validate import Refused, check_envelope, check_input

HANDLERS: dict[str, Callable[[flows.Call], dict[str, Any]]] = {
    "9001": flows.h9001, "9002": flows.h9002, "1101": flows.h1101, "2201": flows.h2201, "2202": flows.h2202,
    "2203": flows.h2203, "2204": flows.h2204, "2205": flows.h2205, "2206": flows.h2206, "2207": flows.h2207,
    "2208": ops.h2208, "2601": ops.h2601, "3201": ops.h3201, "5203": ops.h5203,
}
REPLAYED = {"2201", "2202", "2203", "2204", "2205", "2207", "2208", "2601"}  # state-changing calls
PATH_PREFIX = "/ybjk/"
BUGS = ("psn-part-off", "accept-not-filed", "reversal-not-negated", "setl-id-from-presettle",
        "recon-always-balanced", "duplicate-settle-ok")


class Site:
    """The site's state and behaviour, apart from HTTP (tests may call `answer` directly)."""

    def __init__(self, db: Path | str, bugs: frozenset[str] = frozenset()) -> None:
        unknown = set(bugs) - set(BUGS)
        if unknown:
            raise ValueError(f"unknown planted bug(s): {sorted(unknown)}; known: {', '.join(BUGS)}")
        self.store = Store(db)
        self.bugs = bugs

    def answer(self, path_infno: str, body: bytes) -> dict[str, Any]:
        received = datetime.now()
        with self.store.lock:
            try:
                envelope = loads(body.decode("utf-8"))
                if not isinstance(envelope, dict):
                    raise Refused("参数校验不通过：报文应为JSON对象")
                return self._answer(path_infno, envelope, received)
            except (UnicodeDecodeError, json.JSONDecodeError):
                return self._reply(received, error="报文格式错误，无法解析JSON")
            except Refused as refusal:
                return self._reply(received, error=str(refusal))
            except Exception as exc:  # a defect of this fixture: answer like a platform would, and say it
                traceback.print_exc()
                return self._reply(received, error=f"系统内部错误：{type(exc).__name__}")

    def _answer(self, path_infno: str, envelope: dict[str, Any], received: datetime) -> dict[str, Any]:
        check_envelope(envelope)
        infno = envelope["infno"]
        if path_infno != infno:
            raise Refused(f"交易编号{infno}与请求地址{PATH_PREFIX}{path_infno}不一致")
        handler = HANDLERS.get(infno)
        if handler is None:
            raise Refused(f"交易编号{infno}未开放")
        if infno != "9001":
            row = self.store.one("SELECT active FROM signin WHERE sign_no = ?", envelope.get("sign_no") or "")
            if row is None or not row["active"]:
                raise Refused("签到流水号无效或已签退，请重新签到")
        digest = hashlib.sha256(dumps([infno, envelope["input"]]).encode()).hexdigest()
        seen = self.store.recorded(envelope["fixmedins_code"], envelope["msgid"])
        if seen is not None:
            if seen["digest"] != digest:
                raise Refused(f"报文编号{envelope['msgid']}已使用且内容不同")
            return loads(seen["body"])
        check_input(infno, envelope["input"])
        call = flows.Call(self.store, envelope, self.bugs, received)
        with self.store.transaction():
            output = handler(call)
            reply = self._reply(received, output=output, warn="；".join(call.warnings))
            if infno in REPLAYED:
                self.store.record(call.inst, call.msgid, infno, digest, reply)
        return reply

    def _reply(self, received: datetime, *, output: dict[str, Any] | None = None, error: str = "",
               warn: str = "") -> dict[str, Any]:
        refmsgid = f"{RECEIVER_ADMDVS}{received:%Y%m%d%H%M%S}{self.store.next('REF'):010d}"
        return {"infcode": -1 if error else 0, "inf_refmsgid": refmsgid,
                "refmsg_time": received.strftime("%Y%m%d%H%M%S%f")[:17],
                "respond_time": datetime.now().strftime("%Y%m%d%H%M%S%f")[:17],
                "err_msg": error, "warn_msg": warn, "output": None if error else output,
                "cainfo": None, "signtype": None}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not self.path.startswith(PATH_PREFIX):
            self.send_error(404, "use POST /ybjk/{infno}")
            return
        reply = dumps(self.server.site.answer(self.path[len(PATH_PREFIX):].strip("/"), body)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("FOREIGN_SITE_LOG"):
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: Site) -> None:
        super().__init__(address, _Handler)
        self.site = site


def bugs_from(names: str | None) -> frozenset[str]:
    """Planted bugs from a comma-separated list (the CLI's --bug or $FOREIGN_SITE_BUG)."""
    return frozenset(n.strip() for n in (names or "").split(",") if n.strip())


def serve(port: int, db: Path | str, bugs: frozenset[str], host: str = "127.0.0.1") -> _Server:
    return _Server((host, port), Site(db, bugs))


def start_in_thread(db: Path | str, bugs: frozenset[str] = frozenset(), port: int = 0) -> tuple[_Server, str]:
    """Start the site on a free port in a daemon thread; returns the server (call .shutdown()) and its base URL."""
    server = serve(port, db, bugs)
    threading.Thread(target=server.serve_forever, name="foreign-site", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
