"""Claims, leases and fencing: two workers racing never hold one item; a frozen worker's
late write is refused, and a job id it carried is kept as evidence and adopted."""

from __future__ import annotations

import time
from functools import partial

import anyio
import pytest

from sovfixer_async.ledger import (
    DONE,
    HELD,
    PLANNED,
    SUBMITTED,
    FencedError,
    Ledger,
    LedgerError,
    _store,
)
from sovfixer_async.ledger._db import PostgresDatabase, Tx
from sovfixer_async.ledger._item import ItemWork

pytestmark = pytest.mark.anyio


async def plan_outputs(ledger: Ledger, n: int) -> list[int]:
    return [await ledger.plan_output(f"s-{i}", "JSON") for i in range(n)]


async def claim(
    ledger: Ledger, owner: str, n: int, lease: float = 30.0, **caps: int
) -> list[tuple[int, int]]:
    return await ledger._db.run(partial(_store.claim, owner=owner, n=n, lease=lease, caps=caps))


async def test_two_workers_racing_never_claim_one_item_twice(ledger_url: str) -> None:
    async with await Ledger.open(ledger_url) as first, await Ledger.open(ledger_url) as second:
        planned = await plan_outputs(first, 60)
        got: dict[str, list[int]] = {"a": [], "b": []}

        async def take(ledger: Ledger, owner: str) -> None:
            while claimed := await claim(ledger, owner, 3):
                got[owner].extend(item_id for item_id, _ in claimed)

        async with anyio.create_task_group() as tg:
            tg.start_soon(take, first, "a")
            tg.start_soon(take, second, "b")
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == planned


async def test_a_live_lease_is_not_claimed_and_an_expired_one_is_with_a_new_epoch(
    ledger: Ledger,
) -> None:
    (item_id,) = await plan_outputs(ledger, 1)
    [(_, first_epoch)] = await claim(ledger, "a", 5, lease=-1.0)
    await ledger._db.run(lambda tx: _store.write(tx, item_id, first_epoch, {"state": SUBMITTED}))
    # a lease that already ended; a submitted item whose lease ended is claimed again
    [(again, second_epoch)] = await claim(ledger, "b", 5, lease=60.0)
    assert again == item_id
    assert second_epoch == first_epoch + 1
    assert await claim(ledger, "c", 5) == []  # b's lease is live


async def test_a_frozen_workers_late_write_is_refused_and_its_job_kept_as_evidence(
    ledger: Ledger, tmp_path: object
) -> None:
    (item_id,) = await plan_outputs(ledger, 1)
    [(_, frozen_epoch)] = await claim(ledger, "frozen", 1, lease=-1.0)
    [(_, live_epoch)] = await claim(ledger, "live", 1)
    frozen = ItemWork(ledger._db, None, "frozen", item_id, frozen_epoch, tmp_path, False)  # type: ignore[arg-type]
    with pytest.raises(FencedError):
        await frozen.write(state=SUBMITTED, job_id="o-late", token='{"v":2}')
    item = await ledger._db.run(lambda tx: _store.load(tx, item_id))
    assert (item.state, item.job_id, item.epoch) == (PLANNED, None, live_epoch)
    evidence = await ledger._db.run(lambda tx: _store.evidence(tx, item_id))
    assert evidence == [("o-late", '{"v":2}')]
    live = ItemWork(ledger._db, None, "live", item_id, live_epoch, tmp_path, False)  # type: ignore[arg-type]
    await live.write(state=DONE)  # the holder's writes go through


async def test_evidence_of_a_held_item_adopts_its_job(ledger: Ledger, tmp_path: object) -> None:
    (item_id,) = await plan_outputs(ledger, 1)
    [(_, old)] = await claim(ledger, "frozen", 1, lease=-1.0)
    [(_, new)] = await claim(ledger, "successor", 1)
    successor = ItemWork(ledger._db, None, "successor", item_id, new, tmp_path, False)  # type: ignore[arg-type]
    await successor.end(HELD, "lost while submitting")
    assert [h.id for h in await ledger.held()] == [item_id]
    frozen = ItemWork(ledger._db, None, "frozen", item_id, old, tmp_path, False)  # type: ignore[arg-type]
    with pytest.raises(FencedError):
        await frozen.write(state=SUBMITTED, job_id="b-found", token="tok")
    item = await ledger._db.run(lambda tx: _store.load(tx, item_id))
    assert (item.state, item.job_id, item.token) == (SUBMITTED, "b-found", "tok")
    assert await ledger.held() == []


async def test_a_cap_on_jobs_in_flight_per_kind_is_checked_inside_the_claim(
    ledger_url: str,
) -> None:
    async with await Ledger.open(ledger_url) as first, await Ledger.open(ledger_url) as second:
        await plan_outputs(first, 10)
        got: list[int] = []

        async def take(ledger: Ledger, owner: str) -> None:
            for _ in range(5):
                got.extend(i for i, _ in await claim(ledger, owner, 4, output=3))

        async with anyio.create_task_group() as tg:
            tg.start_soon(take, first, "a")
            tg.start_soon(take, second, "b")
        assert len(got) == 3
        # one finishes: room for one more
        await first._db.run(
            lambda tx: tx.q("UPDATE ledger_items SET state = 'done' WHERE id = ?", (got[0],))
        )
        assert len(await claim(first, "a", 4, output=3)) == 1


async def test_a_released_item_waits_out_its_delay(ledger: Ledger) -> None:
    (item_id,) = await plan_outputs(ledger, 1)
    [(_, epoch)] = await claim(ledger, "a", 1)

    def release(tx: Tx) -> bool:
        return _store.release(tx, item_id, epoch, 3600.0, "try later")

    assert await ledger._db.run(release)
    assert await claim(ledger, "b", 1) == []


async def test_postgres_ends_the_transaction_of_a_worker_frozen_inside_it(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not ledger_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (a frozen SQLite writer holds the one write lock)")
    monkeypatch.setattr(PostgresDatabase, "IDLE_IN_TRANSACTION_SECONDS", 0.2)
    async with await Ledger.open(ledger_url) as frozen, await Ledger.open(ledger_url) as other:
        (item_id,) = await plan_outputs(frozen, 1)

        def freeze(tx: Tx) -> None:
            tx.q("SELECT id FROM ledger_items WHERE id = ? FOR UPDATE", (item_id,))
            time.sleep(1.0)  # frozen, holding the row's lock: the server ends the session
            tx.q("SELECT 1")

        with pytest.raises(LedgerError):
            await frozen._db.run(freeze)
        assert await claim(other, "b", 1) == [(item_id, 1)]
        assert await frozen.status()  # its pool replaced the ended connection
