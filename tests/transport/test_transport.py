"""Transport: retries, backoff, ambiguity, the limiter, error mapping, token hygiene.

A scripted aiohttp server stands in for the API here: each test says exactly what the
server answers, attempt by attempt (the emulator's faults are random by design).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from sovfixer_async._transport import (
    RetryBudget,
    Safety,
    Transport,
    backoff_delay,
    parse_retry_after,
)

pytestmark = pytest.mark.anyio

SECRET = "SECRET-TOKEN-0123456789"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Scripted:
    """An aiohttp server whose answers are a list of handlers, one per request."""

    def __init__(self) -> None:
        self.script: list[Handler] = []
        self.fallback: Handler = lambda r: _json({"ok": True})
        self.seen: list[tuple[float, str, str, dict[str, str], bytes]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            (time.monotonic(), request.method, request.path, dict(request.headers), body)
        )
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            handler = self.script.pop(0) if self.script else self.fallback
            return await handler(request)
        finally:
            self.in_flight -= 1


async def _json(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def answer(status: int, data: Any = None, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return await _json(
            data if data is not None else {"detail": f"status {status}"}, status, headers
        )

    return handler


async def drop(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response()


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    scripted.url = f"http://127.0.0.1:{port}"
    try:
        yield scripted
    finally:
        await runner.cleanup()


def make_config(url: str, **kwargs: Any) -> ClientConfig:
    kwargs.setdefault("retry", RetryPolicy.no_wait())
    return ClientConfig(api_url=url, data_api_url=url, token=SECRET, **kwargs)


@pytest.fixture
async def transport(server: Scripted) -> AsyncIterator[Transport]:
    t = Transport(make_config(server.url))
    await t.open()
    try:
        yield t
    finally:
        await t.close()


async def test_429_retry_after_is_honoured(server: Scripted) -> None:
    server.script = [answer(429, headers={"Retry-After": "0.2"}), answer(200, {"id": "x"})]
    policy = RetryPolicy(backoff_initial=0.0, backoff_max=0.0)
    t = Transport(make_config(server.url, retry=policy))
    await t.open()
    try:
        response = await t.request("GET", "extraction", "/api/v1/output_formats")
    finally:
        await t.close()
    assert response.json() == {"id": "x"}
    assert len(server.seen) == 2
    assert server.seen[1][0] - server.seen[0][0] >= 0.19


async def test_503_burst_then_success(server: Scripted, transport: Transport) -> None:
    server.script = [answer(503)] * 3
    response = await transport.request("GET", "extraction", "/x")
    assert response.status == 200
    assert len(server.seen) == 4
    assert transport.stats.retries == 3


async def test_503_past_attempts_raises_server_error(server: Scripted) -> None:
    server.script = [answer(503, {"detail": "maintenance"})] * 5
    t = Transport(make_config(server.url, retry=RetryPolicy.no_wait(attempts=3)))
    await t.open()
    try:
        with pytest.raises(InternalServerError) as info:
            await t.request("GET", "extraction", "/api/v1/sov/s-1", job_id="s-1")
    finally:
        await t.close()
    assert len(server.seen) == 3
    assert "maintenance" in str(info.value)
    assert "s-1" in str(info.value)


async def test_429_on_a_submission_is_retried(server: Scripted, transport: Transport) -> None:
    server.script = [answer(429, headers={"Retry-After": "0"}), answer(201, {"id": "new"})]
    response = await transport.request(
        "POST", "data", "/api/v1/bulk_enhance", json={"a": 1}, safety=Safety.SUBMIT
    )
    assert response.json() == {"id": "new"}
    assert len(server.seen) == 2


async def test_post_that_gets_502_is_not_retried(server: Scripted, transport: Transport) -> None:
    server.script = [answer(502, {"detail": "bad gateway"})]
    with pytest.raises(AmbiguousSubmissionError) as info:
        await transport.request(
            "POST",
            "extraction",
            "/api/v1/sov/s-1/initiate_update",
            safety=Safety.SUBMIT,
            job_id="s-1",
            what="initiate_update of SOV s-1",
        )
    assert len(server.seen) == 1
    assert "initiate_update of SOV s-1" in str(info.value)
    assert "502" in str(info.value)


async def test_dropped_post_is_ambiguous(server: Scripted, transport: Transport) -> None:
    server.script = [drop]
    with pytest.raises(AmbiguousSubmissionError):
        await transport.request(
            "POST", "data", "/api/v1/bulk_enhance", json={}, safety=Safety.SUBMIT
        )
    assert len(server.seen) == 1


async def test_resubmission_when_opted_in(server: Scripted) -> None:
    server.script = [answer(504)]
    policy = RetryPolicy.no_wait()
    t = Transport(
        make_config(
            server.url,
            retry=RetryPolicy(
                attempts=policy.attempts, backoff_initial=0, backoff_max=0, resubmit_ambiguous=True
            ),
        )
    )
    await t.open()
    try:
        response = await t.request(
            "POST", "data", "/api/v1/bulk_enhance", json={}, safety=Safety.SUBMIT
        )
    finally:
        await t.close()
    assert response.status == 200
    assert len(server.seen) == 2


async def test_get_502_and_reset_are_retried(server: Scripted, transport: Transport) -> None:
    server.script = [answer(502), drop, answer(504)]
    response = await transport.request("GET", "data", "/api/v1/bulk_enhance/abc")
    assert response.status == 200
    assert len(server.seen) == 4


async def test_start_conflict_on_retry_counts_as_success(
    server: Scripted, transport: Transport
) -> None:
    server.script = [answer(502), answer(409, {"detail": "already started"})]
    response = await transport.request(
        "POST",
        "extraction",
        "/api/v1/sov/update/s-1-r001/start",
        json={"extra_data": {}},
        safety=Safety.START,
    )
    assert response.status == 409
    assert len(server.seen) == 2


async def test_start_conflict_first_time_is_an_error(
    server: Scripted, transport: Transport
) -> None:
    server.script = [answer(409, {"detail": "already started"})]
    with pytest.raises(Exception, match="already started"):
        await transport.request("POST", "extraction", "/start", json={}, safety=Safety.START)


async def test_connection_refused_is_retried_then_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = Transport(make_config(f"http://127.0.0.1:{port}", retry=RetryPolicy.no_wait(attempts=3)))
    await t.open()
    try:
        with pytest.raises(APIConnectionError) as info:
            await t.request("POST", "extraction", "/api/v1/sov", json={}, safety=Safety.SUBMIT)
    finally:
        await t.close()
    assert not isinstance(info.value, AmbiguousSubmissionError)
    assert "cannot connect" in str(info.value)
    assert t.stats.retries == 2


async def test_error_mapping(server: Scripted, transport: Transport) -> None:
    server.script = [
        answer(
            400,
            {
                "detail": "Output format 'FOO' is not enabled. Allowed: JSON, AUDITOR",
                "allowed_output_formats": ["JSON", "AUDITOR"],
            },
        ),
        answer(404, {"detail": "Not found."}),
        answer(401, {"detail": "Invalid token."}),
    ]
    with pytest.raises(BadRequestError) as bad:
        await transport.request(
            "POST",
            "extraction",
            "/api/v1/sov/s-1/get_or_create_output",
            json={},
            safety=Safety.SUBMIT,
            job_id="s-1",
        )
    assert bad.value.allowed_formats == ("JSON", "AUDITOR")
    assert bad.value.status == 400
    assert "not enabled" in str(bad.value)
    assert "s-1" in str(bad.value)
    with pytest.raises(NotFoundError):
        await transport.request("GET", "extraction", "/api/v1/sov/nope")
    with pytest.raises(AuthenticationError) as denied:
        await transport.request("GET", "extraction", "/api/v1/sov/x")
    assert denied.value.json == {"detail": "Invalid token."}
    assert len(server.seen) == 3  # none of these are retried


async def test_rate_limited_error_keeps_the_hint(server: Scripted) -> None:
    server.script = [answer(429, headers={"Retry-After": "0"})] * 2
    t = Transport(make_config(server.url, retry=RetryPolicy.no_wait(attempts=2)))
    await t.open()
    try:
        with pytest.raises(RateLimitError) as info:
            await t.request("GET", "extraction", "/x")
    finally:
        await t.close()
    assert info.value.retry_after == 0.0


async def test_large_bulk_body_is_gzipped(server: Scripted, transport: Transport) -> None:
    payload = {"locations": [{"id": f"id-{i}", "address": "1 main st"} for i in range(3000)]}
    await transport.request(
        "POST", "data", "/api/v1/bulk_enhance", json=payload, compress=True, safety=Safety.SUBMIT
    )
    small = {"locations": [{"id": "a"}]}
    await transport.request(
        "POST", "data", "/api/v1/bulk_enhance", json=small, compress=True, safety=Safety.SUBMIT
    )
    (_, _, _, big_headers, big_body), (_, _, _, small_headers, small_body) = server.seen
    assert big_headers["Content-Encoding"] == "gzip"
    assert json.loads(big_body) == payload  # aiohttp's server inflates it on read
    assert "Content-Encoding" not in small_headers
    assert json.loads(small_body) == small
    assert big_headers["User-Agent"].startswith("sovfixer-async/")


async def test_limiter_bounds_requests_in_flight(server: Scripted) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.005)
        return await _json({})

    server.fallback = slow
    t = Transport(make_config(server.url, max_connections=50, max_concurrent_requests=10))
    await t.open()
    try:
        async with anyio.create_task_group() as tg:
            for i in range(500):
                tg.start_soon(t.request, "GET", "extraction", f"/api/v1/sov/s-{i}")
    finally:
        await t.close()
    assert len(server.seen) == 500
    assert server.max_in_flight == 10
    assert t.limiter.borrowed_tokens == 0


async def test_authorization_only_for_configured_origins(transport: Transport) -> None:
    assert transport.auth_headers(transport.config.api_url + "/api/v1/sov/x") == {
        "Authorization": f"Token {SECRET}"
    }
    assert transport.auth_headers("http://127.0.0.1:1/api/v1/sov/x") == {}
    assert transport.auth_headers("https://evil.example.com/api/v1/sov/x") == {}


async def test_token_never_leaks(server: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.script = [answer(503), answer(401, {"detail": "bad token"}), drop, drop, drop]
    t = Transport(make_config(server.url, retry=RetryPolicy.no_wait(attempts=3)))
    texts = [repr(t), repr(t.config), str(t.config)]
    await t.open()
    try:
        for _ in range(2):
            try:
                await t.request("GET", "extraction", "/api/v1/sov/s-1", job_id="s-1")
            except Exception as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    finally:
        await t.close()
    texts += [r.getMessage() for r in caplog.records]
    assert len(texts) > 5
    assert all(SECRET not in text for text in texts)
    assert server.seen[0][3]["Authorization"] == f"Token {SECRET}"


async def test_session_closed_after_cancellation(server: Scripted) -> None:
    entered = anyio.Event()
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return await _json({})

    server.fallback = hang
    t = Transport(make_config(server.url))
    await t.open()
    session = t.session
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(t.request, "GET", "extraction", "/x")
            await entered.wait()
            scope.cancel()
    await t.close()
    release.set()
    assert session.closed
    assert t.limiter.borrowed_tokens == 0


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 120))
    assert 118 <= (parse_retry_after(later, now=now) or 0) <= 121


@given(
    attempt=st.integers(1, 40),
    initial=st.floats(0, 5),
    cap=st.floats(0, 30),
    hint=st.one_of(st.none(), st.floats(0, 1000)),
)
def test_backoff_is_capped_and_honours_hints(
    attempt: int, initial: float, cap: float, hint: float | None
) -> None:
    policy = RetryPolicy(backoff_initial=initial, backoff_max=cap, max_retry_after=60)
    delay = backoff_delay(attempt, policy, hint, random.Random(attempt))
    ceiling = min(cap, initial * 2 ** (attempt - 1))
    if hint is None:
        assert 0 <= delay <= ceiling
    else:
        assert min(hint, 60) <= delay <= max(ceiling, min(hint, 60))


def test_retry_budget_limits_retries_to_a_share_of_requests() -> None:
    now = [0.0]
    policy = RetryPolicy(budget_ratio=0.5, budget_window=10, budget_min_per_second=1)
    budget = RetryBudget(policy, clock=lambda: now[0])
    for _ in range(100):
        budget.record_request()
    granted = sum(budget.try_spend() for _ in range(100))
    assert granted == 50
    now[0] = 11.0  # the window has passed: only the floor of 1/s x 10 s remains
    granted = sum(budget.try_spend() for _ in range(100))
    assert granted == 10
