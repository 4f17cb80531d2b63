"""Every batch of a run, accepted or not, and how a run token records them.

A batch is ``accepted`` (the server gave it a job id), ``pending`` (refused, or never
sent: ``run.submit_pending()`` sends it) or ``unknown`` (its submission was ambiguous: the
server may have made the job; it is never resubmitted silently).
"""

from __future__ import annotations

from typing import Any

from attrs import define

from sovfixer_async._bulk._manifest import (
    ACCEPTED,
    MAX_BATCHES,
    PENDING,
    UNKNOWN,
    Entry,
    Manifest,
)
from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._jobs import BulkEnhanceBatch
from sovfixer_async._urls import check_id


@define
class BatchSlot:
    """One batch of a run: its number (from 1), state, job handle once accepted."""

    number: int
    state: str
    #: Locations in the batch; None when unknown (a run resumed without its manifest).
    count: int | None
    handle: BulkEnhanceBatch | None = None
    #: Why the batch is pending or unknown (the error its submission met).
    detail: str | None = None

    @property
    def label(self) -> str:
        if self.handle is not None:
            return f"batch {self.number} ({self.handle.id})"
        return f"batch {self.number} ({self.state})"


def token_fields(slots: list[BatchSlot]) -> dict[str, Any]:
    accepted = [s for s in slots if s.state == ACCEPTED and s.handle is not None]
    return {
        "batches": [s.handle.id for s in accepted if s.handle is not None],
        "numbers": [s.number for s in accepted],
        "pending": [s.number for s in slots if s.state == PENDING],
        "unknown": [s.number for s in slots if s.state not in (ACCEPTED, PENDING)],
        "total": len(slots),
    }


def _numbers(data: dict[str, Any], name: str, total: int) -> list[int]:
    value = data.get(name, [])
    if (
        not isinstance(value, list)
        or len(value) > total
        or not all(type(n) is int and 1 <= n <= total for n in value)
    ):
        raise InvalidInputError(f"bulk run token has a bad {name} list", field=f"token.{name}")
    return list(value)


def slots_from_token(context: JobContext, data: dict[str, Any]) -> list[BatchSlot]:
    """The batches a (parsed, untrusted) run token lists, every field checked."""
    batches = data.get("batches")
    if not isinstance(batches, list) or len(batches) > MAX_BATCHES:
        raise InvalidInputError("bulk run token has no batch ids", field="token")
    ids = [check_id(b, f"token.batches[{i}]") for i, b in enumerate(batches)]
    total = data.get("total", len(ids))
    if type(total) is not int or not 0 <= total <= MAX_BATCHES:
        raise InvalidInputError("bulk run token has a bad total", field="token.total")
    numbers = (
        _numbers(data, "numbers", total) if "numbers" in data else list(range(1, len(ids) + 1))
    )
    pending = _numbers(data, "pending", total)
    unknown = _numbers(data, "unknown", total)
    if len(numbers) != len(ids) or sorted(numbers + pending + unknown) != list(range(1, total + 1)):
        raise InvalidInputError("bulk run token's batch numbers do not add up", field="token")
    if total == 0:
        raise InvalidInputError("bulk run token has no batch ids", field="token")
    slots: dict[int, BatchSlot] = {}
    for number, job_id in zip(numbers, ids, strict=True):
        slots[number] = BatchSlot(number, ACCEPTED, None, BulkEnhanceBatch(context, job_id))
    for number in pending:
        slots[number] = BatchSlot(number, PENDING, None)
    for number in unknown:
        slots[number] = BatchSlot(number, UNKNOWN, None)
    return [slots[n] for n in range(1, total + 1)]


def apply_manifest(context: JobContext, slots: list[BatchSlot], manifest: Manifest) -> None:
    """Bring token-made slots up to date with the (newer) manifest: accepted > unknown >
    pending, whoever says it; two different job ids for one batch are refused."""
    if len(manifest.entries) != len(slots):
        raise InvalidInputError(
            "the run's manifest and its token disagree on the number of batches", field="token"
        )
    for slot, entry in zip(slots, manifest.entries, strict=True):
        slot.count = entry.count
        _merge(context, slot, entry)


def _merge(context: JobContext, slot: BatchSlot, entry: Entry) -> None:
    if entry.state == ACCEPTED:
        assert entry.job_id is not None
        if slot.handle is not None and slot.handle.id != entry.job_id:
            raise InvalidInputError(
                f"batch {slot.number}: the token says job {slot.handle.id}, the manifest "
                f"{entry.job_id}",
                field="token",
            )
        if slot.handle is None:
            slot.handle = BulkEnhanceBatch(context, entry.job_id)
        slot.state = ACCEPTED
    elif entry.state == UNKNOWN and slot.state == PENDING:
        slot.state = UNKNOWN


def manifest_of(slots: list[BatchSlot], sources: tuple[str, ...]) -> Manifest:
    entries = [
        Entry(
            s.number,
            s.state if s.state in (ACCEPTED, PENDING) else UNKNOWN,
            s.handle.id if s.state == ACCEPTED and s.handle is not None else None,
            s.count or 1,
        )
        for s in slots
    ]
    return Manifest(list(sources), entries)
