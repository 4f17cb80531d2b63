"""Locations from paths, bytes and (async) iterables: strict, streamed, and the loop free."""

from __future__ import annotations

import csv
import gc
import io
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import InvalidInputError, _locations
from sovfixer_async._locations import SLICE_ROWS, SeenIds, bulk_locations, update_csv_batches

pytestmark = pytest.mark.anyio

UNTERMINATED_BULK = b'id,address\nloc-1,"12 Main St\nloc-2,Oak Ave\n'
UNTERMINATED_UPDATE = b'item_key,bldg_name\nk-1,"Tower\nk-2,Annex\n'


async def all_locations(source: Any) -> list[dict[str, Any]]:
    return [location async for location in bulk_locations(source)]


def as_input(kind: str, data: bytes, tmp_path: Path) -> Any:
    if kind == "bytes":
        return data
    path = tmp_path / "input.csv"
    path.write_bytes(data)
    return path if kind == "path" else str(path)


@pytest.mark.parametrize("kind", ["bytes", "path", "str"])
async def test_an_unterminated_quote_fails_bulk_and_update(kind: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="a quote is never closed") as info:
        await all_locations(as_input(kind, UNTERMINATED_BULK, tmp_path))
    assert info.value.field == "locations line 2"
    if kind != "bytes":
        assert str(tmp_path / "input.csv") in str(info.value)
    with pytest.raises(InvalidInputError, match="a quote is never closed") as info:
        await update_csv_batches(as_input(kind, UNTERMINATED_UPDATE, tmp_path), 10)
    assert info.value.field == "locations line 2"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,address\nloc-1,a\x00b\n", "NUL"),
        (b"id,address\nloc-1,a,b\n", "3 fields"),
        (b'id,address\nloc-1,12" pipe\n', "quote inside an unquoted cell"),
    ],
)
@pytest.mark.parametrize("kind", ["bytes", "path"])
async def test_malformed_files_fail_naming_the_line(
    kind: str, data: bytes, message: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        await all_locations(as_input(kind, data, tmp_path))
    assert info.value.field == "locations line 2"


async def test_iterables_of_rows_keep_their_values() -> None:
    # rows from an iterable are the user's own values: no CSV parsing happens
    rows = [{"id": "a", "address": '12" pipe, "quoted"\nnext line'}]
    assert await all_locations(rows) == rows
    assert await all_locations(iter(rows)) == rows

    async def feed() -> AsyncIterator[dict[str, Any]]:
        for row in rows:
            yield row

    assert await all_locations(feed()) == rows


async def test_jsonl_path_and_bytes(tmp_path: Path) -> None:
    data = b'{"id": "a", "latitude": 1.5}\n\n{"id": "b"}\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    expected = [{"id": "a", "latitude": 1.5}, {"id": "b"}]
    assert await all_locations(path) == expected
    assert await all_locations(b"\xef\xbb\xbf  " + data) == expected
    path.write_bytes(b'{"id": "a"}\n{"id": "b\x00"}\n')
    with pytest.raises(InvalidInputError, match="NUL") as info:
        await all_locations(path)
    assert info.value.field == "locations line 2"


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "address", "latitude"])
        for i in range(n):
            writer.writerow([f"loc-{i}", f"{i} main st, miami, fl", "25.5"])


async def test_a_file_is_streamed_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_locations, "FILE_SLICE_ROWS", 256)  # memory is bounded by a slice
    path = tmp_path / "big.csv"
    write_csv(path, 60_000)  # about 2.5 MB
    count = 0
    tracemalloc.start()
    try:
        async for _ in _locations._rows(path, "locations"):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < path.stat().st_size / 4


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 4 * SLICE_ROWS), kind=st.sampled_from(["bytes", "rows", "async"]))
async def test_preparing_gives_the_loop_a_turn_every_slice(n: int, kind: str) -> None:
    rows = [{"id": f"loc-{i}", "address": "x"} for i in range(n)]
    source: Any
    if kind == "bytes":
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=["id", "address"])
        writer.writeheader()
        writer.writerows(rows)
        source = out.getvalue().encode()
    elif kind == "rows":
        source = rows
    else:

        async def feed() -> AsyncIterator[dict[str, Any]]:
            for row in rows:
                yield row

        source = feed()
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        start = turns
        if n:
            assert await all_locations(source) == rows
        else:
            with pytest.raises(InvalidInputError, match="no locations"):
                await all_locations(source)
        done = True
    assert turns - start >= n // SLICE_ROWS


async def test_update_rows_from_a_file_keep_quoted_cells(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(
        b'item_key,bldg_name,note\nk-1,"Tower, East","5\'6"" door"\n\nk-2,"two\nlines",\n'
    )
    [batch] = await update_csv_batches(path, 10)
    rows = list(csv.DictReader(io.StringIO(batch.decode(), newline="")))
    assert rows == [
        {"item_key": "k-1", "bldg_name": "Tower, East", "note": "5'6\" door"},
        {"item_key": "k-2", "bldg_name": "two\nlines", "note": ""},
    ]


async def test_a_path_that_cannot_be_read_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="file not found"):
        await all_locations(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="file not found"):
        await all_locations(tmp_path)  # a folder
    with pytest.raises(InvalidInputError, match="CSV text as bytes"):
        await all_locations("id,address\nloc-1,x\n")


@given(st.lists(st.text(min_size=1, max_size=6), max_size=300))
def test_seen_ids_says_which_ids_repeat(ids: list[str]) -> None:
    """The sharded id set answers as one set would: False exactly for a repeat."""
    seen, plain = SeenIds(), set[str]()
    for value in ids:
        assert seen.add(value) is (value not in plain)
        plain.add(value)
    assert len(seen) == len(plain)


async def test_seen_ids_are_forgotten_a_part_per_loop_turn() -> None:
    """100,000 ids are freed over several turns of the loop, not in one piece."""
    seen = SeenIds()
    for i in range(100_000):
        seen.add(f"loc-{i}")
    turns = 0
    finished = anyio.Event()

    async def count_turns() -> None:
        nonlocal turns
        while not finished.is_set():
            turns += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(count_turns)
        await anyio.lowlevel.checkpoint()
        before = turns
        await seen.forget()
        during = turns - before
        finished.set()
    assert len(seen) == 0
    assert during >= 100_000 // _locations.FREE_PER_TURN


def test_seen_ids_are_not_walked_by_the_garbage_collector() -> None:
    """A million ids held while a run is prepared must not lengthen every full collection:
    none of what holds them is tracked by the collector."""
    seen = SeenIds()
    for i in range(1000):
        seen.add(f"loc-{i}")
    gc.collect()
    assert not any(gc.is_tracked(shard) for shard in seen._shards)
