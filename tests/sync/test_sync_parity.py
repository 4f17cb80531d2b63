"""The blocking twins of the Ping.Extraction parity calls (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

from sovfixer_async import PollPolicy
from sovfixer_async.sync import BulkEnhanceBatch, Client, HistoryFeed, ParseJob, UpdateJob

SOVID = "s-no-ping-hggcsk"
ROWS = [{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "Blocking"}]


def test_submission_buildings_and_server_info(options: dict[str, str], tmp_path: Path) -> None:
    with Client(**options) as client:
        assert client.server_info().server == "sovfixer-async emulator"
        added = client.add_building(SOVID, {"bldg_name": "Shed"})
        assert added.item_key is not None
        assert client.get_building(added.item_key).extra["bldg_name"] == "Shed"
        assert client.get_public_shareable_url(SOVID).url.endswith(SOVID)
        job = client.create_submission("SOV", client_ref="sync-sub")
        assert isinstance(job, UpdateJob)
        job.add_locations([{"sheet_name": "S", "sheet_row_number": 2, "bldg_name": "New"}])
        job.start(metadata={"Name": "sync"})
        assert job.wait(timeout=30, poll=PollPolicy.fast()).state == "COMPLETE"
        (path,) = job.download(tmp_path)
        assert [b["bldg_name"] for b in json.loads(path.read_bytes())["buildings"]] == ["New"]


def test_handles_by_id_and_history_cursor(options: dict[str, str]) -> None:
    with Client(poll=PollPolicy.fast(), **options) as client:
        update = client.update_sov(SOVID, ROWS, username="sync-user")
        adopted = client.update_job(update.id)
        assert isinstance(adopted, UpdateJob)
        assert adopted.wait(timeout=30).state == "COMPLETE"
        assert isinstance(client.parse_job(SOVID), ParseJob)
        assert isinstance(client.bulk_job("b-1"), BulkEnhanceBatch)
        assert client.output_job("immediately-done-1").id == "immediately-done-1"
        feed = client.history(page_size=5, follow=True, interval=0.02)
        assert isinstance(feed, HistoryFeed)
        for record in feed:
            assert feed.cursor == record.id
            if record.id == update.id:
                break
        feed.close()
        assert feed.cursor == update.id
        assert feed.polls >= 1
