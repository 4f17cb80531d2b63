"""Downloads: small aiohttp servers built here play the hostile or broken server exactly
(cut the body at given offsets, change the ETag between attempts, redirect to another
origin, ignore Range); the emulator-backed tests check the same promises at scale."""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._transport import Transport

TOKEN = "t"
PATH = "/api/v1/sov/s-1/output/out.json"


def etag_of(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)  # incompressible, reproducible


class FileServer:
    """Serves ``data`` like the API (Content-Length, sha256 ETag, Range/If-Range/206/416),
    with knobs to misbehave request by request."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = data
        self.etag: str | None = etag_of(data)
        #: A ``Last-Modified`` date to send (and honour in ``If-Range``), when set.
        self.last_modified: str | None = None
        self.accept_ranges = True
        self.disposition: str | None = 'attachment; filename="out.json"'
        #: Absolute offsets where successive bodies stop and the connection closes.
        self.cuts: list[int] = []
        #: Statuses answered (with a small JSON body) before any file is served.
        self.statuses: list[int] = []
        #: When set, a body pauses after its first MiB until this event is set.
        self.gate: anyio.Event | None = None
        self.gzip = False
        self.seen: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    def set_data(self, data: bytes) -> None:
        self.data = data
        self.etag = etag_of(data)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._serve(request)
        finally:
            self.in_flight -= 1

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self.statuses:
            status = self.statuses.pop(0)
            return web.json_response({"detail": f"emulated {status}"}, status=status)
        data = gzip.compress(self.data) if self.gzip else self.data
        headers: dict[str, str] = {"Content-Type": "application/octet-stream"}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.disposition:
            headers["Content-Disposition"] = self.disposition
        if self.gzip:
            headers["Content-Encoding"] = "gzip"
        first, status = 0, 200
        wanted = request.headers.get("Range")
        if self.accept_ranges:
            headers["Accept-Ranges"] = "bytes"
            if_range = request.headers.get("If-Range")
            current = {v for v in (self.etag, self.last_modified) if v}
            if wanted and (if_range is None or if_range in current):
                first = int(wanted.removeprefix("bytes=").rstrip("-"))
                if first >= len(data):
                    headers["Content-Range"] = f"bytes */{len(data)}"
                    return web.Response(status=416, headers=headers)
                status = 206
                headers["Content-Range"] = f"bytes {first}-{len(data) - 1}/{len(data)}"
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(data) - first
        await response.prepare(request)
        stop = len(data)
        cut = False
        if self.cuts and self.cuts[0] > first:
            stop, cut = self.cuts.pop(0), True
        view = memoryview(data)
        pos = first
        while pos < stop:
            end = min(stop, pos + 65536)
            await response.write(view[pos:end])
            pos = end
            if self.gate is not None and pos - first >= 1 << 20:
                await self.gate.wait()
        if cut:
            # Let the client take the bytes in first: aiohttp drops what is still buffered
            # when the connection error arrives, so the resume offset would vary.
            await anyio.sleep(0.02)
            assert request.transport is not None
            request.transport.close()
        return response


@asynccontextmanager
async def serve(handler: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[FileServer]:
    files = FileServer(payload(300_000))
    async with serve(files.handle) as url:
        files.url = url
        yield files


@asynccontextmanager
async def open_transport(
    url: str, data_url: str | None = None, **kwargs: Any
) -> AsyncIterator[Transport]:
    kwargs.setdefault("retry", RetryPolicy.no_wait())
    cfg = ClientConfig(api_url=url, data_api_url=data_url or url, token=TOKEN, **kwargs)
    transport = Transport(cfg)
    await transport.open()
    try:
        yield transport
    finally:
        await transport.close()


@pytest.fixture
async def transport(server: FileServer) -> AsyncIterator[Transport]:
    async with open_transport(server.url) as t:
        yield t


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part*"))
