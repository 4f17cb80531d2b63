"""Ledger tests: every test runs on SQLite, and on PostgreSQL when
``SOVFIXER_TEST_POSTGRES_URL`` is set (each test in a schema of its own, dropped after)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sovfixer_async import Client, PollPolicy, RetryPolicy
from sovfixer_async.emulator import run_emulator
from sovfixer_async.ledger import Ledger

POSTGRES_ENV = "SOVFIXER_TEST_POSTGRES_URL"
#: Seconds an emulated job takes in these tests.
JOB_SECONDS = 0.2


def _postgres_schema(base: str) -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger's URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    yield from _postgres_schema(base)


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[Ledger]:
    async with await Ledger.open(ledger_url) as opened:
        yield opened


@pytest.fixture
async def emulator() -> AsyncIterator[Any]:
    async with run_emulator(job_seconds=JOB_SECONDS, seed=11) as emu:
        yield emu


def client_for(url: str, **options: Any) -> Client:
    options.setdefault("token", "test-token")
    options.setdefault("retry", RetryPolicy.no_wait())
    options.setdefault("poll", PollPolicy.fast())
    options.setdefault("reconcile_grace", 0.05)
    return Client(api_url=url, data_api_url=url, **options)


@pytest.fixture
async def client(emulator: Any) -> AsyncIterator[Client]:
    async with client_for(emulator.url) as c:
        yield c
