"""Downloads: streamed, atomic, resumable, verified, with names that never escape ``dest``.

Small aiohttp servers built here play the hostile or broken server exactly (cut the body
at given offsets, change the ETag between attempts, redirect to another origin, ignore
Range); the emulator-backed tests at the end check the same promises at scale.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import os
import random
import tracemalloc
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._downloads import _part
from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._downloads import (
    DownloadResult,
    download,
    parse_content_disposition,
    safe_filename,
)
from sovfixer_async._errors import (
    DestinationExistsError,
    DownloadError,
    DownloadIntegrityError,
    InvalidInputError,
    NotFoundError,
)
from sovfixer_async._events import DownloadFinished, DownloadProgress, Event, EventBus
from sovfixer_async._transport import Transport

pytestmark = pytest.mark.anyio

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
        if self.disposition:
            headers["Content-Disposition"] = self.disposition
        if self.gzip:
            headers["Content-Encoding"] = "gzip"
        first, status = 0, 200
        wanted = request.headers.get("Range")
        if self.accept_ranges:
            headers["Accept-Ranges"] = "bytes"
            if wanted and request.headers.get("If-Range", self.etag) == self.etag:
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


# -- the happy path ------------------------------------------------------------------------


async def test_download_into_directory(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result == DownloadResult(
        path=tmp_path / "out.json",
        url=server.url + PATH,
        size=len(server.data),
        sha256=hashlib.sha256(server.data).hexdigest(),
        attempts=1,
        resumed=False,
    )
    assert result.path.read_bytes() == server.data
    assert leftovers(tmp_path) == []
    headers = server.seen[0]
    assert headers["Accept-Encoding"] == "identity"
    assert headers["Authorization"] == f"Token {TOKEN}"
    assert "Range" not in headers
    assert transport.stats.requests == 1


async def test_relative_urls_go_to_the_matching_api(tmp_path: Path) -> None:
    extraction, data = FileServer(b"sov output"), FileServer(b"bulk output")
    async with (
        serve(extraction.handle) as url1,
        serve(data.handle) as url2,
        open_transport(url1, url2) as t,
    ):
        a = await download(t, PATH, tmp_path / "a.json")
        b = await download(t, "/api/v1/bulk_enhance/u-1/output/o.json", tmp_path / "b.json")
    assert a.url == url1 + PATH
    assert a.path.read_bytes() == b"sov output"
    assert b.path.read_bytes() == b"bulk output"
    assert len(extraction.seen) == len(data.seen) == 1


async def test_non_http_url_is_an_input_error(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="url"):
        await download(transport, "file:///etc/passwd", tmp_path)


# -- where the file goes -------------------------------------------------------------------


async def test_destination_rules(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    url = server.url + "/api/v1/sov/s-1/output/from-url.json"
    # An existing directory: the name comes from Content-Disposition.
    r1 = await download(transport, url, tmp_path)
    assert r1.path == tmp_path / "out.json"
    # A trailing separator: a new directory (parents too); no disposition -> URL segment.
    server.disposition = None
    r2 = await download(transport, url, f"{tmp_path}/new/deeper/")
    assert r2.path == tmp_path / "new" / "deeper" / "from-url.json"
    # filename given and dest missing: dest is a directory named by filename.
    r3 = await download(transport, url, tmp_path / "d3", filename="given.json")
    assert r3.path == tmp_path / "d3" / "given.json"
    # Otherwise dest is the file itself (parents created).
    r4 = await download(transport, url, tmp_path / "p" / "exact.bin")
    assert r4.path == tmp_path / "p" / "exact.bin"
    # An existing file with a filename: still that file (here: overwritten on request).
    r5 = await download(transport, url, r4.path, filename="ignored.json", overwrite=True)
    assert r5.path == r4.path
    for r in (r1, r2, r3, r4):
        assert r.path.read_bytes() == server.data
    assert leftovers(tmp_path) == []


HOSTILE = [
    ('attachment; filename="../../etc/passwd"', "passwd"),
    ('attachment; filename="/abs/olute.json"', "olute.json"),
    ('attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
    ('attachment; filename="C:evil.json"', "C_evil.json"),
    ('attachment; filename=".."', "fallback.json"),
    ('attachment; filename="a\\"b.json"', "a_b.json"),
    ("attachment; filename*=UTF-8''..%2F..%2Fnai%CC%88ve%00.json", "na\u00efve_.json"),
    ("attachment; filename*=UTF-8''%E2%80%AEfdp.exe", "_fdp.exe"),
    ('attachment; filename="CON.json"', "_CON.json"),
    ('attachment; filename="' + "x" * 400 + '.json"', "x" * 195 + ".json"),
]


@pytest.mark.parametrize(("disposition", "expected"), HOSTILE)
async def test_hostile_disposition_names_stay_inside_dest(
    server: FileServer, transport: Transport, tmp_path: Path, disposition: str, expected: str
) -> None:
    server.disposition = disposition
    dest = tmp_path / "dest"
    dest.mkdir()
    url = server.url + "/api/v1/sov/s-1/output/fallback.json"
    result = await download(transport, url, dest)
    assert result.path == dest / expected
    assert result.path.parent == dest
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [expected]


async def test_symlink_out_of_dest_is_refused(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.json"
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out.json").symlink_to(outside)
    with pytest.raises(DownloadError, match="outside"):
        await download(transport, server.url + PATH, dest, filename="out.json", overwrite=True)
    assert not outside.exists()
    assert server.seen == []


# -- never clobber -------------------------------------------------------------------------


async def test_existing_file_refused_before_any_request(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "out.json").write_bytes(b"mine")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path / "out.json")
    assert server.seen == []
    assert (tmp_path / "out.json").read_bytes() == b"mine"
    result = await download(transport, server.url + PATH, tmp_path / "out.json", overwrite=True)
    assert result.path.read_bytes() == server.data


async def test_existing_file_named_by_the_server_refused_at_headers(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "out.json").write_bytes(b"mine")
    with pytest.raises(DestinationExistsError):
        await download(transport, server.url + PATH, tmp_path)
    assert (tmp_path / "out.json").read_bytes() == b"mine"
    assert leftovers(tmp_path) == []


async def test_file_appearing_during_the_download_is_not_clobbered(
    server: FileServer, tmp_path: Path
) -> None:
    server.set_data(payload(3 << 20))
    target = tmp_path / "out.json"

    def squat(event: Event) -> None:
        if isinstance(event, DownloadProgress) and not target.exists():
            target.write_bytes(b"someone else")

    async with open_transport(server.url) as t:
        with pytest.raises(DestinationExistsError):
            await download(t, server.url + PATH, target, events=EventBus([squat]))
    assert target.read_bytes() == b"someone else"
    assert leftovers(tmp_path) == []


async def test_stale_part_file_is_left_alone(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "out.json.part").write_bytes(b"from a crashed process")
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert (tmp_path / "out.json.part").read_bytes() == b"from a crashed process"
    assert leftovers(tmp_path) == ["out.json.part"]


# -- redirects and credentials -------------------------------------------------------------


async def test_cross_origin_redirect_never_gets_the_token(tmp_path: Path) -> None:
    storage = FileServer(payload(100_000))
    seen_api: list[dict[str, str]] = []

    async with serve(storage.handle) as storage_url:

        async def api(request: web.Request) -> web.StreamResponse:
            seen_api.append(dict(request.headers))
            if request.path == "/hop":
                raise web.HTTPFound(storage_url + "/bucket/out.json?sig=abc")
            raise web.HTTPFound("/hop")  # same origin first

        async with serve(api) as api_url, open_transport(api_url) as t:
            result = await download(t, api_url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == storage.data
    assert [h.get("Authorization") for h in seen_api] == [f"Token {TOKEN}"] * 2
    assert "Authorization" not in storage.seen[0]
    assert storage.seen[0]["Accept-Encoding"] == "identity"


async def test_too_many_redirects(tmp_path: Path) -> None:
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/again")

    async with serve(loop) as url, open_transport(url) as t:
        with pytest.raises(DownloadError, match="redirects"):
            await download(t, url + PATH, tmp_path, filename="x")
        assert t.stats.requests == 6
    assert leftovers(tmp_path) == []


# -- resuming ------------------------------------------------------------------------------


async def test_resume_at_exact_offsets(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.cuts = [1000, 1001, 70_000, 299_999]
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.sha256 == hashlib.sha256(server.data).hexdigest()
    assert result.attempts == 5
    assert result.resumed
    ranges = [(h.get("Range"), h.get("If-Range")) for h in server.seen]
    assert ranges == [
        (None, None),
        ("bytes=1000-", server.etag),
        ("bytes=1001-", server.etag),
        ("bytes=70000-", server.etag),
        ("bytes=299999-", server.etag),
    ]
    assert leftovers(tmp_path) == []


async def test_attempts_that_bring_bytes_do_not_count_as_stalled(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.cuts = list(range(20_000, 300_000, 20_000))  # 14 cuts
    result = await download(
        transport, server.url + PATH, tmp_path, filename="out.json", max_stalled_attempts=1
    )
    assert result.attempts == 15
    assert result.path.read_bytes() == server.data


async def test_etag_change_between_attempts_restarts_from_zero(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    old, new = server.data, payload(200_000, seed=1)
    server.cuts = [150_000]
    # The file changes on the server right after the first (cut) response was sent.
    first = server.handle

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await first(request)
        finally:
            server.set_data(new)

    async with serve(handle) as url, open_transport(url) as t:
        result = await download(t, url + PATH, tmp_path, filename="out.json")
    assert server.seen[1]["If-Range"] == etag_of(old)
    assert server.seen[1]["Range"] == "bytes=150000-"
    assert result.path.read_bytes() == new
    assert result.sha256 == hashlib.sha256(new).hexdigest()
    assert not result.resumed


async def test_server_without_ranges_restarts_cleanly(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.accept_ranges = False
    server.cuts = [100_000, 200_000]
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.attempts == 3
    assert [h.get("Range") for h in server.seen] == [None, None, None]


async def test_weak_etag_is_not_used_for_ranges(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.etag = 'W/"v1"'
    server.cuts = [100_000]
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert [h.get("Range") for h in server.seen] == [None, None]


async def test_416_restarts(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    server.cuts = [100_000]
    calls = 0
    inner = server.handle

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 2:
            server.seen.append(dict(request.headers))
            return web.Response(status=416, headers={"Content-Range": "bytes */1"})
        return await inner(request)

    async with serve(handle) as url, open_transport(url) as t:
        result = await download(t, url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert [h.get("Range") for h in server.seen] == [None, "bytes=100000-", None]


async def test_stalled_attempts_give_up_with_a_clear_error(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.cuts = [100_000]  # then every resume gets a 500
    inner = server.handle

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Range"):
            server.seen.append(dict(request.headers))
            return web.json_response({"detail": "broken"}, status=500)
        return await inner(request)

    async with serve(handle) as url, open_transport(url) as t:
        with pytest.raises(DownloadError) as info:
            await download(t, url + PATH, tmp_path, filename="out.json", max_stalled_attempts=3)
    error = info.value
    assert error.attempts == 4
    assert error.bytes_received == 100_000
    assert "4 attempt(s)" in str(error)
    assert "100000 bytes" in str(error)
    assert "HTTP 500" in str(error)
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "out.json").exists()


async def test_refusals_count_against_the_retry_policy_not_the_stall_limit(
    server: FileServer, tmp_path: Path
) -> None:
    """429/503 say "not now": like any request, up to RetryPolicy.attempts of them."""
    server.statuses = [429, 503] * 3  # six refusals in a row, more than max_stalled_attempts
    async with open_transport(server.url, retry=RetryPolicy.no_wait(attempts=8)) as t:
        result = await download(
            t, server.url + PATH, tmp_path, filename="a.json", max_stalled_attempts=2
        )
        assert result.attempts == 7
        server.statuses = [429] * 8
        with pytest.raises(DownloadError, match="refused 8 time"):
            await download(t, server.url + PATH, tmp_path, filename="b.json")
    assert leftovers(tmp_path) == []


async def test_429_and_5xx_are_retried(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.statuses = [429, 503, 500, 502]
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.attempts == 5
    assert result.path.read_bytes() == server.data
    assert transport.stats.retries == 4
    assert transport.stats.requests == 5


async def test_404_raises_not_found_at_once(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.statuses = [404]
    with pytest.raises(NotFoundError) as info:
        await download(transport, server.url + PATH, tmp_path, filename="out.json", job_id="s-1")
    assert "emulated 404" in str(info.value)
    assert info.value.job_id == "s-1"
    assert len(server.seen) == 1
    assert list(tmp_path.iterdir()) == []


async def test_refused_connection_is_retried_then_reported(tmp_path: Path) -> None:
    async with serve(FileServer().handle) as url:
        pass  # closed: nothing listens on that port any more
    async with open_transport(url) as t:
        with pytest.raises(DownloadError, match="2 attempt"):
            await download(t, url + PATH, tmp_path, filename="x", max_stalled_attempts=2)


# -- integrity -----------------------------------------------------------------------------


async def test_sha256_etag_mismatch(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.etag = etag_of(b"something else")
    with pytest.raises(DownloadIntegrityError, match="sha256"):
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert list(tmp_path.iterdir()) == []


async def test_range_past_the_announced_length(tmp_path: Path) -> None:
    data = payload(1000)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Range"):
            headers = {"Content-Range": "bytes 500-999/800", "ETag": etag_of(data)}
            return web.Response(status=206, body=data[500:], headers=headers)
        response = web.StreamResponse(
            headers={"ETag": etag_of(data), "Accept-Ranges": "bytes", "Content-Length": "1000"}
        )
        await response.prepare(request)
        await response.write(data[:500])
        assert request.transport is not None
        request.transport.close()
        return response

    async with serve(handle) as url, open_transport(url) as t:
        with pytest.raises(DownloadIntegrityError, match="announced"):
            await download(t, url + PATH, tmp_path, filename="out.json")
    assert list(tmp_path.iterdir()) == []


async def test_partial_206_continues(tmp_path: Path) -> None:
    data = payload(1000)

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = {"ETag": etag_of(data), "Accept-Ranges": "bytes"}
        wanted = request.headers.get("Range")
        if wanted is None:  # the first answer is cut after 300 bytes
            response = web.StreamResponse(headers=headers)
            response.content_length = 1000
            await response.prepare(request)
            await response.write(data[:300])
            await anyio.sleep(0.02)
            assert request.transport is not None
            request.transport.close()
            return response
        # Each range request gets at most 300 bytes, as a server may choose to send.
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        end = min(start + 300, 1000)
        headers["Content-Range"] = f"bytes {start}-{end - 1}/1000"
        return web.Response(status=206, body=data[start:end], headers=headers)

    async with serve(handle) as url, open_transport(url) as t:
        result = await download(t, url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == data
    assert result.resumed
    assert result.attempts == 4


async def test_gzip_despite_identity_is_decoded(
    server: FileServer, transport: Transport, tmp_path: Path
) -> None:
    server.gzip = True
    server.cuts = [5000]
    result = await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert result.path.read_bytes() == server.data
    assert result.sha256 == hashlib.sha256(server.data).hexdigest()
    assert [h.get("Range") for h in server.seen] == [None, None]


async def test_disk_error_is_a_download_error(
    server: FileServer, transport: Transport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set_data(payload(3 << 20))

    def full(self: Any, pieces: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_part.PartFile, "_write", full)
    with pytest.raises(DownloadError, match="No space left"):
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
    assert list(tmp_path.iterdir()) == []


# -- events, cancellation, memory, concurrency ---------------------------------------------


async def test_progress_events(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    server.set_data(payload(5 << 20))
    seen: list[Event] = []
    result = await download(
        transport, server.url + PATH, tmp_path, filename="out.json", events=EventBus([seen.append])
    )
    progress = [e for e in seen if isinstance(e, DownloadProgress)]
    assert 2 <= len(progress) <= 6
    done = [e.bytes_done for e in progress]
    assert done == sorted(done)
    assert all(b - a >= 1 << 20 for a, b in itertools.pairwise(done))
    assert {e.total for e in progress} == {5 << 20}
    assert seen[-1] == DownloadFinished(
        server.url + PATH, result.path, None, result.size, result.sha256
    )


@pytest.mark.parametrize("how", ["cancel scope", "fail_after"])
async def test_cancellation_removes_the_part_file(
    server: FileServer, transport: Transport, tmp_path: Path, how: str
) -> None:
    server.set_data(payload(8 << 20))
    server.gate = anyio.Event()  # the server stalls after 1 MiB until the test ends
    started = anyio.Event()
    reached_end = False

    def on_event(event: Event) -> None:
        if isinstance(event, DownloadProgress):
            started.set()

    async def run() -> None:
        nonlocal reached_end
        await download(
            transport,
            server.url + PATH,
            tmp_path,
            filename="out.json",
            events=EventBus([on_event]),
        )
        reached_end = True

    async def expire_once_started() -> None:
        with anyio.fail_after(30) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await started.wait()
                assert leftovers(tmp_path) == ["out.json.part"]
                scope.deadline = anyio.current_time()  # expire now
                await anyio.sleep_forever()

    try:
        if how == "cancel scope":
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await started.wait()
                assert leftovers(tmp_path) == ["out.json.part"]
                tg.cancel_scope.cancel()
        else:
            with pytest.raises(TimeoutError):
                await expire_once_started()
    finally:
        server.gate.set()
    assert not reached_end
    assert list(tmp_path.iterdir()) == []


async def test_memory_stays_flat(server: FileServer, transport: Transport, tmp_path: Path) -> None:
    server.set_data(payload(48 << 20))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await download(transport, server.url + PATH, tmp_path, filename="out.json")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20, f"peak {peak / 2**20:.1f} MiB for a 48 MiB download"


async def test_many_downloads_share_the_pool(server: FileServer, tmp_path: Path) -> None:
    server.set_data(payload(2 << 20))
    server.cuts = [500_000, 1_500_000, 700_000]
    async with open_transport(server.url, max_concurrent_downloads=3) as t:
        results: list[DownloadResult] = []

        async def one(i: int) -> None:
            results.append(await download(t, server.url + PATH, tmp_path, filename=f"{i}.json"))

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(one, i)
    assert server.max_in_flight <= 3
    assert len(results) == 12
    assert {r.sha256 for r in results} == {hashlib.sha256(server.data).hexdigest()}
    assert leftovers(tmp_path) == []


# -- names: properties ---------------------------------------------------------------------


@given(st.text(), st.text())
def test_safe_filename_properties(name: str, fallback: str) -> None:
    safe = safe_filename(name, fallback=fallback)
    assert safe
    assert not {"/", "\\", "\x00"} & set(safe)
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert len(safe.encode()) <= 200
    assert all(ord(c) >= 32 for c in safe)
    assert safe_filename(safe, fallback="other") == safe
    root = Path("/srv/dest")
    assert os.path.normpath(root / safe).startswith(str(root) + os.sep)
    assert os.path.dirname(os.path.normpath(root / safe)) == str(root)


@given(
    st.text(st.characters(exclude_characters="/\\.:"), min_size=1).filter(
        lambda s: safe_filename(s, fallback="-") != "-"
    )
)
def test_safe_filename_keeps_the_extension_of_long_names(stem: str) -> None:
    safe = safe_filename(stem * 300 + ".json", fallback="x")
    assert safe.endswith(".json")
    assert len(safe.encode()) <= 200


def test_safe_filename_examples() -> None:
    assert safe_filename(None, fallback="out.json") == "out.json"
    assert safe_filename("", fallback="../..") == "download"
    assert safe_filename("report 2024.xlsx", fallback="x") == "report 2024.xlsx"
    assert safe_filename("..\\..\\boot.ini", fallback="x") == "boot.ini"
    assert safe_filename("aux.tar.gz", fallback="x") == "_aux.tar.gz"
    assert safe_filename("  .hidden  ", fallback="x") == "hidden"


@given(st.text())
def test_disposition_extended_roundtrip(name: str) -> None:
    encoded = urllib.parse.quote(name.encode("utf-8", "surrogatepass"), safe="")
    header = f"attachment; filename=\"fallback.bin\"; filename*=UTF-8''{encoded}"
    expected = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert parse_content_disposition(header) == (expected or "fallback.bin")


@given(st.text().filter(lambda s: s == s.strip()))
def test_disposition_quoted_roundtrip(name: str) -> None:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    header = f'attachment; size=3; filename="{quoted}"; creation-date="a; b"'
    assert parse_content_disposition(header) == (name or None)


def test_disposition_examples() -> None:
    assert parse_content_disposition(None) is None
    assert parse_content_disposition("inline") is None
    assert parse_content_disposition("attachment; filename=plain.json") == "plain.json"
    assert parse_content_disposition('attachment; FILENAME="a;b.json"') == "a;b.json"
    assert (
        parse_content_disposition("attachment; filename*=iso-8859-1'en'%A3%20rates.txt")
        == "\u00a3 rates.txt"
    )
    assert parse_content_disposition('attachment; note="filename=x"; filename="y"') == "y"


async def test_other_origins_never_get_the_token(transport: Transport, tmp_path: Path) -> None:
    elsewhere = FileServer(b"public file")
    async with serve(elsewhere.handle) as url:
        result = await download(transport, url + "/file.bin", tmp_path)
    assert result.path == tmp_path / "out.json"  # named by Content-Disposition
    assert "Authorization" not in elsewhere.seen[0]


async def test_two_downloads_racing_for_one_target(server: FileServer, tmp_path: Path) -> None:
    server.set_data(payload(3 << 20))
    async with open_transport(server.url) as t, anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(
                lambda: download(t, server.url + PATH, tmp_path / "out.json", overwrite=True)
            )
    assert (tmp_path / "out.json").read_bytes() == server.data
    assert leftovers(tmp_path) == []
