"""Reconciliation: the job an ambiguous submission did or did not make, found by its
``client_ref`` in the activity feed (``GET /api/v1/sov/activity``), never by guessing.

Parse jobs are SOVs whose own ``client_ref`` matches exactly (the feed's ``search`` is a
case-insensitive substring: the SDK keeps exact matches only); updates are found in their
SOV's ``all_updates``. A gateway may still be forwarding the request after it answered
502, so "none" is only answered after a second look-up past ``reconcile_grace`` seconds.
"""

from __future__ import annotations

from typing import Any

import anyio

from sovfixer_async._context import JobContext
from sovfixer_async._errors import (
    AmbiguousSubmissionError,
    DuplicateClientRefError,
    InvalidInputError,
)
from sovfixer_async._jobs import JobHandle, ParseJob
from sovfixer_async._refs import INITIATED, check_client_ref
from sovfixer_async._update_job import UpdateJob
from sovfixer_async._urls import check_id
from sovfixer_async._workflows import feeds

#: Activity entries one look-up reads at most (the feed is followed page by page).
MAX_SCANNED = 5000
PAGE_SIZE = 250


async def reconcile(context: JobContext, error: AmbiguousSubmissionError) -> JobHandle[Any] | None:
    """The live handle of the job ``error``'s submission made, or None if the server has none.

    Raises ``DuplicateClientRefError`` when several jobs carry the ``client_ref``.
    """
    if not isinstance(error, AmbiguousSubmissionError):
        raise InvalidInputError(
            f"reconcile takes an AmbiguousSubmissionError, not {type(error).__name__}",
            field="error",
        )
    handle = error.handle
    if isinstance(handle, JobHandle):  # the job exists; the ambiguous step came after it
        return handle
    if handle is not None:
        raise InvalidInputError(
            "a bulk run's ambiguous batches have no client_ref to look up: they are listed "
            "on run.unknown (submit_pending(unknown=True) resends them, at the risk of a "
            "duplicate)",
            field="error",
        )
    kind, client_ref, sovid = error.kind, error.client_ref, error.sovid
    if kind not in (ParseJob.kind, UpdateJob.kind) or client_ref is None:
        raise InvalidInputError(
            "this submission carried no client_ref (only parse and update submissions do; "
            "an ambiguous output request or bulk batch cannot be reconciled)",
            field="error",
        )
    check_client_ref(client_ref, "error.client_ref")
    for look in (1, 2):
        if kind == ParseJob.kind:
            found = await _parse_jobs(context, client_ref)
        else:
            found = await _update_jobs(context, check_id(sovid, "error.sovid"), client_ref)
        if len(found) > 1:
            raise DuplicateClientRefError(kind, client_ref, found)
        if found:
            if kind == ParseJob.kind:
                return ParseJob(context, found[0], client_ref=client_ref)
            return UpdateJob(context, found[0], client_ref=client_ref, stage=INITIATED)
        if look == 1:
            await anyio.sleep(context.config.reconcile_grace)
    return None


async def _parse_jobs(context: JobContext, client_ref: str) -> list[str]:
    found: list[str] = []
    scanned = 0
    async for item in feeds.activity(
        context,
        sovid=None,
        page_size=PAGE_SIZE,
        fields=["client_ref"],
        search=client_ref,
        origin=None,
        status=None,
        cursor_id=None,
    ):
        if item.client_ref == client_ref and item.id is not None:
            sovid = check_id(item.id, "activity id")
            if sovid not in found:
                found.append(sovid)
        scanned += 1
        if scanned >= MAX_SCANNED:
            break
    return found


async def _update_jobs(context: JobContext, sovid: str, client_ref: str) -> list[str]:
    found: list[str] = []
    scanned = 0
    async for item in feeds.activity(
        context,
        sovid=sovid,
        page_size=PAGE_SIZE,
        fields=["all_updates"],
        search=None,
        origin=None,
        status=None,
        cursor_id=None,
    ):
        if item.id == sovid:
            for update in (item.all_updates or [])[:MAX_SCANNED]:
                if update.client_ref == client_ref and update.sudid is not None:
                    sudid = check_id(update.sudid, "activity sudid")
                    if sudid not in found:
                        found.append(sudid)
        scanned += 1
        if scanned >= MAX_SCANNED:
            break
    return found
