"""Ping.Data (contract 4.1-4.6): bulk enhance as the docs drive it, enhance, datasources, usage."""

from __future__ import annotations

import gzip
import json
from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio

DOCS_BODY = {
    "locations": [
        {"id": "item-1", "address": "123 main st, miami, fl", "sources": ["PG", "PH"]},
        {"id": "item-2", "address": "456 elm st, los angeles, ca", "sources": ["PG", "PH"]},
    ],
    "sources": ["PG", "PH"],
}


async def test_docs_bulk_enhance_of_two(api: Any) -> None:
    started = await api.post("/api/v1/bulk_enhance", json=DOCS_BODY)
    assert started["message"] == "OK"
    job_id = started["id"]
    final = await api.poll(f"/api/v1/bulk_enhance/{job_id}")
    assert set(final["_seen"]) <= {"PENDING", "QUEUED", "IN_PROGRESS", "COMPLETE"}
    request = final["request"]
    assert request["status"] == "COMPLETE"
    assert (request["num_requested"], request["num_completed"], request["num_canceled"]) == (
        2,
        2,
        0,
    )
    for key in ("requested_at", "progress_started_at", "completed_at"):
        assert request[key].endswith("Z")
        assert request[key][19] == "."
    result = final["result"]
    assert (result["status"], result["message"]) == ("SUCCESS", "Success.")
    [output] = result["outputs"]
    assert output == {
        "description": "Data file 1",
        "filename": f"output-data-{job_id}.json",
        "url": f"{api.base}/api/v1/bulk_enhance/{job_id}/output/output-data-{job_id}.json",
    }
    assert {s["source"] for s in result["sources"]} == {"PG", "PH"}
    assert isinstance(result["total_processing_time"], float)
    async with api.http.get(output["url"]) as r:
        assert r.status == 200
        data = json.loads(await r.read())
    assert set(data) == {"item-1", "item-2"}
    assert set(data["item-1"]) == {"PG", "PH"}
    assert "is_success" in data["item-1"]["PG"]
    await api.get(f"/api/v1/bulk_enhance/{job_id}/output/other.json", status=404)
    await api.get("/api/v1/bulk_enhance/00000000-0000-0000-0000-000000000000", status=404)


async def test_bulk_enhance_of_5000_with_gzip_body(api: Any) -> None:
    locations = [{"id": f"id_{i:05d}", "address": f"{i} main st, miami, fl"} for i in range(5000)]
    raw = json.dumps({"locations": locations, "sources": ["PG"], "include_raw_response": False})
    body = gzip.compress(raw.encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    started = await api.post("/api/v1/bulk_enhance", data=body, headers=headers)
    progress: list[int] = []
    final: dict[str, Any] = {}
    while final.get("request", {}).get("status") != "COMPLETE":
        await anyio.sleep(0.01)
        final = await api.get(f"/api/v1/bulk_enhance/{started['id']}")
        progress.append(final["request"]["num_completed"])
    assert progress == sorted(progress)
    assert final["request"]["num_requested"] == 5000
    assert final["request"]["num_completed"] == 5000
    [stats] = final["result"]["sources"]
    assert stats["num_fetched"] == 5000
    problems = final["request"]["num_problems"]
    assert problems == stats["num_fails"]
    assert 0 < problems < 500  # the default problem rate is 2 %
    async with api.http.get(final["result"]["outputs"][0]["url"]) as r:
        data = json.loads(await r.read())
    assert len(data) == 5000
    emu_stats = await api.control("/_emulator/stats")
    assert emu_stats["locations_submitted"] == 5000
    assert emu_stats["jobs_created"]["bulk_enhance"] == 1
    log = await api.control("/_emulator/requests")
    assert log["requests"][0]["content_encoding"] == "gzip"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locations": [], "sources": ["PG"]}, "locations"),
        ({"sources": ["PG"]}, "locations"),
        ({"locations": [{"id": "a", "address": "x"}], "sources": ["NOPE"]}, "sources"),
        ({"locations": [{"id": "a", "address": "x", "sources": ["ZZ"]}]}, "locations[0].sources"),
        ({"locations": [{"address": "x"}], "sources": ["PG"]}, "locations[0].id"),
        ({"locations": [{"id": 5, "address": "x"}], "sources": ["PG"]}, "locations[0].id"),
        (
            {"locations": [{"id": "a", "address": "x"}, {"id": "a"}], "sources": ["PG"]},
            "locations[1].id",
        ),
        ({"locations": [{"id": "a", "address": "x"}]}, "sources"),
    ],
)
async def test_bulk_validation_names_the_field(api: Any, body: Any, field: str) -> None:
    err = await api.post("/api/v1/bulk_enhance", status=400, json=body)
    assert field in err["errors"], err
    stats = await api.control("/_emulator/stats")
    assert stats["jobs_created"]["bulk_enhance"] == 0


