"""bulk_enhance end to end: batching, results per location, merge, resume, bad input."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import BulkEnhanceRun, Client, InvalidInputError, PollPolicy
from sovfixer_async._locations import bulk_locations

pytestmark = pytest.mark.anyio


def locations(n: int, *, blank_every: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        if blank_every and i % blank_every == 0:
            out.append({"id": f"loc-{i}", "bldg_name": "nowhere"})  # no location info
        else:
            out.append({"id": f"loc-{i}", "address": f"{i} main st, miami, fl"})
    return out


async def test_docs_two_locations(client: Client, tmp_path: Path) -> None:
    run = await client.bulk_enhance(
        [
            {"id": "item-1", "address": "123 main st, miami, fl", "sources": ["PG", "PH"]},
            {"id": "item-2", "address": "456 elm st, los angeles, ca", "sources": ["PG", "PH"]},
        ],
        sources=["PG", "PH"],
    )
    assert isinstance(run, BulkEnhanceRun)
    status = await run.wait(timeout=30)
    assert status.num_requested == 2
    assert status.num_completed == 2
    results = {lid: sources async for lid, sources in run.results()}
    assert set(results) == {"item-1", "item-2"}
    assert set(results["item-1"]) == {"PG", "PH"}
    paths = await run.download(tmp_path)
    assert paths[0].suffix == ".jsonl"
    lines = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert [line["id"] for line in lines] == ["item-1", "item-2"]
    assert paths[1].name.startswith("output-data-")
    assert len(run.files) == len(paths)


async def test_batches_yield_one_result_per_location(client: Client, stats: Any) -> None:
    locs = locations(2500, blank_every=50)
    run = await client.bulk_enhance(locs, sources=["PG"], batch_size=1000)
    assert len(run.batches) == 3
    status = await run.wait(timeout=60)
    assert status.num_requested == 2500
    assert status.num_problems >= 50
    seen = []
    failed = 0
    async for location_id, per_source in run.results():
        seen.append(location_id)
        failed += not per_source["PG"].is_success
    assert seen == [loc["id"] for loc in locs]
    assert failed >= 50
    counts = await stats()
    assert counts["jobs_created"]["bulk_enhance"] == 3
    assert counts["locations_submitted"] == 2500


async def test_csv_and_jsonl_files(client: Client, tmp_path: Path) -> None:
    csv_path = tmp_path / "locs.csv"
    csv_path.write_text("id,address,latitude,longitude\na,1 main st,,\nb,,25.7,-80.1\n")
    jsonl_path = tmp_path / "locs.jsonl"
    jsonl_path.write_text('{"id": "c", "address": "9 elm"}\n\n{"id": "d", "city": "x"}\n')
    for path, ids in ((csv_path, ["a", "b"]), (jsonl_path, ["c", "d"])):
        run = await client.bulk_enhance(path, sources=["pg"])
        assert [lid async for lid, _ in run.results()] == ids


async def test_resume_half_way_in_a_fresh_client(make_client: Any, tmp_path: Path) -> None:
    async with make_client(work_dir=tmp_path, keep_work_files=True) as first:
        run = await first.bulk_enhance(locations(30), sources=["PG"], batch_size=10)
        await run.batches[0].wait(timeout=30)
        token = run.token
    async with make_client() as second:
        again = second.resume(token)
        assert isinstance(again, BulkEnhanceRun)
        assert [b.id for b in again.batches] == [b.id for b in run.batches]
        await again.wait(timeout=30)
        ids = [lid async for lid, _ in again.results()]
    assert ids == [f"loc-{i}" for i in range(30)]


async def test_work_folder_removed_on_close(make_client: Any, tmp_path: Path) -> None:
    async with make_client(work_dir=tmp_path) as client:
        run = await client.bulk_enhance(locations(3), sources=["PG"])
        await run.wait(timeout=30)
        assert run.work_dir.exists()
    assert not run.work_dir.exists()
    assert tmp_path.exists()  # the user's own folder stays


async def test_results_stream_in_constant_memory(client: Client) -> None:
    run = await client.bulk_enhance(locations(10_000), sources=["PG", "PH"], batch_size=2500)
    await run.wait(timeout=60)
    tracemalloc.start()
    try:
        count = 0
        async for _ in run.results():
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000
    assert peak < 8 * 1024 * 1024  # one block of lines at a time, not 10,000 results


@pytest.mark.parametrize(
    ("given_locations", "field"),
    [
        ([], "locations"),
        ([{"id": "a", "address": "x"}, {"id": "a", "address": "y"}], "locations[1].id"),
        ([{"address": "x"}], "locations[0]"),
        ([{"id": "a", "address": "x", "colour": "red"}], "locations[0].colour"),
        ([{"id": "a", "latitude": "north"}], "locations[0].latitude"),
        ([{"id": "a", "address": "x", "sources": ["NOPE"]}], "locations[0].sources"),
        (b"address\n1 main st\n", "locations[0]"),
        ("missing.csv", "locations"),
    ],
)
async def test_bad_locations_fail_before_submission(
    client: Client, stats: Any, given_locations: Any, field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.bulk_enhance(given_locations, sources=["PG"])
    assert (info.value.field or "").startswith(field)
    counts = await stats()
    assert counts["jobs_created"].get("bulk_enhance", 0) == 0


async def test_unknown_source_lists_known_codes(client: Client) -> None:
    with pytest.raises(InvalidInputError) as info:
        await client.bulk_enhance(locations(1), sources=["PG", "XYZ"])
    assert "XYZ" in str(info.value)
    assert "PH" in str(info.value)


async def test_async_iterable_input(client: Client) -> None:
    async def feed() -> AsyncIterator[dict[str, Any]]:
        for loc in locations(5):
            yield loc

    run = await client.bulk_enhance(feed(), sources=["PG"], batch_size=2)
    assert len(run.batches) == 3
    assert [lid async for lid, _ in run.results()] == [f"loc-{i}" for i in range(5)]


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.text(min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=20),
)
async def test_duplicate_ids_are_always_caught(ids: list[str]) -> None:
    rows = [{"id": i, "address": "x"} for i in ids]
    if len(set(ids)) == len(ids):
        assert [r["id"] async for r in bulk_locations(rows)] == ids
    else:
        with pytest.raises(InvalidInputError, match="duplicate location id"):
            async for _ in bulk_locations(rows):
                pass


async def test_wait_takes_a_poll_policy_for_its_batches(make_client: Any) -> None:
    # The client's own policy would first poll after a minute; this wait's policy at once.
    async with make_client(poll=PollPolicy(initial=60.0, jitter=0.0)) as client:
        locations = [{"id": f"p-{i}", "address": f"{i} main st, miami, fl"} for i in range(4)]
        run = await client.bulk_enhance(locations, sources=["PG"], batch_size=2)
        with anyio.fail_after(30):
            status = await run.wait(poll=PollPolicy.fast())
        assert status.num_requested == 4
