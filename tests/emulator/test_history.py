"""History feed and activity (contract 3.11-3.13): cursors, filters, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
ROWS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"


async def run_updates(api: Any, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update"))["id"]
        await api.post(
            f"/api/v1/sov/update/{sudid}/add_locations", status=200, data=api.csv_form(ROWS)
        )
        await api.post(f"/api/v1/sov/update/{sudid}/start", json={})
        ids.append(sudid)
    for sudid in ids:
        await api.poll(f"/api/v1/sov/update/{sudid}")
    return ids


async def test_history_cursor_paging(api: Any) -> None:
    ids = await run_updates(api, 5)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"page_size": 2}
        if cursor:
            params["cursor_id"] = cursor
        page = await api.get("/api/v1/sov/history", params=params)
        pages += 1
        if not page["results"]:
            assert page["cursor_id"] == cursor  # an empty page keeps the cursor
            break
        seen += [r["id"] for r in page["results"]]
        cursor = page["cursor_id"]
        assert cursor == page["results"][-1]["id"]
    assert seen == [SOVID, *ids]
    assert pages == 4
    page = await api.get("/api/v1/sov/history", params={"cursor_id": ids[2]})
    assert [r["id"] for r in page["results"]] == ids[3:]
    row = page["results"][0]
    assert row["revision"] == 4
    assert row["status"] == "C"
    assert row["record_type"] == "API"
    # completed_time parses the way the official SDK parses it.
    datetime.strptime(row["completed_time"], "%Y-%m-%dT%H:%M:%S.%fZ")


async def test_history_start_filter_and_errors(api: Any) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    assert (await api.get("/api/v1/sov/history", params={"start": future}))["results"] == []
    assert (
        len((await api.get("/api/v1/sov/history", params={"start": "20000101000000"}))["results"])
        == 1
    )
    for params in (
        {"page_size": 0},
        {"page_size": 251},
        {"page_size": "x"},
        {"start": "2024-01-01"},
    ):
        err = await api.get("/api/v1/sov/history", status=400, params=params)
        assert set(err["errors"]) <= {"page_size", "start"}
    await api.get("/api/v1/sov/history", status=400, params={"cursor_id": "s-unknown"})
    assert len((await api.get("/api/v1/sov/history", params={"page_size": 250}))["results"]) == 1


async def test_history_item(api: Any) -> None:
    [sudid] = await run_updates(api, 1)
    item = (await api.get(f"/api/v1/sov/history/{sudid}"))["result"]
    assert item["sovid"] == SOVID
    assert item["original_sovid"] == SOVID
    assert item["previous_sovid"] == SOVID
    assert item["sheet_name"] == "Sheet1"
    [output] = item["outputs"]
    assert output["output_format"] == "JSON"
    assert output["url"] == f"{api.base}/api/v1/sov/{sudid}/output/{sudid}.json"


async def test_activity_shape_paging_and_fields(api: Any) -> None:
    for name in ("a.xls", "b.xls", "c.xls"):
        form = api.csv_form(b"\x00", name)  # any file part named "file"
        await api.post("/api/v1/sov", data=form, status=201)
    page = await api.get("/api/v1/sov/activity", params={"page_size": 2})
    assert page["total_count"] == 4
    assert page["remaining_count"] == 2
    assert page["has_remaining"]
    assert page["total_size_without_cursors"] == "4"
    first = page["results"][0]
    assert first["filename"] == "c.xls"  # most recent first
    for key in ("id", "status", "output_data", "all_updates", "updates", "completed_time"):
        assert key in first
    nxt = await api.get(
        "/api/v1/sov/activity", params={"page_size": 2, "cursor_id": page["cursor_id"]}
    )
    assert [r["filename"] for r in nxt["results"]] == ["a.xls", "parse_sov_testfile.xlsx"]
    assert nxt["cursor_id"] is None
    assert not nxt["has_remaining"]
    back = await api.get(
        "/api/v1/sov/activity", params={"page_size": 2, "prev_cursor_id": nxt["prev_cursor_id"]}
    )
    assert [r["id"] for r in back["results"]] == [r["id"] for r in page["results"]]

    only = await api.get(
        "/api/v1/sov/activity", params=[("fields", "status"), ("fields", "filename"), ("id", SOVID)]
    )
    assert only["results"] == [{"id": SOVID, "status": "C", "filename": "parse_sov_testfile.xlsx"}]
    seed = await api.get("/api/v1/sov/activity", params={"id": SOVID})
    assert seed["results"][0]["output_data"][0]["scrubbed_filename"] == "parse_sov_testfile.json"
    searched = await api.get("/api/v1/sov/activity", params={"search": "B.XLS"})
    assert [r["filename"] for r in searched["results"]] == ["b.xls"]
    assert (await api.get("/api/v1/sov/activity", params={"origin": "email"}))["results"] == []


async def test_activity_validation(api: Any) -> None:
    for params in (
        {"fields": "nope"},
        {"status": "X"},
        {"origin": "fax"},
        {"page_size": 0},
        {"completed_time__gt": "yesterday"},
    ):
        err = await api.get("/api/v1/sov/activity", status=400, params=params)
        assert err["errors"], params
    done = await api.get(
        "/api/v1/sov/activity", params={"status": "C", "completed_time__gte": "20000101000000"}
    )
    assert [r["id"] for r in done["results"]] == [SOVID]
