"""The official repository's Ping.Data examples (examples/pingdata_enhance.py,
examples/ping-data/enhance_one_location.py and enhance_multiple_locations.py), done with
this SDK against the emulator: the same calls, the same fields read (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sovfixer_async import Client, SOVFixerError
from sovfixer_async.emulator import RunningEmulator, run_emulator
from sovfixer_async.models import EnhanceResponse, unstructure

from .conftest import client_for

pytestmark = pytest.mark.anyio

ADDRESSES = [
    "42 Galaxy St, Fort Liberty, NC 28307",
    "42 Adams Street, Quincy, MA",
    "42 Dolphin St, Hitchcock, TX 77563, USA",
    "Café at the End of the Universe 2800 E Observatory Rd, Los Angeles, CA 90027",
]


async def test_enhance_one_location(client: Client) -> None:
    """One address, two sources; the whole answer printable as JSON."""
    data = await client.enhance(
        address="1600 pennsylvania ave nw washington dc 20500", sources=["PG", "PH"]
    )
    printed = json.dumps(unstructure(data), indent=4)
    assert set(data.location_data) == {"PG", "PH"}
    assert '"location_data"' in printed


async def test_pingdata_enhance_loop(client: Client) -> None:
    """The example's loop: each address enhanced with GG (timeout 42), failures reported
    per address, and the geocoder's fields read from a success."""
    extracted = []
    for address in ADDRESSES:
        try:
            result = await client.enhance(
                address=address, sources=["GG"], timeout=42, include_raw_response=False
            )
        except SOVFixerError as exc:  # the example prints and goes on
            extracted.append(("failed", str(exc)))
            continue
        location = result.location_data.get("GG")
        if location is not None and location.is_success:
            extracted.append(
                (
                    location.latitude,
                    location.longitude,
                    location.formatted_address,
                    location.confidence,
                    location.extra.get("precision"),
                )
            )
    assert len(extracted) == len(ADDRESSES)
    assert all(isinstance(row[0], float) for row in extracted)


async def test_pingdata_enhance_all_at_once(client: Client, emulator: RunningEmulator) -> None:
    """The same four addresses in one concurrent call, one result each, in order; a
    failure is one entry in the list, not the end of the others."""
    emulator.add_route_fault("GET /api/v1/enhance 500 times=1")
    results = await client.enhance_many(
        ADDRESSES, sources=["GG"], timeout=42, return_exceptions=True
    )
    assert len(results) == len(ADDRESSES)
    assert sum(isinstance(r, EnhanceResponse) for r in results) >= len(ADDRESSES) - 1


async def test_enhance_multiple_locations_for_an_organisation(tmp_path: Path) -> None:
    """Two locations with their own sources, acting for an organisation with a quota;
    statuses polled until terminal, the outputs saved under workflow_example_results/."""
    async with (
        run_emulator(
            job_seconds=0.2, delegate_orgs=("ACME",), source_quotas={"PG": {"daily": 10}}
        ) as emu,
        client_for(emu.url, delegate_to="ACME") as client,
    ):
        run = await client.bulk_enhance(
            [
                {"id": "item-1", "address": "123 main st, miami, fl", "sources": ["PG", "PH"]},
                {"id": "item-2", "address": "456 elm st, los angeles, ca", "sources": ["PG", "PH"]},
            ],
            sources=["PG", "PH"],
        )
        status = await run.wait(timeout=30)
        assert status.num_completed == 2
        saved = await run.download(tmp_path / "workflow_example_results")
        assert any(p.name.startswith("output-data-") for p in saved)
        policy = await client.limits()
        assert policy.sources["PG"].remaining == {"daily": 8}
    assert {c["delegate_to"] for c in emu.state.data_calls} == {"ACME"}
