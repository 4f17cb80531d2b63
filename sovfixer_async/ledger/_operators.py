"""What operators ask of the ledger (``status``, ``held``, ``resolve``, ``prune``), as
blocking functions of one transaction."""

from __future__ import annotations

from sovfixer_async._refs import new_client_ref
from sovfixer_async.ledger._db import Tx
from sovfixer_async.ledger._store import evidence
from sovfixer_async.ledger._types import (
    HELD,
    PARSE,
    PLANNED,
    SUBMITTED,
    UPDATE,
    HeldItem,
    LedgerError,
    LedgerStatus,
)


def status(tx: Tx, live_within: float) -> LedgerStatus:
    counts: dict[str, dict[str, int]] = {}
    for kind, state, n in tx.q(
        "SELECT kind, state, count(*) FROM ledger_items GROUP BY kind, state"
    ):
        counts.setdefault(str(kind), {})[str(state)] = int(n)
    dup_by_kind = {
        str(kind): int(n)
        for kind, n in tx.q(
            "SELECT kind, sum(duplicates) FROM ledger_items WHERE duplicates > 0 GROUP BY kind"
        )
    }
    live = tx.one(
        "SELECT count(*) FROM ledger_workers WHERE heartbeat_at > :now - ?", (live_within,)
    )
    fenced = tx.one("SELECT count(*) FROM ledger_evidence")
    # Server jobs that refused writes carried and that their item did not take as its own:
    # made by a worker fenced out (frozen past its lease), paid for, and waited on by nobody.
    fenced_jobs = {
        str(kind): int(n)
        for kind, n in tx.q(
            "SELECT kind, count(*) FROM (SELECT DISTINCT i.kind AS kind, e.item_id, e.job_id "
            "FROM ledger_evidence e JOIN ledger_items i ON i.id = e.item_id WHERE "
            "e.job_id IS NOT NULL AND (i.job_id IS NULL OR i.job_id <> e.job_id)) AS d "
            "GROUP BY kind"
        )
    }
    return LedgerStatus(
        counts,
        sum(dup_by_kind.values()),
        int(live[0]) if live else 0,
        fenced_writes=int(fenced[0]) if fenced else 0,
        duplicates_by_kind=dup_by_kind,
        fenced_jobs=fenced_jobs,
    )


def held(tx: Tx) -> list[HeldItem]:
    items = []
    for item_id, kind, run_id, seq, reason in tx.q(
        f"SELECT id, kind, run_id, seq, reason FROM ledger_items WHERE state = '{HELD}' ORDER BY id"
    ):
        jobs = tuple(job for job, _ in evidence(tx, int(item_id)))
        items.append(HeldItem(int(item_id), str(kind), run_id, seq, str(reason or ""), jobs))
    return items


def resolve(tx: Tx, item_id: int, job_id: str | None, token: str | None) -> None:
    """Adopt ``job_id`` (``token`` its handle's) or, with neither, plan the item again.

    A parse or update planned again gets a fresh ``client_ref`` (even one planned with the
    caller's own): under the old one, a successor looking the job up after a lost worker
    would find, and adopt, the very job the operator chose not to."""
    row = tx.one("SELECT state, kind FROM ledger_items WHERE id = ?", (item_id,))
    if row is None:
        raise LedgerError(f"no ledger item {item_id}")
    if row[0] != HELD:
        raise LedgerError(f"ledger item {item_id} is {row[0]}, not held")
    if job_id is not None:
        tx.q(
            f"UPDATE ledger_items SET state = '{SUBMITTED}', job_id = ?, token = ?, "
            "reason = 'adopted by an operator', epoch = epoch + 1, lease_owner = NULL, "
            "lease_until = NULL, updated_at = :now WHERE id = ?",
            (job_id, token, item_id),
        )
    else:
        client_ref = new_client_ref() if row[1] in (PARSE, UPDATE) else None
        tx.q(
            f"UPDATE ledger_items SET state = '{PLANNED}', job_id = NULL, token = NULL, "
            "client_ref = ?, "
            "reason = 'resubmitted by an operator', duplicates = duplicates + 1, "
            "epoch = epoch + 1, lease_owner = NULL, lease_until = NULL, updated_at = :now "
            "WHERE id = ?",
            (client_ref, item_id),
        )


def prune(tx: Tx, older_than: float) -> int:
    """Forget finished items (done or failed) untouched for ``older_than`` seconds (with
    their evidence, files and results), workers silent that long, and claims that old."""
    where = "state IN ('done', 'failed') AND updated_at < :now - ?"
    sub = f"SELECT id FROM ledger_items WHERE {where}"
    for table in ("ledger_evidence", "ledger_outputs", "ledger_results"):
        tx.q(f"DELETE FROM {table} WHERE item_id IN ({sub})", (older_than,))
    tx.q(f"DELETE FROM ledger_items WHERE {where}", (older_than,))
    removed = tx.rowcount
    tx.q("DELETE FROM ledger_workers WHERE heartbeat_at < :now - ?", (older_than,))
    tx.q("DELETE FROM ledger_claims WHERE at < :now - ?", (older_than,))
    return removed
