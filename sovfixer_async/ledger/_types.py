"""The ledger's public types: item kinds and states, what ``status()`` and ``held()``
answer, and its errors."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from sovfixer_async._errors import SOVFixerError

PARSE = "parse"
UPDATE = "update"
OUTPUT = "output"
ENHANCE = "enhance_batch"
KINDS = (PARSE, UPDATE, OUTPUT, ENHANCE)

PLANNED = "planned"
SUBMITTING = "submitting"
SUBMITTED = "submitted"
DONE = "done"
FAILED = "failed"
HELD = "held"
STATES = (PLANNED, SUBMITTING, SUBMITTED, DONE, FAILED, HELD)
#: States a worker still has something to do in.
ACTIVE = (PLANNED, SUBMITTING, SUBMITTED)
FINAL = (DONE, FAILED)


class LedgerError(SOVFixerError):
    """The ledger cannot do what was asked (bad URL, schema too new, unknown item...).

    Messages never hold the database password.
    """


class LedgerDataError(LedgerError):
    """A value read back from the ledger is unreadable or out of bounds (its item fails)."""


class FencedError(LedgerError):
    """A write by a worker whose lease on the item was taken over: refused (fencing)."""

    def __init__(self, item_id: int, epoch: int):
        super().__init__(f"ledger item {item_id}: lease epoch {epoch} was taken over")
        self.item_id = item_id
        self.epoch = epoch


@frozen
class LedgerStatus:
    """Counts of items by kind and state, duplicates counted, and live workers.

    ``fenced_writes``: writes refused because another claim had taken the item (a worker
    frozen or stalled past its lease), each kept as evidence; ``duplicates_by_kind``: the
    ``duplicates`` per kind (output requests sent again, batches resubmitted);
    ``fenced_jobs``: per kind, server jobs that refused writes carried and that their item
    did not adopt (made twice: paid for, waited on by nobody).
    """

    counts: dict[str, dict[str, int]]
    duplicates: int
    live_workers: int
    fenced_writes: int = 0
    duplicates_by_kind: dict[str, int] = field(factory=dict)
    fenced_jobs: dict[str, int] = field(factory=dict)

    def total(self, state: str | None = None) -> int:
        return sum(n for by in self.counts.values() for s, n in by.items() if state in (None, s))

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "duplicates": self.duplicates,
            "live_workers": self.live_workers,
            "fenced_writes": self.fenced_writes,
            "duplicates_by_kind": self.duplicates_by_kind,
            "fenced_jobs": self.fenced_jobs,
        }


@frozen
class HeldItem:
    """An item no worker will touch until an operator resolves it, and why."""

    id: int
    kind: str
    run_id: str | None
    seq: int | None
    reason: str
    #: Job ids refused writes carried for this item (append-only evidence).
    evidence: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "run_id": self.run_id,
            "seq": self.seq,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }


@frozen
class PlannedRun:
    """A bulk enrichment planned as batches: ``run_id`` names it for ``results()``."""

    run_id: str
    item_ids: tuple[int, ...]
    locations: int
