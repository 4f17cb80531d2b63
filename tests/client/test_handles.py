"""Job handles: shared pollers, timeouts, resume tokens, cancellation, events, fleets."""

from __future__ import annotations

import json
import math
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
    PollPolicy,
    RetryPolicy,
    SOVFixerError,
    UpdateJob,
    as_completed,
)
from sovfixer_async.emulator import run_emulator

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROW = b"sheet_name,sheet_row_number,bldg_name\nSheet1,3,X\n"
STATUS_ROUTE = "GET /api/v1/sov/get_or_create_output/{id}"


async def test_wait_timeout_then_resume_in_a_fresh_client(make_client: Any) -> None:
    async with make_client() as first:
        job = await first.update_sov(SOVID, ROW)
        with pytest.raises(JobTimeout) as info:
            await job.wait(timeout=0.05)  # the emulator's job takes 0.3 s from start
        assert info.value.token == job.token
        assert job.id in str(info.value)
        token = job.token
    # Issue 12: the token also records the update's client_ref and how far it got.
    assert json.loads(token) == {
        "v": 2,
        "kind": "update",
        "id": job.id,
        "api": "extraction",
        "client_ref": job.client_ref,
        "stage": "started",
    }
    async with make_client() as second:
        again = second.resume(token)
        assert isinstance(again, UpdateJob)
        assert again.id == job.id
        assert (again.client_ref, again.stage) == (job.client_ref, "started")
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


async def test_polls_leave_a_quarter_of_the_request_slots_free() -> None:
    # 200 handles polling as fast as PollPolicy.fast() allows, 20 ms a request: far more
    # polls are due than 8 slots can carry, yet at most 6 (8 - 8 // 4) are ever in flight.
    seen = anyio.Event()
    first_polls = 0

    def on_event(event: Any) -> None:
        nonlocal first_polls
        if isinstance(event, JobStatusChanged) and event.previous is None:
            first_polls += 1
            if first_polls == 200:
                seen.set()

    async with (
        run_emulator(job_seconds=3600, latency_ms=20) as emu,
        Client(
            api_url=emu.url,
            data_api_url=emu.url,
            token="t",
            poll=PollPolicy.fast(),
            max_connections=8,
            on_event=on_event,
        ) as client,
    ):
        job = await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
        handles = [client.resume(job.token) for _ in range(200)]
        async with anyio.create_task_group() as tg:
            for handle in handles:
                tg.start_soon(handle.wait, math.inf)
            await seen.wait()  # every handle polled at least once
            assert (await emu.stats())["max_in_flight"] == 6
            # a submission still gets a slot at once, and is not queued behind the polls
            with anyio.fail_after(5):
                await client.get_or_create_output(SOVID, "AUDITOR", overwrite_existing=True)
            tg.cancel_scope.cancel()
        assert (await emu.stats())["max_in_flight"] <= 8


async def test_closing_the_client_ends_waits_with_an_error_naming_the_job() -> None:
    errors: list[BaseException] = []

    async def waiter(job: OutputJob) -> None:
        try:
            await job.wait(timeout=math.inf)
        except SOVFixerError as exc:
            errors.append(exc)

    # the waiter's task group outlives the client: nested on purpose
    async with run_emulator(job_seconds=3600) as emu, anyio.create_task_group() as tg:  # noqa: SIM117
        async with Client(api_url=emu.url, data_api_url=emu.url, token="t") as client:
            job = await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
            tg.start_soon(waiter, job)
            await anyio.lowlevel.checkpoint()  # the waiter starts its wait; then we close
    assert len(errors) == 1
    assert "client closed" in str(errors[0])
    assert job.id in str(errors[0])
    assert not job.done


@pytest.mark.slow  # ~5 s of Retry-After pauses (1 s each): with the soak tests
async def test_polls_that_fail_after_their_retries_are_missed_not_fatal(
    emulator: Any, make_client: Any
) -> None:
    # half the requests refused (429/503, Retry-After 1 s), no retries: polls fail outright
    async with make_client(retry=RetryPolicy.no_wait(attempts=1)) as client:
        jobs = [await client.update_sov(SOVID, ROW) for _ in range(5)]
        emulator.set_faults(fault_rate=0.5)
        statuses = [await job.wait(timeout=30) for job in jobs]
        refused = client.stats.by_status[429] + client.stats.by_status[503]
    assert all(s.state == "COMPLETE" for s in statuses)
    assert refused > 0
