"""A worker's SQL: every read and write of an item, as blocking functions of one
transaction (run by ``Database.run`` in a worker thread). Operators' SQL is in
``_operators``.

Every claim is logged in ``ledger_claims`` (item, new epoch, worker, the database's time).
Writes by a worker name the lease ``epoch`` it holds and change nothing when another
claim has taken the item since (fencing). Every refused write is kept in
``ledger_evidence`` (append-only; ``status().fenced_writes`` counts them) with the job id
it carried, if any, which a held item adopts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from sovfixer_async.ledger._db import Tx
from sovfixer_async.ledger._types import (
    ACTIVE,
    HELD,
    KINDS,
    PLANNED,
    STATES,
    SUBMITTED,
    SUBMITTING,
    LedgerDataError,
    LedgerError,
)

#: The columns a worker reads back (all of them untrusted: checked where used).
_COLUMNS = (
    "id, kind, state, run_id, seq, params, input, input_name, input_size, client_ref, "
    "job_id, token, epoch, attempts, reason, duplicates"
)
_WRITABLE = frozenset(
    {"state", "client_ref", "job_id", "token", "reason", "lease_until", "lease_owner"}
)
#: Bytes of an item's parameters read back at most (they are small JSON).
MAX_PARAMS = 1 << 20
_ADVISORY_BASE = 7305841200


@frozen
class Item:
    """One work item as read back from the database, for the worker holding ``epoch``."""

    id: int
    kind: str
    state: str
    run_id: str | None
    seq: int | None
    params: dict[str, Any]
    input: bytes | None
    input_name: str | None
    client_ref: str | None
    job_id: str | None
    token: str | None
    epoch: int
    attempts: int
    reason: str | None
    duplicates: int


def _item(row: Sequence[Any]) -> Item:
    (item_id, kind, state, run_id, seq, params, data, name, size) = row[:9]
    (client_ref, job_id, token, epoch, attempts, reason, duplicates) = row[9:]
    if kind not in KINDS:
        raise LedgerDataError(f"ledger item {item_id} has an unknown kind")
    if not isinstance(params, str) or len(params) > MAX_PARAMS:
        raise LedgerDataError(f"ledger item {item_id} has unreadable parameters")
    try:
        decoded = json.loads(params)
    except ValueError:
        raise LedgerDataError(f"ledger item {item_id} has unreadable parameters") from None
    if not isinstance(decoded, dict):
        raise LedgerDataError(f"ledger item {item_id} has unreadable parameters")
    if state not in STATES:
        raise LedgerDataError(f"ledger item {item_id} has an unknown state")
    if run_id is not None:
        try:
            if str(uuid.UUID(run_id)) != run_id:
                raise ValueError
        except (TypeError, ValueError, AttributeError):
            raise LedgerDataError(f"ledger item {item_id} has a malformed run id") from None
    if seq is not None and (type(seq) is not int or not 0 < seq < 10**9):
        raise LedgerDataError(f"ledger item {item_id} has a malformed batch number")
    for value in (client_ref, job_id, token, reason, name):
        if value is not None and not isinstance(value, str):
            raise LedgerDataError(f"ledger item {item_id} has a malformed text column")
    blob = None if data is None else bytes(data)
    if blob is not None and len(blob) != size:
        raise LedgerDataError(f"ledger item {item_id}: its input is not the size recorded")
    return Item(
        int(item_id),
        kind,
        str(state),
        run_id,
        seq,
        decoded,
        blob,
        name,
        client_ref,
        job_id,
        token,
        int(epoch),
        int(attempts),
        reason,
        int(duplicates),
    )


# -- planning ----------------------------------------------------------------------------


def insert_item(
    tx: Tx,
    kind: str,
    params: Mapping[str, Any],
    data: bytes | None = None,
    name: str | None = None,
    run_id: str | None = None,
    seq: int | None = None,
) -> int:
    row = tx.one(
        "INSERT INTO ledger_items (kind, state, run_id, seq, params, input, input_name, "
        "input_size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, :now, :now) "
        "RETURNING id",
        (
            kind,
            PLANNED,
            run_id,
            seq,
            json.dumps(dict(params), separators=(",", ":")),
            data,
            name,
            len(data) if data is not None else 0,
        ),
    )
    assert row is not None
    return int(row[0])


# -- claims, leases, fencing ---------------------------------------------------------------

_RECOVERABLE = (
    f"state IN ('{SUBMITTING}', '{SUBMITTED}') AND (lease_until IS NULL OR lease_until < :now)"
)
_PLANNED_FREE = f"state = '{PLANNED}' AND (lease_until IS NULL OR lease_until < :now)"


def _claim_where(
    tx: Tx, where: str, params: list[Any], owner: str, lease: float, n: int
) -> list[tuple[int, int]]:
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = tx.q(
        "UPDATE ledger_items SET epoch = epoch + 1, lease_owner = ?, lease_until = :now + ?, "
        "attempts = attempts + 1 WHERE id IN (SELECT id FROM ledger_items WHERE "
        f"{where} ORDER BY id LIMIT ?{lock}) RETURNING id, epoch",
        [owner, lease, *params, n],
    )
    claimed = sorted((int(i), int(e)) for i, e in rows)
    _log_claims(tx, owner, claimed)
    return claimed


def _log_claims(tx: Tx, owner: str, claimed: Sequence[tuple[int, int]]) -> None:
    """Append each claim to ``ledger_claims`` (when an item was taken, by whom, at which
    epoch), in the claim's transaction."""
    for start in range(0, len(claimed), 200):
        chunk = claimed[start : start + 200]
        values = ", ".join("(?, ?, ?, :now)" for _ in chunk)
        tx.q(
            f"INSERT INTO ledger_claims (item_id, epoch, worker, at) VALUES {values}",
            [v for item_id, epoch in chunk for v in (item_id, epoch, owner)],
        )


