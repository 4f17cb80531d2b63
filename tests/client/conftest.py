"""Client tests: the emulator in-process, and a client pointed at it with fast polling and
zero-backoff retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from sovfixer_async import Client, PollPolicy, RetryPolicy
from sovfixer_async.emulator import run_emulator

#: Seconds an emulated job takes in tests.
JOB_SECONDS = 0.3


@pytest.fixture
async def emulator() -> AsyncIterator[Any]:
    async with run_emulator(job_seconds=JOB_SECONDS, seed=7) as emu:
        yield emu


def client_for(url: str, **options: Any) -> Client:
    options.setdefault("token", "test-token")
    options.setdefault("retry", RetryPolicy.no_wait())
    options.setdefault("poll", PollPolicy.fast())
    return Client(api_url=url, data_api_url=url, **options)


@pytest.fixture
def make_client(emulator: Any) -> Callable[..., Client]:
    """``make_client(**options)``: a (not yet entered) client of this test's emulator."""
    return lambda **options: client_for(emulator.url, **options)


@pytest.fixture
async def client(emulator: Any) -> AsyncIterator[Client]:
    async with client_for(emulator.url) as c:
        yield c


Stats = Callable[[], Awaitable[dict[str, Any]]]


@pytest.fixture
def stats(emulator: Any) -> Stats:
    """``await stats()``: the emulator's counters (``GET /_emulator/stats``)."""

    async def fetch() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(emulator.url + "/_emulator/stats") as r,
        ):
            r.raise_for_status()
            data: dict[str, Any] = await r.json()
            return data

    return fetch
