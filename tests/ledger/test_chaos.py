"""Chaos (slow): 4 worker processes over a few hundred items, one of them SIGKILLed and
restarted every couple of seconds, against an emulator answering 5xx, resets and
ambiguous 502s. Nothing is lost, no parse or update is made twice, no batch is resent,
and the request budget holds across the workers."""

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

from sovfixer_async.emulator import run_emulator
from sovfixer_async.ledger import ACTIVE, DONE, ENHANCE, HELD, PARSE, UPDATE, Ledger

from .helpers import ROWS, SOVID, parse_jobs_with, update_jobs_with, workbook

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TOKEN = "chaos-token"
WORKERS = 4
MAX_REQUESTS = 16  # across every live worker: each gets 16 // live
LEASE = 3.0
LOCATIONS = 50_000


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
        try:
            with anyio.fail_after(600):
                while (await ledger.status()).total() - _final(await ledger.status()) > 0:
                    await anyio.sleep(2.0)
                    if kills < 40:
                        victim = rng.randrange(WORKERS)
                        if procs[victim].returncode is None:
                            procs[victim].send_signal(signal.SIGKILL)
                            await procs[victim].wait()
                            kills += 1
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

        status = await ledger.status()
        stats = await emu.stats()
        rows = await ledger._db.run(
            lambda tx: tx.q("SELECT id, kind, state, client_ref, duplicates FROM ledger_items")
        )
    print(  # the figures, for -s runs
        f"\nchaos: {kills} kills, {status.counts}, max_in_flight {stats['max_in_flight']}, "
        f"faults {stats['faults_injected']}, jobs {stats['jobs_created']}"
    )
    assert kills >= 5
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


def _final(status: Any) -> int:
    return sum(n for by in status.counts.values() for s, n in by.items() if s not in ACTIVE)
