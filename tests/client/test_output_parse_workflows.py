"""get_or_create_output and parse_sov end to end against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from sovfixer_async import Client, InvalidInputError, JobFailed, OutputJob, ParseJob
from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"


async def test_cached_output_is_done_without_polling(client: Client, stats: Any) -> None:
    first = await client.get_or_create_output(SOVID, "json")
    await first.wait(timeout=30)
    before = await stats()
    cached = await client.get_or_create_output(SOVID, "JSON")
    assert isinstance(cached, OutputJob)
    assert cached.done
    assert cached.id.startswith("immediately-done-")
    status = await cached.wait()
    assert status.result is not None
    assert status.result.output_format == "JSON"
    after = await stats()
    route = "GET /api/v1/sov/get_or_create_output/{id}"
    assert after["requests_by_route"].get(route, 0) == before["requests_by_route"].get(route, 0)


async def test_overwrite_regenerates_and_download_matches(client: Client, tmp_path: Path) -> None:
    out = await client.get_or_create_output(SOVID, "auditor", overwrite_existing=True)
    assert not out.done
    await out.wait(timeout=30)
    (path,) = await out.download(tmp_path)
    assert path.suffix == ".xlsx"
    assert path.read_bytes()[:2] == b"PK"
    assert out.files[0].size == path.stat().st_size


async def test_unknown_format_is_input_error_before_request(client: Client, stats: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.get_or_create_output(SOVID, "PDFX")
    assert "DEBUGJSON" in str(info.value)
    counts = await stats()
    assert counts["jobs_created"].get("output", 0) == 0


async def test_parse_xlsx_then_output(client: Client, tmp_path: Path) -> None:
    book = tmp_path / "acme sov.xlsx"
    book.write_bytes(
        make_xlsx(
            "Locations",
            ["Building Name", "Address", "City", "State", "TIV"],
            [["HQ", "1 Main St", "Miami", "FL", 1_000_000], ["Depot", "2 Elm", "Tampa", "FL", 5]],
        )
    )
    job = await client.parse_sov(book, output_formats=["json"], extra_data={"insured_name": "A"})
    assert isinstance(job, ParseJob)
    status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    (path,) = await job.download(tmp_path / "out")
    data = json.loads(path.read_bytes())
    assert data["id"] == job.id
    assert len(data["buildings"]) == 2


async def test_unreadable_workbook_fails_with_reason(client: Client, tmp_path: Path) -> None:
    book = tmp_path / "broken.xlsx"
    book.write_bytes(b"this is not a zip file")
    job = await client.parse_sov(book)
    with pytest.raises(JobFailed) as info:
        await job.wait(timeout=30)
    assert info.value.result_status == "FAILED_TO_READ"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"file": "missing.xlsx"}, "file"),
        ({"file": b"data"}, "filename"),
        ({"file": b"data", "filename": "notes.txt"}, "file"),
        ({"file": b"data", "filename": "a.xlsx", "document_type": "POEM"}, "document_type"),
        ({"file": b"data", "filename": "a.xlsx", "output_formats": ["nope"]}, "output_formats"),
    ],
)
async def test_bad_parse_input(
    client: Client, stats: Any, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.parse_sov(**kwargs)
    assert (info.value.field or "").startswith(field)
    counts = await stats()
    assert counts["jobs_created"].get("parse", 0) == 0


async def test_a_herd_of_submissions_fetches_the_formats_once(client: Client, stats: Any) -> None:
    """250 submissions started at once, before the formats are known: one fetch, and the
    250 that waited for it (woken a hundred per loop turn) all get their handle."""
    handles: list[OutputJob] = []

    async def one() -> None:
        handles.append(await client.get_or_create_output(SOVID, "json", overwrite_existing=True))

    async with anyio.create_task_group() as tg:
        for _ in range(250):
            tg.start_soon(one)
    counts = (await stats())["requests_by_route"]
    assert counts["GET /api/v1/output_formats"] == 1
    assert counts["POST /api/v1/sov/{id}/get_or_create_output"] == 250
    assert len({h.id for h in handles}) == 250
