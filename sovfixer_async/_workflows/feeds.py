"""The SOV history and activity feeds, followed page by page through their cursors.

A server that repeats a page (the cursor does not advance, or comes back to one already
followed) ends the feed: it must not loop forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sovfixer_async._context import JobContext
from sovfixer_async._urls import segment
from sovfixer_async.models import (
    ActivityPage,
    HistoryItem,
    HistoryPage,
    HistoryRecord,
    SOVData,
    structure,
)
from sovfixer_async.models._checks import require_nonempty_str


async def history(
    context: JobContext,
    *,
    start: datetime | str | None,
    cursor_id: str | None,
    page_size: int,
) -> AsyncIterator[HistoryRecord]:
    """Every record after ``start`` (or ``cursor_id``), until an empty page or a repeat."""
    if isinstance(start, datetime):
        start = start.strftime("%Y%m%d%H%M%S")
    followed: set[str | None] = {cursor_id}
    previous: list[str] = []
    while True:
        response = await context.transport.request(
            "GET",
            "extraction",
            "/api/v1/sov/history",
            params={"cursor_id": cursor_id, "start": start, "page_size": page_size},
            what="history",
        )
        page = structure(response.json(), HistoryPage)
        ids = [record.id for record in page.results]
        if not ids or ids == previous:  # empty, or the last page again: nothing new
            return
        for record in page.results:
            yield record
        cursor_id = page.cursor_id or ids[-1]
        if cursor_id in followed:  # the cursor did not advance: the next page is a repeat
            return
        followed.add(cursor_id)
        previous = ids


async def history_item(context: JobContext, record_id: str) -> HistoryItem:
    """One record of the history feed (its outputs, lineage, or error message)."""
    require_nonempty_str(record_id, "record_id")
    response = await context.transport.request(
        "GET",
        "extraction",
        f"/api/v1/sov/history/{segment(record_id, 'record_id')}",
        job_id=record_id,
        what="history item",
    )
    return structure(response.json(), HistoryItem)


async def activity(
    context: JobContext,
    *,
    sovid: str | None,
    page_size: int,
    fields: Sequence[str] | None,
    search: str | None,
    origin: str | None,
    status: str | None,
    cursor_id: str | None,
) -> AsyncIterator[SOVData]:
    """Recent SOV activity, newest pages first, following the cursor while more remain."""
    followed: set[str | None] = {cursor_id}
    while True:
        response = await context.transport.request(
            "GET",
            "extraction",
            "/api/v1/sov/activity",
            params={
                "id": sovid,
                "page_size": page_size,
                "fields": list(fields) if fields else None,
                "search": search,
                "origin": origin,
                "status": status,
                "cursor_id": cursor_id,
            },
            what="activity",
        )
        page = structure(response.json(), ActivityPage)
        for item in page.results:
            yield item
        if not page.has_remaining or not page.cursor_id or page.cursor_id in followed:
            return
        cursor_id = page.cursor_id
        followed.add(cursor_id)
