"""The SOV history and activity feeds, followed page by page through their cursors.

A server that repeats a page (the cursor does not advance, or comes back to one already
followed) ends a one-off feed: it must not loop forever. A followed history feed
(``follow=True``) instead polls every ``interval`` seconds for records newer than its
cursor, as the official monitor example does, and drops records it has already handed out.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio

from sovfixer_async._context import JobContext
from sovfixer_async._errors import InvalidInputError
from sovfixer_async._poll_policy import missed_poll
from sovfixer_async._urls import check_id, segment
from sovfixer_async.models import (
    ActivityPage,
    HistoryItem,
    HistoryPage,
    HistoryRecord,
    SOVData,
    structure,
)
from sovfixer_async.models._checks import require_nonempty_str

#: The server's page size bounds (contract 3.11, 3.13).
MAX_PAGE_SIZE = 250
#: Ids a followed feed remembers to drop repeats (a bounded window, newest kept).
SEEN_WINDOW = 10_000
#: Cursors remembered to tell a server going round in circles (a bounded window).
FOLLOWED_WINDOW = 1_000

logger = logging.getLogger("sovfixer_async")


def _page_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"must be an int from 1 to {MAX_PAGE_SIZE}", field="page_size")
    return value


def compact_time(value: datetime | str | None, field: str) -> str | None:
    """A time filter as the API takes it: UTC ``%Y%m%d%H%M%S``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # naive: taken as UTC already, as the official SDK does
            value = value.astimezone(UTC)
        return value.strftime("%Y%m%d%H%M%S")
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        raise InvalidInputError(
            "expected a datetime or a UTC time as YYYYMMDDHHMMSS (e.g. 20240101130000)",
            field=field,
        )
    return value


class HistoryFeed(AsyncIterator[HistoryRecord]):
    """``async for record in client.history(...)``; ``cursor`` is where it has got to.

    ``cursor`` is the id of the last record handed out (or the ``cursor_id`` it began
    with): store it, and pass it back as ``cursor_id=`` to carry on after that record in
    this or a later process. ``follow=True`` never ends by itself: it polls every
    ``interval`` seconds for new records (``break`` or cancel to stop).
    """

    def __init__(
        self,
        context: JobContext,
        *,
        start: datetime | str | None,
        cursor_id: str | None,
        page_size: int,
        follow: bool,
        interval: float,
    ) -> None:
        if cursor_id is not None:
            check_id(cursor_id, "cursor_id")
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise InvalidInputError("must be a number of seconds", field="interval")
        if not (0 < interval < math.inf):
            raise InvalidInputError("must be a finite number of seconds > 0", field="interval")
        self._context = context
        self._start = compact_time(start, "start")
        self._page_size = _page_size(page_size)
        self._follow = follow
        self._interval = float(interval)
        #: The id of the last record handed out (where to carry on from).
        self.cursor: str | None = cursor_id
        #: Pages fetched so far.
        self.polls = 0
        #: Polls of a followed feed that failed and were tried again ``interval`` later.
        self.missed = 0
        self._records = self._run()

    def __aiter__(self) -> HistoryFeed:
        return self

    async def __anext__(self) -> HistoryRecord:
        return await anext(self._records)

    async def aclose(self) -> None:
        await self._records.aclose()

    async def _page(self, cursor: str | None) -> HistoryPage:
        self.polls += 1
        response = await self._context.transport.request(
            "GET",
            "extraction",
            "/api/v1/sov/history",
            params={"cursor_id": cursor, "start": self._start, "page_size": self._page_size},
            what="history",
        )
        return structure(response.json(), HistoryPage)

    async def _run(self) -> AsyncGenerator[HistoryRecord, None]:
        seen: set[str] = set()
        order: deque[str] = deque()
        followed: deque[str | None] = deque([self.cursor], maxlen=FOLLOWED_WINDOW)
        server_cursor = self.cursor
        while True:
            try:
                page = await self._page(server_cursor)
            except Exception as exc:
                # a followed feed outlives the network, a 5xx or a garbled page; it ends at
                # an answer that will not change (401, 403, 400: its cursor is unknown...)
                if not (self._follow and missed_poll(exc)):
                    raise
                self.missed += 1
                logger.info("history feed: missed poll (%s); trying again", exc)
                await anyio.sleep(self._interval)
                continue
            fresh = [record for record in page.results if record.id not in seen]
            for record in fresh:
                seen.add(record.id)
                order.append(record.id)
                if len(order) > SEEN_WINDOW:
                    seen.discard(order.popleft())
                self.cursor = record.id
                yield record
            # An empty page may omit or null its cursor: keep the one we had.
            ids = [record.id for record in page.results]
            advanced = page.cursor_id or (ids[-1] if ids else None) or server_cursor
            repeat = advanced in followed
            if not repeat:
                followed.append(advanced)
            server_cursor = advanced
            full = len(page.results) >= self._page_size
            if fresh and full and not repeat:
                continue  # more may be waiting right now
            if not self._follow:
                if not fresh or repeat:
                    return
                continue
            await anyio.sleep(self._interval)


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


