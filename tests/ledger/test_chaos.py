"""Chaos (slow): 4 worker processes over a few hundred items, one of them SIGKILLed and
restarted every couple of seconds, against an emulator answering 5xx, resets and
ambiguous 502s. Nothing is lost, no parse or update is made twice, no batch is resent,
the request budget holds across the workers, and every item a killed worker held is
claimed again by another within its lease plus one claim poll (read from the ledger's own
rows at the kill and from its claims log)."""

from __future__ import annotations

import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from attrs import frozen

from sovfixer_async.emulator import run_emulator
from sovfixer_async.ledger import ACTIVE, DONE, ENHANCE, HELD, PARSE, UPDATE, Ledger
from sovfixer_async.ledger._db import Tx

from .helpers import ROWS, SOVID, parse_jobs_with, update_jobs_with, workbook

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TOKEN = "chaos-token"
WORKERS = 4
MAX_REQUESTS = 16  # across every live worker: each gets 16 // live
LEASE = 3.0
LOCATIONS = 50_000
#: The worker's pause between claim attempts when it claimed nothing (``work(idle=)``).
CLAIM_POLL = 1.0
#: How long past the end of its lease a killed worker's item may wait to be claimed again.
#: The protocol's part: the item is claimable as soon as its lease has ended (the claim's
#: ``lease_until < now``, on the database's clock, which is also the clock of the lease and
#: of the claims log, so no process's speed or clock enters the comparison), expired leases
#: are claimed before planned items, and a worker with a free slot claims at least every
#: CLAIM_POLL seconds (at once when one of its items ends). The margin, one more lease, is
#: for what the protocol does not bound: a free slot (each worker carries at most 16 items;
#: an item holds its slot for one emulated job of 0.5 s plus its polls and downloads, so
#: slots free up several times a second while items remain) and the claim's transaction
#: waiting for the SQLite write lock behind other workers' short transactions. A claim loop
#: that ignored expired leases fails this at the first kill of a worker holding a job.
PICKUP_WITHIN = CLAIM_POLL + LEASE


@frozen
class Lost:
    """An unfinished item a killed worker held at its death (from the ledger's row)."""

    item_id: int
    kind: str
    state: str
    epoch: int
    lease_until: float
    killed_at: float


def worker_command(ledger_url: str, emulator_url: str, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "sovfixer_async._cli", "worker",
        "--ledger", ledger_url, "--out", str(out), "--exit-when-done",
        "--concurrency", "16", "--max-requests", str(MAX_REQUESTS), "--lease", str(LEASE),
        "--reconcile-grace", "0.5", "--max-jobs", "enhance=8",
        "--api-url", emulator_url, "--data-api-url", emulator_url, "-q",
    ]  # fmt: skip


async def plan(ledger: Ledger, tmp_path: Path) -> str:
    for n in range(60):
        await ledger.plan_parse(workbook(f"B{n}"), filename=f"book-{n}.xlsx")
        await ledger.plan_update(SOVID, ROWS)
        await ledger.plan_output(SOVID, "JSON", revision=-1)
    csv = tmp_path / "locations.csv"
    csv.write_text(
        "id,address\n" + "".join(f"c{i},{i} ocean dr miami fl\n" for i in range(LOCATIONS))
    )
    run = await ledger.plan_enhance(csv, sources=["PG"], batch_size=1000)
    return run.run_id


