"""Job handles: shared pollers, timeouts, resume tokens, cancellation, events, fleets."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from sovfixer_async import (
    Client,
    InvalidInputError,
    JobCompleted,
    JobStatusChanged,
    JobSubmitted,
    JobTimeout,
    OutputJob,
    ParseJob,
    UpdateJob,
    as_completed,
)

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROW = b"sheet_name,sheet_row_number,bldg_name\nSheet1,3,X\n"


async def test_wait_timeout_then_resume_in_a_fresh_client(make_client: Any) -> None:
    async with make_client() as first:
        job = await first.update_sov(SOVID, ROW)
        with pytest.raises(JobTimeout) as info:
            await job.wait(timeout=0.05)  # the emulator's job takes 0.3 s from start
        assert info.value.token == job.token
        assert job.id in str(info.value)
        token = job.token
    assert json.loads(token) == {"v": 1, "kind": "update", "id": job.id, "api": "extraction"}
    async with make_client() as second:
        again = second.resume(token)
        assert isinstance(again, UpdateJob)
        assert again.id == job.id
        status = await again.wait(timeout=30)
        assert status.state == "COMPLETE"


async def test_resume_every_kind(client: Client) -> None:
    output = await client.get_or_create_output(SOVID, "DEBUGJSON", overwrite_existing=True)
    resumed = client.resume(output.token)
    assert isinstance(resumed, OutputJob)
    assert (await resumed.wait(timeout=30)).state == "COMPLETE"
    parse = client.resume(json.dumps({"v": 1, "kind": "parse", "id": SOVID, "api": "extraction"}))
    assert isinstance(parse, ParseJob)
    assert (await parse.refresh()).state == "COMPLETE"


@pytest.mark.parametrize(
    "token",
    ["", "not json", "[]", '{"v": 1}', '{"v": 9, "id": "x"}', '{"v":1,"id":"x","kind":"?"}'],
)
async def test_bad_tokens_are_input_errors(client: Client, token: str) -> None:
    with pytest.raises(InvalidInputError):
        client.resume(token)


async def test_waiters_share_one_poller_and_cancel_alone(client: Client, stats: Any) -> None:
    job = await client.update_sov(SOVID, ROW)
    finished: list[str] = []

    async def waiter(name: str) -> None:
        await job.wait(timeout=30)
        finished.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter, "a")
        tg.start_soon(waiter, "b")
        with anyio.CancelScope() as scope:
            scope.cancel()  # a third waiter that is cancelled at once
            await job.wait(timeout=30)
    assert sorted(finished) == ["a", "b"]
    counts = await stats()
    polls = counts["requests_by_route"]["GET /api/v1/sov/update/{id}"]
    # one poll task for both waiters: with PollPolicy.fast() (<= 0.05 s apart) a 0.3 s job
    # takes well under 2 x 0.3 / 0.01 polls even in the worst case
    assert polls < 60


async def test_last_waiter_leaving_stops_the_poller(client: Client, stats: Any) -> None:
    job = await client.update_sov(SOVID, ROW)
    with anyio.move_on_after(0.05):
        await job.wait()
    before = (await stats())["requests_by_route"].get("GET /api/v1/sov/update/{id}", 0)
    await anyio.sleep(0.3)  # long enough for several polls, had the poller not stopped
    after = (await stats())["requests_by_route"].get("GET /api/v1/sov/update/{id}", 0)
    assert after == before
    assert (await job.wait(timeout=30)).state == "COMPLETE"


async def test_as_completed_and_events(make_client: Any) -> None:
    seen: list[Any] = []
    async with make_client(on_event=seen.append) as client:
        jobs = [
            await client.get_or_create_output(SOVID, fmt, overwrite_existing=True)
            for fmt in ("JSON", "DEBUGJSON", "AUDITOR")
        ]
        done = [job async for job in as_completed(jobs)]
    assert {j.id for j in done} == {j.id for j in jobs}
    assert all(j.done for j in done)
    kinds = {type(e) for e in seen}
    assert {JobSubmitted, JobStatusChanged, JobCompleted} <= kinds
    completed = {e.job_id for e in seen if isinstance(e, JobCompleted)}
    assert completed == {j.id for j in jobs}


async def test_events_iterator(client: Client) -> None:
    got: list[Any] = []

    async def listen() -> None:
        async for event in client.events():
            got.append(event)
            if isinstance(event, JobCompleted):
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await anyio.lowlevel.checkpoint()
        job = await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
        await job.wait(timeout=30)
    assert isinstance(got[0], JobSubmitted)
    assert isinstance(got[-1], JobCompleted)


async def test_handles_need_an_open_client(make_client: Any) -> None:
    async with make_client() as client:
        job = await client.update_sov(SOVID, ROW)
    with pytest.raises(Exception, match="not open"):
        await job.wait()


async def test_mixed_fleet_respects_the_connection_limit(make_client: Any, stats: Any) -> None:
    """200 updates + 500 output requests + a 10,000-location bulk run at once."""
    async with make_client(max_connections=16) as client:

        async def update(n: int) -> UpdateJob:
            row = f"sheet_name,sheet_row_number,bldg_name\nSheet1,{2 + n % 25},B{n}\n"
            return await client.update_sov(SOVID, row.encode())

        handles: list[Any] = []

        async def submit(factory: Any, *args: Any) -> None:
            handles.append(await factory(*args))

        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(submit, update, n)
            for n in range(500):
                fmt = ("JSON", "DEBUGJSON", "AUDITOR")[n % 3]
                tg.start_soon(
                    submit,
                    lambda f=fmt: client.get_or_create_output(SOVID, f, overwrite_existing=True),
                )
            tg.start_soon(
                submit,
                lambda: client.bulk_enhance(
                    [{"id": f"l{i}", "address": f"{i} main"} for i in range(10_000)],
                    sources=["PG"],
                ),
            )
        assert len(handles) == 701
        finished = [h async for h in as_completed(handles, timeout=120)]
        assert len(finished) == 701
    counts = await stats()
    assert counts["max_in_flight"] <= 16
    assert counts["jobs_created"]["update"] == 200
    assert counts["jobs_created"]["output"] == 500
    assert counts["locations_submitted"] == 10_200  # 10,000 bulk + 200 update rows
