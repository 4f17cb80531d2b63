"""Issue 12 item 8: coroutine ``on_event`` callbacks run; a listener that fell behind is
told how many events it lost (``EventsDropped``)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from sovfixer_async import Event, EventsDropped, JobCompleted, JobProgress, JobSubmitted
from sovfixer_async._events import EventBus

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"


async def test_async_on_event_callbacks_are_awaited_in_order(make_client: Any) -> None:
    seen: list[Event] = []
    done = anyio.Event()

    async def on_event(event: Event) -> None:
        await anyio.lowlevel.checkpoint()  # really asynchronous
        seen.append(event)
        if isinstance(event, JobCompleted):
            done.set()

    async def broken(event: Event) -> None:
        raise RuntimeError("a bad callback cannot break a job")

    async with make_client(on_event=on_event) as client:
        client.subscribe(broken)
        job = await client.update_sov(SOVID, ROWS)
        await job.wait(timeout=30)
        with anyio.fail_after(10):
            await done.wait()
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "JobSubmitted"
    assert kinds.index("JobStatusChanged") < kinds.index("JobCompleted")
    assert isinstance(seen[0], JobSubmitted)
    assert seen[0].job_id == job.id


async def test_a_listener_that_fell_behind_gets_events_dropped() -> None:
    bus = EventBus(buffer=3)
    got: list[Event] = []

    async def consume() -> None:
        async for event in bus.listen():
            got.append(event)
            if len(got) == 4:
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        for n in range(5):  # no checkpoint: the listener cannot keep up
            bus.emit(JobProgress("update", str(n), None))
    assert got[0] == EventsDropped(2)
    assert [e.job_id for e in got[1:]] == ["2", "3", "4"]  # type: ignore[union-attr]


async def test_async_callbacks_of_a_closed_client_are_closed_not_leaked() -> None:
    ran: list[Event] = []

    async def on_event(event: Event) -> None:
        ran.append(event)

    bus = EventBus([on_event])  # never bound to a task group
    bus.emit(JobProgress("update", "1", None))  # no "never awaited" warning either
    assert ran == []
