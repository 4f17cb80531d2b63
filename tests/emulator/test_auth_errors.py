"""Authorization (contract 1.2) and error bodies (contract 2.5)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.anyio


async def status_and_body(
    url: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as bare, bare.request(method, url, headers=headers) as r:
        return r.status, await r.json()


@pytest.mark.parametrize(
    "header",
    [None, "", "Token", "Token ", "Token   ", "Bearer abc", "abc", "Basic dXNlcjpwYXNz"],
)
async def test_missing_or_malformed_token_is_401(
    sovfixer_emulator: Any, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, body = await status_and_body(
        sovfixer_emulator.url + "/api/v1/sov/s-no-ping-hggcsk", headers
    )
    assert status == 401
    assert body["detail"] == body["message"]
    assert body["detail"]


async def test_any_token_is_accepted_without_token_setting(sovfixer_emulator: Any) -> None:
    for token in ("x", "token-with-dashes", "0123456789abcdef"):
        status, _ = await status_and_body(
            sovfixer_emulator.url + "/api/v1/output_formats", {"Authorization": f"Token {token}"}
        )
        assert status == 200


async def test_token_setting_accepts_only_that_token(sovfixer_emulator_factory: Any) -> None:
    emu = await sovfixer_emulator_factory(token="s3cret")
    url = emu.url + "/api/v1/output_formats"
    assert (await status_and_body(url, {"Authorization": "Token s3cret"}))[0] == 200
    status, body = await status_and_body(url, {"Authorization": "Token wrong"})
    assert status == 401
    assert "Invalid token" in body["detail"]
    # The control surface needs no token.
    assert (await status_and_body(emu.url + "/_emulator/stats", {}))[0] == 200


async def test_404_bodies(api: Any) -> None:
    for path in (
        "/api/v1/sov/s-unknown",
        "/api/v1/sov/update/s-unknown-r001",
        "/api/v1/sov/history/s-unknown",
        "/api/v1/bulk_enhance/unknown",
        "/api/v1/no/such/route",
        "/api/v1/building/i-s-unknown!Sheet1!2",
        "/api/v1/pli/policy/s-unknown/get_public_shareable_url",
    ):
        body = await api.get(path, status=404)
        assert body["detail"] == body["message"], path


async def test_405_and_400_bodies(api: Any) -> None:
    async with api.http.delete(api.url("/api/v1/sov/s-no-ping-hggcsk")) as r:
        assert r.status == 405
        assert (await r.json())["detail"]
    body = await api.post(
        "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
        status=400,
        data=b"{broken",
        headers={"Content-Type": "application/json"},
    )
    assert "JSON" in body["detail"]
    body = await api.post(
        "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
        status=400,
        data={"output_format": "json", "revision": "latest"},
    )
    assert body["errors"] == {"revision": [body["detail"]]}
    body = await api.post(
        "/api/v1/sov/s-no-ping-hggcsk/get_or_create_output",
        status=400,
        data={"output_format": "json", "overwrite_existing": "maybe"},
    )
    assert "overwrite_existing" in body["errors"]


async def test_misc_paths(api: Any) -> None:
    info = await api.get("/api/v1/serverinfo")
    assert info["server"]
    added = await api.post(
        "/api/v1/sov/s-no-ping-hggcsk/add_building",
        status=200,
        json={"building_data": {"bldg_name": "Annex"}},
    )
    building = await api.get(f"/api/v1/building/{added['item_key']}")
    assert building["bldg_name"] == "Annex"
    first = await api.get("/api/v1/building/i-s-no-ping-hggcsk!Sheet1!2")
    assert first["sheet_row_number"] == 2
    await api.post("/api/v1/sov/s-no-ping-hggcsk/add_building", status=400, json={})
    url = await api.get("/api/v1/pli/policy/s-no-ping-hggcsk/get_public_shareable_url")
    assert url["url"].startswith(api.base)

    # A submission is an empty SOV whose update rows add buildings.
    sub = await api.post(
        "/api/v1/submission", data={"document_type": "SOV", "extra_data_insured_name": "Sub Co"}
    )
    assert isinstance(sub["id"], int)
    rows = b"sheet_name,sheet_row_number,bldg_name\nSOV,2,First\nSOV,3,Second\n"
    await api.post(
        f"/api/v1/sov/update/{sub['id']}/add_locations", status=200, data=api.csv_form(rows)
    )
    await api.post(f"/api/v1/sov/update/{sub['id']}/start", json={"extra_data": {}})
    final = await api.poll(f"/api/v1/sov/update/{sub['id']}")
    assert final["result"]["status"] == "SUCCESS"
    async with api.http.get(final["result"]["outputs"][0]["url"]) as r:
        document = await r.json(content_type=None)
    assert [b["bldg_name"] for b in document["buildings"]] == ["First", "Second"]


async def test_undecodable_gzip_body_is_400(api: Any) -> None:
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    body = await api.post("/api/v1/bulk_enhance", status=400, data=b"not gzip", headers=headers)
    assert "could not be read" in body["detail"]


async def test_set_faults_refuses_bad_knobs(sovfixer_emulator: Any) -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        sovfixer_emulator.set_faults(fault_rate=1.5)
    with pytest.raises(ValueError, match="nope"):
        sovfixer_emulator.set_faults(nope=1.0)
