"""SOV updates (contract 3.4-3.7, 7, 12.1) exactly as the docs' workflow drives them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async.emulator.jobs import apply_rows, parse_locations_csv
from sovfixer_async.emulator.outputs import seed_buildings
from sovfixer_async.emulator.protocol import BadRequest

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
CORRECTIONS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\n"


async def test_docs_update_workflow(api: Any) -> None:
    # Step 1: initiate with no body at all.
    async with api.http.post(api.url(f"/api/v1/sov/{SOVID}/initiate_update")) as r:
        assert r.status == 201
        init = await r.json()
    assert init == {"message": "OK", "id": f"{SOVID}-r001"}
    sudid = init["id"]

    # An open update reports PENDING and has no result.
    status = await api.get(f"/api/v1/sov/update/{sudid}")
    assert status["request"]["status"] == "PENDING"
    assert "result" not in status

    # Step 2: two batches.
    first = await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(CORRECTIONS)
    )
    assert "message" in first
    second = b"item_key,limits__building_limit,roof_note\ni-s-no-ping-hggcsk!Sheet1!3,123456,new\n"
    await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(second)
    )

    # Step 3: start with extra_data.
    started = await api.post(
        f"/api/v1/sov/update/{sudid}/start", json={"extra_data": {"insured_name": "Acme Corp"}}
    )
    assert "message" in started

    # Step 4: poll until terminal.
    final = await api.poll(f"/api/v1/sov/update/{sudid}")
    assert set(final["_seen"]) <= {"PENDING", "IN_PROGRESS", "COMPLETE"}
    request = final["request"]
    assert request["status"] == "COMPLETE"
    assert request["sudid"] == sudid
    assert request["record_type"] == "API"
    assert request["completed_at"].endswith("Z")
    assert len(request["completed_at"]) == 24
    result = final["result"]
    assert result["status"] == "SUCCESS"
    [output] = result["outputs"]
    assert output["filename"] == "Acme Corp.json"
    assert output["url"] == f"{api.base}/api/v1/sov/{sudid}/output/Acme%20Corp.json"

    # Step 5: download; the corrections are in the new revision, the rest is unchanged.
    async with api.http.get(output["url"]) as r:
        assert r.status == 200
        assert r.headers["Content-Disposition"] == 'attachment; filename="Acme Corp.json"'
        document = json.loads(await r.read())
    assert document["id"] == SOVID
    assert document["extra_data"]["insured_name"] == "Acme Corp"
    by_row = {b["sheet_row_number"]: b for b in document["buildings"]}
    assert by_row[2]["bldg_name"] == "Normal House"
    assert by_row[3]["limits__building_limit"] == 123456
    assert by_row[3]["roof_note"] == "new"
    original = {b["sheet_row_number"]: b for b in seed_buildings(SOVID)}
    assert by_row[4]["bldg_name"] == original[4]["bldg_name"]

    # The completed revision is in the history feed with its own number.
    page = await api.get("/api/v1/sov/history")
    assert [(r["id"], r["revision"], r["record_type"]) for r in page["results"]] == [
        (SOVID, 0, "ORIG"),
        (sudid, 1, "API"),
    ]


async def test_initiate_update_accepts_form_json_and_empty_bodies(api: Any) -> None:
    ids = []
    for kwargs in ({"data": {"update_type": "SCRUB", "client_ref": "x"}}, {"json": {}}, {}):
        ids.append((await api.post(f"/api/v1/sov/{SOVID}/initiate_update", **kwargs))["id"])
    assert ids == [f"{SOVID}-r001", f"{SOVID}-r002", f"{SOVID}-r003"]
    status = await api.get(f"/api/v1/sov/update/{ids[0]}")
    assert status["request"]["record_type"] == "SCRUB"


async def test_update_errors(api: Any) -> None:
    bad = await api.post(
        f"/api/v1/sov/{SOVID}/initiate_update", status=400, json={"update_type": "NOPE"}
    )
    assert "update_type" in bad["errors"]
    await api.post("/api/v1/sov/s-unknown/initiate_update", status=404)
    sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]

    # start before any location: 400; CSV without identifier columns: 400.
    err = await api.post(f"/api/v1/sov/update/{sudid}/start", status=400, json={})
    assert err["detail"] == err["message"]
    err = await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations",
        status=400,
        data=api.csv_form(b"bldg_name\nNo Key\n"),
    )
    assert "file" in err["errors"]
    await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations",
        status=400,
        data=api.csv_form(b"sheet_name,sheet_row_number,bldg_name\nSheet1,,x\n"),
    )
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=400, data={"x": "1"})

    await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(CORRECTIONS)
    )
    # A disallowed format names the allowed ones.
    err = await api.post(
        f"/api/v1/sov/update/{sudid}/start", status=400, json={"output_formats": ["NOPE"]}
    )
    assert err["allowed_output_formats"] == ["JSON", "DEBUGJSON", "AUDITOR"]
    assert "JSON, DEBUGJSON, AUDITOR" in err["message"]

    # Empty body start works (extra_data defaults to {}); a second start is 409.
    async with api.http.post(api.url(f"/api/v1/sov/update/{sudid}/start")) as r:
        assert r.status == 201
    await api.post(f"/api/v1/sov/update/{sudid}/start", status=409, json={})
    # Locations cannot be added once started.
    await api.post(
        f"/api/v1/sov/update/{sudid}/add_locations", status=400, data=api.csv_form(CORRECTIONS)
    )
    final = await api.poll(f"/api/v1/sov/update/{sudid}")
    assert final["result"]["outputs"][0]["filename"] == f"{sudid}.json"
    await api.get("/api/v1/sov/update/s-no-ping-hggcsk-r999", status=404)


async def test_failed_update_names_the_row(api: Any) -> None:
    sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
    rows = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Fine\nSheet1,999,Ghost\n"
    await api.post(f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(rows))
    await api.post(f"/api/v1/sov/update/{sudid}/start", json={"extra_data": {}})
    final = await api.poll(f"/api/v1/sov/update/{sudid}")
    assert final["request"]["status"] == "FAILED"
    result = final["result"]
    assert result["status"] == "FAILED_TO_PARSE"
    assert "line 3" in result["message"]
    assert "999" in result["message"]
    assert "outputs" not in result
    # A failed SUD is not in the history and its revision cannot be named.
    page = await api.get("/api/v1/sov/history")
    assert sudid not in [r["id"] for r in page["results"]]
    err = await api.post(
        f"/api/v1/sov/{SOVID}/get_or_create_output",
        status=400,
        json={"output_format": "json", "revision": 1},
    )
    assert "revision" in err["errors"]
    await api.post(
        f"/api/v1/sov/{sudid}/get_or_create_output", status=400, json={"output_format": "json"}
    )


async def test_revisions_are_never_reused_and_latest_is_latest_completed(api: Any) -> None:
    first = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
    second = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
    assert (first, second) == (f"{SOVID}-r001", f"{SOVID}-r002")
    await api.post(
        f"/api/v1/sov/update/{second}/add_locations", status=200, data=api.csv_form(CORRECTIONS)
    )
    # r001 is still open: naming it is a 400, and -1 still means revision 0.
    await api.post(
        f"/api/v1/sov/{SOVID}/get_or_create_output",
        status=400,
        data={"output_format": "json", "revision": "1"},
    )
    await api.post(f"/api/v1/sov/update/{second}/start", json={"extra_data": {}})
    await api.poll(f"/api/v1/sov/update/{second}")
    latest = await api.post(
        f"/api/v1/sov/{SOVID}/get_or_create_output", json={"output_format": "JSON"}
    )
    assert latest["request"]["status"] == "COMPLETE"
    assert latest["result"]["url"].endswith(f"/api/v1/sov/{second}/output/{second}.json")


def test_csv_rows_keep_line_numbers_and_need_identifiers() -> None:
    rows = parse_locations_csv(
        b"\xef\xbb\xbfitem_key,sheet_name,sheet_row_number,x\nk1,,,a\n\n,S,5,\n"
    )
    assert rows == [
        (2, {"item_key": "k1", "sheet_name": "", "sheet_row_number": "", "x": "a"}),
        (4, {"item_key": "", "sheet_name": "S", "sheet_row_number": "5", "x": ""}),
    ]
    with pytest.raises(BadRequest, match="not an integer"):
        parse_locations_csv(b"sheet_name,sheet_row_number\nS,two\n")
    with pytest.raises(BadRequest, match="header"):
        parse_locations_csv(b"")


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=8)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    corrections=st.lists(
        st.tuples(st.integers(min_value=2, max_value=27), cells), min_size=1, max_size=10
    )
)
def test_applying_rows_sets_non_empty_cells_last_one_wins(
    corrections: list[tuple[int, str]],
) -> None:
    buildings = seed_buildings(SOVID)
    batch = [
        (line, {"sheet_name": "Sheet1", "sheet_row_number": str(row), "bldg_name": name.strip()})
        for line, (row, name) in enumerate(corrections, 2)
    ]
    out, error = apply_rows(buildings, [batch], sovid=SOVID)
    assert error is None
    expected = {b["sheet_row_number"]: b["bldg_name"] for b in buildings}
    for row, name in corrections:
        if name.strip():
            expected[row] = name.strip()
    assert {b["sheet_row_number"]: b["bldg_name"] for b in out} == expected
    assert buildings == seed_buildings(SOVID)  # the base revision is never mutated
