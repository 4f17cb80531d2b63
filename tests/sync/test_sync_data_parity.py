"""The blocking twins of the Ping.Data parity calls and of ``request`` (issue 14)."""

from __future__ import annotations

import pytest

from sovfixer_async import InvalidInputError, RawResponse, SOVFixerError
from sovfixer_async.emulator import RunningEmulator
from sovfixer_async.models import EnhanceResponse, SourceAccessPolicy
from sovfixer_async.sync import Client


def test_blocking_data_calls(options: dict[str, str], emulator: RunningEmulator) -> None:
    with Client(**options) as client:
        assert client.get_datasource("gg").source_code == "GG"
        assert isinstance(client.limits(), SourceAccessPolicy)
        response = client.request("GET", "/api/v1/datasources/ph", api="data")
        assert isinstance(response, RawResponse)
        assert response.json()["config"]["source_code"] == "PH"
        results = client.enhance_many(["1 main st", "2 main st"], sources=["GG"])
        assert [type(r) for r in results] == [EnhanceResponse, EnhanceResponse]
        one = client.enhance(address="3 main st", sources=["GG"], check_quota=False)
        assert "GG" in one.location_data
        with pytest.raises(InvalidInputError):
            client.request("GET", "/api/v1/../admin")


def test_blocking_enhance_many_errors(options: dict[str, str], emulator: RunningEmulator) -> None:
    emulator.add_route_fault("GET /api/v1/enhance 500 times=20")
    try:
        with Client(**options) as client:
            with pytest.raises(SOVFixerError):
                client.enhance_many(["1 main st"], sources=["GG"])
            mixed = client.enhance_many(["1 main st"], sources=["GG"], return_exceptions=True)
            assert isinstance(mixed[0], SOVFixerError)
    finally:
        emulator.clear_route_faults()
