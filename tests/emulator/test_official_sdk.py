"""The official synchronous SDK (pingintel-api 1.4.13) against the emulator, unchanged but for
``api_url``. Its calls block, so each runs in a worker thread; several run at once so their
fixed 2.5 s poll sleeps overlap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from pingintel_api import PingDataAPIClient, SOVFixerAPIClient

from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

SOVID = "s-no-ping-hggcsk"
TOKEN = "official-sdk-token"
#: examples/data/corrections.csv of the SDK repository (contract 7.1).
CORRECTIONS = "sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\n"


async def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run blocking calls concurrently in worker threads; returns their results in order."""
    results: list[Any] = [None] * len(calls)

    async def run(index: int, call: Callable[[], Any]) -> None:
        results[index] = await anyio.to_thread.run_sync(call)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for index, call in enumerate(calls):
                tg.start_soon(run, index, call)
    return results


async def test_official_sdk_workflows(
    sovfixer_emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the SDK writes downloads into the working directory
    instant = await sovfixer_emulator_factory(job_seconds=0.0, token=TOKEN)
    timed = await sovfixer_emulator_factory(job_seconds=0.5, token=TOKEN)
    fixer = SOVFixerAPIClient(api_url=instant.url, auth_token=TOKEN)
    slow_fixer = SOVFixerAPIClient(api_url=timed.url, auth_token=TOKEN)
    data = PingDataAPIClient(api_url=timed.url, auth_token=TOKEN)

    corrections = tmp_path / "corrections.csv"
    corrections.write_text(CORRECTIONS)
    workbook = tmp_path / "upload.xlsx"
    workbook.write_bytes(
        make_xlsx("Sheet1", ["bldg_name", "city"], [["HQ", "Miami"], ["Depot", "Tampa"]])
    )
    locations = [{"id": f"id_{i:04d}", "address": f"{i} main st, miami, fl"} for i in range(1500)]

    def update() -> str:
        return str(
            slow_fixer.update_sov(
                SOVID,
                [str(corrections)],
                extra_data={"insured_name": "Official SDK"},
                output_formats=["json"],
                actually_write=True,
            )
        )

    def fix() -> Any:
        return slow_fixer.fix_sov(
            str(workbook), actually_write=True, output_formats=["json"], integrations=["PG"]
        )

    def bulk() -> Any:
        return data.bulk_enhance(
            locations=locations,
            sources=["PG", "PH"],
            poll_seconds=0.1,
            fetch_outputs=True,
            verbose=0,
        )

    def output_uncached() -> Any:
        return fixer.get_or_create_output(SOVID, "auditor")

    sudid, fixed, bulked, generated = await in_threads(update, fix, bulk, output_uncached)

    # update_sov: SUD id back, output downloaded under its filename.
    assert sudid == f"{SOVID}-r001"
    document = json.loads((tmp_path / "Official SDK.json").read_bytes())
    assert document["buildings"][0]["bldg_name"] == "Normal House"

    # fix_sov: success and the local outputs written.
    assert fixed["success"] is True
    assert fixed["final_response"]["request"]["status"] == "COMPLETE"
    [local] = fixed["local_outputs"]
    parsed = json.loads((tmp_path / local).read_bytes())
    assert [b["bldg_name"] for b in parsed["buildings"]] == ["HQ", "Depot"]

    # bulk_enhance (gzip body above 50,000 bytes): fetched output file.
    assert bulked["success"] is True
    [out] = bulked["output_files"]
    assert len(json.loads((tmp_path / out["filename"]).read_bytes())) == 1500

    # get_or_create_output, uncached then cached.
    assert generated["output_format"] == "AUDITOR"
    assert generated["url"].startswith(instant.url)
    cached = await anyio.to_thread.run_sync(lambda: fixer.get_or_create_output(SOVID, "json"))
    assert cached["scrubbed_filename"] == "parse_sov_testfile.json"
    path = await anyio.to_thread.run_sync(
        lambda: fixer.fix_sov_download(cached, output_path=str(tmp_path / "seed.json"))
    )
    assert json.loads(Path(path).read_bytes())["id"] == SOVID

    # Listing calls.
    formats = await anyio.to_thread.run_sync(fixer.list_output_formats)
    assert [f["output_format"] for f in formats["output_formats"]] == [
        "JSON",
        "DEBUGJSON",
        "AUDITOR",
    ]
    history = await anyio.to_thread.run_sync(slow_fixer.list_history)
    assert [r["id"] for r in history["results"]][:1] == [SOVID]
    activity = await anyio.to_thread.run_sync(
        lambda: slow_fixer.list_activity(fields=["status", "filename"], page_size=10)
    )
    assert activity["total_count"] == 2
    item = await anyio.to_thread.run_sync(lambda: slow_fixer.get_history_item(sudid))
    assert item["result"]["sovid"] == SOVID

    # Ping.Data single calls.
    enhanced = await anyio.to_thread.run_sync(
        lambda: data.enhance(sources=["PG"], address=["1 main st, miami, fl"], country="US")
    )
    assert "PG" in enhanced["location_data"]
    usage = await anyio.to_thread.run_sync(lambda: data.get_usage(start="-1h"))
    assert usage["totals"]["total"] >= 3000
    sources = await anyio.to_thread.run_sync(lambda: data.list_datasources())
    assert "PH" in sources["configs"]
    one = await anyio.to_thread.run_sync(lambda: data.get_datasource(code="ph"))
    assert one["config"] == sources["configs"]["PH"]

    # What the SDK sent: its token on every request, form bodies where the contract says.
    requests = timed.requests() + instant.requests()
    assert all(r["authorization"] for r in requests)
    assert any(r["content_encoding"] == "gzip" for r in requests)
    assert all(r["user_agent"].startswith("pingintel_api/") for r in requests)
