"""Callbacks (contract 9): the GET status body, POSTed on time, retried, recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

pytestmark = pytest.mark.anyio


class Receiver:
    """A little aiohttp server that records callbacks; it can fail the first N attempts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.fail_first = 0
        self.url = ""
        self.arrived = anyio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.received.append((request.path, dict(request.headers), body))
        self.arrived.set()
        if len(self.received) <= self.fail_first:
            return web.Response(status=500)
        return web.Response(status=204)

    async def wait(self, count: int, timeout: float = 5.0) -> None:
        with anyio.fail_after(timeout):
            while len(self.received) < count:
                self.arrived = anyio.Event()
                await self.arrived.wait()


@pytest.fixture
async def receiver(anyio_backend: Any) -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recv.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield recv
    await runner.cleanup()


async def test_update_callback_is_the_status_body(api: Any, receiver: Receiver) -> None:
    sudid = (
        await api.post(
            "/api/v1/sov/s-no-ping-hggcsk/initiate_update",
            json={"callback_url": receiver.url + "/update"},
        )
    )["id"]
    rows = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Called Back\n"
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(rows))
    await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
    # Nobody polls: the callback still arrives on time.
    await receiver.wait(1)
    path, headers, body = receiver.received[0]
    assert path == "/update"
    assert headers["User-Agent"] == "ping-emulator"
    assert headers["Content-Type"].startswith("application/json")
    assert body == await api.get(f"/api/v1/sov/update/{sudid}")
    assert body["result"]["status"] == "SUCCESS"
    stats = await api.control("/_emulator/stats")
    assert stats["callbacks_delivered"] == 1
    assert stats["callbacks"][0] == {
        "url": receiver.url + "/update",
        "kind": "update",
        "job_id": sudid,
        "attempts": 1,
        "status": 204,
        "delivered": True,
        "error": None,
    }


async def test_callbacks_retry_then_give_up_without_touching_the_job(
    api: Any, receiver: Receiver
) -> None:
    receiver.fail_first = 10
    job = await api.post(
        "/api/v1/bulk_enhance",
        json={
            "locations": [{"id": "a", "address": "1 main st"}],
            "sources": ["PG"],
            "callback_url": receiver.url + "/bulk",
        },
    )
    with anyio.fail_after(5):
        while True:
            stats = await api.control("/_emulator/stats")
            if stats["callbacks"]:
                break
            await anyio.sleep(0.02)
    assert len(receiver.received) == 3
    [record] = stats["callbacks"]
    assert (record["attempts"], record["delivered"], record["status"]) == (3, False, 500)
    assert stats["callbacks_delivered"] == 0
    status = await api.get(f"/api/v1/bulk_enhance/{job['id']}")
    assert status["request"]["status"] == "COMPLETE"
    assert receiver.received[0][2] == status


async def test_parse_callback_and_update_callback_url(api: Any, receiver: Receiver) -> None:
    form = aiohttp.FormData()
    form.add_field("file", b"\x00", filename="a.xls")
    form.add_field("callback_url", receiver.url + "/parse")
    form.add_field("update_callback_url", receiver.url + "/later")
    sovid = (await api.post("/api/v1/sov", data=form))["id"]
    await receiver.wait(1)
    assert receiver.received[0][0] == "/parse"
    assert receiver.received[0][2]["result"]["status"] == "SUCCESS"
    # A later update of this SOV calls the update_callback_url.
    sudid = (await api.post(f"/api/v1/sov/{sovid}/initiate_update"))["id"]
    rows = b"sheet_name,sheet_row_number,bldg_name\nSOV,2,Y\n"
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(rows))
    await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
    await receiver.wait(2)
    assert receiver.received[1][0] == "/later"
    assert receiver.received[1][2]["request"]["sudid"] == sudid


async def test_unreachable_callback_is_recorded(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    api = make_api(await sovfixer_emulator_factory(job_seconds=0.05, callback_retry_seconds=0.01))
    await api.post(
        "/api/v1/bulk_enhance",
        json={
            "locations": [{"id": "a", "address": "x"}],
            "sources": ["PG"],
            "callback_url": "http://127.0.0.1:9/nowhere",
        },
    )
    with anyio.fail_after(5):
        while True:
            stats = await api.control("/_emulator/stats")
            if stats["callbacks"]:
                break
            await anyio.sleep(0.02)
    [record] = stats["callbacks"]
    assert record["attempts"] == 3
    assert not record["delivered"]
    assert record["error"]


async def test_queued_jobs_call_back_when_they_end(
    sovfixer_emulator_factory: Any, make_api: Any, receiver: Receiver
) -> None:
    # One slot: the second and third wait in line; each still calls back once it ends.
    emu = await sovfixer_emulator_factory(job_seconds=0.05, capacity=1)
    api = make_api(emu)
    ids = []
    for _ in range(3):
        body = {
            "locations": [{"id": "a", "address": "1 main st"}],
            "sources": ["PG"],
            "callback_url": receiver.url + "/bulk",
        }
        ids.append((await api.post("/api/v1/bulk_enhance", json=body))["id"])
    await receiver.wait(3)
    bodies = {}
    for _, _, body in receiver.received:
        assert body["request"]["status"] == "COMPLETE"
        bodies[body["result"]["outputs"][0]["filename"]] = body
    assert set(bodies) == {f"output-data-{i}.json" for i in ids}
    records = {r["id"]: r for r in (await emu.stats())["job_records"]}
    began = [records[i]["began"] for i in ids]
    assert began == sorted(began)
    assert [records[i]["began"] for i in ids[1:]] == [records[i]["ended"] for i in ids[:-1]]
