"""Downloads: resuming, restarting and retrying; integrity; events, memory, pools."""

from __future__ import annotations

import hashlib
import itertools
import tracemalloc
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from sovfixer_async._config import RetryPolicy
from sovfixer_async._downloads import DownloadResult, download
from sovfixer_async._errors import (
    DownloadError,
    DownloadIntegrityError,
    InternalServerError,
    NotFoundError,
)
from sovfixer_async._events import DownloadFinished, DownloadProgress, Event, EventBus
from sovfixer_async._transport import Transport

from .conftest import PATH, FileServer, etag_of, leftovers, open_transport, payload, serve

pytestmark = pytest.mark.anyio


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
                assert leftovers(tmp_path) == ["out.json.part", "out.json.part.state"]
                scope.deadline = anyio.current_time()  # expire now
                await anyio.sleep_forever()

    try:
        if how == "cancel scope":
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await started.wait()
                assert leftovers(tmp_path) == ["out.json.part", "out.json.part.state"]
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


async def test_download_retries_draw_on_the_transports_retry_budget(
    server: FileServer, tmp_path: Path
) -> None:
    """Downloads and API requests spend one budget: a floor of 2 retries per window here."""
    policy = RetryPolicy(
        attempts=10,
        backoff_initial=0.0,
        backoff_max=0.0,
        max_retry_after=0.0,
        budget_ratio=0.0,
        budget_min_per_second=0.2,
        budget_window=10.0,
    )
    server.statuses = [500, 502, 500]
    async with open_transport(server.url, retry=policy) as t:
        with pytest.raises(DownloadError, match="retry budget") as info:
            await download(t, server.url + PATH, tmp_path, filename="out.json")
        assert info.value.attempts == 3
        assert t.stats.retries == 2
        # The budget is spent for the API too: its next 503 is not retried.
        server.statuses = [503]
        with pytest.raises(InternalServerError, match="503"):
            await t.request("GET", "extraction", "/api/v1/sov/s-1")
        assert len(server.seen) == 4
    assert leftovers(tmp_path) == []
