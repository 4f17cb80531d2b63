"""Reading, validating and batching the locations users hand to update_sov and bulk_enhance.

Everything here runs before any job-creating request, so bad input fails with an
:class:`InvalidInputError` naming the row and field, and nothing is lost on the server.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import anyio

from sovfixer_async._errors import InvalidInputError
from sovfixer_async.models._location_fields import validate_location
from sovfixer_async.models._update_rows import validate_update_row

#: What ``update_sov(locations=...)`` and ``bulk_enhance(locations)`` accept.
LocationsInput = (
    str | PathLike[str] | bytes | Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
)


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


def _decode(data: bytes, field: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"not UTF-8 text (byte {exc.start}): save the file as UTF-8 CSV", field=field
        ) from None


def _csv_rows(text: str, field: str, *, required: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    """Rows of a CSV text as dicts, with clear errors for malformed files."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError("the CSV is empty (no header row)", field=field) from None
    except csv.Error as exc:
        raise InvalidInputError(f"malformed CSV header: {exc}", field=field) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise InvalidInputError("the CSV header row is blank", field=field)
    blank = [i + 1 for i, h in enumerate(header) if not h]
    if blank:
        raise InvalidInputError(f"the CSV header has blank column name(s) at {blank}", field=field)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InvalidInputError(f"the CSV header repeats column {name!r}", field=field)
        seen.add(name)
    missing = [r for r in required if r not in seen]
    if missing:
        raise InvalidInputError(
            f"the CSV has no {', '.join(missing)} column (columns: {', '.join(header)})",
            field=field,
        )
    line = 1
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) > len(header):
                raise InvalidInputError(
                    f"{len(values)} fields but the header has {len(header)}",
                    field=f"{field} line {line}",
                )
            yield dict(zip(header, values, strict=False))
    except csv.Error as exc:
        raise InvalidInputError(f"malformed CSV: {exc}", field=f"{field} line {line}") from None


async def _iter_mappings(locations: LocationsInput, field: str) -> AsyncIterator[Mapping[str, Any]]:
    """Rows from any accepted input: CSV path or bytes, JSONL path, (async) iterable."""
    if isinstance(locations, bytes | bytearray):
        text = _decode(bytes(locations), field)
        rows: Iterable[Mapping[str, Any]] = (
            _jsonl_rows(text, field) if text.lstrip().startswith("{") else _csv_rows(text, field)
        )
        for row in rows:
            yield row
        return
    if isinstance(locations, str | PathLike):
        path = _as_path(locations, field)
        data = await anyio.Path(path).read_bytes()
        text = _decode(data, field)
        rows = (
            _jsonl_rows(text, field)
            if path.suffix.lower() in (".jsonl", ".ndjson")
            else (_csv_rows(text, field))
        )
        for row in rows:
            yield row
        return
    if isinstance(locations, Mapping):
        raise InvalidInputError("expected many locations, got one mapping", field=field)
    if isinstance(locations, AsyncIterable):
        async for row in locations:
            yield row
        return
    if isinstance(locations, Iterable):
        for row in locations:
            yield row
        return
    raise InvalidInputError(
        f"expected a CSV/JSONL path, CSV bytes or rows of mappings, got {type(locations).__name__}",
        field=field,
    )


def _jsonl_rows(text: str, field: str) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidInputError(f"not JSON: {exc}", field=f"{field} line {number}") from None
        if not isinstance(row, dict):
            raise InvalidInputError(
                "each line must be a JSON object", field=f"{field} line {number}"
            )
        yield row


async def update_csv_batches(locations: LocationsInput, batch_rows: int) -> list[bytes]:
    """Validate every update row and cut them into CSV batches of ``batch_rows`` rows.

    Each batch is a complete CSV (header included) for one ``add_locations`` call; rows keep
    their order, so later corrections of a building still override earlier ones.
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

    async for row in _iter_mappings(locations, "locations"):
        if not isinstance(row, Mapping):
            raise InvalidInputError(
                f"expected a mapping, got {type(row).__name__}", field=f"locations[{index}]"
            )
        pending.append(validate_update_row(row, index))
        index += 1
        if len(pending) >= batch_rows:
            flush()
    if pending:
        flush()
    if not batches:
        raise InvalidInputError("no locations given (the input has no rows)", field="locations")
    return batches


async def bulk_locations(locations: LocationsInput) -> AsyncIterator[dict[str, Any]]:
    """Validated bulk-enhance locations, one at a time; duplicate ids are an error."""
    seen: set[str] = set()
    index = 0
    async for row in _iter_mappings(locations, "locations"):
        if not isinstance(row, Mapping):
            raise InvalidInputError(
                f"expected a mapping, got {type(row).__name__}", field=f"locations[{index}]"
            )
        clean = validate_location(row, index)
        location_id = clean["id"]
        if location_id in seen:
            raise InvalidInputError(
                f"duplicate location id {location_id!r}", field=f"locations[{index}].id"
            )
        seen.add(location_id)
        index += 1
        yield clean
    if not index:
        raise InvalidInputError("no locations given (the input has no rows)", field="locations")
