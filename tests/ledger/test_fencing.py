"""What fencing leaves behind: every claim logged (when an item was taken, by whom), every
refused write kept and counted in ``status()``, a job a fenced-out worker made and its item
did not adopt counted as made twice; a held item adopts evidence already there."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from sovfixer_async import Client
from sovfixer_async.ledger import HELD, PLANNED, SUBMITTED, FencedError, Ledger, _store
from sovfixer_async.ledger._db import Tx
from sovfixer_async.ledger._item import ItemWork
from sovfixer_async.ledger._worker import Worker, WorkOptions

from .helpers import claim, item, locations, set_fields, workbook

pytestmark = pytest.mark.anyio


def work(ledger: Ledger, worker: str, item_id: int, epoch: int, dest: Path) -> ItemWork:
    return ItemWork(ledger._db, None, worker, item_id, epoch, dest, False)  # type: ignore[arg-type]


async def claims_of(ledger: Ledger, item_id: int) -> list[tuple[int, str]]:
    rows = await ledger._db.run(
        lambda tx: tx.q(
            "SELECT epoch, worker FROM ledger_claims WHERE item_id = ? ORDER BY id", (item_id,)
        )
    )
    return [(int(e), str(w)) for e, w in rows]


async def test_every_claim_is_logged_with_its_epoch_and_worker_and_pruned_when_old(
    ledger: Ledger,
) -> None:
    first = await ledger.plan_output("s-1", "JSON")
    second = await ledger.plan_output("s-2", "JSON")
    assert await claim(ledger, "a", 5, lease=-1.0) == [(first, 1), (second, 1)]
    assert await claim(ledger, "b", 1) == [(first, 2)]  # a's lease had ended
    assert await claims_of(ledger, first) == [(1, "a"), (2, "b")]
    assert await claims_of(ledger, second) == [(1, "a")]
    times = await ledger._db.run(lambda tx: tx.q("SELECT at, :now FROM ledger_claims"))
    assert all(at <= now for at, now in times)  # the database's clock, as leases use
    await ledger._db.run(lambda tx: tx.q("UPDATE ledger_claims SET at = at - 100"))
    await ledger.prune(older_than=3600)
    assert await claims_of(ledger, first) == [(1, "a"), (2, "b")]
    await ledger.prune(older_than=50)
    assert await claims_of(ledger, first) == []  # bounded: the log is forgotten with age
    assert (await item(ledger, first)).state == PLANNED  # live items are kept


async def test_every_refused_write_is_kept_and_counted(ledger: Ledger, tmp_path: Path) -> None:
    item_id = await ledger.plan_output("s-1", "JSON")
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    [(_, new)] = await claim(ledger, "live", 1)
    frozen = work(ledger, "frozen", item_id, old, tmp_path)
    with pytest.raises(FencedError):
        await frozen.write(state=SUBMITTED)  # no job: still a refused write
    released = await ledger._db.run(
        lambda tx: _store.release(tx, item_id, old, 0.0, "its worker stopped", "frozen")
    )
    assert released is False
    status = await ledger.status()
    assert status.fenced_writes == 2
    assert status.fenced_jobs == {}
    assert status.as_dict()["fenced_writes"] == 2
    # the live holder's writes go through and are not counted
    await work(ledger, "live", item_id, new, tmp_path).write(state=SUBMITTED, dup=1)
    status = await ledger.status()
    assert (status.fenced_writes, status.duplicates_by_kind) == (2, {"output": 1})


async def test_a_job_a_fenced_out_worker_made_and_its_item_did_not_adopt_counts_as_made_twice(
    ledger: Ledger, tmp_path: Path
) -> None:
    item_id = await ledger.plan_parse(workbook(), filename="a.xlsx")
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    [(_, new)] = await claim(ledger, "live", 1)
    live = work(ledger, "live", item_id, new, tmp_path)
    await live.write(state=SUBMITTED, job_id="s-live", token="t-live")
    frozen = work(ledger, "frozen", item_id, old, tmp_path)
    for job in ("s-live", "s-late", "s-late"):  # its own job again counts once
        with pytest.raises(FencedError):
            await frozen.write(state=SUBMITTED, job_id=job, token="t")
    status = await ledger.status()
    assert status.fenced_writes == 3
    assert status.fenced_jobs == {"parse": 1}  # s-late; s-live is the item's own job
    assert (await item(ledger, item_id)).job_id == "s-live"


async def test_holding_an_item_adopts_a_job_a_fenced_out_worker_left_before(
    ledger: Ledger, tmp_path: Path
) -> None:
    # The frozen worker's late write lands while its successor is deciding (the item is
    # submitting, not yet held); the hold that follows adopts the job instead of waiting
    # for an operator.
    item_id = await ledger.plan_output("s-1", "JSON")
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    [(_, new)] = await claim(ledger, "successor", 1)
    with pytest.raises(FencedError):
        await work(ledger, "frozen", item_id, old, tmp_path).write(
            state=SUBMITTED, job_id="o-late", token="tok"
        )
    assert (await item(ledger, item_id)).state == PLANNED
    await work(ledger, "successor", item_id, new, tmp_path).end(HELD, "lost while submitting")
    done = await item(ledger, item_id)
    assert (done.state, done.job_id, done.token) == (SUBMITTED, "o-late", "tok")
    assert await ledger.held() == []


async def test_a_hold_by_a_fenced_out_worker_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    item_id = await ledger.plan_output("s-1", "JSON")
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    await claim(ledger, "successor", 1)
    with pytest.raises(FencedError):
        await work(ledger, "frozen", item_id, old, tmp_path).end(HELD, "too late")
    assert (await item(ledger, item_id)).state == PLANNED
    assert (await ledger.status()).fenced_writes == 1


async def test_a_stale_task_ending_leaves_its_workers_newer_claim_of_the_item(
    ledger: Ledger, tmp_path: Path
) -> None:
    # A worker whose own lease lapsed (a stall) claims the item again: the old task, fenced,
    # ends; the new claim must stay registered (its lease renewed by heartbeats).
    item_id = await ledger.plan_output("s-1", "JSON")
    [(_, old)] = await claim(ledger, "w", 1, lease=-1.0)
    [(_, new)] = await claim(ledger, "w", 1)
    worker = Worker(ledger._db, None, WorkOptions(tmp_path))  # type: ignore[arg-type]
    newer = anyio.CancelScope()
    worker.active[item_id] = (new, newer)
    await worker._carry(item_id, old, anyio.CancelScope())
    assert worker.active[item_id] == (new, newer)

    def epoch(tx: Tx) -> int:
        return _store.load(tx, item_id).epoch

    assert await ledger._db.run(epoch) == new


async def test_a_batch_whose_evidence_is_unreadable_is_held_not_adopted(
    ledger: Ledger, client: Client, tmp_path: Path
) -> None:
    run = await ledger.plan_enhance(locations(2), sources=["PG"], batch_size=10)
    (item_id,) = run.item_ids
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    await set_fields(ledger, item_id, state="submitting")
    await ledger._db.run(
        lambda tx: _store.keep_evidence(tx, item_id, old, "frozen", "b-1", "not a token", "late")
    )
    await ledger.work(client, tmp_path, exit_when_done=True, idle=0.05)
    (held,) = await ledger.held()
    assert (held.id, held.evidence) == (item_id, ("b-1",))  # for the operator to judge
