"""Issue 15's last commands and options through the real command, against an emulator whose
token may act for one team and one organisation and whose PG source has a daily quota:
``serverinfo``, ``limits``, ``building get|add``, ``-D/--delegate-to-team``, the global
``-D/--delegate-to``, ``--no-ping-data-api``, the ``activity`` filters, ``usage
--org-short-name`` and ``datasources CODE``. ``--json`` output is parsed back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.emulator.outputs import make_xlsx

from .conftest import SOVID, TOKEN

pytestmark = pytest.mark.anyio

Run = Callable[..., Awaitable[Any]]  # the ``cli`` fixture (tests/cli/conftest.py)
TEAM = "7c6f7e0a-team-a"
ORG = "ACME"
PG_DAILY = 5


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """This module's emulator (the ``urls`` fixture points the command at it)."""
    async with run_emulator(
        job_seconds=0.3,
        token=TOKEN,
        seed=3,
        delegate_teams=(TEAM,),
        delegate_orgs=(ORG,),
        staff=True,
        source_quotas=(f"PG:daily={PG_DAILY}",),
    ) as emu:
        yield emu


def one(result: Any, event: str) -> dict[str, Any]:
    assert result.code == 0, result.stderr
    [found] = result.of(event)
    return dict(found)


async def test_serverinfo_and_buildings(cli: Run, urls: list[str], tmp_path: Path) -> None:
    info = one(await cli("serverinfo", "--json", *urls), "serverinfo")
    assert info["server"] == "sovfixer-async emulator"
    assert "Ping.Data" in info["extra"]["apis"]

    added = one(
        await cli("building", "add", SOVID, '{"bldg_name": "Annex \\u001b[31m"}', "--json", *urls),
        "building_added",
    )
    key = added["item_key"]
    assert key
    assert added["sovid"] == SOVID
    got = one(await cli("building", "get", key, "--json", *urls), "building")
    assert (got["item_key"], got["extra"]["bldg_name"]) == (key, "Annex \x1b[31m")
    text = await cli("building", "get", key, *urls)  # text: the escape is shown, not sent
    assert text.code == 0, text.stderr
    assert "Annex \\x1b[31m" in text.stdout
    assert "\x1b" not in text.stdout

    (tmp_path / "b.json").write_text(json.dumps({"bldg_name": "From a file"}))
    from_file = one(
        await cli("building", "add", SOVID, "b.json", "--json", *urls), "building_added"
    )
    assert from_file["item_key"] not in (None, key)
    # hostile or broken input is refused before any request (exit 2): not an object, NaN,
    # too big, missing
    (tmp_path / "big.json").write_text('{"a": "' + "x" * (1 << 20) + '"}')
    for bad, says in (
        ('{"a": NaN}', "not JSON"),
        ("big.json", "bytes"),
        ("nope.json", "file not found"),
    ):
        refused = await cli("building", "add", SOVID, bad, *urls)
        assert refused.code == 2, (bad, refused.stderr)
        assert says in refused.stderr
    listed = await cli("building", "add", SOVID, "[1, 2]", *urls)  # a path, not JSON text
    assert listed.code == 2
    no_action = await cli("building", *urls)
    assert no_action.code == 2


