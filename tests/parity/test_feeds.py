"""Activity filters and paging, and the history feed's follow mode and cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from sovfixer_async import (
    Client,
    HistoryFeed,
    InvalidInputError,
    PermissionDeniedError,
    RetryPolicy,
    SOVFixerError,
)

from ..client.hostile import serve
from .conftest import SOVID, Stats, client_for, workbook

pytestmark = pytest.mark.anyio


async def parsed(client: Client, tmp_path: Path, count: int) -> list[str]:
    jobs = [
        await client.parse_sov(workbook(tmp_path / f"book{n}.xlsx", f"B{n}"), client_ref=f"r{n}")
        for n in range(count)
    ]
    for job in jobs:
        await job.wait(timeout=30)
    return [job.id for job in jobs]


async def test_activity_filters_reach_the_server(client: Client, tmp_path: Path) -> None:
    ids = await parsed(client, tmp_path, 2)
    everything = [sov.id async for sov in client.activity(page_size=1)]
    assert set(ids) <= set(everything)
    mine = [sov.id async for sov in client.activity(sovid=ids[0])]
    assert mine == [ids[0]]
    emulated = [s.id async for s in client.activity(company__short_name=["emulator", "other"])]
    assert set(ids) <= set(emulated)
    assert [s async for s in client.activity(division__short_name="someone-else")] == []
    assert [s async for s in client.activity(pingid="P-1")] == []
    future = datetime.now(UTC) + timedelta(days=1)
    assert [s async for s in client.activity(completed_time__gt=future)] == []
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    recent = [s.id async for s in client.activity(completed_time__gte=past)]
    assert set(ids) <= set(recent)
    before = [s async for s in client.activity(completed_time__lt=past)]
    assert before == []


async def test_activity_backwards_with_prev_cursor(client: Client, tmp_path: Path) -> None:
    await parsed(client, tmp_path, 2)
    forwards = [sov.id async for sov in client.activity(page_size=1)]
    assert len(forwards) >= 3
    last = forwards[-1]
    backwards = [sov.id async for sov in client.activity(page_size=1, prev_cursor_id=last)]
    assert backwards == list(reversed(forwards[:-1]))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"completed_time__gt": "2024-01-01"}, "completed_time__gt"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 251}, "page_size"),
        ({"fields": "filename"}, "fields"),
        ({"company__short_name": [""]}, "company__short_name[0]"),
        ({"cursor_id": "a\nb"}, "cursor_id"),
    ],
)
async def test_bad_activity_filters(
    client: Client, stats: Stats, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        _ = [sov async for sov in client.activity(**kwargs)]
    assert info.value.field == field
    assert (await stats())["requests_total"] == 0


def paged_server(pages: list[dict[str, Any]], seen: list[dict[str, str]]) -> web.Application:
    """Answers the activity or history route with ``pages`` in turn (the last one forever)."""

    async def answer(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        return web.json_response(pages[min(len(seen) - 1, len(pages) - 1)])

    app = web.Application()
    app.router.add_get("/api/v1/sov/activity", answer)
    app.router.add_get("/api/v1/sov/history", answer)
    return app


@pytest.mark.parametrize(
    ("pages", "expected_requests"),
    [
        # no has_remaining at all: the cursor leads on until a page comes back empty
        ([{"results": [{"id": "a"}], "cursor_id": "a"},
          {"results": [{"id": "b"}], "cursor_id": "b"},
          {"results": [], "cursor_id": None}], 3),
        # a page without a cursor ends the feed, whatever has_remaining says
        ([{"results": [{"id": "a"}], "cursor_id": None, "has_remaining": True}], 1),
        # the same cursor again: a server repeating itself
        ([{"results": [{"id": "a"}], "cursor_id": "a"}], 2),
        # has_remaining false ends it even with a cursor
        ([{"results": [{"id": "a"}], "cursor_id": "a", "has_remaining": False}], 1),
    ],
)  # fmt: skip
async def test_activity_paging_ends(pages: list[dict[str, Any]], expected_requests: int) -> None:
    seen: list[dict[str, str]] = []
    async with serve(paged_server(pages, seen)) as url, client_for(url) as client:
        items = [sov async for sov in client.activity(page_size=1)]
    assert len(seen) == expected_requests
    assert len(items) >= 1
    assert seen[0].get("cursor_id") is None
    if expected_requests > 1:
        assert seen[1]["cursor_id"] == "a"


async def test_activity_example_pages_with_the_revision_field(
    client: Client, tmp_path: Path
) -> None:
    """As the official list-activity example: every page, asking for revision too."""
    ids = await parsed(client, tmp_path, 3)
    update = await client.update_sov(
        ids[0], [{"sheet_name": "Locations", "sheet_row_number": 2, "bldg_name": "X"}]
    )
    await update.wait(timeout=30)
    seen: dict[str, Any] = {}
    async for sov in client.activity(page_size=2, fields=["filename", "status", "id", "revision"]):
        assert sov.id is not None
        seen[sov.id] = (sov.filename, sov.status, sov.extra.get("revision"))  # not in SOVData
    assert set(ids) <= set(seen)
    assert seen[ids[0]][2] == 1
    assert seen[ids[1]][2] == 0
    assert seen[ids[1]][0] == "book1.xlsx"


# -- history ------------------------------------------------------------------------------


async def test_history_follow_yields_new_records_and_keeps_the_cursor(
    client: Client, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    feed = client.history(start=start, page_size=2, follow=True, interval=0.02)
    assert isinstance(feed, HistoryFeed)
    assert feed.cursor is None
    got: list[str] = []
    async with anyio.create_task_group() as tg:

        async def submit_later() -> None:
            for n in range(3):
                job = await client.parse_sov(workbook(tmp_path / f"f{n}.xlsx", "B"))
                await job.wait(timeout=30)

        tg.start_soon(submit_later)
        async for record in feed:
            got.append(record.id)
            assert feed.cursor == record.id
            if len(got) == 3:
                break
    await feed.aclose()
    assert len(set(got)) == 3
    assert feed.polls >= 2
    # carrying on from the stored cursor skips what was handed out
    later = [r.id async for r in client.history(cursor_id=got[1])]
    assert later[:1] == got[2:]  # (and whatever completed after it)
    assert not set(later) & set(got[:2])


async def test_follow_drops_a_repeated_page_and_sleeps_between_polls() -> None:
    page = {"results": [{"id": "s-1", "record_type": "ORIG", "status": "C"}], "cursor_id": None}
    seen: list[dict[str, str]] = []
    async with serve(paged_server([page], seen)) as url, client_for(url) as client:
        feed = client.history(follow=True, interval=0.01)
        got = []
        with anyio.move_on_after(0.5):
            async for record in feed:
                got.append(record.id)
        await feed.aclose()
    assert got == ["s-1"]  # the same page, polled again and again, yields its record once
    assert len(seen) >= 3
    # an empty or cursorless page keeps the cursor it had
    assert all(query.get("cursor_id") == "s-1" for query in seen[1:])


async def test_one_off_history_ends(client: Client, tmp_path: Path) -> None:
    await parsed(client, tmp_path, 2)
    records = [r.id async for r in client.history(page_size=1)]
    assert len(records) == len(set(records)) >= 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": 0}, "interval"),
        ({"interval": float("inf")}, "interval"),
        ({"interval": True}, "interval"),
        ({"page_size": 0}, "page_size"),
        ({"start": "yesterday"}, "start"),
        ({"cursor_id": ""}, "cursor_id"),
    ],
)
def test_bad_history_arguments(kwargs: dict[str, Any], field: str) -> None:
    client = client_for("http://127.0.0.1:9")  # checked when called: no open client needed
    with pytest.raises(InvalidInputError) as info:
        client.history(follow=True, **kwargs)
    assert info.value.field == field


async def test_monitor_example(client: Client, tmp_path: Path) -> None:
    """As the official monitor example: follow the feed from a start time; for each failed
    record, fetch its details to read the error."""
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"not a workbook")
    good = await client.parse_sov(workbook(tmp_path / "good.xlsx", "HQ"))
    broken = await client.parse_sov(bad)
    failures: dict[str, str | None] = {}
    seen: set[str] = set()
    feed = client.history(start=datetime.now(UTC) - timedelta(days=7), page_size=10,
                          follow=True, interval=0.02)  # fmt: skip
    async for record in feed:
        seen.add(record.id)
        if record.status == "F":
            item = await client.history_item(record.id)
            failures[record.id] = item.error_message
        if {good.id, broken.id} <= seen:
            break
    await feed.aclose()
    assert set(failures) == {broken.id}
    assert failures[broken.id]
    assert SOVID not in failures


@pytest.mark.parametrize(
    ("failure", "follows_on"),
    [
        (web.Response(status=503, text="down"), True),
        (web.Response(status=200, text="<html>proxy</html>"), True),
        (web.Response(status=403, text="no"), False),
    ],
)
async def test_a_followed_feed_outlives_missed_polls(
    failure: web.Response, follows_on: bool
) -> None:
    calls: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) <= 5:  # more than the transport's own retries (2 attempts a poll)
            return web.Response(status=failure.status, text=failure.text)
        return web.json_response({"results": [{"id": "s-9"}], "cursor_id": "s-9"})

    app = web.Application()
    app.router.add_get("/api/v1/sov/history", answer)
    async with serve(app) as url, client_for(url, retry=RetryPolicy.no_wait(2)) as client:
        feed = client.history(follow=True, interval=0.01)
        if follows_on:
            record = await anext(feed)
            assert record.id == "s-9"
            assert feed.missed >= 1
        else:
            with pytest.raises(PermissionDeniedError) as info:
                await anext(feed)
            assert info.value.status == failure.status
        await feed.aclose()
    # a one-off feed raises at once
    async with serve(app) as url, client_for(url, retry=RetryPolicy.no_wait(2)) as client:
        calls.clear()
        with pytest.raises(SOVFixerError):
            _ = [r async for r in client.history()]
