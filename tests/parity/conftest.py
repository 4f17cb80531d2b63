"""Issue 14 (Ping.Extraction parity) tests: an emulator whose token may act for TEAM_A,
clients with fast polling, and helpers to read what the emulator was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sovfixer_async import Client, PollPolicy, RetryPolicy
from sovfixer_async.emulator import run_emulator
from sovfixer_async.emulator.outputs import make_xlsx

SOVID = "s-no-ping-hggcsk"
TEAM_A = "7c6f7e0a-team-a"
TEAM_B = "team-b-not-allowed"


@pytest.fixture
async def emulator() -> AsyncIterator[Any]:
    async with run_emulator(job_seconds=0.2, seed=11, delegate_teams=(TEAM_A, "42")) as emu:
        yield emu


def client_for(url: str, **options: Any) -> Client:
    options.setdefault("token", "test-token")
    options.setdefault("retry", RetryPolicy.no_wait())
    options.setdefault("poll", PollPolicy.fast())
    return Client(api_url=url, data_api_url=url, **options)


@pytest.fixture
def make_client(emulator: Any) -> Callable[..., Client]:
    return lambda **options: client_for(emulator.url, **options)


@pytest.fixture
async def client(emulator: Any) -> AsyncIterator[Client]:
    async with client_for(emulator.url) as c:
        yield c


Stats = Callable[[], Awaitable[dict[str, Any]]]


@pytest.fixture
def stats(emulator: Any) -> Stats:
    """``await stats()``: the emulator's counters and logs over HTTP."""

    async def fetch() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(emulator.url + "/_emulator/stats") as r,
        ):
            r.raise_for_status()
            data: dict[str, Any] = await r.json()
            return data

    return fetch


def submitted(snapshot: dict[str, Any], route: str) -> list[dict[str, Any]]:
    """The logged fields of every request to ``route`` ("METHOD /template")."""
    return [entry for entry in snapshot["submitted"] if entry["route"] == route]


def workbook(path: Path, *names: str) -> Path:
    """A small SOV workbook at ``path`` with one building per name."""
    rows = [[name, f"{n} Main St", "Miami", "FL", 1000 * n] for n, name in enumerate(names, 1)]
    path.write_bytes(
        make_xlsx("Locations", ["Building Name", "Address", "City", "State", "TIV"], rows)
    )
    return path
