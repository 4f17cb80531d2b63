"""The Ping.Extraction calls outside the core workflows (contract 3.14), through HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from sovfixer_async import (
    Client,
    InvalidInputError,
    NotFoundError,
    ResponseShapeError,
    UpdateJob,
)

from ..client.hostile import serve
from .conftest import SOVID, Stats, client_for, submitted

pytestmark = pytest.mark.anyio


async def test_server_info(client: Client) -> None:
    info = await client.server_info()
    assert info.server == "sovfixer-async emulator"
    assert "apis" in info.extra


async def test_add_building_then_get_it_back(client: Client) -> None:
    added = await client.add_building(SOVID, {"bldg_name": "Annex", "num_stories": 3})
    assert added.item_key is not None
    building = await client.get_building(added.item_key)
    assert building.item_key == added.item_key
    assert building.extra["bldg_name"] == "Annex"
    assert building.extra["num_stories"] == 3


async def test_get_an_unknown_building_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        await client.get_building(f"i-{SOVID}!Nowhere!999")


@pytest.mark.parametrize("building", [None, ["a"], {"": 1}, {"x": float("inf")}, "text"])
async def test_a_building_that_is_not_a_json_object_is_refused(
    client: Client, stats: Stats, building: Any
) -> None:
    with pytest.raises(InvalidInputError):
        await client.add_building(SOVID, building)
    assert (await stats())["requests_total"] == 0


async def test_shareable_url(client: Client) -> None:
    shared = await client.get_public_shareable_url(SOVID)
    assert shared.url.startswith("http")
    assert shared.url.endswith(SOVID)


async def test_submission_is_an_update_to_add_locations_to_and_start(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    job = await client.create_submission(
        "sov_bdx",
        client_ref="bdx-2024-01",
        extra_data={"insured_name": "Acme Corp", "tiv": 5},
        filename="bordereau.xlsx",
        extra_fields={"source": "portal"},
    )
    assert isinstance(job, UpdateJob)
    assert job.stage == "initiated"
    assert job.client_ref == "bdx-2024-01"
    (entry,) = submitted(await stats(), "POST /api/v1/submission")
    assert entry["fields"]["document_type"] == "SOV_BDX"
    assert entry["fields"]["extra_data_insured_name"] == "Acme Corp"
    assert entry["fields"]["extra_data_tiv"] == "5"
    assert entry["fields"]["source"] == "portal"
    rows = [{"sheet_name": "Sheet1", "sheet_row_number": n, "bldg_name": f"B{n}"} for n in (2, 3)]
    await job.add_locations(rows)
    await job.start(extra_data={"insured_name": "Acme Corp"})
    status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    (path,) = await job.download(tmp_path)
    names = sorted(b["bldg_name"] for b in json.loads(path.read_bytes())["buildings"])
    assert names == ["B2", "B3"]
    # the token resumes it like any update
    again = client.resume(job.token)
    assert isinstance(again, UpdateJob)
    assert again.id == job.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"document_type": "ACORD"}, "document_type"),
        ({"document_type": ""}, "document_type"),
        ({"client_ref": ""}, "client_ref"),
        ({"filename": ""}, "filename"),
        ({"extra_fields": {"document_type": "SOV"}}, "extra_fields['document_type']"),
        ({"extra_data": {"k": object()}}, "extra_data.k"),
    ],
)
async def test_bad_submission_inputs(
    client: Client, stats: Stats, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.create_submission(**kwargs)
    assert info.value.field == field
    assert (await stats())["requests_total"] == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/pli/policy/{sovid}/get_public_shareable_url", {"url": "javascript:alert(1)"}),
        ("/api/v1/pli/policy/{sovid}/get_public_shareable_url", {"no": "url"}),
        ("/api/v1/submission", {"id": "..", "message": "OK"}),
        ("/api/v1/submission", {"id": True}),
        ("/api/v1/submission", {"id": "a\x00b"}),
        ("/api/v1/serverinfo", ["not", "an", "object"]),
        ("/api/v1/building/{item_key}", {"sheet_row_number": "many"}),
    ],
)
async def test_hostile_answers_are_shape_errors(path: str, body: Any) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body, status=201 if request.method == "POST" else 200)

    app = web.Application()
    app.router.add_route("*", path, answer)
    async with serve(app) as url, client_for(url) as client:
        calls = {
            "shareable": lambda: client.get_public_shareable_url(SOVID),
            "submission": lambda: client.create_submission(),
            "serverinfo": lambda: client.server_info(),
            "building": lambda: client.get_building("i-1"),
        }
        (call,) = [call for name, call in calls.items() if name in path]
        with pytest.raises(ResponseShapeError):
            await call()


async def test_fetch_sov_output_by_its_path(client: Client, tmp_path: Path) -> None:
    """pingintel-api's ``fetch_sov_output(sov_id, filename)``: a download of the API path."""
    job = await client.update_sov(
        SOVID, [{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "Path"}]
    )
    status = await job.wait(timeout=30)
    (output,) = status.outputs
    assert output.filename is not None
    ident = output.url.rsplit("/output/", 1)[0].rsplit("/", 1)[-1]
    path = await client.download(f"/api/v1/sov/{ident}/output/{output.filename}", tmp_path)
    assert path.read_bytes() == (await job.download(tmp_path / "again"))[0].read_bytes()
