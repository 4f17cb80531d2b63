"""Ping.Extraction feeds: the history of completed jobs and the activity list (3.11, 3.12)."""

from __future__ import annotations

import bisect

from aiohttp import web

from sovfixer_async.emulator import catalog, jobs, views
from sovfixer_async.emulator.extraction import _state
from sovfixer_async.emulator.protocol import (
    BadRequest,
    Body,
    NotFound,
    origin_of,
    parse_compact,
    parse_int,
    query_body,
)
from sovfixer_async.emulator.state import Sov

routes = web.RouteTableDef()

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250


def page_size_of(body: Body) -> int:
    size = parse_int(body.get("page_size", DEFAULT_PAGE_SIZE), "page_size")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}.", "page_size")
    return size


@routes.get("/api/v1/sov/history", name="history")
async def history(request: web.Request) -> web.Response:
    state = _state(request)
    query = query_body(request)
    size = page_size_of(query)
    start = query.get_str("start")
    cursor = query.get_str("cursor_id")
    jobs.advance(state)
    records = state.history
    begin = 0
    if start is not None:
        begin = bisect.bisect_left(
            records, parse_compact(start, "start"), key=lambda r: r.completed
        )
    if cursor is not None:
        index = state.history_index.get(cursor)
        if index is None:
            raise BadRequest(f"Unknown cursor_id {cursor!r}.", "cursor_id")
        begin = max(begin, index + 1)
    page = records[begin : begin + size]
    return web.json_response(
        {
            "results": [views.history_row(r) for r in page],
            "cursor_id": page[-1].id if page else cursor,
        }
    )


@routes.get("/api/v1/sov/history/{id}", name="history_item")
async def history_item(request: web.Request) -> web.Response:
    state = _state(request)
    jobs.advance(state)
    ident = request.match_info["id"]
    index = state.history_index.get(ident)
    if index is None:
        raise NotFound("History record", ident)
    return web.json_response(views.history_item(state, state.history[index], origin_of(request)))


ACTIVITY_STATUSES = frozenset(catalog.ACTIVITY_STATUSES)
ORIGINS = frozenset(catalog.ORIGINS)


@routes.get("/api/v1/sov/activity", name="activity")
async def activity(request: web.Request) -> web.Response:
    state = _state(request)
    query = query_body(request)
    size = page_size_of(query)
    fields = [
        f.strip() for v in query.get_list("fields") or [] for f in str(v).split(",") if f.strip()
    ]
    known = views.ACTIVITY_FIELDS | views.EXAMPLE_ACTIVITY_FIELDS
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}.", "fields")
    status = query.get_str("status")
    if status is not None and status not in ACTIVITY_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(sorted(ACTIVITY_STATUSES))}.", "status")
    origin_filter = query.get_str("origin")
    if origin_filter is not None and origin_filter not in ORIGINS:
        raise BadRequest("origin must be api or email.", "origin")
    bounds = {
        op: parse_compact(value, f"completed_time__{op}")
        for op in ("gt", "gte", "lt", "lte")
        if (value := query.get_str(f"completed_time__{op}")) is not None
    }
    now = jobs.advance(state)
    matches = [
        sov
        for sov in reversed(state.sovs.values())
        if _activity_match(sov, query, status, origin_filter, bounds, now)
    ]
    ids = [s.id for s in matches]
    cursor, prev_cursor = query.get_str("cursor_id"), query.get_str("prev_cursor_id")
    if cursor is not None:
        begin = _position(ids, cursor, "cursor_id") + 1
    elif prev_cursor is not None:
        begin = max(0, _position(ids, prev_cursor, "prev_cursor_id") - size)
    else:
        begin = 0
    page = matches[begin : begin + size]
    remaining = max(0, len(matches) - begin - len(page))
    origin = origin_of(request)
    results = []
    for sov in page:
        entry = views.activity_entry(state, sov, now, origin)
        if fields:
            entry = {k: v for k, v in entry.items() if k in fields or k == "id"}
        results.append(entry)
    return web.json_response(
        {
            "results": results,
            "cursor_id": page[-1].id if page and remaining else None,
            "prev_cursor_id": page[0].id if page and begin > 0 else None,
            "remaining_count": remaining,
            "has_remaining": remaining > 0,
            "total_count": len(matches),
            "total_size_without_cursors": str(len(matches)),
        }
    )


def _position(ids: list[str], cursor: str, field: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise BadRequest(f"Unknown {field} {cursor!r}.", field) from None


def _activity_match(
    sov: Sov,
    query: Body,
    status: str | None,
    origin: str | None,
    bounds: dict[str, float],
    now: float,
) -> bool:
    wanted_id = query.get_str("id")
    if wanted_id is not None and sov.id != wanted_id:
        return False
    if origin == "email" or query.get_str("pingid") is not None:
        return False  # every emulated SOV arrived through the API and has no Ping ID
    if status is not None and views.STATUS_LETTERS[views.job_status(sov.parse, now)] != status:
        return False
    for name in ("company__short_name", "division__short_name"):
        names = query.get_list(name)
        if names and "EMULATOR" not in {str(n).upper() for n in names}:
            return False
    search = query.get_str("search")
    if search is not None:
        haystack = " ".join(
            [sov.id, sov.source_filename, sov.client_ref or "", *map(str, sov.extra_data.values())]
        )
        if search.lower() not in haystack.lower():
            return False
    if bounds:
        done = sov.parse.ends if sov.parse.finished else None
        if done is None:
            return False
        checks = {
            "gt": done > bounds.get("gt", -1.0),
            "gte": done >= bounds.get("gte", -1.0),
            "lt": done < bounds.get("lt", float("inf")),
            "lte": done <= bounds.get("lte", float("inf")),
        }
        if not all(checks.values()):
            return False
    return True


def add_routes(app: web.Application) -> None:
    """Register the feed routes (before :mod:`extraction`'s ``/api/v1/sov/{id}``)."""
    app.router.add_routes(routes)
