"""Reading, validating and batching the locations users hand to update_sov and bulk_enhance.

Everything here runs before any job-creating request, so bad input fails with an
:class:`InvalidInputError` naming the row and field (or the line of a malformed file),
and nothing is lost on the server.

Input is streamed: a file is read a slice of rows at a time in a worker thread, never
whole, and between slices of :data:`SLICE_ROWS` rows the event loop is free, so that
preparing a million locations never holds the loop for more than a few milliseconds.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing
from os import PathLike
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.lowlevel

from sovfixer_async._csv_input import csv_rows, jsonl_rows
from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._location_fields import validate_location
from sovfixer_async.models._update_rows import validate_update_row

#: What ``update_sov(locations=...)`` and ``bulk_enhance(locations)`` accept (a sequence
#: of paths only ``update_sov``: several files, one update).
LocationsInput = (
    str
    | PathLike[str]
    | bytes
    | Sequence[str | PathLike[str]]
    | Iterable[Mapping[str, Any]]
    | AsyncIterable[Mapping[str, Any]]
)

#: Rows read and validated between two turns of the event loop (about 1 ms of work).
SLICE_ROWS = 256
#: Rows a worker thread reads from a file in one go (a thread round trip costs ~0.1 ms).
FILE_SLICE_ROWS = 2048
#: Sets the location ids seen are split over (see :class:`SeenIds`).
ID_SHARDS = 256
#: Ids freed between two turns of the event loop when a run's ids are forgotten (~2 ms).
FREE_PER_TURN = 32_768

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_LEADING_SPACE = re.compile(rb"(?:\xef\xbb\xbf)?\s*")


def _as_path(value: str | PathLike[str], field: str) -> Path:
    if isinstance(value, str) and "\n" in value:
        raise InvalidInputError(
            "a str is read as a file path; pass CSV text as bytes (e.g. text.encode())",
            field=field,
        )
    path = Path(value)
    if not path.is_file():
        raise InvalidInputError(f"file not found: {path}", field=field)
    return path


def _file_rows(
    binary: IO[bytes], jsonl: bool, field: str, source: str
) -> Iterator[Mapping[str, Any]]:
    if jsonl:
        return jsonl_rows(binary, field, source=source)
    return csv_rows(binary, field, source=source)


def _take(rows: Iterator[Mapping[str, Any]], count: int = SLICE_ROWS) -> list[Mapping[str, Any]]:
    return list(itertools.islice(rows, count))


def _open(path: Path) -> IO[bytes]:
    return path.open("rb")


async def _row_slices(
    locations: LocationsInput, field: str
) -> AsyncGenerator[list[Mapping[str, Any]], None]:
    """Rows of any accepted input, in slices: CSV/JSONL path or bytes, (async) iterable."""
    if isinstance(locations, bytes | bytearray):
        data = bytes(locations)
        match = _LEADING_SPACE.match(data)
        first = match.end() if match else 0
        jsonl = data[first : first + 1] == b"{"  # JSONL, else CSV
        rows = _file_rows(io.BytesIO(data), jsonl, field, "")
        while chunk := _take(rows):
            yield chunk
        return
    if isinstance(locations, str | PathLike):
        path = _as_path(locations, field)
        try:
            binary = await anyio.to_thread.run_sync(_open, path)
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field=field) from None
        try:
            jsonl = path.suffix.lower() in _JSONL_SUFFIXES
            rows = _file_rows(binary, jsonl, field, f" (in {path})")
            while chunk := await anyio.to_thread.run_sync(_take, rows, FILE_SLICE_ROWS):
                yield chunk
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field=field) from None
        finally:
            binary.close()
        return
    if isinstance(locations, Mapping):
        raise InvalidInputError("expected many locations, got one mapping", field=field)
    if isinstance(locations, AsyncIterable):
        async for row in locations:
            yield [row]
        return
    if isinstance(locations, Iterable):
        items: Iterator[Any] = iter(locations)
        while chunk := _take(items):
            yield chunk
        return
    raise InvalidInputError(
        f"expected a CSV/JSONL path, CSV bytes or rows of mappings, got {type(locations).__name__}",
        field=field,
    )


async def _rows(locations: LocationsInput, field: str) -> AsyncGenerator[Mapping[str, Any], None]:
    """Every row of any accepted input; the loop gets a turn every :data:`SLICE_ROWS` rows."""
    count = 0
    async with aclosing(_row_slices(locations, field)) as slices:
        async for chunk in slices:
            for row in chunk:
                if type(row) is not dict and not isinstance(row, Mapping):
                    raise InvalidInputError(
                        f"expected a mapping, got {type(row).__name__}", field=f"{field}[{count}]"
                    )
                count += 1
                yield row
                if not count % SLICE_ROWS:
                    await anyio.lowlevel.checkpoint()


def is_file_list(locations: object) -> bool:
    """True for a list or tuple of paths: several files read as one input, in order."""
    return (
        isinstance(locations, list | tuple)
        and bool(locations)
        and all(isinstance(item, str | PathLike) for item in locations)
    )


async def _lines_of(path: Path, field: str) -> AsyncGenerator[tuple[Mapping[str, Any], int], None]:
    """The rows of one CSV/JSONL file with the line each starts on (JSONL: its row number)."""
    try:
        binary = await anyio.to_thread.run_sync(_open, path)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field=field) from None
    origins: list[int] = []
    jsonl = path.suffix.lower() in _JSONL_SUFFIXES
    source = f" (in {path})"
    rows = (
        jsonl_rows(binary, field, source=source)
        if jsonl
        else csv_rows(binary, field, source=source, origins=origins)
    )
    count = 0
    try:
        while chunk := await anyio.to_thread.run_sync(_take, rows, FILE_SLICE_ROWS):
            for row in chunk:
                count += 1
                yield row, (count if jsonl else origins[count - 1])
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field=field) from None
    finally:
        binary.close()


async def _located_rows(
    locations: LocationsInput,
) -> AsyncGenerator[tuple[Mapping[str, Any], str | None], None]:
    """Rows of any update input, each with where it came from when that is a file line."""
    if is_file_list(locations):
        assert isinstance(locations, list | tuple)
        paths = [_as_path(item, f"locations[{i}]") for i, item in enumerate(locations)]
        for number, path in enumerate(paths):
            async with aclosing(_lines_of(path, f"locations[{number}]")) as lines:
                async for row, line in lines:
                    kind = "row" if path.suffix.lower() in _JSONL_SUFFIXES else "line"
                    yield row, f"{path}, {kind} {line}"
        return
    async with aclosing(_rows(locations, "locations")) as rows:
        async for row in rows:
            yield row, None


async def update_csv_batches(locations: LocationsInput, batch_rows: int) -> list[bytes]:
    """Validate every update row and cut them into CSV batches of ``batch_rows`` rows.

    Each batch is a complete CSV (header included) for one ``add_locations`` call; rows keep
    their order, so later corrections of a building still override earlier ones. A list
    of paths is read as one input, file after file; a bad row's error names file and line.
    """
    if batch_rows < 1:
        raise InvalidInputError("must be >= 1", field="batch_rows")
    batches: list[bytes] = []
    pending: list[dict[str, str]] = []
    index = 0

    def flush() -> None:
        header: dict[str, None] = {}
        for row in pending:
            header.update(dict.fromkeys(row))
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(pending)
        batches.append(out.getvalue().encode())
        pending.clear()

    async with aclosing(_located_rows(locations)) as rows:
        async for row, where in rows:
            try:
                pending.append(validate_update_row(row, index))
            except InvalidInputError as exc:
                if where is None:
                    raise
                raise InvalidInputError(f"{exc.message} (in {where})", field=exc.field) from None
            index += 1
            if len(pending) >= batch_rows:
                flush()
    if pending:
        flush()
    if not batches:
        raise InvalidInputError("no locations given (the input has no rows)", field="locations")
    return batches


class SeenIds:
    """A set of ids, kept as the keys of :data:`ID_SHARDS` dicts chosen by hash.

    One set of a million ids grows by rehashing all of them in one piece (20 ms at 629,000
    entries and 40 ms at 1.26 million on a quiet core; more on a busy one): that held the
    event loop past 20 ms while a large bulk run was prepared. Each shard is 1/256 of it.
    Dicts, not sets: a dict of strings is not tracked by the garbage collector, while a
    set of a million strings made every full collection walk them (~75 ms).
    """

    __slots__ = ("_shards",)

    def __init__(self) -> None:
        self._shards: list[dict[str, None]] = [{} for _ in range(ID_SHARDS)]

    def add(self, value: str) -> bool:
        """Add ``value``; False when it was already there."""
        shard = self._shards[hash(value) % ID_SHARDS]
        if value in shard:
            return False
        shard[value] = None
        return True

    def __len__(self) -> int:
        return sum(map(len, self._shards))

    async def forget(self) -> None:
        """Empty it a part per loop turn: freeing a million ids at once takes ~50 ms."""
        freed = 0
        for shard in self._shards:
            freed += len(shard)
            shard.clear()
            if freed >= FREE_PER_TURN:
                freed = 0
                await anyio.lowlevel.checkpoint()


async def bulk_locations(locations: LocationsInput) -> AsyncGenerator[dict[str, Any], None]:
    """Validated bulk-enhance locations, one at a time; duplicate ids are an error."""
    seen = SeenIds()
    index = 0
    async with aclosing(_rows(locations, "locations")) as rows:
        async for row in rows:
            clean = validate_location(row, index)
            location_id = clean["id"]
            if not seen.add(location_id):
                raise InvalidInputError(
                    f"duplicate location id {location_id!r}", field=f"locations[{index}].id"
                )
            index += 1
            yield clean
    if not index:
        raise InvalidInputError("no locations given (the input has no rows)", field="locations")
    await seen.forget()
