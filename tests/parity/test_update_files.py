"""One update from several files: read in order, validated whole before anything is sent,
a bad row's error naming its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import Client, InvalidInputError

from .conftest import SOVID, Stats

pytestmark = pytest.mark.anyio

HEADER = "sheet_name,sheet_row_number,bldg_name\n"


async def test_two_files_make_one_update_in_order(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "Sheet1,2,From first\nSheet1,3,Overridden later\n")
    second = tmp_path / "second.jsonl"
    second.write_text(
        json.dumps({"sheet_name": "Sheet1", "sheet_row_number": 3, "bldg_name": "From second"})
        + "\n"
    )
    job = await client.update_sov(SOVID, [first, str(second)], batch_rows=2)
    await job.wait(timeout=30)
    snapshot = await stats()
    assert snapshot["jobs_created"]["update"] == 1
    assert snapshot["locations_submitted"] == 3
    (path,) = await job.download(tmp_path / "out")
    names = {
        b["sheet_row_number"]: b["bldg_name"] for b in json.loads(path.read_bytes())["buildings"]
    }
    assert names[2] == "From first"
    assert names[3] == "From second"


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    good_rows=st.integers(min_value=0, max_value=6),
    blank_lines=st.integers(min_value=0, max_value=3),
)
async def test_a_bad_row_names_its_file_and_line(
    client: Client,
    stats: Stats,
    tmp_path_factory: pytest.TempPathFactory,
    good_rows: int,
    blank_lines: int,
) -> None:
    folder = tmp_path_factory.mktemp("files")
    fine = folder / "fine.csv"
    fine.write_text(HEADER + "Sheet1,2,ok\n")
    bad = folder / "bad.csv"
    lines = [f"Sheet1,{n + 2},ok" for n in range(good_rows)]
    bad.write_text(HEADER + "\n".join(lines) + "\n" * (1 + blank_lines) + "Sheet1,,no row number\n")
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, [fine, bad])
    text = str(info.value)
    assert f"{bad}, line " in text
    line = int(text.split(f"{bad}, line ")[1].split(")")[0])
    assert bad.read_text().splitlines()[line - 1].startswith("Sheet1,,")
    assert line > 1 + good_rows  # after the header and the good rows
    assert (await stats())["requests_total"] == 0


async def test_a_missing_file_is_named_by_its_position(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    fine = tmp_path / "fine.csv"
    fine.write_text(HEADER + "Sheet1,2,ok\n")
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, [fine, tmp_path / "missing.csv"])
    assert info.value.field == "locations[1]"
    assert (await stats())["requests_total"] == 0


async def test_a_malformed_second_file_names_it(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    fine = tmp_path / "fine.csv"
    fine.write_text(HEADER + "Sheet1,2,ok\n")
    broken = tmp_path / "broken.csv"
    broken.write_text(HEADER + 'Sheet1,3,"never closed\n')
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, [fine, broken])
    assert str(broken) in str(info.value)
    assert (await stats())["requests_total"] == 0
