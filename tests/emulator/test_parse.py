"""SOV parsing (contract 3.1-3.3, 12): xlsx uploads, other Excel types, unreadable files."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

HEADER = ["bldg_name", "street", "city", "state", "limits__building_limit"]
ROWS = [
    ["Main Office", "1 Main St", "Miami", "FL", 1_000_000],
    ["Warehouse", "2 Dock Rd", "Tampa", "FL", 2_500_000],
    ["Store", "3 High St", "Orlando", "FL", 750_000],
]


def upload(data: bytes, filename: str, **fields: str | list[str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(name, item)
    return form


async def test_parse_xlsx_upload(api: Any) -> None:
    workbook = make_xlsx("Locations", HEADER, ROWS)
    form = upload(
        workbook,
        "my sov.xlsx",
        output_formats=["json", "auditor"],
        client_ref="ref-1",
        extra_data_insured_name="Joe Insured",
        allow_ping_data_api="True",
    )
    started = await api.post("/api/v1/sov", data=form)
    assert started["message"] == "OK"
    sovid = started["id"]
    assert sovid.startswith("s-em-ping-")
    assert len(sovid) == len("s-em-ping-") + 6
    final = await api.poll(f"/api/v1/sov/{sovid}?include_progress=true")
    assert set(final["_seen"]) <= {"PENDING", "IN_PROGRESS", "COMPLETE"}
    request = final["request"]
    assert request["status"] == "COMPLETE"
    assert request["pct_complete"] == 100
    assert isinstance(request["last_health_status"], str)
    result = final["result"]
    assert result["status"] == "SUCCESS"
    [source] = result["inputs"]
    assert source["filename"] == "my sov.xlsx"
    assert source["status"] == "SUCCESS"
    async with api.http.get(source["url"]) as r:
        assert await r.read() == workbook
    names = [o["filename"] for o in result["outputs"]]
    assert names == ["my sov.json", "my sov.xlsx"]
    async with api.http.get(result["outputs"][0]["url"]) as r:
        document = json.loads(await r.read())
    assert document["id"] == sovid
    assert document["num_buildings"] == 3
    assert document["extra_data"] == {"insured_name": "Joe Insured"}
    assert [b["bldg_name"] for b in document["buildings"]] == [r[0] for r in ROWS]
    assert [b["sheet_row_number"] for b in document["buildings"]] == [2, 3, 4]
    assert document["buildings"][0]["item_key"] == f"i-{sovid}!Locations!2"
    history = await api.get("/api/v1/sov/history")
    assert history["results"][-1] == {
        **history["results"][-1],
        "id": sovid,
        "record_type": "ORIG",
        "status": "C",
        "client_ref": "ref-1",
        "revision": 0,
    }


async def test_progress_fields_while_running(sovfixer_emulator_factory: Any, make_api: Any) -> None:
    api = make_api(await sovfixer_emulator_factory(job_seconds=0.6))
    form = upload(make_xlsx("Sheet1", HEADER, ROWS), "a.xlsx", integrations=["pg", "PH"])
    sovid = (await api.post("/api/v1/sov", data=form))["id"]
    first = await api.get(f"/api/v1/sov/{sovid}")
    assert first["request"]["status"] == "PENDING"
    assert first["request"]["pct_complete"] == 0
    assert first["request"]["completed_at"] is None
    assert "result" not in first
    final = await api.poll(f"/api/v1/sov/{sovid}")
    assert final["_seen"] == ["PENDING", "IN_PROGRESS", "ENRICHING", "COMPLETE"]


async def test_unreadable_workbook_fails_to_read(api: Any) -> None:
    sovid = (await api.post("/api/v1/sov", data=upload(b"not a workbook", "broken.xlsx")))["id"]
    final = await api.poll(f"/api/v1/sov/{sovid}")
    assert final["request"]["status"] == "FAILED"
    assert final["result"]["status"] == "FAILED_TO_READ"
    assert "outputs" not in final["result"]
    assert final["result"]["inputs"][0]["status"] == "FAILED_TO_READ"
    history = await api.get("/api/v1/sov/history")
    record = history["results"][-1]
    assert (record["id"], record["status"]) == (sovid, "F")
    item = await api.get(f"/api/v1/sov/history/{sovid}")
    assert item["result"]["error_message"]
    # Neither an update nor an output of a failed SOV is possible.
    await api.post(f"/api/v1/sov/{sovid}/initiate_update", status=400)
    await api.post(
        f"/api/v1/sov/{sovid}/get_or_create_output", status=400, json={"output_format": "json"}
    )


@pytest.mark.parametrize("name", ["old.xls", "macro.xlsm", "binary.xlsb", "acord.pdf"])
async def test_other_file_types_get_synthetic_buildings(api: Any, name: str) -> None:
    sovid = (await api.post("/api/v1/sov", data=upload(b"\x00" * 64, name)))["id"]
    final = await api.poll(f"/api/v1/sov/{sovid}")
    assert final["result"]["status"] == "SUCCESS"
    async with api.http.get(final["result"]["outputs"][0]["url"]) as r:
        assert json.loads(await r.read())["num_buildings"] > 0


async def test_parse_request_errors(api: Any) -> None:
    err = await api.post("/api/v1/sov", status=400, data=upload(b"a,b\n", "data.csv"))
    assert "file" in err["errors"]
    err = await api.post("/api/v1/sov", status=400, data={"document_type": "SOV"})
    assert "file" in err["errors"]
    xlsx = make_xlsx("Sheet1", HEADER, ROWS)
    err = await api.post(
        "/api/v1/sov", status=400, data=upload(xlsx, "a.xlsx", document_type="MENU")
    )
    assert "document_type" in err["errors"]
    err = await api.post(
        "/api/v1/sov", status=400, data=upload(xlsx, "a.xlsx", output_formats="amrisc")
    )
    assert err["allowed_output_formats"]
    err = await api.post("/api/v1/sov", status=400, data=upload(xlsx, "a.xlsx", integrations="XX"))
    assert "integrations" in err["errors"]
    await api.get("/api/v1/sov/s-em-ping-zzzzzz", status=404)
    stats = await api.control("/_emulator/stats")
    assert stats["jobs_created"]["parse"] == 0
