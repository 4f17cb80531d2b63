"""Ping.Data calls of the official SDK, through the emulator: delegation, datasources,
usage, several addresses at once, extra body fields (issue 14)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import (
    BadRequestError,
    Client,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    SOVFixerError,
)
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.models import DatasourceConfig, EnhanceResponse, UsageResponse

from .conftest import client_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def delegating() -> AsyncIterator[RunningEmulator]:
    """An emulator where the token may act for ACME (and no other organisation)."""
    async with run_emulator(job_seconds=0.2, seed=3, delegate_orgs=("ACME",)) as emu:
        yield emu


def data_requests(emu: RunningEmulator, route_part: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if route_part in r["path"]]


# -- delegate_to -----------------------------------------------------------------------


async def test_delegate_to_reaches_every_data_call(delegating: RunningEmulator) -> None:
    async with client_for(delegating.url) as client:
        await client.enhance(address="1 main st, miami, fl", sources=["PG"], delegate_to="ACME")
        await client.usage(delegate_to="ACME")
        await client.list_datasources(delegate_to="ACME")
        await client.get_datasource("pg", delegate_to="ACME")
        await client.limits(delegate_to="ACME")
        run = await client.bulk_enhance(
            [{"id": "a", "address": "1 main st"}], sources=["PG"], delegate_to="ACME"
        )
        await run.wait(timeout=30)
    routes = {call["route"] for call in delegating.state.data_calls}
    assert {"GET /api/v1/enhance", "GET /api/v1/usage", "POST /api/v1/bulk_enhance"} <= routes
    assert {call["delegate_to"] for call in delegating.state.data_calls} == {"ACME"}
    # every one of those six calls carried it (five in the query, bulk in the body), and
    # so did the one read of ACME's source access policy for the quota checks
    routes_seen = [call["route"] for call in delegating.state.data_calls]
    assert len(routes_seen) == 7
    assert routes_seen.count("GET /api/v1/limits") == 2  # the quota read + limits()


async def test_client_default_delegate_and_a_call_that_overrides_it(
    delegating: RunningEmulator,
) -> None:
    async with client_for(delegating.url, delegate_to="ACME") as client:
        await client.usage()
        with pytest.raises(PermissionDeniedError, match="delegate"):
            await client.usage(delegate_to="OTHER")
    assert [c["delegate_to"] for c in delegating.state.data_calls] == ["ACME"]


async def test_delegate_without_the_permission_is_403(client: Client) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        await client.enhance(address="1 main st", sources=["PG"], delegate_to="ACME")
    assert info.value.status == 403
    with pytest.raises(PermissionDeniedError):
        await client.bulk_enhance([{"id": "a", "address": "x"}], sources=["PG"], delegate_to="X")


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "x" * 201])
async def test_a_bad_delegate_is_refused_before_sending(
    make_client: Any, bad: str, emulator: RunningEmulator
) -> None:
    async with make_client() as client:
        emulator.reset_stats()
        with pytest.raises(InvalidInputError) as info:
            await client.usage(delegate_to=bad)
        assert info.value.field == "delegate_to"
    assert emulator.requests() == []
    with pytest.raises(InvalidInputError):
        client_for(emulator.url, delegate_to=bad)


# -- datasources -----------------------------------------------------------------------


async def test_get_datasource(client: Client) -> None:
    config = await client.get_datasource("gg")
    assert isinstance(config, DatasourceConfig)
    assert config.source_code == "GG"
    listed = await client.list_datasources()
    assert config == listed["GG"]
    with pytest.raises(NotFoundError):
        await client.get_datasource("ZZZ")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(max_size=40).filter(lambda c: not (c.strip().isalnum() and len(c) <= 32)))
async def test_get_datasource_refuses_what_is_no_code(code: str) -> None:
    client = client_for("http://127.0.0.1:9")  # never opened: nothing can be sent
    async with client:
        with pytest.raises(InvalidInputError) as info:
            await client.get_datasource(code)
    assert info.value.field == "code"


# -- usage -----------------------------------------------------------------------------


async def test_usage_by_organisation_is_staff_only(make_client: Any) -> None:
    async with make_client() as client:
        with pytest.raises(PermissionDeniedError):
            await client.usage(org_short_name="ACME")
        with pytest.raises(InvalidInputError, match="not both"):
            await client.usage(username="a@b.c", org_short_name="ACME")
    async with run_emulator(staff=True) as emu, client_for(emu.url) as staff:
        await staff.enhance(address="1 main st", sources=["PG", "PH"])
        usage = await staff.usage(org_short_name="ACME", start="-1h")
    assert isinstance(usage, UsageResponse)
    assert usage.totals["total"] == 2
    assert "org_short_name=ACME" in emu.requests()[-1]["query"]


async def test_usage_refuses_an_unbounded_time_text(client: Client) -> None:
    with pytest.raises(InvalidInputError):
        await client.usage(start="-" * 10_000)
    with pytest.raises(BadRequestError):
        await client.usage(start="yesterday-ish")


# -- enhance: the official SDK's options, several addresses -------------------------------


async def test_enhance_with_the_official_options(client: Client, emulator: RunningEmulator) -> None:
    result = await client.enhance(
        address="42 Dolphin St, Hitchcock, TX 77563, USA",
        country="US",
        sources=["GG"],
        timeout=42,
        include_raw_response=False,
        check_cache=False,
        const__num_stories=3,
    )
    assert result.location_data["GG"].is_success
    query = emulator.requests()[-1]["query"]
    for part in ("country=US", "timeout=42", "check_cache=false", "const__num_stories=3"):
        assert part in query
    by_point = await client.enhance(latitude=29.3, longitude=-94.9, sources=["PH"])
    assert "PH" in by_point.location_data


async def test_enhance_many_one_result_per_address_in_order(
    client: Client, emulator: RunningEmulator
) -> None:
    addresses = [
        "42 Galaxy St, Fort Liberty, NC 28307",
        "42 Adams Street, Quincy, MA",
        {"address": "42 Dolphin St, Hitchcock, TX", "country": "US"},
        {"latitude": 34.1, "longitude": -118.3},
    ]
    emulator.set_faults(latency_ms=100)  # each answer waits: concurrent requests overlap
    emulator.reset_stats()
    results = await client.enhance_many(addresses, sources=["GG"], concurrency=4)
    assert len(results) == 4
    assert all(isinstance(r, EnhanceResponse) for r in results)
    stats = await emulator.stats()
    assert stats["requests_by_route"]["GET /api/v1/enhance"] == 4
    assert stats["max_in_flight"] >= 2  # sent concurrently, not one after the other
    # in input order: the point location is the last one
    assert results[3].location_data["GG"].latitude == pytest.approx(34.1, abs=1)


async def test_enhance_many_checks_every_location_first(
    client: Client, emulator: RunningEmulator
) -> None:
    emulator.reset_stats()
    with pytest.raises(InvalidInputError) as info:
        await client.enhance_many(["1 main st", {"adress": "typo"}], sources=["GG"])
    assert info.value.field is not None
    assert info.value.field.startswith("locations[1]")
    assert emulator.requests() == []
    with pytest.raises(InvalidInputError):
        await client.enhance_many("1 main st", sources=["GG"])  # a str is not a list


async def test_enhance_many_return_exceptions(make_client: Any, emulator: RunningEmulator) -> None:
    emulator.add_route_fault("GET /api/v1/enhance 500 times=100")
    async with make_client() as client:
        with pytest.raises(SOVFixerError):
            await client.enhance_many(["a st", "b st"], sources=["GG"])
        results = await client.enhance_many(
            ["a st", "b st"], sources=["GG"], return_exceptions=True
        )
    assert len(results) == 2
    assert all(isinstance(r, SOVFixerError) for r in results)


# -- extra_fields on bulk_enhance ------------------------------------------------------


async def test_bulk_extra_fields_reach_the_body(client: Client, emulator: RunningEmulator) -> None:
    run = await client.bulk_enhance(
        [{"id": "a", "address": "1 main st"}],
        sources=["PG"],
        extra_fields={"priority": "low", "tags": ["x", "y"]},
    )
    await run.wait(timeout=30)
    (call,) = emulator.state.data_calls
    assert call["extra"] == {"priority": "low", "tags": ["x", "y"]}
    assert call["delegate_to"] is None


@pytest.mark.parametrize("name", ["sources", "locations", "delegate_to", "check_cache", "timeout"])
async def test_bulk_extra_fields_may_not_shadow_a_parameter(
    client: Client, emulator: RunningEmulator, name: str
) -> None:
    emulator.reset_stats()
    with pytest.raises(InvalidInputError) as info:
        await client.bulk_enhance(
            [{"id": "a", "address": "1 main st"}], sources=["PG"], extra_fields={name: 1}
        )
    assert info.value.field == "extra_fields"
    assert name in str(info.value)
    assert emulator.requests() == []


async def test_bulk_extra_fields_must_be_json(client: Client) -> None:
    with pytest.raises(InvalidInputError):
        await client.bulk_enhance(
            [{"id": "a", "address": "x"}], sources=["PG"], extra_fields={"when": object()}
        )
    with pytest.raises(InvalidInputError):
        await client.bulk_enhance(
            [{"id": "a", "address": "x"}], sources=["PG"], extra_fields={"n": float("nan")}
        )


async def test_an_address_list_as_the_official_sdk_passes_it_points_to_enhance_many(
    client: Client,
) -> None:
    with pytest.raises(InvalidInputError, match="enhance_many"):
        await client.enhance(address=["1 main st", "2 main st"], sources=["GG"])  # type: ignore[arg-type]


async def test_enhance_many_is_bounded(client: Client) -> None:
    with pytest.raises(InvalidInputError, match="bulk_enhance"):
        await client.enhance_many(("x st" for _ in range(10_001)), sources=["GG"])
