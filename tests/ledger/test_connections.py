"""The ledger's database goes away for a moment (a restart, a failover, a proxy's idle
timeout ending a pooled PostgreSQL session): the job a worker just made is still recorded,
not known only to the log (and, for a bulk batch, held for an operator)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from sovfixer_async import Client
from sovfixer_async.ledger import DONE, Ledger, LedgerError
from sovfixer_async.ledger._db import Database, Tx

from .helpers import POSTGRES_ENV, SOVID, _postgres_schema, locations

T = TypeVar("T")

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


class Outage:
    """The ledger's database, refusing transactions from the moment the emulator has made
    ``after`` jobs: for ``seconds``, at most ``failures`` of them, and with ``fenced_only``
    only an item's fenced writes (a restart between a job's POST and its record, the
    worker's claims and heartbeats left alone)."""

    def __init__(
        self,
        db: Database,
        emulator: Any,
        after: int,
        *,
        seconds: float = math.inf,
        failures: float = math.inf,
        fenced_only: bool = False,
    ) -> None:
        self.db, self.emulator, self.after = db, emulator, after
        self.seconds, self.left, self.fenced_only = seconds, failures, fenced_only
        self.since: float | None = None
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    async def run(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        now = anyio.current_time()
        if self.since is None:
            made = sum((await self.emulator.stats())["jobs_created"].values())
            if made >= self.after:
                self.since = now
        fenced = getattr(fn, "__qualname__", "").endswith("_fenced.<locals>.run")
        if (
            self.since is not None
            and now - self.since < self.seconds
            and self.left > 0
            and (fenced or not self.fenced_only)
        ):
            self.left -= 1
            self.refused += 1
            raise LedgerError("ledger database error: the database system is starting up")
        return await self.db.run(fn, write=write)


@pytest.mark.parametrize("kind", ["output", "enhance_batch"])
async def test_a_job_made_while_the_ledger_is_briefly_gone_is_recorded_once_back(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path, kind: str
) -> None:
    if kind == "output":
        await ledger.plan_output(SOVID, "JSON", overwrite_existing=True)
    else:
        await ledger.plan_enhance(locations(3), sources=["PG"], batch_size=5)
    outage = Outage(ledger._db, emulator, after=1, failures=1, fenced_only=True)
    ledger._db = outage  # type: ignore[assignment]
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05, lease=5.0)
    assert outage.refused == 1
    status = await ledger.status()
    assert status.counts == {kind: {DONE: 1}}  # not held, not sent again
    assert sum((await emulator.stats())["jobs_created"].values()) == 1
    assert status.duplicates == 0


@pytest.mark.slow  # 3 s per backend: run with the soak and chaos tests
async def test_a_worker_rides_out_a_ledger_outage_and_makes_no_job_twice(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    for _ in range(3):
        await ledger.plan_output(SOVID, "JSON", overwrite_existing=True)
    await ledger.plan_enhance(locations(6), sources=["PG"], batch_size=2)
    down = Outage(ledger._db, emulator, after=2, seconds=1.0)
    ledger._db = down  # type: ignore[assignment]
    with anyio.fail_after(60):
        await ledger.work(
            client, tmp_path, exit_when_done=True, idle=0.05, lease=3.0, concurrency=2
        )
    assert down.refused > 3  # claims, heartbeats and item writes all met it
    status = await ledger.status()
    assert status.counts == {"output": {DONE: 3}, "enhance_batch": {DONE: 3}}
    created = (await emulator.stats())["jobs_created"]
    assert created["bulk_enhance"] == 3
    assert created["output"] == 3  # the leases (3 s) outlived the outage: none sent again
    assert status.duplicates == 0
