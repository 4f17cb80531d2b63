"""The per-token rate limit (issue 13): a token bucket per API token, 429 + a truthful
Retry-After, counted in the stats. The limiter's clock is moved by hand where it matters."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sovfixer_async.emulator import ratelimit
from sovfixer_async.emulator.ratelimit import RATE_LIMITER, RateLimiter, retry_after

pytestmark = pytest.mark.anyio

FORMATS = "/api/v1/output_formats"
BULK = {"locations": [{"id": "a", "address": "1 main st"}], "sources": ["PG"]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _status(api: Any, path: str = FORMATS, token: str = "test-token") -> tuple[int, Any]:
    headers = {"Authorization": f"Token {token}"}
    async with api.http.get(api.url(path), headers=headers) as r:
        await r.read()
        return r.status, r.headers.get("Retry-After")


async def test_burst_then_429_with_retry_after(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(rate_limit=0.01, burst=3)
    api = make_api(emu)
    answers = [await _status(api) for _ in range(5)]
    assert answers[:3] == [(200, None)] * 3
    # One token comes back every 100 s: that is what the server says, in whole seconds.
    assert answers[3:] == [(429, "100")] * 2
    async with api.http.get(api.url(FORMATS)) as r:
        body = await r.json()
        assert r.status == 429
        assert "throttled" in body["detail"]
    # Another token has its own bucket.
    assert await _status(api, token="someone-else") == (200, None)
    stats = await emu.stats()
    assert stats["rate_limited"] == 3
    assert stats["responses_by_status"]["429"] == 3
    assert stats["requests_total"] == 7
    assert stats["requests_by_route"][f"GET {FORMATS}"] == 7


async def test_retry_after_tells_the_truth(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    emu = await sovfixer_emulator_factory(rate_limit=0.4, burst=2)
    clock = Clock()
    emu.app[RATE_LIMITER].clock = clock
    api = make_api(emu)
    assert [(await _status(api))[0] for _ in range(2)] == [200, 200]
    status, wait = await _status(api)
    assert (status, wait) == (429, "3")  # 1 token / 0.4 per s = 2.5 s, rounded up
    clock.now += 2.4
    assert (await _status(api))[0] == 429  # not yet: the bucket holds 0.96 of a token
    clock.now += 0.6  # 3 s after the refusal, as told
    assert (await _status(api))[0] == 200
    assert await _status(api) == (429, "2")  # 0.2 of a token left: 0.8 / 0.4 = 2 s


async def test_refused_requests_do_nothing(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    emu = await sovfixer_emulator_factory(rate_limit=0.01, burst=1)
    api = make_api(emu)
    await api.post("/api/v1/bulk_enhance", json=BULK)
    async with api.http.post(api.url("/api/v1/bulk_enhance"), json=BULK) as r:
        assert r.status == 429
    stats = await emu.stats()
    assert stats["jobs_created"]["bulk_enhance"] == 1
    # The control surface is never limited.
    assert (await api.control("/_emulator/health"))["status"] == "ok"


async def test_no_limit_by_default(api: Any) -> None:
    for _ in range(50):
        assert (await _status(api))[0] == 200
    assert (await api.control("/_emulator/stats"))["rate_limited"] == 0


async def test_unauthenticated_requests_share_one_bucket(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(rate_limit=0.01, burst=1)
    async with aiohttp.ClientSession() as bare:
        statuses = []
        for _ in range(3):
            async with bare.get(emu.url + FORMATS) as r:
                statuses.append(r.status)
    assert statuses == [401, 429, 429]


def test_bucket_refill_is_capped_and_buckets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10.0, size=5.0, clock=clock)
    assert [limiter.take("a") for _ in range(5)] == [0.0] * 5
    assert limiter.take("a") == pytest.approx(0.1)
    clock.now += 3600  # an hour idle refills to the burst, no more
    assert [limiter.take("a") == 0.0 for _ in range(6)] == [True] * 5 + [False]
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 3)
    for key in "bcdef":
        limiter.take(key)
    assert list(limiter.buckets) == ["d", "e", "f"]


@pytest.mark.parametrize(
    ("wait", "header"), [(0.001, "1"), (0.999, "1"), (1.0, "1"), (1.2, "2"), (99.99, "100")]
)
def test_retry_after_rounds_up(wait: float, header: str) -> None:
    assert retry_after(wait) == header
