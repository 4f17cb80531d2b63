"""Small hostile servers for client tests: a proxy in front of the emulator whose answers a
test rewrites, and a bare server answering whatever a test's handler says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from attrs import define, field

#: Hop-by-hop and body-framing headers a proxy must not copy.
_DROP = {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}


@define
class Answer:
    """The emulator's answer as the proxy received it (body decompressed)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def response(self, body: bytes | None = None, status: int | None = None) -> web.Response:
        drop = _DROP if body is None else _DROP | {"etag", "last-modified", "accept-ranges"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        return web.Response(
            body=self.body if body is None else body,
            status=self.status if status is None else status,
            headers=headers,
        )


Forward = Callable[[], Awaitable[Answer]]
#: ``hook(request, forward)``: answer the client's request, calling ``forward()`` to get
#: the emulator's answer when needed.
Hook = Callable[[web.Request, Forward], Awaitable[web.StreamResponse]]


@define
class Proxy:
    url: str
    #: Requests seen, as ``"METHOD /path"``.
    seen: list[str] = field(factory=list)


@asynccontextmanager
async def proxy(upstream: str, hook: Hook | None = None) -> AsyncIterator[Proxy]:
    """A proxy to ``upstream`` on 127.0.0.1; ``hook`` decides each answer."""
    session = aiohttp.ClientSession(auto_decompress=True)
    state = Proxy("")

    async def handle(request: web.Request) -> web.StreamResponse:
        state.seen.append(f"{request.method} {request.path}")
        body = await request.read()

        async def forward() -> Answer:
            skip = {"range", "content-length", "transfer-encoding", "connection"}
            headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
            async with session.request(
                request.method,
                upstream + request.path_qs,
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as r:
                return Answer(r.status, dict(r.headers), await r.read())

        if hook is None:
            return (await forward()).response()
        return await hook(request, forward)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serve(app) as url:
        state.url = url
        try:
            yield state
        finally:
            await session.close()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 (port 0); yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