async def test_delegate_to_team_and_no_ping_data_api(
    cli: Run, urls: list[str], tmp_path: Path, emulator: RunningEmulator
) -> None:
    rows = [["Store 1", "1 Main St", "Miami", "FL"]]
    (tmp_path / "a.xlsx").write_bytes(
        make_xlsx("Sheet1", ["Location Name", "Street", "City", "State"], rows)
    )
    (tmp_path / "a.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    fix = await cli("fix", "a.xlsx", "-D", TEAM, "--no-ping-data-api", "--nowait", "--json", *urls)
    assert fix.code == 0, fix.stderr
    update = await cli(
        "update", SOVID, "a.csv", "--delegate-to-team", TEAM, "--out", "u", "--json", *urls
    )
    assert update.code == 0, update.stderr
    output = await cli("get-output", SOVID, "-o", "JSON", "-D", TEAM, "--out", "o", "--json", *urls)
    assert output.code == 0, output.stderr
    snapshot = await emulator.stats()
    routes = {d["route"] for d in snapshot["delegations"] if d["team"] == TEAM}
    assert {
        "POST /api/v1/sov",
        "POST /api/v1/sov/{sovid}/initiate_update",
        "POST /api/v1/sov/{id}/get_or_create_output",
    } <= routes
    [parse_fields] = [
        s["fields"] for s in snapshot["submitted"] if s["route"] == "POST /api/v1/sov"
    ]
    assert parse_fields["allow_ping_data_api"] == "False"

    refused = await cli("update", SOVID, "a.csv", "-D", "another-team", *urls)
    assert refused.code == 1
    assert "another-team" in refused.stderr
    # -D before the command is pingdataapi's --delegate-to: an organisation, Ping.Data only
    misplaced = await cli("-D", ORG, "fix", "a.xlsx", *urls)
    assert misplaced.code == 2
    assert "--delegate-to-team" in misplaced.stderr


async def test_data_commands_act_for_an_organisation(
    cli: Run, urls: list[str], emulator: RunningEmulator, tmp_path: Path
) -> None:
    address = "1 Main St, Miami, FL"
    enhanced = await cli("-D", ORG, "enhance", "-a", address, "-s", "PG", "--json", *urls)
    assert enhanced.code == 0, enhanced.stderr
    mine = one(await cli("limits", "--json", *urls), "limits")
    assert (mine["scope"], mine["allowlist"]["mode"]) == ("user", "unrestricted")
    assert mine["sources"]["PG"]["limits"] == {"daily": PG_DAILY}
    assert mine["sources"]["PG"]["remaining"]["daily"] < PG_DAILY  # the enhance counted
    theirs = one(await cli("limits", "--delegate-to", ORG, "--json", *urls), "limits")
    assert (theirs["scope"], theirs["subject"]) == ("org", ORG)
    other = one(await cli("limits", "--org-short-name", "OTHER", "--json", *urls), "limits")
    assert other["subject"] == "OTHER"
    text = await cli("limits", *urls)
    assert text.code == 0, text.stderr
    assert f"PG: daily {PG_DAILY - mine['sources']['PG']['remaining']['daily']}/" in text.stdout

    usage = one(await cli("usage", "--org-short-name", ORG, "-D", ORG, "--json", *urls), "usage")
    assert "totals" in usage
    source = one(
        await cli("datasources", "pg", "--delegate-to", ORG, "--json", *urls), "datasource"
    )
    assert source["code"] == "PG"
    assert "address" in source["required_attrs"]
    (tmp_path / "few.txt").write_text("1 Main St, Miami, FL\n\n2 Elm St, Tampa, FL\n")
    bulk = one(
        await cli(
            "-D",
            ORG,
            "bulk-enhance",
            "-f",
            "few.txt",
            "-s",
            "PH",
            "--no-fetch-outputs",
            "--json",
            *urls,
        ),
        "result",
    )
    assert (bulk["locations"], bulk["path"]) == (2, None)
    assert not (tmp_path / "results.jsonl").exists()
    calls = list(emulator.state.data_calls)
    assert {c["delegate_to"] for c in calls} == {ORG}
    assert {
        "GET /api/v1/enhance",
        "GET /api/v1/usage",
        "GET /api/v1/limits",
        "POST /api/v1/bulk_enhance",
    } <= {c["route"] for c in calls}
    assert any("datasources" in c["route"] for c in calls)

    stranger = await cli("usage", "-D", "NOT-MINE", *urls)
    assert stranger.code == 1
    assert "NOT-MINE" in stranger.stderr
    (tmp_path / "many.txt").write_text("".join(f"{i} Elm St\n" for i in range(PG_DAILY)))
    over = await cli("enhance", "-f", "many.txt", "-s", "PG", *urls)
    assert over.code == 2  # more than remains of today's quota: refused, nothing sent
    assert "daily quota" in over.stderr
    assert not (tmp_path / "results.jsonl").exists()


async def test_activity_filters(
    cli: Run, urls: list[str], emulator: RunningEmulator, tmp_path: Path
) -> None:
    rows = [["Store 1", "1 Main St", "Miami", "FL"]]
    async with Client(api_url=emulator.url, data_api_url=emulator.url, token=TOKEN) as client:
        await client.parse_sov(
            make_xlsx("Sheet1", ["Name", "Street", "City", "State"], rows), filename="second.xlsx"
        )  # a second SOV to page back over
    everything = await cli("activity", "--json", *urls)
    assert everything.code == 0, everything.stderr
    ids = [e["id"] for e in everything.of("activity")]
    assert SOVID in ids
    assert len(ids) >= 2
    back = await cli("activity", "--prev-cursor-id", ids[1], "-l", "1", "-n", "1", "--json", *urls)
    assert back.code == 0, back.stderr
    assert [e["id"] for e in back.of("activity")] == [ids[0]]
    matching = await cli(
        "activity",
        "--company__short_name",
        "EMULATOR",
        "--division__short_name",
        "EMULATOR",
        "--completed_time__gte",
        "20000101000000",
        "--completed_time__lt",
        "2999-01-01",
        "--json",
        *urls,
    )
    assert matching.code == 0, matching.stderr
    assert SOVID in [e["id"] for e in matching.of("activity")]
    for flag, value in (
        ("--company__short_name", "SOMEONE-ELSE"),
        ("--pingid", "P-1"),
        ("--completed_time__gt", "2999-01-01 00:00:00"),
    ):
        none = await cli("activity", flag, value, "--json", *urls)
        assert (none.code, none.of("activity")) == (0, []), (flag, none.stderr)
    bad = await cli("activity", "--completed_time__lte", "yesterday", *urls)
    assert bad.code == 2
    assert "20240601130000" in bad.stderr


async def test_more_official_spellings(
    cli: Run, urls: list[str], tmp_path: Path, emulator: RunningEmulator
) -> None:
    progress = one(await cli("check-progress", SOVID, "--json", *urls), "status")
    assert (progress["kind"], progress["id"], progress["done"]) == ("parse", SOVID, True)
    formats = await cli(
        "list-output-formats",
        "--division-uuid",
        "d-1",
        "--team-uuid",
        "t-1",
        "--pretty",
        "--json",
        *urls,
    )
    assert formats.code == 0, formats.stderr
    assert "JSON" in {f["output_format"] for f in formats.of("format")}
    [asked] = [r["query"] for r in emulator.requests() if "output_formats" in r["path"]]
    assert "division_uuid=d-1" in asked
    assert "team_uuid=t-1" in asked
    # --no-overwrite-existing after --overwrite-existing wins (the cached output); --no-write
    # waits and lists the outputs without saving anything
    before = (await emulator.stats())["jobs_created"]
    listed = one(
        await cli(
            "get-output",
            SOVID,
            "-o",
            "JSON",
            "--overwrite-existing",
            "--no-overwrite-existing",
            "--no-write",
            "--json",
            *urls,
        ),
        "result",
    )
    assert listed["files"] == []
    assert listed["outputs"]
    assert list(tmp_path.glob("*.json")) == []
    assert (await emulator.stats())["jobs_created"] == before
    markdown = await cli("get-datasource", "pg", "--format", "markdown", *urls)
    assert markdown.code == 0, markdown.stderr
    assert markdown.stdout.startswith("# Ping Geocoding (PG)\n")
    assert "- **Required:** address" in markdown.stdout
    as_json = await cli("get-datasource", "PG", "--format", "json", *urls)
    assert as_json.code == 0, as_json.stderr
    assert json.loads(as_json.stdout)["source_code"] == "PG"