async def test_bulk_limits(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(max_locations=3, max_body_bytes=4096))
    locations = [{"id": str(i), "address": "x"} for i in range(4)]
    err = await api.post(
        "/api/v1/bulk_enhance", status=400, json={"locations": locations, "sources": ["PG"]}
    )
    assert "locations" in err["errors"]
    big = {"locations": [{"id": "1", "address": "x" * 5000}], "sources": ["PG"]}
    err = await api.post("/api/v1/bulk_enhance", status=413, json=big)
    assert err["detail"]
    # The limit applies to the decompressed body, whatever the wire size.
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    zipped = gzip.compress(json.dumps(big).encode())
    assert len(zipped) < 4096
    await api.post("/api/v1/bulk_enhance", status=413, data=zipped, headers=headers)
    await api.post(
        "/api/v1/bulk_enhance",
        status=400,
        data=b"{not json",
        headers=headers | {"Content-Encoding": "identity"},
    )


async def test_single_enhance(api: Any) -> None:
    body = await api.get(
        "/api/v1/enhance",
        params=[
            ("address", "1 main st, miami, fl"),
            ("sources", "PG"),
            ("sources", "ph"),
            ("include_raw_response", "False"),
        ],
    )
    assert set(body["location_data"]) == {"PG", "PH"}
    assert isinstance(body["id"], str)
    by_coords = await api.get(
        "/api/v1/enhance", params={"latitude": "25.1", "longitude": "-80.2", "sources": "DTC"}
    )
    assert "DTC" in by_coords["location_data"]
    err = await api.get("/api/v1/enhance", status=400, params={"address": "x"})
    assert "sources" in err["errors"]
    await api.get("/api/v1/enhance", status=400, params={"address": "x", "sources": "NOPE"})
    err = await api.get("/api/v1/enhance", status=400, params={"sources": "PG", "country": "US"})
    assert "address" in err["errors"]
    await api.get(
        "/api/v1/enhance",
        status=400,
        params={"sources": "PG", "latitude": "north", "longitude": "1"},
    )


async def test_datasources(api: Any) -> None:
    listing = await api.get("/api/v1/datasources")
    assert {"PG", "PH", "NOOP", "PGPRE"} <= set(listing["configs"])
    one = await api.get("/api/v1/datasources/pg")
    assert one["config"] == listing["configs"]["PG"]
    await api.get("/api/v1/datasources/NOPE", status=404)


async def test_usage(api: Any) -> None:
    empty = await api.get("/api/v1/usage")
    assert empty["granularity"] == "1h"
    assert empty["buckets"] == []
    assert empty["totals"] == {"total": 0}
    job = await api.post("/api/v1/bulk_enhance", json=DOCS_BODY)
    await api.poll(f"/api/v1/bulk_enhance/{job['id']}")
    await api.get("/api/v1/enhance", params={"address": "x", "sources": "PG"})
    usage = await api.get("/api/v1/usage", params={"start": "-1h"})
    assert usage["granularity"] == "5m"
    assert usage["totals"] == {"PG": 3, "PH": 2, "total": 5}
    assert sum(b["counts"]["total"] for b in usage["buckets"]) == 5
    assert (await api.get("/api/v1/usage", params={"start": "-90d"}))["granularity"] == "1d"
    iso = await api.get(
        "/api/v1/usage", params={"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T06:00:00Z"}
    )
    assert iso["start"] == "2020-01-01T00:00:00.000Z"
    assert iso["totals"]["total"] == 0
    err = await api.get(
        "/api/v1/usage", status=400, params={"username": "a", "org_short_name": "b"}
    )
    assert "org_short_name" in err["errors"]
    await api.get("/api/v1/usage", status=400, params={"start": "yesterday"})


async def test_large_job_is_held_until_its_results_exist(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    # job_seconds=0: the job is due at once, but 3,000 results are computed in a thread first.
    api = make_api(await sovfixer_emulator_factory(job_seconds=0.0))
    locations = [{"id": f"L{i}", "address": f"{i} elm st"} for i in range(3000)]
    job = await api.post("/api/v1/bulk_enhance", json={"locations": locations, "sources": ["GG"]})
    final = await api.poll(f"/api/v1/bulk_enhance/{job['id']}")
    assert set(final["_seen"]) <= {"PENDING", "QUEUED", "IN_PROGRESS", "COMPLETE"}
    assert final["request"]["num_completed"] == 3000
    assert final["result"]["sources"][0]["num_fetched"] == 3000
    async with api.http.get(final["result"]["outputs"][0]["url"]) as r:
        assert len(json.loads(await r.read())) == 3000
