"""Injected faults and the statistics that record them (contract 12.1)."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import anyio
import pytest

pytestmark = pytest.mark.anyio

SEED_OUTPUT = "/api/v1/sov/s-no-ping-hggcsk/output/parse_sov_testfile.json"
BULK = {"locations": [{"id": "a", "address": "1 main st"}], "sources": ["PG"]}


async def test_fault_rate_answers_429_or_503_and_creates_nothing(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(fault_rate=1.0, seed=3)
    api = make_api(emu)
    statuses = set()
    for _ in range(12):
        async with api.http.post(api.url("/api/v1/bulk_enhance"), json=BULK) as r:
            statuses.add(r.status)
            assert r.headers["Retry-After"] == "1"
            assert (await r.json())["detail"]
    assert statuses == {429, 503}
    stats = await api.control("/_emulator/stats")
    assert stats["faults_injected"]["fault"] == 12
    assert stats["jobs_created"]["bulk_enhance"] == 0
    assert stats["requests_by_route"] == {"POST /api/v1/bulk_enhance": 12}
    assert sum(stats["responses_by_status"].values()) == 12
    # The control surface is never faulted.
    assert (await api.control("/_emulator/faults"))["fault_rate"] == 1.0


async def test_reset_rate_drops_get_connections(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    api = make_api(await sovfixer_emulator_factory(reset_rate=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get("/api/v1/sov/s-no-ping-hggcsk")
    # POSTs are not reset.
    await api.post("/api/v1/bulk_enhance", json=BULK)
    stats = await api.control("/_emulator/stats")
    assert stats["faults_injected"]["reset"] >= 1
    assert "dropped" not in stats["responses_by_status"]


async def test_truncate_rate_cuts_downloads(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(truncate_rate=1.0, output_bytes=200_000))
    await api.get("/api/v1/sov/s-no-ping-hggcsk")  # not a download: untouched
    async with api.http.get(api.url(SEED_OUTPUT)) as r:
        assert r.status == 200
        assert int(r.headers["Content-Length"]) >= 200_000
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()
    stats = await api.control("/_emulator/stats")
    assert stats["faults_injected"]["truncate"] == 1


async def test_ambiguous_rate_processes_then_answers_502(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(ambiguous_rate=1.0)
    api = make_api(emu)
    await api.post("/api/v1/bulk_enhance", status=502, json=BULK)
    await api.post("/api/v1/sov/s-no-ping-hggcsk/initiate_update", status=502)
    await api.post(
        "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
        status=502,
        json={"output_format": "debugjson"},
    )
    # A refused request (400) stays a 400; other routes are untouched.
    await api.post("/api/v1/bulk_enhance", status=400, json={"locations": []})
    await api.get("/api/v1/output_formats")
    stats = await api.control("/_emulator/stats")
    assert stats["faults_injected"]["ambiguous"] == 3
    assert stats["jobs_created"] == {"parse": 0, "update": 1, "output": 1, "bulk_enhance": 1}
    assert len(emu.state.bulk_jobs) == 1
    assert "s-no-ping-hggcsk-r001" in emu.state.updates


async def test_latency_and_max_in_flight(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(latency_ms=150))
    began = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(api.get, "/api/v1/output_formats")
    elapsed = time.perf_counter() - began
    assert 0.15 <= elapsed < 1.0  # concurrent, each delayed
    stats = await api.control("/_emulator/stats")
    assert stats["max_in_flight"] == 8
    assert stats["requests_by_route"]["GET /api/v1/output_formats"] == 8


async def test_faults_knobs_merge_and_stats_reset(api: Any) -> None:
    knobs = await api.control("/_emulator/faults", json={"latency_ms": 5, "reset_rate": 0.25})
    assert knobs == {
        "fault_rate": 0.0,
        "reset_rate": 0.25,
        "truncate_rate": 0.0,
        "ambiguous_rate": 0.0,
        "latency_ms": 5.0,
    }
    knobs = await api.control("/_emulator/faults", json={"reset_rate": 0})
    assert knobs["reset_rate"] == 0.0
    assert knobs["latency_ms"] == 5.0
    async with aiohttp.ClientSession() as bare:
        for bad in ({"fault_rate": 2}, {"nope": 1}, {"latency_ms": "x"}, [1]):
            async with bare.post(api.base + "/_emulator/faults", json=bad) as r:
                assert r.status == 400
    await api.get("/api/v1/output_formats")
    before = await api.control("/_emulator/stats")
    assert before["requests_by_route"]
    assert before["max_in_flight"] == 1
    after = await api.control("/_emulator/stats/reset", json={})
    assert after["requests_by_route"] == {}
    assert after["max_in_flight"] == 0
    assert after["jobs_created"] == {"parse": 0, "update": 0, "output": 0, "bulk_enhance": 0}
    assert (await api.control("/_emulator/requests"))["requests"] == []


async def test_seed_makes_faults_reproducible(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    runs = []
    for _ in range(2):
        api = make_api(await sovfixer_emulator_factory(fault_rate=0.5, seed=42))
        statuses = []
        for _ in range(30):
            async with api.http.get(api.url("/api/v1/output_formats")) as r:
                statuses.append(r.status)
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert {200, 429, 503} <= set(runs[0]) | {200}
    assert len(set(runs[0])) > 1


async def test_in_process_helpers(sovfixer_emulator: Any) -> None:
    assert sovfixer_emulator.url.startswith("http://127.0.0.1:")
    assert sovfixer_emulator.settings.job_seconds == 0.2
    knobs = sovfixer_emulator.set_faults(fault_rate=0.1)
    assert knobs["fault_rate"] == 0.1
    assert (await sovfixer_emulator.stats())["jobs_created"]["parse"] == 0


async def test_thousands_of_jobs_stay_cheap(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(job_seconds=1.0))
    path = "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output"
    ids: list[str] = []
    limiter = anyio.CapacityLimiter(64)

    async def create() -> None:
        async with limiter:
            body = await api.post(path, json={"output_format": "json", "overwrite_existing": True})
            ids.append(body["request"]["id"])

    async with anyio.create_task_group() as tg:
        for _ in range(2000):
            tg.start_soon(create)
    began = time.perf_counter()
    body = await api.get(f"/api/v1/sov/get_or_create_output/{ids[0]}")
    assert time.perf_counter() - began < 0.1
    assert body["request"]["status"] in ("PENDING", "IN_PROGRESS", "COMPLETE")
    last = await api.poll(f"/api/v1/sov/get_or_create_output/{ids[-1]}")
    assert last["request"]["status"] == "COMPLETE"
    stats = await api.control("/_emulator/stats")
    assert stats["jobs_created"]["output"] == 2000
