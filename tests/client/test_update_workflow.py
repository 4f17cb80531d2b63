"""SOV updates end to end against the emulator: inputs, batches, failure, download."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client, InvalidInputError, JobFailed, UpdateJob

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
CORRECTIONS = b"sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\n"


def buildings(path: Path) -> dict[int, dict[str, Any]]:
    data = json.loads(path.read_bytes())
    return {b["sheet_row_number"]: b for b in data["buildings"]}


async def test_docs_update_from_csv_file(client: Client, tmp_path: Path) -> None:
    csv_path = tmp_path / "corrections.csv"
    csv_path.write_bytes(CORRECTIONS)
    job = await client.update_sov(
        SOVID, locations=csv_path, output_formats=["json"], extra_data={"insured_name": "Acme Corp"}
    )
    assert isinstance(job, UpdateJob)
    assert job.id.startswith(SOVID + "-r")
    status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    paths = await job.download(tmp_path / "out")
    assert [p.name for p in paths] == ["Acme Corp.json"]
    assert buildings(paths[0])[2]["bldg_name"] == "Normal House"
    assert job.files[0].size == paths[0].stat().st_size
    assert len(job.files[0].sha256) == 64


async def test_rows_are_uploaded_in_batches_in_order(
    client: Client, stats: Any, tmp_path: Path
) -> None:
    rows = [
        {"sheet_name": "Sheet1", "sheet_row_number": n, "bldg_name": f"B{n}"} for n in range(2, 7)
    ]
    rows.append({"item_key": f"i-{SOVID}!Sheet1!3", "bldg_name": "Renamed later"})
    job = await client.update_sov(SOVID, rows, batch_rows=2)
    await job.wait(timeout=30)
    counts = await stats()
    assert counts["requests_by_route"]["POST /api/v1/sov/update/{id}/add_locations"] == 3
    (path,) = await job.download(tmp_path)
    found = buildings(path)
    assert found[2]["bldg_name"] == "B2"
    assert found[3]["bldg_name"] == "Renamed later"  # a later row overrides an earlier one
    assert found[6]["bldg_name"] == "B6"


async def test_async_iterable_rows_and_revision_is_visible(client: Client, tmp_path: Path) -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for n in (4, 5):
            yield {"sheet_name": "Sheet1", "sheet_row_number": str(n), "const__num_stories": 9}

    job = await client.update_sov(SOVID, rows())
    await job.wait(timeout=30)
    out = await client.get_or_create_output(SOVID, "JSON")
    await out.wait(timeout=30)
    (path,) = await out.download(tmp_path)
    assert buildings(path)[5]["const__num_stories"] in (9, "9")


async def test_row_naming_no_building_fails_with_server_message(client: Client) -> None:
    job = await client.update_sov(
        SOVID, b"sheet_name,sheet_row_number,bldg_name\nSheet1,999,Ghost\n"
    )
    with pytest.raises(JobFailed) as info:
        await job.wait(timeout=30)
    failure = info.value
    assert failure.job_id == job.id
    assert failure.result_status == "FAILED_TO_PARSE"
    assert failure.message is not None
    assert "999" in failure.message
    assert job.id in str(failure)
    assert job.status is not None
    assert job.status.state == "FAILED"


@pytest.mark.parametrize(
    ("locations", "field"),
    [
        (b"bldg_name\nNo id\n", "locations[0]"),
        (b"", "locations"),
        (b"sheet_name,sheet_row_number\nSheet1,2,extra\n", "locations line 2"),
        ([], "locations"),
        ([{"sheet_name": "Sheet1"}], "locations[0]"),
        ("definitely/missing.csv", "locations"),
        ("a,b\n1,2\n", "locations"),
    ],
)
async def test_bad_rows_fail_before_any_job(
    client: Client, stats: Any, locations: Any, field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, locations)
    assert info.value.field is not None
    assert info.value.field.startswith(field)
    counts = await stats()
    assert counts["jobs_created"].get("update", 0) == 0


async def test_unknown_output_format_lists_allowed(client: Client, stats: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, CORRECTIONS, output_formats=["json", "nope"])
    assert "JSON" in str(info.value)
    assert "AUDITOR" in str(info.value)
    assert info.value.field == "output_formats[1]"
    counts = await stats()
    assert counts["jobs_created"].get("update", 0) == 0
