"""The source access policy: ``limits()``, and enhance/bulk_enhance refused before
anything is sent when a source is not allowed or its quota would not last (issue 14)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import BulkEnhanceRun, InvalidInputError, PermissionDeniedError
from sovfixer_async._workflows.quota import refusal
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.models import SourceAccessPolicy, structure

from .conftest import client_for

pytestmark = pytest.mark.anyio

QUOTAS = {"GG": {"daily": 50, "monthly": 1000}, "PH": {"monthly": 30}}


@pytest.fixture
async def capped() -> AsyncIterator[RunningEmulator]:
    async with run_emulator(
        job_seconds=0.2,
        seed=5,
        source_allowlist=("GG", "PH", "PG"),
        source_quotas=QUOTAS,
    ) as emu:
        yield emu


def sends(emu: RunningEmulator) -> list[str]:
    """The Ping.Data work requests the emulator saw."""
    return [
        r["route"]
        for r in emu.requests()
        if r["route"] in ("POST /api/v1/bulk_enhance", "GET /api/v1/enhance")
    ]


def rows(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": f"loc-{i}", "address": f"{i} main st", **extra} for i in range(n)]


async def test_limits_reads_the_policy(capped: RunningEmulator) -> None:
    async with client_for(capped.url) as client:
        policy = await client.limits()
        assert isinstance(policy, SourceAccessPolicy)
        assert policy.scope == "user"
        assert policy.subject == "user@example.com"
        assert policy.allowlist.restricted
        assert policy.allowlist.sources == ["GG", "PH", "PG"]
        assert policy.sources["GG"].limits == {"daily": 50, "monthly": 1000}
        assert policy.sources["GG"].remaining == {"daily": 50, "monthly": 1000}
        assert "PG" not in policy.sources  # no cap: omitted
        await client.enhance(address="1 main st", sources=["GG"])
        after = await client.limits()
        assert after.sources["GG"].usage == {"daily": 1, "monthly": 1}
        assert after.sources["GG"].remaining == {"daily": 49, "monthly": 999}
        with pytest.raises(PermissionDeniedError):
            await client.limits(org_short_name="ACME")  # staff only
        with pytest.raises(InvalidInputError):
            await client.limits("a@b.c", "ACME")


async def test_the_contract_example_reads_as_a_policy() -> None:
    example = {
        "scope": "user",
        "subject": "alice@example.com",
        "allowlist": {"mode": "restricted", "source": "user", "sources": ["GG", "TD", "HH", "PH"]},
        "sources": {
            "GG": {
                "limits": {"daily": 500, "monthly": 10000},
                "usage": {"daily": 42, "monthly": 6700},
                "remaining": {"daily": 458, "monthly": 3300},
            },
            "PH": {
                "limits": {"monthly": 1000},
                "usage": {"monthly": 312},
                "remaining": {"monthly": 688},
            },
        },
    }
    policy = structure(example, SourceAccessPolicy)
    assert refusal(policy, {"GG": 458, "PH": 688}, {}) is None
    assert "daily quota has 458" in (refusal(policy, {"GG": 459}, {}) or "")
    assert "PG" in (refusal(policy, {"PG": 1}, {}) or "")
    assert "monthly quota has 188" in (refusal(policy, {"PH": 189}, {"PH": 500}) or "")


async def test_a_bulk_run_over_the_daily_quota_sends_nothing(capped: RunningEmulator) -> None:
    async with client_for(capped.url) as client:
        with pytest.raises(InvalidInputError) as info:
            await client.bulk_enhance(rows(120), sources=["GG"], batch_size=10)
    message = str(info.value)
    assert "GG" in message
    assert "daily" in message
    assert "50" in message
    assert "120" in message
    assert "check_quota=False" in message
    assert sends(capped) == []


async def test_per_location_sources_count_too(capped: RunningEmulator) -> None:
    locations = [*rows(10), *rows(40, sources=["PH"])]
    for i, loc in enumerate(locations):
        loc["id"] = f"l{i}"
    async with client_for(capped.url) as client:
        with pytest.raises(InvalidInputError, match="PH: the monthly quota has 30"):
            await client.bulk_enhance(locations, sources=["GG"])
    assert sends(capped) == []


async def test_a_source_outside_the_allowlist_is_refused(capped: RunningEmulator) -> None:
    async with client_for(capped.url) as client:
        with pytest.raises(InvalidInputError, match=r"HH.*allowlist"):
            await client.enhance(address="1 main st", sources=["HH"])
        with pytest.raises(InvalidInputError, match="allowlist"):
            await client.bulk_enhance(rows(2), sources=["HH"])
    assert sends(capped) == []


async def test_check_quota_false_leaves_it_to_the_server(capped: RunningEmulator) -> None:
    async with client_for(capped.url) as client:
        with pytest.raises(PermissionDeniedError, match="GG: daily quota exceeded"):
            await client.enhance_many(
                [f"{i} main st" for i in range(51)], sources=["GG"], check_quota=False
            )
        assert "GET /api/v1/limits" not in [r["route"] for r in capped.requests()]


async def test_within_quota_runs_and_the_policy_is_read_once(capped: RunningEmulator) -> None:
    async with client_for(capped.url) as client:
        run = await client.bulk_enhance(rows(30), sources=["GG"], batch_size=10)
        assert isinstance(run, BulkEnhanceRun)
        await run.wait(timeout=30)
        await client.enhance_many([f"{i} st" for i in range(15)], sources=["GG"])
        # 45 sent and counted locally: 5 remain, the cached policy says so without a read
        with pytest.raises(InvalidInputError, match=r"daily quota has 5 .* needs 6"):
            await client.enhance_many([f"{i} st" for i in range(6)], sources=["GG"])
        await client.enhance(address="1 st", sources=["GG"])
    reads = [r for r in capped.requests() if r["route"] == "GET /api/v1/limits"]
    assert len(reads) == 1


async def test_a_stale_policy_is_read_again(capped: RunningEmulator) -> None:
    async with client_for(capped.url, policy_max_age=0) as client:
        await client.enhance(address="1 st", sources=["GG"])
        await client.enhance(address="2 st", sources=["GG"])
    reads = [r for r in capped.requests() if r["route"] == "GET /api/v1/limits"]
    assert len(reads) == 2


async def test_a_server_without_limits_leaves_the_check_to_it(emulator: RunningEmulator) -> None:
    emulator.add_route_fault("GET /api/v1/limits 404 times=5")
    async with client_for(emulator.url) as client:
        result = await client.enhance(address="1 st", sources=["GG"])
    assert result.location_data


async def test_a_million_locations_are_refused_before_batch_one(
    capped: RunningEmulator, tmp_path: Any
) -> None:
    """The whole run is counted as it is prepared: batch 700 never comes."""
    path = tmp_path / "big.jsonl"
    with path.open("w") as fh:
        for i in range(1_001):
            fh.write(f'{{"id": "l{i}", "address": "{i} main st"}}\n')
    async with client_for(capped.url) as client:
        with pytest.raises(InvalidInputError, match=r"GG: the daily quota has 50 .* needs 1001"):
            await client.bulk_enhance(path, sources=["PG", "GG"], batch_size=1, check_quota=True)
        state_dir = client.config.state_dir
    assert sends(capped) == []
    assert not list(state_dir.rglob("body-*.json"))  # the prepared batches are gone too


@given(
    remaining=st.dictionaries(st.sampled_from(["daily", "monthly"]), st.integers(0, 10**6)),
    need=st.integers(0, 2 * 10**6),
    spent=st.integers(0, 10**6),
)
def test_refusal_is_exactly_the_docs_rule(remaining: dict[str, int], need: int, spent: int) -> None:
    """Denied iff some window's remaining (less what was sent since) is below the need."""
    policy = structure(
        {"allowlist": {"mode": "unrestricted"}, "sources": {"GG": {"remaining": remaining}}},
        SourceAccessPolicy,
    )
    denied = refusal(policy, {"GG": need}, {"GG": spent}) is not None
    assert denied == any(need > max(0, left - spent) for left in remaining.values())


def test_hostile_policies_are_typed_errors() -> None:
    from sovfixer_async.models import ResponseShapeError

    for body in (
        {"sources": {"GG": {"remaining": {"daily": "many"}}}},
        {"sources": []},
        {"allowlist": "restricted"},
    ):
        with pytest.raises(ResponseShapeError):
            structure(body, SourceAccessPolicy)


async def test_a_hostile_limits_answer_fails_the_call_before_sending() -> None:
    """A 2xx policy that is not a policy: a typed error, and nothing enhanced."""
    from aiohttp import web

    from sovfixer_async import APIResponseValidationError

    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path == "/api/v1/datasources":
            return web.json_response({"configs": {"GG": {"source_code": "GG"}}})
        return web.json_response(["not", "a", "policy"])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with client_for(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(APIResponseValidationError):
                await client.enhance(address="x", sources=["GG"])
    finally:
        await runner.cleanup()
    assert "/api/v1/enhance" not in seen
