"""The official pipeline example's flow, with this SDK: submit parses, follow the history
feed, fire one update when the first of ours completes, download data-ready outputs, and
track the update by its plain id (a failed update shows only in its own status)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovfixer_async import Client, OutputJob

from .conftest import workbook

pytestmark = pytest.mark.anyio


async def test_pipeline(client: Client, tmp_path: Path) -> None:
    start = datetime.now(UTC)
    ours = set()
    for n in range(3):
        job = await client.parse_sov(
            workbook(tmp_path / f"sov{n}.xlsx", f"B{n}"), output_formats=["json"]
        )
        ours.add(job.id)
    submissions: dict[str, set[tuple[str, int | None]]] = {}
    pending: dict[str, OutputJob] = {}
    downloaded: dict[str, Path] = {}
    update_id: str | None = None
    update_state: str | None = None
    feed = client.history(start=start, page_size=2, follow=True, interval=0.02)
    async for record in feed:
        key = record.pingid or record.sovid or record.id
        submissions.setdefault(key, set()).add((record.id, record.revision))
        if record.status == "F":
            continue
        if update_id is None and record.record_type == "ORIG" and record.sovid in ours:
            rows = [{"sheet_name": "Locations", "sheet_row_number": 2, "bldg_name": "Fixed"}]
            update = await client.update_sov(record.id, rows, extra_data={"insured_name": "Acme"})
            update_id = update.id  # stored as a plain id, as the example keeps it
        if record.is_data_ready and record.id not in pending:
            # the example retries on its next poll; a handle simply waits for it
            output = await client.get_or_create_output(record.id, "json", revision=-1)
            pending[record.id] = output
            (downloaded[record.id],) = await output.download(tmp_path / "out" / record.id)
        if update_id is not None and update_state not in ("COMPLETE", "FAILED"):
            update_state = (await client.update_job(update_id).refresh()).state
        if update_id is not None and ours | {update_id} <= set(downloaded):
            break
    cursor = feed.cursor
    await feed.aclose()
    assert update_state == "COMPLETE"
    assert update_id is not None
    assert {sovid for sovid in ours} <= set(submissions)
    # the update's revision groups under its parent SOV, as the example's model expects
    parent = update_id.rsplit("-r", 1)[0]
    assert {(update_id, 1), (parent, 0)} <= submissions[parent]
    assert all(path.is_file() and path.stat().st_size > 0 for path in downloaded.values())
    assert cursor is not None
