"""Every job command through the real console entry point, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async.emulator import RunningEmulator
from sovfixer_async.emulator.outputs import make_xlsx

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
SOVID = "s-no-ping-hggcsk"

CORRECTIONS = "sheet_name,sheet_row_number,bldg_name\nSheet1,2,Normal House\nSheet1,3,Shed\n"


async def test_formats_json(cli: Run, urls: list[str]) -> None:
    result = await cli("formats", "--json", *urls)
    assert result.code == 0, result.stderr
    names = {e["output_format"].upper() for e in result.of("format")}
    assert "JSON" in names
    assert len(names) > 1


async def test_update_downloads_outputs_and_reports_json(
    cli: Run, urls: list[str], tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text(CORRECTIONS)
    (tmp_path / "b.csv").write_text("item_key,bldg_name\n")  # header only: an input error
    bad = await cli("update", SOVID, "a.csv", "b.csv", *urls)
    assert bad.code == 2
    assert "b.csv: no rows below the header" in bad.stderr
    (tmp_path / "b.csv").write_text("sheet_name,sheet_row_number,const__num_stories\nSheet1,4,3\n")
    result = await cli(
        "--json",
        *urls,
        "update",
        SOVID,
        "a.csv",
        "b.csv",
        "-o",
        "json",
        "--extra",
        "insured_name=Acme Corp",
        "--out",
        "out",
    )
    assert result.code == 0, result.stderr
    [submitted] = result.of("submitted")
    assert submitted["kind"] == "update"
    assert json.loads(submitted["token"])["id"] == submitted["id"]
    [done] = result.of("result")
    assert done["state"] == "COMPLETE"
    [file] = done["files"]
    assert Path(file["path"]).name == "Acme Corp.json"
    data = json.loads((tmp_path / file["path"]).read_text())
    assert data["buildings"]
    assert [e["path"] for e in result.of("downloaded")] == [file["path"]]


async def test_failed_update_exits_1(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,99,Ghost\n")
    result = await cli("update", SOVID, "c.csv", *urls)
    assert result.code == 1
    assert "failed update" in result.stdout
    assert "99" in result.stdout


async def test_no_wait_then_status_and_resume(cli: Run, urls: list[str], tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(CORRECTIONS)
    started = await cli("update", SOVID, "a.csv", "--no-wait", "--json", *urls)
    assert started.code == 0, started.stderr
    [info] = started.of("started")
    status = await cli("status", info["token"], "--json", *urls)
    assert status.code == 0, status.stderr
    [seen] = status.of("status")
    assert seen["id"] == info["id"]
    assert seen["state"] in {"PENDING", "IN_PROGRESS", "COMPLETE"}
    resumed = await cli("resume", info["token"], "--out", "later", *urls)
    assert resumed.code == 0, resumed.stderr
    assert f"done update {info['id']}" in resumed.stdout
    assert list((tmp_path / "later").iterdir())


async def test_output_cached_and_overwritten(cli: Run, urls: list[str], tmp_path: Path) -> None:
    cached = await cli("output", SOVID, "-o", "json", "--json", *urls)
    assert cached.code == 0, cached.stderr
    [submitted] = cached.of("submitted")
    assert submitted["done"] is True
    again = await cli("output", SOVID, "--format", "json", *urls)
    assert again.code == 2
    assert "exists" in again.stderr
    assert "--force" not in again.stdout
    fresh = await cli("output", SOVID, "-o", "JSON", "--overwrite", "--force", "--json", *urls)
    assert fresh.code == 0, fresh.stderr
    [submitted] = fresh.of("submitted")
    assert submitted["done"] is False
    [done] = fresh.of("result")
    assert Path(tmp_path / done["files"][0]["path"]).is_file()


async def test_parse_several_files_at_once(cli: Run, urls: list[str], tmp_path: Path) -> None:
    for name in ("a.xlsx", "b.xlsx"):
        rows = [["Store 1", "1 Main St", "Miami", "FL"], ["Store 2", "2 Elm St", "Tampa", "FL"]]
        (tmp_path / name).write_bytes(
            make_xlsx("Sheet1", ["Location Name", "Street", "City", "State"], rows)
        )
    result = await cli("parse", "a.xlsx", "b.xlsx", "--out", "parsed", "--json", *urls)
    assert result.code == 0, result.stderr
    assert len(result.of("submitted")) == 2
    done = result.of("result")
    assert {d["kind"] for d in done} == {"parse"}
    assert len(done) == 2
    for d in done:
        assert Path(d["files"][0]["path"]).parent == Path("parsed") / d["id"]


async def test_bulk_enhance_file(cli: Run, urls: list[str], tmp_path: Path) -> None:
    lines = ["id,address"] + [f'loc-{i},"{i} Main St, Miami, FL"' for i in range(25)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    result = await cli(
        "enhance", "in.csv", "-s", "PG", "--source", "PH", "--batch-size", "10", *urls
    )
    assert result.code == 0, result.stderr
    assert "25/25 locations" in result.stdout
    merged = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [m["id"] for m in merged] == [f"loc-{i}" for i in range(25)]
    assert set(merged[0]["results"]) == {"PG", "PH"}
    again = await cli("enhance", "in.csv", "-s", "PG", *urls)
    assert again.code == 2
    assert "--force" in again.stderr


async def test_enhance_one_address(cli: Run, urls: list[str]) -> None:
    result = await cli("--json", "enhance", "--address", "1 Main St, Miami, FL", "-s", "PG", *urls)
    assert result.code == 0, result.stderr
    [answer] = result.of("enhance")
    assert "PG" in answer["response"]["location_data"]


async def test_global_options_after_the_command(
    cli: Run, emulator: RunningEmulator, tmp_path: Path
) -> None:
    result = await cli(
        "output",
        SOVID,
        "--format",
        "json",
        "--api-url",
        emulator.url,
        "--data-api-url",
        emulator.url,
        "--api-token",
        "cli-test-token",
        "-q",
        token=None,
    )
    assert result.code == 0, result.stderr
    assert result.stdout.strip().endswith(".json")
    assert (tmp_path / result.stdout.strip()).is_file()
