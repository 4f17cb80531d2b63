"""Callbacks from the servers complete waits early, with no poll at all."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sovfixer_async import PollPolicy
from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
#: Polls would come only after 30 s: a wait that ends sooner was ended by a callback.
NO_POLLS = PollPolicy(initial=30, max_interval=30, jitter=0)


async def test_callbacks_end_waits_without_polling(make_client: Any, stats: Any) -> None:
    async with make_client(poll=NO_POLLS) as client, client.webhook_receiver() as hooks:
        update = await client.update_sov(
            SOVID, b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Hooked\n", callback_url=hooks
        )
        book = make_xlsx("S", ["Building Name", "City"], [["HQ", "Miami"]])
        parse = await client.parse_sov(book, filename="hooks.xlsx", callback_url=hooks)
        run = await client.bulk_enhance(
            [{"id": f"l{i}", "address": "1 main st"} for i in range(5)],
            sources=["PG"],
            batch_size=2,
            callback_url=hooks,
        )
        assert (await update.wait(timeout=10)).state == "COMPLETE"
        assert (await parse.wait(timeout=10)).state == "COMPLETE"
        status = await run.wait(timeout=10)
        assert status.num_completed == 5
        assert hooks.delivered == 2 + len(run.batches)
    counts = (await stats())["requests_by_route"]
    assert counts.get("GET /api/v1/sov/update/{id}", 0) == 0
    assert counts.get("GET /api/v1/sov/{id}", 0) == 0
    assert counts.get("GET /api/v1/bulk_enhance/{id}", 0) == 0


async def test_unknown_and_malformed_callbacks_change_nothing(make_client: Any) -> None:
    async with make_client() as client, client.webhook_receiver() as hooks:
        job = await client.update_sov(
            SOVID, b"item_key,bldg_name\ni-s-no-ping-hggcsk!Sheet1!2,X\n", callback_url=hooks
        )
        async with aiohttp.ClientSession() as session:
            async with session.post(hooks.base_url + "/nonsense", data=b"{not json") as r:
                assert r.status == 404  # a nonce never issued: nothing read
            async with session.post(hooks.base_url + "/another", json={"x": 1}) as r:
                assert r.status == 404  # a nonce never issued: nothing read, nothing kept
        assert (await job.wait(timeout=10)).state == "COMPLETE"
