"""``client_ref`` as the real API carries it (issue 12's reconciliation relies on it): the
activity search finds a SOV by its ``client_ref``, and every update record in a SOV's
``all_updates`` carries the ``client_ref`` its ``initiate_update`` was given."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
CSV = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,X\n"


async def _parse(api: Any, client_ref: str | None) -> str:
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.4 nothing", filename="sov.pdf")
    if client_ref is not None:
        form.add_field("client_ref", client_ref)
    return str((await api.post("/api/v1/sov", data=form))["id"])


async def test_activity_search_finds_a_sov_by_client_ref(api: Any) -> None:
    first = await _parse(api, "batch-7f3a-0001")
    second = await _parse(api, "batch-7f3a-0002")
    await _parse(api, None)
    found = await api.get("/api/v1/sov/activity", params={"search": "batch-7f3a-0002"})
    assert [(r["id"], r["client_ref"]) for r in found["results"]] == [(second, "batch-7f3a-0002")]
    # Case-insensitive substring, as a search box: the caller matches exactly.
    both = await api.get("/api/v1/sov/activity", params={"search": "BATCH-7F3A"})
    assert {r["id"] for r in both["results"]} == {first, second}
    none = await api.get("/api/v1/sov/activity", params={"search": "batch-7f3a-0003"})
    assert none["results"] == []
    assert none["total_count"] == 0
    # Only the fields asked for (plus id).
    slim = await api.get(
        "/api/v1/sov/activity", params={"search": "batch-7f3a-0001", "fields": "client_ref"}
    )
    assert slim["results"] == [{"id": first, "client_ref": "batch-7f3a-0001"}]


@pytest.mark.parametrize("encoding", ["form", "json"])
async def test_update_records_carry_their_client_ref(api: Any, encoding: str) -> None:
    refs = ["upd-a", None, "upd-c"]
    sudids = []
    for ref in refs:
        body = {} if ref is None else {"client_ref": ref}
        kwargs = {"json": body} if encoding == "json" else {"data": body}
        sudids.append((await api.post(f"/api/v1/sov/{SOVID}/initiate_update", **kwargs))["id"])
    # Started or not, every update is listed with its own client_ref.
    await api.post(
        f"/api/v1/sov/update/{sudids[0]}/add_locations", status=200, data=api.csv_form(CSV)
    )
    await api.post(f"/api/v1/sov/update/{sudids[0]}/start", json={})
    activity = await api.get(
        "/api/v1/sov/activity", params={"id": SOVID, "fields": "all_updates,updates"}
    )
    [sov] = activity["results"]
    listed = [(u["sudid"], u["client_ref"]) for u in sov["all_updates"]]
    assert listed == list(zip(sudids, refs, strict=True))
    assert [u["client_ref"] for u in sov["updates"].values()] == refs
    done = await api.poll(f"/api/v1/sov/update/{sudids[0]}")
    assert done["request"]["status"] == "COMPLETE"
    history = await api.get("/api/v1/sov/history")
    [record] = [r for r in history["results"] if r["id"] == sudids[0]]
    assert record["client_ref"] == "upd-a"


async def test_a_blank_client_ref_counts_as_absent(api: Any) -> None:
    # The contract: a string of length >= 1; a blank value is treated as not given.
    sudid = (await api.post(f"/api/v1/sov/{SOVID}/initiate_update", data={"client_ref": "  "}))[
        "id"
    ]
    activity = await api.get("/api/v1/sov/activity", params={"id": SOVID})
    [update] = [u for u in activity["results"][0]["all_updates"] if u["sudid"] == sudid]
    assert update["client_ref"] is None
