"""A hostile API on 127.0.0.1: each test sets what it answers, byte for byte."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._transport import Transport

#: A token long enough to be redacted (real ones are 40 characters).
SECRET = "SECRET-TOKEN-0123456789"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Hostile:
    """Answers every request with ``handler``; keeps the headers it was sent."""

    secret = SECRET

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[dict[str, str]] = []
        self.handler: Handler = lambda r: raw(b"{}")

    def answer(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Answer every request with these bytes, as they are."""
        fixed = dict(headers or {})
        self.handler = lambda request: raw(body, status, fixed)

    @asynccontextmanager
    async def transport(self, **options: Any) -> AsyncIterator[Transport]:
        """An open transport to this server (2 attempts, no waiting, unless told)."""
        t = Transport(config_for(self.url, **options))
        await t.open()
        try:
            yield t
        finally:
            await t.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.seen.append(dict(request.headers))
        return await self.handler(request)


async def raw(
    body: bytes,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    return web.Response(
        body=body, status=status, headers={"Content-Type": content_type, **(headers or {})}
    )


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server = Hostile()
    app = web.Application(client_max_size=1024**2)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


def config_for(url: str, **kwargs: Any) -> ClientConfig:
    kwargs.setdefault("retry", RetryPolicy.no_wait(attempts=2))
    return ClientConfig(api_url=url, data_api_url=url, token=SECRET, **kwargs)


@pytest.fixture
async def wire(hostile: Hostile) -> AsyncIterator[Transport]:
    """A transport to the hostile server: 2 attempts, no waiting."""
    t = Transport(config_for(hostile.url))
    await t.open()
    try:
        yield t
    finally:
        await t.close()
