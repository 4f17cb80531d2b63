"""The emulator's source access policy and delegation (contract 4.7, issue 14), over plain
HTTP and through the official SDK's ``delegate_to``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from pingintel_api import PingDataAPIClient

from sovfixer_async.emulator import run_emulator
from sovfixer_async.emulator.settings import (
    EmulatorSettings,
    SourceCap,
    build_parser,
    settings_from_args,
)

from .conftest import TOKEN, Api

pytestmark = pytest.mark.anyio


def test_flags_build_the_policy() -> None:
    args = build_parser().parse_args(
        [
            "--source-allowlist",
            "gg,ph",
            "PG",
            "--source-quota",
            "gg:daily=5,monthly=10",
            "--source-quota",
            "PH:monthly=3",
            "--delegate-org",
            "ACME",
            "--staff",
        ]
    )
    settings = settings_from_args(args)
    assert settings.source_allowlist == ("GG", "PH", "PG")
    assert settings.source_quotas == (SourceCap("GG", 5, 10), SourceCap("PH", None, 3))
    assert settings.delegate_orgs == ("ACME",)
    assert settings.staff


@pytest.mark.parametrize("spec", ["GG", "GG:", "GG:hourly=3", "GG:daily=x", ":daily=3"])
def test_a_bad_quota_flag_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="quota"):
        settings_from_args(build_parser().parse_args(["--source-quota", spec]))


def test_a_negative_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="daily"):
        EmulatorSettings(source_quotas={"GG": {"daily": -1}})


async def test_limits_unrestricted_by_default(make_api: Callable[[Any], Api]) -> None:
    async with run_emulator() as emu:
        api = make_api(emu)
        body = await api.get("/api/v1/limits")
        assert body == {
            "scope": "user",
            "subject": "user@example.com",
            "allowlist": {"mode": "unrestricted", "source": "user", "sources": []},
            "sources": {},
        }
        await api.get("/api/v1/limits", 400, params={"username": "a", "org_short_name": "b"})
        await api.get("/api/v1/limits", 403, params={"org_short_name": "ACME"})
        await api.get("/api/v1/limits", 403, params={"username": "someone@else"})
        await api.get("/api/v1/limits", 200, params={"username": "user@example.com"})
        settings = await api.control("/_emulator/settings")
        assert settings["source_quotas"] == []


async def test_quotas_count_and_refuse(make_api: Callable[[Any], Api]) -> None:
    async with run_emulator(source_quotas=["GG:daily=3"], source_allowlist=["GG", "PH"]) as emu:
        api = make_api(emu)
        body = {"locations": [{"id": "a", "address": "1 main st"}], "sources": ["GG", "PH"]}
        await api.post("/api/v1/bulk_enhance", json=body)
        await api.get("/api/v1/enhance", params={"address": "x", "sources": "GG"})
        limits = await api.get("/api/v1/limits")
        assert limits["sources"] == {
            "GG": {"limits": {"daily": 3}, "usage": {"daily": 2}, "remaining": {"daily": 1}}
        }
        two = {
            "locations": [{"id": "a", "address": "x"}, {"id": "b", "address": "y"}],
            "sources": ["GG"],
        }
        refused = await api.post("/api/v1/bulk_enhance", 403, json=two)
        assert "GG" in refused["detail"]
        assert "daily" in refused["detail"]
        outside = await api.get("/api/v1/enhance", 403, params={"address": "x", "sources": "PG"})
        assert "allowlist" in outside["detail"]
        settings = await api.control("/_emulator/settings")
        assert settings["source_quotas"] == [{"source": "GG", "daily": 3, "monthly": None}]


async def test_delegation_is_checked_and_recorded(make_api: Callable[[Any], Api]) -> None:
    async with run_emulator(delegate_orgs=("ACME",)) as emu:
        api = make_api(emu)
        await api.get("/api/v1/datasources", 403, params={"delegate_to": "OTHER"})
        await api.get("/api/v1/datasources", params={"delegate_to": "ACME"})
        body = {"locations": [{"id": "a", "address": "x"}], "sources": ["GG"]}
        await api.post("/api/v1/bulk_enhance", 403, json={**body, "delegate_to": "OTHER"})
        await api.post("/api/v1/bulk_enhance", 400, json={**body, "delegate_to": 5})
        await api.post("/api/v1/bulk_enhance", json={**body, "delegate_to": "ACME", "note": "n"})
        expected = [
            {"route": "GET /api/v1/datasources", "delegate_to": "ACME", "extra": {}},
            {"route": "POST /api/v1/bulk_enhance", "delegate_to": "ACME", "extra": {"note": "n"}},
        ]
        assert list(emu.state.data_calls) == expected
        assert (await api.control("/_emulator/data_calls"))["calls"] == expected


async def test_a_long_unknown_field_is_recorded_by_name_only(
    make_api: Callable[[Any], Api],
) -> None:
    async with run_emulator() as emu:
        api = make_api(emu)
        body = {"locations": [{"id": "a", "address": "x"}], "sources": ["GG"], "blob": "x" * 5000}
        await api.post("/api/v1/bulk_enhance", json=body)
        assert emu.state.data_calls[-1]["extra"] == {"blob": "<long value>"}


async def test_the_official_sdk_delegates(sovfixer_emulator_factory: Any) -> None:
    """pingintel-api 1.4.13's ``delegate_to`` on every Ping.Data call it has it on."""
    emu = await sovfixer_emulator_factory(job_seconds=0.0, token=TOKEN, delegate_orgs=("ACME",))
    data = PingDataAPIClient(api_url=emu.url, auth_token=TOKEN)

    def calls() -> None:
        data.enhance(address=["1 main st"], sources=["GG"], delegate_to="ACME")
        data.get_usage(delegate_to="ACME")
        data.list_datasources(delegate_to="ACME")
        assert data.get_datasource(code="gg", delegate_to="ACME")["config"]["source_code"] == "GG"
        data.bulk_enhance_async_start([{"id": "a", "address": "x"}], ["GG"], delegate_to="ACME")

    await anyio.to_thread.run_sync(calls)
    assert [c["delegate_to"] for c in emu.state.data_calls] == ["ACME"] * 5
