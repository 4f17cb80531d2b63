"""What the submissions send through: update metadata and username, parse company, team,
allow_ping_data_api and several files, and extra_fields (name collisions refused first)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import Client, InvalidInputError
from sovfixer_async._update_job import START_FIELDS
from sovfixer_async._workflows.output import OUTPUT_FIELDS
from sovfixer_async._workflows.parse import PARSE_FIELDS

from .conftest import SOVID, Stats, submitted, workbook

pytestmark = pytest.mark.anyio

ROWS = [{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "Meta"}]
START = "POST /api/v1/sov/update/{id}/start"
INITIATE = "POST /api/v1/sov/{sovid}/initiate_update"


async def test_update_metadata_username_and_extra_fields_reach_the_server(
    client: Client, stats: Stats
) -> None:
    metadata = {"Timestamp": 1700000000, "UserInfo": {"UserName": "uw@acme"}, "Name": "Q3"}
    job = await client.update_sov(
        SOVID,
        ROWS,
        metadata=metadata,
        username="uw@acme",
        extra_fields={"skip_prior_update_reuse": True, "note": {"k": [1, 2]}},
    )
    await job.wait(timeout=30)
    snapshot = await stats()
    (start,) = submitted(snapshot, START)
    assert start["fields"]["metadata"] == metadata
    assert start["fields"]["skip_prior_update_reuse"] is True
    assert start["fields"]["note"] == {"k": [1, 2]}
    (initiate,) = submitted(snapshot, INITIATE)
    assert initiate["fields"]["username"] == "uw@acme"


async def test_start_of_an_open_update_takes_metadata(client: Client, stats: Stats) -> None:
    job = await client.create_submission("SOV")
    await job.add_locations([{"sheet_name": "S", "sheet_row_number": 2, "bldg_name": "N"}])
    await job.start(metadata={"Name": "later"}, extra_fields={"flag": "x"})
    await job.wait(timeout=30)
    (start,) = submitted(await stats(), START)
    assert start["fields"]["metadata"] == {"Name": "later"}
    assert start["fields"]["flag"] == "x"


async def test_parse_sends_company_team_flag_and_several_files(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    first = workbook(tmp_path / "first.xlsx", "HQ", "Depot")
    second = workbook(tmp_path / "second.xlsx", "Annex")
    job = await client.parse_sov(
        [first, second.read_bytes()],
        filename=["first.xlsx", "renamed.xlsx"],
        company="acme",
        team="uw-east",
        allow_ping_data_api=False,
        extra_fields={"skip_prior_update_reuse": False, "priority": 3},
    )
    status = await job.wait(timeout=30)
    assert status.state == "COMPLETE"
    (entry,) = submitted(await stats(), "POST /api/v1/sov")
    assert entry["files"] == ["first.xlsx", "renamed.xlsx"]
    fields = entry["fields"]
    assert (fields["company"], fields["team"]) == ("acme", "uw-east")
    assert fields["allow_ping_data_api"] == "False"
    assert (fields["skip_prior_update_reuse"], fields["priority"]) == ("false", "3")
    (path,) = await job.download(tmp_path / "out")
    assert len(json.loads(path.read_bytes())["buildings"]) >= 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"file": [], "filename": None}, "file"),
        ({"file": ["a.xlsx", "b.xlsx"], "filename": ["only-one.xlsx"]}, "filename"),
        ({"file": [b"x", b"y"], "filename": "one.xlsx"}, "filename"),
        ({"file": [b"x"] * 51, "filename": None}, "file"),
        ({"file": [b"data", 5], "filename": ["a.xlsx", "b.xlsx"]}, "file[1]"),
        ({"file": b"x", "filename": "a.xlsx", "company": ""}, "company"),
        ({"file": b"x", "filename": "a.xlsx", "allow_ping_data_api": "yes"}, "allow_ping_data_api"),
    ],
)
async def test_bad_parse_inputs_are_refused_before_sending(
    client: Client, stats: Stats, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.parse_sov(**kwargs)
    assert info.value.field == field
    assert (await stats())["requests_total"] == 0


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    call=st.sampled_from(["update", "parse", "output"]),
    data=st.data(),
)
async def test_an_extra_field_naming_a_parameter_is_refused(
    client: Client, stats: Stats, call: str, data: st.DataObject
) -> None:
    taken = {"update": START_FIELDS, "parse": PARSE_FIELDS, "output": OUTPUT_FIELDS}[call]
    name = data.draw(st.sampled_from(taken))
    before = (await stats())["requests_total"]
    calls = {
        "update": lambda: client.update_sov(SOVID, ROWS, extra_fields={name: "x"}),
        "parse": lambda: client.parse_sov(b"x", filename="a.xlsx", extra_fields={name: "x"}),
        "output": lambda: client.get_or_create_output(SOVID, "JSON", extra_fields={name: "x"}),
    }
    with pytest.raises(InvalidInputError) as info:
        await calls[call]()
    assert name in str(info.value)
    assert (await stats())["requests_total"] == before


@pytest.mark.parametrize(
    "extra",
    [
        {"extra_data_insured_name": "A"},  # by extra_data= instead
        {"": "x"},
        {"n" * 101: "x"},
        {"bad\nname": "x"},
        {"obj": {"a": 1}},  # a form field takes no object
        {f"f{n}": n for n in range(101)},
    ],
)
async def test_bad_extra_form_fields(client: Client, stats: Stats, extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        await client.parse_sov(b"x", filename="a.xlsx", extra_fields=extra)
    assert (await stats())["requests_total"] == 0


async def test_extra_json_field_must_be_json(client: Client, stats: Stats) -> None:
    with pytest.raises(InvalidInputError):
        await client.update_sov(SOVID, ROWS, extra_fields={"when": object()})
    with pytest.raises(InvalidInputError):
        await client.update_sov(SOVID, ROWS, extra_fields={"nan": float("nan")})
    with pytest.raises(InvalidInputError):
        await client.update_sov(SOVID, ROWS, metadata="not an object")  # type: ignore[arg-type]
    assert (await stats())["requests_total"] == 0
