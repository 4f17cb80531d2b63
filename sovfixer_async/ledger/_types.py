"""The ledger's public types: item kinds and states, what ``status()`` and ``held()``
answer, and its errors."""

from __future__ import annotations

from typing import Any

from attrs import frozen

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
    """Counts of items by kind and state, duplicates counted, and live workers."""

    counts: dict[str, dict[str, int]]
    duplicates: int
    live_workers: int

    def total(self, state: str | None = None) -> int:
        return sum(n for by in self.counts.values() for s, n in by.items() if state in (None, s))

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "duplicates": self.duplicates,
            "live_workers": self.live_workers,
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
