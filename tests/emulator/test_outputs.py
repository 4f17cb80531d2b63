"""get_or_create_output (contract 3.8-3.10) as the docs' workflow drives it."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
GOCO = f"/api/v1/sov/{SOVID}/get_or_create_output"


async def test_cached_output_is_complete_at_once(api: Any) -> None:
    # The docs' request, lower-case format in, upper-case out.
    body = await api.post(
        GOCO, json={"output_format": "json", "revision": -1, "overwrite_existing": False}
    )
    request, result = body["request"], body["result"]
    assert request["status"] == "COMPLETE"
    assert request["id"].startswith("immediately-done-")
    assert result == {
        "label": "JSON",
        "output_format": "JSON",
        "scrubbed_filename": "parse_sov_testfile.json",
        "url": f"{api.base}/api/v1/sov/{SOVID}/output/parse_sov_testfile.json",
    }
    # The immediately-done id resolves on the GET endpoint too.
    again = await api.get(f"/api/v1/sov/get_or_create_output/{request['id']}")
    assert again["request"]["status"] == "COMPLETE"
    assert again["result"] == result
    async with api.http.get(result["url"]) as r:
        assert json.loads(await r.read())["id"] == SOVID
    stats = await api.control("/_emulator/stats")
    assert stats["outputs_cached"] == 1
    assert stats["jobs_created"]["output"] == 0


async def test_uncached_output_is_generated_then_cached(api: Any) -> None:
    body = await api.post(GOCO, data={"output_format": "auditor", "revision": "-1"})
    assert body["request"]["status"] == "PENDING"
    assert "result" not in body
    request_id = body["request"]["id"]
    assert not request_id.startswith("immediately-done-")
    final = await api.poll(f"/api/v1/sov/get_or_create_output/{request_id}")
    assert final["_seen"][-1] == "COMPLETE"
    assert set(final["_seen"]) <= {"PENDING", "IN_PROGRESS", "COMPLETE"}
    result = final["result"]
    assert result["output_format"] == "AUDITOR"
    assert result["scrubbed_filename"] == "parse_sov_testfile.xlsx"
    async with api.http.get(result["url"]) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert (await r.read())[:2] == b"PK"
    # Now it is cached: upper-case request, immediate answer, same URL.
    cached = await api.post(GOCO, json={"output_format": "AUDITOR"})
    assert cached["request"]["status"] == "COMPLETE"
    assert cached["result"]["url"] == result["url"]


async def test_overwrite_regenerates_same_bytes(api: Any) -> None:
    body = await api.post(
        GOCO, data={"output_format": "JSON", "revision": "0", "overwrite_existing": "True"}
    )
    assert body["request"]["status"] == "PENDING"
    final = await api.poll(f"/api/v1/sov/get_or_create_output/{body['request']['id']}")
    assert final["result"]["scrubbed_filename"] == "parse_sov_testfile.json"
    stats = await api.control("/_emulator/stats")
    assert stats["jobs_created"]["output"] == 1


async def test_unknown_format_lists_the_allowed_ones(api: Any) -> None:
    err = await api.post(GOCO, status=400, json={"output_format": "amrisc", "revision": 99})
    assert err["allowed_output_formats"] == ["JSON", "DEBUGJSON", "AUDITOR"]
    assert "JSON, DEBUGJSON, AUDITOR" in err["detail"]
    assert "output_format" in err["errors"]
    missing = await api.post(GOCO, status=400, json={})
    assert "output_format" in missing["errors"]
    await api.post("/api/v1/sov/s-nope/get_or_create_output", status=404, json={})
    await api.get("/api/v1/sov/get_or_create_output/not-a-request", status=404)
    bad_revision = await api.post(GOCO, status=400, json={"output_format": "json", "revision": 7})
    assert "revision" in bad_revision["errors"]


async def test_allowed_formats_setting_restricts_the_catalogue(
    sovfixer_emulator_factory: Any, make_api: Any
) -> None:
    api = make_api(await sovfixer_emulator_factory(allowed_formats=["json", "debugjson"]))
    listed = await api.get("/api/v1/output_formats")
    assert [f["output_format"] for f in listed["output_formats"]] == ["JSON", "DEBUGJSON"]
    err = await api.post(GOCO, status=400, json={"output_format": "AUDITOR"})
    assert err["allowed_output_formats"] == ["JSON", "DEBUGJSON"]
    assert "JSON, DEBUGJSON" in err["message"]


async def test_output_formats_listing(api: Any) -> None:
    body = await api.get("/api/v1/output_formats")
    assert body["output_formats"][0] == {
        "output_format": "JSON",
        "label": "JSON",
        "is_public": True,
        "output_extension": "json",
    }
    await api.get(f"/api/v1/output_formats?sovid={SOVID}")
    await api.get("/api/v1/output_formats?sovid=s-unknown", status=404)


async def test_sud_id_path_ignores_revision(api: Any) -> None:
    sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
    form = api.csv_form(b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n")
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=form)
    await api.post(
        f"/api/v1/sov/update/{sudid}/start", json={"output_formats": ["json", "DEBUGJSON"]}
    )
    final = await api.poll(f"/api/v1/sov/update/{sudid}")
    names = [o["filename"] for o in final["result"]["outputs"]]
    assert names == [f"{sudid}.json", f"{sudid}_debugjson.json"]
    body = await api.post(
        f"/api/v1/sov/{sudid}/get_or_create_output",
        json={"output_format": "debugjson", "revision": 0},
    )
    assert body["request"]["status"] == "COMPLETE"
    assert body["result"]["url"].endswith(f"/api/v1/sov/{sudid}/output/{sudid}_debugjson.json")