def in_flight(tx: Tx, kind: str) -> int:
    """Server jobs of ``kind`` in flight (or about to be): what a per-kind cap counts."""
    row = tx.one(
        f"SELECT count(*) FROM ledger_items WHERE kind = ? AND (state IN ('{SUBMITTING}', "
        f"'{SUBMITTED}') OR (state = '{PLANNED}' AND lease_until >= :now))",
        (kind,),
    )
    return int(row[0]) if row else 0


def claim(
    tx: Tx, owner: str, n: int, lease: float, caps: Mapping[str, int]
) -> list[tuple[int, int]]:
    """Lease up to ``n`` items to ``owner``: ``(id, epoch)`` each.

    Items whose lease ran out come first (their job may be running); then planned ones,
    within each capped kind's room (``caps``: server jobs in flight per kind at most).
    """
    claimed = _claim_where(tx, _RECOVERABLE, [], owner, lease, n)
    capped = sorted(k for k in caps if k in KINDS)
    if len(claimed) < n:
        marks = ", ".join("?" for _ in capped)
        where = _PLANNED_FREE + (f" AND kind NOT IN ({marks})" if capped else "")
        claimed += _claim_where(tx, where, list(capped), owner, lease, n - len(claimed))
    for kind in capped:
        if len(claimed) >= n:
            break
        if tx.dialect == "postgresql":  # the count and the claim, one worker at a time
            tx.q("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_BASE + KINDS.index(kind),))
        room = max(0, caps[kind] - in_flight(tx, kind))
        if room:
            where = _PLANNED_FREE + " AND kind = ?"
            claimed += _claim_where(tx, where, [kind], owner, lease, min(room, n - len(claimed)))
    return claimed


def load(tx: Tx, item_id: int) -> Item:
    row = tx.one(f"SELECT {_COLUMNS} FROM ledger_items WHERE id = ?", (item_id,))
    if row is None:
        raise LedgerError(f"no ledger item {item_id}")
    return _item(row)


def write(tx: Tx, item_id: int, epoch: int, fields: Mapping[str, Any], *, dup: int = 0) -> bool:
    """Set ``fields`` of the item if the lease ``epoch`` still holds it; False if fenced."""
    unknown = set(fields) - _WRITABLE
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    names = sorted(fields)
    sets = "".join(f"{name} = ?, " for name in names)
    tx.q(
        f"UPDATE ledger_items SET {sets}duplicates = duplicates + ?, updated_at = :now "
        "WHERE id = ? AND epoch = ?",
        [*(fields[name] for name in names), dup, item_id, epoch],
    )
    return tx.rowcount == 1


def keep_evidence(
    tx: Tx, item_id: int, epoch: int, worker: str, job_id: str | None, token: str | None, note: str
) -> None:
    """Append a refused write (every one: ``status().fenced_writes`` counts them) and what
    it knew; a held item adopts the job it names."""
    tx.q(
        "INSERT INTO ledger_evidence (item_id, epoch, worker, job_id, token, note, at) "
        "VALUES (?, ?, ?, ?, ?, ?, :now)",
        (item_id, epoch, worker, job_id, token, note[:2000]),
    )
    if job_id is not None and token is not None:
        _adopt_if_held(tx, item_id, job_id, token)


def _adopt_if_held(tx: Tx, item_id: int, job_id: str, token: str) -> None:
    tx.q(
        f"UPDATE ledger_items SET state = '{SUBMITTED}', job_id = ?, token = ?, "
        "reason = 'adopted from a fenced-out worker''s evidence', epoch = epoch + 1, "
        f"lease_owner = NULL, lease_until = NULL, updated_at = :now WHERE id = ? "
        f"AND state = '{HELD}'",
        (job_id, token, item_id),
    )


def hold(tx: Tx, item_id: int, epoch: int, reason: str, seen: int = 0) -> bool:
    """Hold the item for an operator (fenced like ``write``); if a fenced-out worker's
    evidence names a job for it beyond the ``seen`` first ones (the caller read those and
    could not use them), adopt that job instead (the newest)."""
    fields = {"state": HELD, "reason": reason, "lease_owner": None, "lease_until": None}
    if not write(tx, item_id, epoch, fields):
        return False
    found = evidence(tx, item_id)
    if len(found) > seen and found[-1][1] is not None:
        _adopt_if_held(tx, item_id, found[-1][0], found[-1][1])
    return True


def evidence(tx: Tx, item_id: int) -> list[tuple[str, str | None]]:
    """``(job_id, token)`` of every refused write that carried a job, oldest first."""
    rows = tx.q(
        "SELECT job_id, token FROM ledger_evidence WHERE item_id = ? AND job_id IS NOT NULL "
        "ORDER BY id",
        (item_id,),
    )
    return [(str(job), token) for job, token in rows]


def release(
    tx: Tx, item_id: int, epoch: int, delay: float, reason: str, worker: str | None = None
) -> bool:
    """Give the item back, claimable again after ``delay`` seconds (a transient failure).

    Fenced like every write: refused (and, when ``worker`` is named, kept as evidence) if
    another claim has taken the item since."""
    tx.q(
        "UPDATE ledger_items SET lease_owner = NULL, lease_until = :now + ?, reason = ?, "
        "updated_at = :now WHERE id = ? AND epoch = ?",
        (delay, reason, item_id, epoch),
    )
    if tx.rowcount == 1:
        return True
    if worker is not None:
        keep_evidence(tx, item_id, epoch, worker, None, None, f"refused release: {reason}")
    return False


def heartbeat(
    tx: Tx, worker: str, host: str, held: Mapping[int, int], lease: float
) -> tuple[set[int], int]:
    """Renew the worker's registration and its leases: the ids still its own, and the
    number of live workers (a heartbeat within one lease)."""
    tx.q("UPDATE ledger_workers SET heartbeat_at = :now WHERE id = ?", (worker,))
    if tx.rowcount == 0:
        tx.q(
            "INSERT INTO ledger_workers (id, host, started_at, heartbeat_at) "
            "VALUES (?, ?, :now, :now)",
            (worker, host),
        )
    mine: set[int] = set()
    ids = sorted(held)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        tx.q(
            f"UPDATE ledger_items SET lease_until = :now + ? WHERE lease_owner = ? "
            f"AND id IN ({marks})",
            [lease, worker, *chunk],
        )
        rows = tx.q(
            f"SELECT id, epoch FROM ledger_items WHERE lease_owner = ? AND id IN ({marks})",
            [worker, *chunk],
        )
        mine.update(int(i) for i, e in rows if held.get(int(i)) == int(e))
    row = tx.one("SELECT count(*) FROM ledger_workers WHERE heartbeat_at > :now - ?", (lease,))
    return mine, max(1, int(row[0]) if row else 1)


def leave(tx: Tx, worker: str) -> None:
    tx.q("DELETE FROM ledger_workers WHERE id = ?", (worker,))


def remaining(tx: Tx) -> int:
    marks = ", ".join(f"'{s}'" for s in ACTIVE)
    row = tx.one(f"SELECT count(*) FROM ledger_items WHERE state IN ({marks})")
    return int(row[0]) if row else 0


# -- outputs and results -------------------------------------------------------------------


def add_outputs(tx: Tx, item_id: int, files: Sequence[tuple[str, int, str]]) -> None:
    tx.q("DELETE FROM ledger_outputs WHERE item_id = ?", (item_id,))
    for name, size, digest in files:
        tx.q(
            "INSERT INTO ledger_outputs (item_id, name, size, sha256, at) "
            "VALUES (?, ?, ?, ?, :now)",
            (item_id, name, size, digest),
        )


def put_results(tx: Tx, item_id: int, count: int, lines: bytes) -> None:
    tx.q("DELETE FROM ledger_results WHERE item_id = ?", (item_id,))
    tx.q(
        "INSERT INTO ledger_results (item_id, count, lines, at) VALUES (?, ?, ?, :now)",
        (item_id, count, lines),
    )