async def test_killed_workers_lose_nothing_and_duplicate_nothing(
    ledger_url: str, tmp_path: Path
) -> None:
    rng = random.Random(5)
    async with (
        run_emulator(
            job_seconds=0.5,
            token=TOKEN,
            seed=17,
            fault_rate=0.03,
            reset_rate=0.02,
            ambiguous_rate=0.03,
            max_locations=LOCATIONS,
        ) as emu,
        await Ledger.open(ledger_url) as ledger,
    ):
        run_id = await plan(ledger, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOVFIXER_")}
        env.update(SOVFIXER_AUTH_TOKEN=TOKEN, HOME=str(tmp_path))
        command = worker_command(ledger_url, emu.url, tmp_path / "out")
        logs = [open(tmp_path / f"worker-{i}.log", "ab") for i in range(WORKERS)]  # noqa: SIM115, ASYNC230
        procs: list[Process] = [
            await anyio.open_process(command, env=env, stdout=logs[i], stderr=logs[i])
            for i in range(WORKERS)
        ]
        kills = 0
        lost: list[Lost] = []
        delays: list[tuple[Lost, float]] = []
        try:
            with anyio.fail_after(600):
                while (await ledger.status()).total() - _final(await ledger.status()) > 0:
                    await anyio.sleep(2.0)
                    lost = await check_pickups(ledger, lost, delays, final=False)
                    if kills < 40:
                        victim = rng.randrange(WORKERS)
                        if procs[victim].returncode is None:
                            procs[victim].send_signal(signal.SIGKILL)
                            await procs[victim].wait()
                            kills += 1
                            lost += await held_by(ledger, procs[victim].pid)
                        procs[victim] = await anyio.open_process(
                            command, env=env, stdout=logs[victim], stderr=logs[victim]
                        )
                for proc in procs:
                    await proc.wait()
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            for log in logs:
                log.close()

        assert await check_pickups(ledger, lost, delays, final=True) == []
        status = await ledger.status()
        stats = await emu.stats()
        rows = await ledger._db.run(
            lambda tx: tx.q("SELECT id, kind, state, client_ref, duplicates FROM ledger_items")
        )
    worst = max(delays, key=lambda d: d[1], default=None)
    print(  # the figures, for -s runs
        f"\nchaos: {kills} kills, {status.counts}, max_in_flight {stats['max_in_flight']}, "
        f"faults {stats['faults_injected']}, jobs {stats['jobs_created']}, "
        f"fenced writes {status.fenced_writes}, jobs made twice {status.fenced_jobs}, "
        f"lease {LEASE} s: {len(delays)} items of killed workers claimed again, "
        f"worst {worst[1]:.2f} s after the lease ended ({worst[0]})"
        if worst
        else "no killed worker held an item"
    )
    assert kills >= 5
    assert len(delays) >= 5, "too few kills caught a worker holding items to show anything"
    assert status.total() == len(rows) == 180 + LOCATIONS // 1000
    assert not [r for r in rows if r[2] in ACTIVE], "an item was lost"
    for _, kind, state, client_ref, _ in rows:
        if kind in (PARSE, UPDATE):
            assert state != HELD
            count = (parse_jobs_with if kind == PARSE else update_jobs_with)(emu, client_ref)
            assert count == (1 if state == DONE else count), (kind, state, client_ref)
            assert count <= 1
    batches = [r for r in rows if r[1] == ENHANCE]
    assert sum(r[4] for r in batches) == 0  # no batch resent
    assert stats["jobs_created"]["bulk_enhance"] <= len(batches)
    assert stats["max_in_flight"] <= MAX_REQUESTS + MAX_REQUESTS // WORKERS
    seen = set()
    async with await Ledger.open(ledger_url) as again:
        async for location_id, _ in again.results(run_id):
            seen.add(location_id)
    assert len(seen) == LOCATIONS


async def held_by(ledger: Ledger, pid: int) -> list[Lost]:
    """The unfinished items a (just killed) worker process held, as the ledger has them."""

    def run(tx: Tx) -> tuple[float, list[Any]]:
        (now,) = tx.one("SELECT :now") or (0.0,)
        rows = tx.q(
            "SELECT id, kind, state, epoch, lease_until FROM ledger_items WHERE lease_owner "
            "LIKE ? AND state IN ('planned', 'submitting', 'submitted') ORDER BY id",
            (f"%:{pid}:%",),  # worker ids are host:pid:random
        )
        return float(now), rows

    now, rows = await ledger._db.run(run, write=False)
    held = [Lost(int(i), k, s, int(e), float(until), now) for i, k, s, e, until in rows]
    for item in held:  # a lease runs from a claim or heartbeat, all before the kill
        assert item.lease_until <= item.killed_at + LEASE, item
    return held


async def check_pickups(
    ledger: Ledger, lost: list[Lost], delays: list[tuple[Lost, float]], *, final: bool
) -> list[Lost]:
    """Record when each lost item was next claimed (past its lease's end), fail one that
    was not within PICKUP_WITHIN of it; the items still waiting."""

    def run(tx: Tx) -> tuple[float, list[Any]]:
        (now,) = tx.one("SELECT :now") or (0.0,)
        claims = [
            tx.one(
                "SELECT at, worker FROM ledger_claims WHERE item_id = ? AND epoch > ? "
                "ORDER BY epoch LIMIT 1",
                (item.item_id, item.epoch),
            )
            for item in lost
        ]
        return float(now), claims

    now, claims = await ledger._db.run(run, write=False)
    waiting = []
    for item, claim in zip(lost, claims, strict=True):
        if claim is None:
            late = f"{item} was not claimed again within {PICKUP_WITHIN} s of its lease's end"
            assert not final, late
            assert now <= item.lease_until + PICKUP_WITHIN, late
            waiting.append(item)
            continue
        at = float(claim[0])
        assert at >= item.lease_until, (item, claim)  # never before the lease ended
        assert at - item.lease_until <= PICKUP_WITHIN, (item, claim)
        delays.append((item, at - item.lease_until))
    return waiting


def _final(status: Any) -> int:
    return sum(n for by in status.counts.values() for s, n in by.items() if s not in ACTIVE)
