"""The platform's ASGI app (Starlette; the only module that imports it).

A thin adapter over `core.Platform`: every request becomes an `HttpRequest`; the platform's
delay fault is awaited (the event loop keeps serving others); the answer is sent back as is. The
platform's work itself runs on the event loop thread: it is short, and SQLite serialises it anyway.

`drop-after-commit` is played at the transport level: the response head promises the full body,
half of it is sent, and the connection is closed — the client sees a broken connection after the
platform has committed, which is what 冲正 (2601) exists for.

`POST /__admin/echo` (a diagnostic, not part of the interface) parses the request as a call is parsed and
answers a success envelope echoing its input, through the same stack: the benchmarks' baseline.

Group commit: the calls the event loop has ready at once run one after the other inside one database
transaction (db.py `open_group`), committed once they have all run, before any of their answers is sent
(`_GroupCommit`): a client never sees an answer whose state a killed process could lose. A call's own
transaction is a savepoint in the group, so it still rolls back alone. Under concurrent clients a commit's
pages (the exchange log's tree, the file header, index leaves) are then written once for several calls.

A request body is read in chunks up to the platform's limit (`Platform.body_limit`): one over it is
answered 413 without being kept in memory (what is still arriving is read and discarded, so the client
sees the answer rather than a reset connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from harness.platform.config import PlatformConfig
from harness.platform.core import Platform, Prepared
from harness.platform.wire import JSON_TYPE, HttpRequest, HttpResponse

__all__ = ["create_app"]

log = logging.getLogger("hsa_cert.platform")
T = TypeVar("T")


class _DroppedResponse(Response):
    """Headers and half a body, then nothing: uvicorn closes the connection."""

    def __init__(self, answer: HttpResponse) -> None:
        super().__init__(content=answer.body, status_code=answer.status, headers=answer.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        log.info("fault drop-after-commit: connection closed mid-response")


class _GroupCommit:
    """One database transaction for the calls that run in one turn of the event loop; each waits for its
    COMMIT before its answer goes out (on a failed COMMIT each raises, and no answer of the group is sent)."""

    def __init__(self, platform: Platform) -> None:
        self._db = platform.db
        self._waiting: list[asyncio.Future[None]] = []

    async def run(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        if not self._db.grouping:
            self._db.open_group()
            loop.call_soon(self._commit)  # after the calls already ready to run: they join this group
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append(done)
        try:
            result = work()
        except BaseException as exc:  # its own writes were rolled back (savepoint); the group goes on
            done.set_exception(exc)
        await done
        return result

    def _commit(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            self._db.commit_group()
        except BaseException as exc:
            for done in waiting:
                if not done.done():
                    done.set_exception(exc)
            return
        for done in waiting:
            if not done.done():
                done.set_result(None)


def create_app(config: PlatformConfig | Platform | None = None) -> Starlette:
    """The Starlette app serving one platform (built from `config`, or an existing Platform)."""
    platform = config if isinstance(config, Platform) else Platform(config or PlatformConfig())
    owns_platform = not isinstance(config, Platform)
    group = _GroupCommit(platform)

    async def endpoint(request: Request) -> Response:
        body = await read_capped(platform, request, group)
        if isinstance(body, HttpResponse):
            return Response(content=body.body, status_code=body.status, headers=body.headers)
        answer = await serve_one(platform, request, body, group)
        if answer.drop:
            return _DroppedResponse(answer)
        return Response(content=answer.body, status_code=answer.status, headers=answer.headers)

    async def echo(request: Request) -> Response:
        body = await read_capped(platform, request)
        if isinstance(body, HttpResponse):
            return Response(content=body.body, status_code=body.status, headers=body.headers)
        scope = request.scope  # as serve_one reads it: the same work up to the platform
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        answer = platform.echo(HttpRequest(scope["method"], scope["path"], headers, body, query))
        return Response(content=answer.body, status_code=answer.status, headers=answer.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_platform:
            platform.close()

    app = Starlette(
        routes=[
            Route("/__admin/echo", echo, methods=["POST"]),
            Route("/{path:path}", endpoint, methods=["GET", "POST", "DELETE", "PUT"]),
        ],
        lifespan=lifespan,
    )
    app.state.platform = platform
    return app


_DRAIN_LIMIT = 1 << 30  # past this, stop reading a refused body and let the connection close


async def _whole_body(request: Request) -> bytes | HttpResponse:
    try:
        return await request.body()
    except ClientDisconnect:  # the client left mid-request (a Ctrl-C, a dropped HIS): no one to answer, no traceback
        return HttpResponse(400, {"content-type": JSON_TYPE}, b'{"code":400,"message":"client disconnected"}')


async def read_capped(platform: Platform, request: Request, group: _GroupCommit | None = None) -> bytes | HttpResponse:
    """The body, or the 413 answer when it is over the limit (the excess is drained, never kept; the refusal
    is recorded in `group`'s commit when given)."""
    scope = request.scope
    declared = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"content-length"), "")
    size = int(declared) if declared.isdigit() else 0
    if declared.isdigit() and size <= min(platform.config.max_request_bytes, platform.config.max_upload_bytes):
        return await _whole_body(request)  # the usual case; the server holds the body to its Content-Length
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if scope["path"].startswith("/__admin"):
        limit = platform.config.max_request_bytes
    else:
        limit = platform.body_limit(headers, scope["path"])
    if declared.isdigit() and size <= limit:
        return await _whole_body(request)
    chunks: list[bytes] = []
    received = 0
    keeping = size <= max(limit, platform.config.max_upload_bytes)
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if keeping and received > limit and limit < platform.config.max_upload_bytes:
                limit = platform.body_limit(headers, scope["path"], b"".join(chunks) + chunk)  # a JSON 9101?
            if keeping and received > limit:
                keeping = False
                chunks.clear()
            if keeping:
                chunks.append(chunk)
            elif received > _DRAIN_LIMIT:
                break
    except ClientDisconnect:
        keeping = False
    if keeping:
        return b"".join(chunks)
    size = max(size, received)
    query = scope.get("query_string", b"").decode("latin-1")
    refused = HttpRequest(scope["method"], scope["path"], headers, b"", query)
    if scope["path"].startswith("/__admin"):
        return HttpResponse(413, {"content-type": JSON_TYPE}, b'{"code":413,"message":"request too large"}')
    if group is None:
        return platform.execute(platform.refuse_oversized(refused, size, limit))
    return await group.run(lambda: platform.execute(platform.refuse_oversized(refused, size, limit)))


async def serve_one(platform: Platform, request: Request, body: bytes, group: _GroupCommit) -> HttpResponse:
    scope = request.scope  # read the ASGI scope directly: cheaper than building Starlette's URL and Headers
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    http_request = HttpRequest(scope["method"], scope["path"], headers, body, query)
    prepared: list[Prepared] = []

    def at_once() -> HttpResponse | None:  # prepare (it may record: gateway, faults) and, unless delayed, execute
        prepared.append(platform.prepare(http_request))
        return None if prepared[0].delay_s else platform.execute(prepared[0])

    answer = await group.run(at_once)
    if answer is None:
        await asyncio.sleep(prepared[0].delay_s)
        answer = await group.run(lambda: platform.execute(prepared[0]))
    return answer
