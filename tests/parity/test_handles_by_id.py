"""Handles adopted from plain ids (no I/O), and a per-call poll policy for wait()."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio.lowlevel
import pytest

from sovfixer_async import (
    BulkEnhanceBatch,
    Client,
    InvalidInputError,
    JobTimeout,
    OutputJob,
    ParseJob,
    PollPolicy,
    UpdateJob,
)

from .conftest import SOVID, Stats, client_for, workbook

pytestmark = pytest.mark.anyio

ROWS = [{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "Adopted"}]
#: A policy that would not poll again within any test's patience.
SLOW = PollPolicy(initial=600.0, factor=1.1, max_interval=600.0, jitter=0.0)


async def test_every_kind_is_adopted_from_its_plain_id(
    client: Client, emulator: Any, tmp_path: Path
) -> None:
    update = await client.update_sov(SOVID, ROWS)
    parse = await client.parse_sov(workbook(tmp_path / "a.xlsx", "HQ"))
    output = await client.get_or_create_output(SOVID, "JSON", overwrite_existing=True)
    async with aiohttp.ClientSession() as session:
        body = {"sources": ["PG"], "locations": [{"id": "1", "address": "1 Main St, Miami FL"}]}
        async with session.post(
            emulator.url + "/api/v1/bulk_enhance",
            json=body,
            headers={"Authorization": "Token test-token"},
        ) as r:
            batch_id = (await r.json())["id"]
    # as an official user stores them: plain ids, in another client
    async with client_for(emulator.url) as other:
        adopted = [
            other.update_job(update.id),
            other.parse_job(parse.id),
            other.output_job(output.id),
            other.bulk_job(batch_id),
        ]
        kinds = [UpdateJob, ParseJob, OutputJob, BulkEnhanceBatch]
        assert [type(h) for h in adopted] == kinds
        for handle in adopted:
            status = await handle.wait(timeout=30)
            assert status.state == "COMPLETE"
        paths = await adopted[0].download(tmp_path / "update")
        assert len(paths) == 1


async def test_adopting_sends_nothing(client: Client, stats: Stats) -> None:
    client.update_job("s-1-r001")
    client.parse_job("s-1")
    client.output_job("immediately-done-x")
    client.bulk_job("b-1")
    assert (await stats())["requests_total"] == 0


@pytest.mark.parametrize("bad", ["", ".", "..", "a\x00b", "x" * 5000, 5, None])
@pytest.mark.parametrize("method", ["update_job", "parse_job", "output_job", "bulk_job"])
def test_bad_ids_are_refused(method: str, bad: Any) -> None:
    client = client_for("http://127.0.0.1:9")  # no I/O: not even an open client is needed
    with pytest.raises(InvalidInputError):
        getattr(client, method)(bad)


async def test_an_adopted_update_can_be_started(client: Client) -> None:
    """An update opened elsewhere (stage unknown) is finished by its plain id."""
    opened = await client.create_submission("SOV")
    adopted = client.update_job(opened.id)
    assert adopted.stage is None
    await adopted.add_locations([{"sheet_name": "S", "sheet_row_number": 2, "bldg_name": "N"}])
    await adopted.start()
    await adopted.start()  # again: "already started" counts as success
    assert (await adopted.wait(timeout=30)).state == "COMPLETE"


async def test_a_wait_takes_its_own_poll_policy(make_client: Callable[..., Client]) -> None:
    async with make_client(poll=SLOW) as client:
        job = await client.update_sov(SOVID, ROWS)
        # the client's policy would not look again for ten minutes: this wait's own does
        status = await job.wait(timeout=30, poll=PollPolicy.fast())
        assert status.state == "COMPLETE"


async def test_a_waits_own_deadline_comes_from_its_policy(
    make_client: Callable[..., Client],
) -> None:
    async with make_client(poll=SLOW) as client:
        job = await client.update_sov(SOVID, ROWS)
        short = PollPolicy(initial=600.0, max_interval=600.0, jitter=0.0, deadline=0.01)
        with pytest.raises(JobTimeout):
            await job.wait(poll=short)
        assert (await job.wait(timeout=30, poll=PollPolicy.fast())).state == "COMPLETE"


async def test_the_most_eager_waiter_sets_the_pace(make_client: Callable[..., Client]) -> None:
    async with make_client(poll=SLOW) as client:
        job = await client.update_sov(SOVID, ROWS)
        results: list[str] = []

        async def slow_waiter() -> None:
            results.append((await job.wait(timeout=math.inf)).state)

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_waiter)
            await anyio.lowlevel.checkpoint()
            results.append((await job.wait(timeout=30, poll=PollPolicy.fast())).state)
        assert results == ["COMPLETE", "COMPLETE"]


async def test_a_wait_rejects_what_is_not_a_policy(client: Client) -> None:
    job = client.update_job("s-1-r001")
    with pytest.raises(InvalidInputError):
        await job.wait(poll={"initial": 1})  # type: ignore[arg-type]
