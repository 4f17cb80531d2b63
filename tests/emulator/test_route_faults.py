"""Per-route faults (issue 12): a rule hits only the route it names, as often as it says."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sovfixer_async.emulator import build_parser, settings_from_args
from sovfixer_async.emulator.route_faults import RouteFault

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
CSV = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"
ADD = "POST /api/v1/sov/update/*/add_locations"
BULK = {"locations": [{"id": "a", "address": "1 main st"}], "sources": ["PG"]}


async def _open_update(api: Any) -> str:
    return str((await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"])


async def _add(api: Any, sudid: str) -> int:
    url = api.url(f"/api/v1/sov/update/{sudid}/add_locations")
    async with api.http.post(url, data=api.csv_form(CSV)) as r:
        await r.read()
        return r.status


async def test_status_rule_hits_only_its_route_for_n_calls(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(route_faults=[f"{ADD} 503 times=2"])
    api = make_api(emu)
    sudid = await _open_update(api)  # another route: untouched
    assert [await _add(api, sudid) for _ in range(3)] == [503, 503, 200]
    await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
    stats = await emu.stats()
    assert stats["faults_injected"]["route"] == 2
    assert stats["locations_submitted"] == 1  # refused calls did nothing
    [rule] = (await api.control("/_emulator/faults/routes"))["routes"]
    assert (rule["remaining"], rule["hits"], rule["action"]) == (0, 2, "503")


async def test_ambiguous_rule_does_the_work_then_answers_502(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory()
    api = make_api(emu)
    emu.add_route_fault(f"POST /api/v1/sov/{SOVID}/initiate_update ambiguous times=1")
    async with api.http.post(
        api.url(f"/api/v1/sov/{SOVID}/initiate_update"), data={"client_ref": "ref-7"}
    ) as r:
        assert r.status == 502
    # The update exists: the activity shows it, with the client_ref it was sent.
    activity = await api.get("/api/v1/sov/activity", params={"id": SOVID})
    [update] = activity["results"][0]["all_updates"]
    assert update["client_ref"] == "ref-7"
    assert (await emu.stats())["jobs_created"]["update"] == 1
    assert await _open_update(api) == f"{SOVID}-r002"  # times=1: spent


async def test_reset_rules_drop_the_connection(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    emu = await sovfixer_emulator_factory(
        route_faults=[
            # Two: aiohttp itself retries a GET once on a dropped keep-alive connection.
            "GET /api/v1/bulk_enhance/* reset times=2",
            "POST /api/v1/bulk_enhance reset_after times=1",
        ]
    )
    api = make_api(emu)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post("/api/v1/bulk_enhance", json=BULK)
    [job] = emu.state.bulk_jobs.values()  # reset_after: the job was created all the same
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get(f"/api/v1/bulk_enhance/{job.id}")
    get_rule, post_rule = (await api.control("/_emulator/faults/routes"))["routes"]
    assert post_rule["hits"] == 1
    emu.clear_route_faults()
    assert (await api.get(f"/api/v1/bulk_enhance/{job.id}"))["request"]["status"]
    stats = await emu.stats()
    assert stats["faults_injected"]["route"] == 1 + get_rule["hits"]
    assert "dropped" not in stats["responses_by_status"]


async def test_rules_set_and_cleared_at_run_time(api: Any) -> None:
    rules = await api.control(
        "/_emulator/faults/routes",
        json=[{"method": "get", "path": "/api/v1/output_formats", "action": 418}],
    )
    assert rules["routes"][0]["method"] == "GET"
    async with api.http.get(api.url("/api/v1/output_formats")) as r:
        assert r.status == 418
        assert "Injected fault" in (await r.json())["detail"]
    async with api.http.get(api.url("/api/v1/datasources")) as r:
        assert r.status == 200
    async with aiohttp.ClientSession() as bare:
        async with bare.delete(api.base + "/_emulator/faults/routes") as r:
            assert (await r.json()) == {"routes": []}
        for bad in (
            {"method": "GET", "path": "/x", "action": 200},
            {"method": "GET", "path": "no-slash", "action": 500},
            {"method": "FETCH", "path": "/x", "action": 500},
            {"method": "GET", "path": "/x", "action": "explode"},
            {"method": "GET", "path": "/x", "action": 500, "times": 0},
            {"method": "GET", "path": "/x", "action": 500, "rate": 1.5},
            {"method": "GET", "path": "/x", "action": 500, "extra": 1},
            {"path": "/x", "action": 500},
            [{"method": "GET", "path": "/x", "action": 500}, "nope"],
            [{"method": "GET", "path": "/x", "action": 500}] * 101,
            {"method": "GET", "path": "/" + "x" * 300_000, "action": 500},
        ):
            async with bare.post(api.base + "/_emulator/faults/routes", json=bad) as r:
                assert r.status == 400, bad
    assert (await api.control("/_emulator/faults/routes"))["routes"] == []
    async with api.http.get(api.url("/api/v1/output_formats")) as r:
        assert r.status == 200
    # The plain knobs answer keeps its shape.
    assert set(await api.control("/_emulator/faults")) == {
        "fault_rate", "reset_rate", "truncate_rate", "ambiguous_rate", "latency_ms",
    }  # fmt: skip


async def test_rate_rules_are_reproducible_by_seed(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    runs = []
    for _ in range(2):
        emu = await sovfixer_emulator_factory(
            seed=9, route_faults=["* /api/v1/output_formats 500 rate=0.5"]
        )
        api = make_api(emu)
        statuses = []
        for _ in range(24):
            async with api.http.get(api.url("/api/v1/output_formats")) as r:
                statuses.append(r.status)
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}


def test_rule_parsing_and_matching() -> None:
    rule = RouteFault.parse("post /api/v1/sov/update/*/add_locations 503 times=1 rate=0.5")
    assert (rule.method, rule.action, rule.times, rule.rate) == ("POST", "503", 1, 0.5)
    assert rule.matches("POST", "/api/v1/sov/update/s-x-r001/add_locations")
    assert not rule.matches("GET", "/api/v1/sov/update/s-x-r001/add_locations")
    assert not rule.matches("POST", "/api/v1/sov/update/s-x-r001/start")
    assert RouteFault.parse(str(rule)) == rule
    for bad in ("GET /x", "GET /x 200", "GET /x 503 times=x", "GET /x 503 nope=1", "GET x 503"):
        with pytest.raises(ValueError, match=r"route fault|action|times|path"):
            RouteFault.parse(bad)
    args = build_parser().parse_args(
        ["--route-fault", f"{ADD} ambiguous", "--route-fault", "GET /api/* 503 times=3"]
    )
    settings = settings_from_args(args)
    assert [str(r) for r in settings.route_faults] == [f"{ADD} ambiguous", "GET /api/* 503 times=3"]
    with pytest.raises(ValueError, match="teapot"):
        settings_from_args(build_parser().parse_args(["--route-fault", "GET /x teapot"]))
