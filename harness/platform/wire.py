"""The HTTP-neutral request and response the platform works with (shared by core, admin and the adapters)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.platform.envelope import dump_json

__all__ = ["JSON_TYPE", "HttpRequest", "HttpResponse", "json_response"]

JSON_TYPE = "application/json;charset=utf-8"


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    query: str = ""


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False  # close the connection instead of completing the response

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(value: Any, status: int = 200) -> HttpResponse:
    try:
        body = dump_json(value).encode()
    except (ValueError, TypeError, RecursionError):  # a lone surrogate, a structure too deep: escaped, or named
        try:
            body = json.dumps(value, ensure_ascii=True, default=str).encode()
        except (ValueError, TypeError, RecursionError) as exc:
            body = json.dumps({"code": 500, "message": f"answer not writable as JSON: {type(exc).__name__}"}).encode()
            status = 500
    return HttpResponse(status, {"content-type": JSON_TYPE}, body)
