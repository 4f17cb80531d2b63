"""Waits against hostile answers (issue 11): bad status bodies are missed polls,
``as_completed`` yields every handle however its wait ended, a terminal job stays
terminal, a repeated history page ends the feed, pretty JSON bulk outputs merge cleanly."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from aiohttp import web

from sovfixer_async import Client, NotFoundError, OutputJob, as_completed

from .conftest import client_for
from .hostile import Answer, Forward, json_response, proxy, serve

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
OUTPUT_STATUS = "/api/v1/sov/get_or_create_output/"

#: 2xx bodies that are not a status: HTML, a list, deep nesting, a huge number, a wrong shape.
BAD_BODIES = [
    b"<html><body>gateway</body></html>",
    b"[1, 2, 3]",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"request": {"id": "x", "status": "COMPLETE", "n": ' + b"9" * 5000 + b"}}",
    b'{"request": "not an object"}',
]


async def test_bad_status_bodies_are_missed_polls(emulator: Any) -> None:
    served: list[bytes] = []

    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        is_status = request.method == "GET" and request.path.startswith(OUTPUT_STATUS)
        if is_status and len(served) < len(BAD_BODIES):
            body = BAD_BODIES[len(served)]
            served.append(body)
            return web.Response(body=body, content_type="application/json")
        return (await forward()).response()

    async with proxy(emulator.url, hook) as p, client_for(p.url) as client:
        job = await client.get_or_create_output(SOVID, "DEBUGJSON", overwrite_existing=True)
        status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    assert served == BAD_BODIES  # every bad answer was taken, and the wait went on


@pytest.mark.parametrize("through_client", [True, False])
async def test_as_completed_yields_every_handle_however_its_wait_ended(
    emulator: Any, through_client: bool
) -> None:
    lost: set[str] = set()
    polls: dict[str, int] = {}

    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        job_id = request.path.removeprefix(OUTPUT_STATUS)
        if request.method == "GET" and request.path.startswith(OUTPUT_STATUS):
            polls[job_id] = polls.get(job_id, 0) + 1
            if job_id in lost:
                return json_response({"detail": "Not found."}, status=404)
        return (await forward()).response()

    async with proxy(emulator.url, hook) as p, client_for(p.url) as client:
        jobs = [
            await client.get_or_create_output(SOVID, fmt, overwrite_existing=True)
            for fmt in ("JSON", "DEBUGJSON", "AUDITOR")
        ]
        gone = jobs[1]
        lost.add(gone.id)
        source = client.as_completed(jobs) if through_client else as_completed(jobs)
        yielded = [job async for job in source]
        assert sorted(j.id for j in yielded) == sorted(j.id for j in jobs)
        assert not gone.done
        assert all(j.done for j in jobs if j is not gone)
        before = polls[gone.id]
        with pytest.raises(NotFoundError):
            await gone.wait()  # at once: how its wait in as_completed ended
        assert polls[gone.id] == before
        # nothing was raised into the client's task group: it still works
        again = await client.get_or_create_output(SOVID, "JSON")
        assert (await again.wait(timeout=30)).state == "COMPLETE"


async def test_a_terminal_job_stays_terminal(emulator: Any) -> None:
    complete: set[str] = set()

    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        answer = await forward()
        if request.method != "GET" or not request.path.startswith(OUTPUT_STATUS):
            return answer.response()
        job_id = request.path.removeprefix(OUTPUT_STATUS)
        body = json.loads(answer.body)
        if job_id in complete:  # a stale replica: PENDING again, no result
            body = {"request": {"id": job_id, "status": "PENDING"}}
        elif body["request"]["status"] == "COMPLETE":
            complete.add(job_id)
        return answer.response(json.dumps(body).encode())

    async with proxy(emulator.url, hook) as p, client_for(p.url) as client:
        job = await client.get_or_create_output(SOVID, "DEBUGJSON", overwrite_existing=True)
        assert (await job.wait(timeout=30)).state == "COMPLETE"
        assert (await job.refresh()).state == "COMPLETE"
        assert job.done
        resumed = client.resume(job.token)
        assert isinstance(resumed, OutputJob)
        assert (await resumed.refresh()).state == "PENDING"  # what the server says now...
        resumed.deliver(job.status)  # ...until it is seen terminal once
        assert (await resumed.refresh()).state == "COMPLETE"
        assert resumed.done
        assert (await resumed.wait(timeout=30)).state == "COMPLETE"


async def test_history_stops_when_the_cursor_does_not_advance() -> None:
    requests: list[str | None] = []

    async def history(request: web.Request) -> web.Response:
        requests.append(request.query.get("cursor_id"))
        if len(requests) > 50:
            return json_response({"results": []})  # the guard failed: end the test's loop
        page = {"results": [{"id": "r-1", "sovid": "s-1"}, {"id": "r-2"}], "cursor_id": "c-1"}
        return json_response(page)

    app = web.Application()
    app.router.add_get("/api/v1/sov/history", history)
    async with serve(app) as url, client_for(url) as client:
        records = [record.id async for record in client.history()]
    assert records == ["r-1", "r-2"]
    assert requests == [None, "c-1"]


async def test_history_stops_on_a_cursor_cycle() -> None:
    pages = {None: ("a", "c-1"), "c-1": ("b", "c-2"), "c-2": ("c", "c-1")}
    requests: list[str | None] = []

    async def history(request: web.Request) -> web.Response:
        cursor = request.query.get("cursor_id")
        requests.append(cursor)
        if len(requests) > 50:
            return json_response({"results": []})
        record, following = pages[cursor]
        return json_response({"results": [{"id": record}], "cursor_id": following})

    app = web.Application()
    app.router.add_get("/api/v1/sov/history", history)
    async with serve(app) as url, client_for(url) as client:
        records = [record.id async for record in client.history()]
    assert records == ["a", "b", "c"]
    assert len(requests) == 3


async def test_pretty_printed_bulk_outputs_merge_one_line_per_location(emulator: Any) -> None:
    async def hook(request: web.Request, forward: Forward) -> web.StreamResponse:
        answer: Answer = await forward()
        if "/output/" in request.path and request.path.startswith("/api/v1/bulk_enhance/"):
            pretty = json.dumps(json.loads(answer.body), indent=2).replace("\n", "\r\n")
            return answer.response(pretty.encode())
        return answer.response()

    locs = [{"id": f"loc-{i}", "address": f"{i} main st, miami, fl"} for i in range(5)]
    async with proxy(emulator.url, hook) as p, client_for(p.url) as client:
        run = await client.bulk_enhance(locs, sources=["PG", "PH"], batch_size=2)
        await run.wait(timeout=30)
        assert run.merged_path is not None
        lines = (await anyio.Path(run.merged_path).read_text()).splitlines()
        results = {lid: per_source async for lid, per_source in run.results()}
    assert [json.loads(line)["id"] for line in lines] == [loc["id"] for loc in locs]
    assert set(results) == {loc["id"] for loc in locs}
    assert all(set(per_source) == {"PG", "PH"} for per_source in results.values())
    assert all(r.is_success for per_source in results.values() for r in per_source.values())


async def test_client_as_completed_needs_no_handles() -> None:
    async with Client(api_url="http://127.0.0.1:9", data_api_url="http://127.0.0.1:9") as c:
        assert [h async for h in c.as_completed([])] == []