def _names(value: str | Sequence[str] | None, field: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    for index, item in enumerate(items):
        require_nonempty_str(item, f"{field}[{index}]")
    return items


def activity_params(
    *,
    sovid: str | None,
    page_size: int,
    fields: Sequence[str] | None,
    search: str | None,
    origin: str | None,
    status: str | None,
    company__short_name: str | Sequence[str] | None,
    division__short_name: str | Sequence[str] | None,
    pingid: str | None,
    completed_time: dict[str, datetime | str | None],
) -> dict[str, Any]:
    """The query of ``GET /api/v1/sov/activity``, checked (cursors are added per page)."""
    if fields is not None and (
        isinstance(fields, str) or not all(isinstance(f, str) and f.strip() for f in fields)
    ):
        raise InvalidInputError("expected a list of field names", field="fields")
    params: dict[str, Any] = {
        "id": sovid,
        "page_size": _page_size(page_size),
        "fields": list(fields) if fields else None,
        "search": search,
        "origin": origin,
        "status": status,
        "company__short_name": _names(company__short_name, "company__short_name"),
        "division__short_name": _names(division__short_name, "division__short_name"),
        "pingid": pingid,
    }
    for op, value in completed_time.items():
        params[f"completed_time__{op}"] = compact_time(value, f"completed_time__{op}")
    return params


def activity(
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
    """Activity with the common filters (what ``client.reconcile`` looks through)."""
    params = activity_params(
        sovid=sovid,
        page_size=page_size,
        fields=fields,
        search=search,
        origin=origin,
        status=status,
        company__short_name=None,
        division__short_name=None,
        pingid=None,
        completed_time={},
    )
    return activity_pages(context, params, cursor_id=cursor_id, prev_cursor_id=None)


async def activity_pages(
    context: JobContext,
    params: dict[str, Any],
    *,
    cursor_id: str | None,
    prev_cursor_id: str | None,
) -> AsyncIterator[SOVData]:
    """Activity pages, following ``cursor_id`` (or ``prev_cursor_id`` backwards).

    Ends on an empty page, a page without a cursor onwards, ``has_remaining`` false, or a
    cursor already followed (a server repeating itself).
    """
    backwards = cursor_id is None and prev_cursor_id is not None
    cursor = prev_cursor_id if backwards else cursor_id
    if cursor is not None:
        check_id(cursor, "prev_cursor_id" if backwards else "cursor_id")
    name = "prev_cursor_id" if backwards else "cursor_id"
    followed: set[str | None] = {cursor}
    while True:
        response = await context.transport.request(
            "GET",
            "extraction",
            "/api/v1/sov/activity",
            params={**params, name: cursor},
            what="activity",
        )
        page = structure(response.json(), ActivityPage)
        for item in page.results:
            yield item
        onwards = page.prev_cursor_id if backwards else page.cursor_id
        if not page.results or not onwards or onwards in followed:
            return
        if not backwards and page.has_remaining is False:
            return
        cursor = onwards
        followed.add(cursor)
