"""Ledger tests: every test runs on SQLite, and on PostgreSQL when
``SOVFIXER_TEST_POSTGRES_URL`` is set (each test in a schema of its own, dropped after)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sovfixer_async import Client
from sovfixer_async.emulator import run_emulator
from sovfixer_async.ledger import Ledger

from ..client.conftest import client_for as plain_client_for
from .helpers import POSTGRES_ENV, ledger_url

__all__ = ["POSTGRES_ENV", "ledger_url"]

#: Seconds an emulated job takes in these tests.
JOB_SECONDS = 0.2


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    async with await Ledger.open(ledger_url) as opened:
        yield opened


@pytest.fixture
async def emulator() -> AsyncIterator[Any]:
    async with run_emulator(job_seconds=JOB_SECONDS, seed=11) as emu:
        yield emu


def client_for(url: str, **options: Any) -> Client:
    """tests/client's test client, with a short reconcile grace (lost jobs are looked up)."""
    options.setdefault("reconcile_grace", 0.05)
    return plain_client_for(url, **options)


@pytest.fixture
async def client(emulator: Any) -> AsyncIterator[Client]:
    async with client_for(emulator.url) as c:
        yield c
