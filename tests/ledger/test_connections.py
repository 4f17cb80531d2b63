"""A PostgreSQL ledger's pooled connections die while idle (a database restart, a proxy's
idle timeout, an operator's pg_terminate_backend): the next transaction on one must not
fail, or a job id the ledger was about to record would be known only to the log."""

from __future__ import annotations

import os
from collections.abc import Iterator

import anyio
import pytest

from sovfixer_async.ledger import Ledger

from .helpers import POSTGRES_ENV, _postgres_schema, locations

pytestmark = pytest.mark.anyio


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    yield from _postgres_schema(base)


def _end_sessions(ledger: Ledger) -> int:
    """End the server sessions of the ledger's pooled connections (as a restart would)."""
    import psycopg

    pids = [conn.info.backend_pid for conn in ledger._db._all]  # type: ignore[attr-defined]
    base = os.environ[POSTGRES_ENV]
    with psycopg.connect(base, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(pids)


async def _busy(ledger: Ledger, n: int) -> None:
    """Use ``n`` pooled connections at once (so that the pool holds that many idle)."""
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(ledger.status)


async def test_a_transaction_on_a_connection_the_server_ended_runs_on_a_new_one(
    postgres_url: str,
) -> None:
    ledger = await Ledger.open(postgres_url, pool_size=4)
    try:
        await ledger.plan_enhance(locations(3), sources=["PG"], batch_size=2)
        await _busy(ledger, 4)
        assert _end_sessions(ledger) >= 2
        status = await ledger.status()  # each dead idle connection is dropped, not used
        assert sum(n for states in status.counts.values() for n in states.values()) == 2
        await _busy(ledger, 4)  # and the pool is whole again
    finally:
        await ledger.close()
