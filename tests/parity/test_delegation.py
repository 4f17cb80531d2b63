"""delegate_to_team on every Ping.Extraction call that has it in the official SDK, and the
client-wide default; the emulator refuses (403) teams the token may not act for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sovfixer_async import Client, ClientConfig, InvalidInputError, PermissionDeniedError

from .conftest import SOVID, TEAM_A, TEAM_B, Stats, workbook

pytestmark = pytest.mark.anyio

ROWS = [{"sheet_name": "Sheet1", "sheet_row_number": 2, "bldg_name": "Delegated"}]
UPDATE_ROUTES = {
    "POST /api/v1/sov/{sovid}/initiate_update",
    "POST /api/v1/sov/update/{id}/add_locations",
    "POST /api/v1/sov/update/{id}/start",
}


def teams_by_route(snapshot: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in snapshot["delegations"]:
        found.setdefault(entry["route"], set()).add(entry["team"])
    return found


async def test_update_sends_the_team_on_each_of_its_three_requests(
    client: Client, stats: Stats
) -> None:
    job = await client.update_sov(SOVID, ROWS, delegate_to_team=TEAM_A)
    assert job.delegate_to_team == TEAM_A
    await job.wait(timeout=30)
    routes = teams_by_route(await stats())
    assert {route for route in routes if route in UPDATE_ROUTES} == UPDATE_ROUTES
    assert all(routes[route] == {TEAM_A} for route in UPDATE_ROUTES)


async def test_client_default_applies_and_a_call_overrides_it(
    make_client: Callable[..., Client], stats: Stats, tmp_path: Path
) -> None:
    async with make_client(delegate_to_team=TEAM_A) as client:
        assert client.config.delegate_to_team == TEAM_A
        parse = await client.parse_sov(workbook(tmp_path / "a.xlsx", "HQ"))
        await parse.wait(timeout=30)
        output = await client.get_or_create_output(SOVID, "JSON", delegate_to_team=42)
        await output.wait(timeout=30)
    routes = teams_by_route(await stats())
    assert routes["POST /api/v1/sov"] == {TEAM_A}
    assert routes["POST /api/v1/sov/{id}/get_or_create_output"] == {"42"}


async def test_a_team_without_permission_is_refused_and_nothing_is_made(
    client: Client, stats: Stats, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        await client.parse_sov(workbook(tmp_path / "a.xlsx", "HQ"), delegate_to_team=TEAM_B)
    assert info.value.status == 403
    assert TEAM_B in str(info.value)
    with pytest.raises(PermissionDeniedError):
        await client.update_sov(SOVID, ROWS, delegate_to_team=TEAM_B)
    with pytest.raises(PermissionDeniedError):
        await client.get_or_create_output(SOVID, "JSON", delegate_to_team=TEAM_B)
    snapshot = await stats()
    assert snapshot["jobs_created"]["parse"] == 0
    assert snapshot["jobs_created"]["update"] == 0
    assert snapshot["delegations"] == []


async def test_a_refused_default_team_fails_the_first_request(
    make_client: Callable[..., Client], stats: Stats
) -> None:
    async with make_client(delegate_to_team=TEAM_B) as client:
        with pytest.raises(PermissionDeniedError):
            await client.update_sov(SOVID, ROWS)
    assert (await stats())["jobs_created"]["update"] == 0


async def test_the_team_survives_a_resume_token(client: Client, stats: Stats) -> None:
    job = await client.update_sov(SOVID, ROWS, delegate_to_team=TEAM_A)
    again = client.resume(job.token)
    assert getattr(again, "delegate_to_team", None) == TEAM_A
    await job.wait(timeout=30)


async def test_adopted_update_takes_the_client_default(
    make_client: Callable[..., Client],
) -> None:
    async with make_client(delegate_to_team=TEAM_A) as client:
        assert client.update_job(f"{SOVID}-r001").delegate_to_team == TEAM_A


@pytest.mark.parametrize("team", ["", "   ", "a\nb", "x" * 201, True, 1.5, ["t"]])
async def test_bad_team_values_are_refused_before_any_request(
    client: Client, stats: Stats, team: Any
) -> None:
    before = (await stats())["requests_total"]
    with pytest.raises(InvalidInputError) as info:
        await client.update_sov(SOVID, ROWS, delegate_to_team=team)
    assert info.value.field == "delegate_to_team"
    with pytest.raises(InvalidInputError):
        ClientConfig(delegate_to_team=team)
    assert (await stats())["requests_total"] == before


@pytest.mark.parametrize("team", ["", {"x": 1}, "a\x00b", 3.5])
async def test_a_token_with_a_bad_team_is_refused(client: Client, team: Any) -> None:
    import json

    job = client.update_job(f"{SOVID}-r001")
    data = json.loads(job.token)
    data["delegate_to_team"] = team
    with pytest.raises(InvalidInputError):
        client.resume(json.dumps(data))


def test_the_emulator_flag_lists_the_teams() -> None:
    from sovfixer_async.emulator.settings import build_parser, settings_from_args

    args = build_parser().parse_args(["--delegate-teams", "team-a,team-b", "team-c"])
    assert settings_from_args(args).delegate_teams == ("team-a", "team-b", "team-c")
    assert settings_from_args(build_parser().parse_args([])).delegate_teams == ()
