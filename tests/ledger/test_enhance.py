"""Bulk enrichment through the ledger: planned batches, results merged from the ledger
(one per location), ambiguous batches held for an operator, never resent silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client, InvalidInputError
from sovfixer_async.ledger import DONE, HELD, Ledger, LedgerError

from .helpers import item, locations

pytestmark = pytest.mark.anyio
BULK = "POST /api/v1/bulk_enhance"


async def results_of(ledger: Ledger, run_id: str) -> dict[str, list[bool]]:
    found: dict[str, list[bool]] = {}
    async for location_id, by_source in ledger.results(run_id):
        assert location_id not in found
        found[location_id] = [r.is_success for r in by_source.values()]
    return found


async def test_a_planned_run_is_enhanced_batch_by_batch_and_merged_from_the_ledger(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    run = await ledger.plan_enhance(locations(25), sources=["PG"], batch_size=10)
    assert (len(run.item_ids), run.locations) == (3, 25)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert (await ledger.status()).counts == {"enhance_batch": {DONE: 3}}
    found = await results_of(ledger, run.run_id)
    assert sorted(found) == sorted(loc["id"] for loc in locations(25))
    assert all(len(v) == 1 for v in found.values())
    assert (await emulator.stats())["jobs_created"]["bulk_enhance"] == 3
    assert list((tmp_path / f"enhance-{run.run_id}").iterdir())


async def test_an_ambiguous_batch_is_held_then_resubmitted_by_an_operator(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    emulator.add_route_fault(f"{BULK} ambiguous times=1")
    run = await ledger.plan_enhance(locations(30), sources=["PG"], batch_size=10)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05, concurrency=1)
    (held,) = await ledger.held()
    assert held.kind == "enhance_batch"
    assert "ambiguous" in held.reason
    assert (await ledger.status()).counts["enhance_batch"] == {DONE: 2, HELD: 1}
    assert (await emulator.stats())["jobs_created"]["bulk_enhance"] == 3  # never resent
    found = await results_of(ledger, run.run_id)
    assert len(found) == 30  # the held batch's locations too, failed, saying why
    assert sum(1 for v in found.values() if v == [False]) >= 10
    await ledger.resolve(held.id, resubmit=True)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    assert (await item(ledger, held.id)).state == DONE
    assert (await ledger.status()).duplicates == 1
    assert (await emulator.stats())["jobs_created"]["bulk_enhance"] == 4


async def test_a_held_batch_adopts_the_job_the_operator_names(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    emulator.add_route_fault(f"{BULK} ambiguous times=1")
    run = await ledger.plan_enhance(locations(5), sources=["PG"], batch_size=10)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    (held,) = await ledger.held()
    (job_id,) = emulator.state.bulk_jobs  # what the server made of the ambiguous POST
    with pytest.raises(InvalidInputError):
        await ledger.resolve(held.id)
    await ledger.resolve(held.id, adopt=job_id)
    with pytest.raises(LedgerError, match="not held"):
        await ledger.resolve(held.id, resubmit=True)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    done = await item(ledger, held.id)
    assert (done.state, done.job_id) == (DONE, job_id)
    assert len(await results_of(ledger, run.run_id)) == 5
    assert (await emulator.stats())["jobs_created"]["bulk_enhance"] == 1


async def test_resubmission_of_ambiguous_batches_is_an_explicit_opt_in(
    ledger: Ledger, client: Client, emulator: Any, tmp_path: Path
) -> None:
    emulator.add_route_fault(f"{BULK} ambiguous times=1")
    run = await ledger.plan_enhance(locations(10), sources=["PG"], batch_size=5)
    await ledger.work(
        client, tmp_path, exit_when_done=True, idle=0.05, resubmit_ambiguous_bulk=True
    )
    assert await ledger.held() == []
    assert (await ledger.status()).duplicates == 1
    assert len(await results_of(ledger, run.run_id)) == 10


async def test_results_of_an_unknown_run_and_a_hostile_results_blob(
    ledger: Ledger, client: Client, tmp_path: Path
) -> None:
    with pytest.raises(LedgerError, match="no bulk run"):
        await results_of(ledger, "9b2c2a4e-8f7a-4a51-9a5e-0c1d2e3f4a5b")
    run = await ledger.plan_enhance(locations(3), sources=["PG"], batch_size=10)
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    (item_id,) = run.item_ids
    await ledger._db.run(
        lambda tx: tx.q("UPDATE ledger_results SET lines = ? WHERE item_id = ?", (b"junk", item_id))
    )
    with pytest.raises(LedgerError, match="unreadable"):
        await results_of(ledger, run.run_id)
