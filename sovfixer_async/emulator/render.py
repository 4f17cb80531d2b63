"""Rendered outputs: the bytes of a SOV revision as JSON, a workbook or a text table.

Output bytes depend only on their input (no clock, no request ids, fixed zip timestamps),
so the same (SOV, revision, format) always gives the same file and the same ETag.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping

from sovfixer_async.emulator.cells import is_blank
from sovfixer_async.emulator.xlsx_write import PADDING_NAME, STORED_OVERHEAD, xlsx_parts, zip_parts


def _finite(value: object) -> object:
    """JSON-safe: non-finite floats become their text (JSON has no NaN/Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_bytes(document: dict[str, object]) -> bytes:
    try:
        text = json.dumps(document, indent=2, allow_nan=False, default=str)
    except ValueError:  # a NaN or infinity somewhere
        text = json.dumps(_finite(document), indent=2, allow_nan=False, default=str)
    return text.encode()


def _columns(buildings: list[Mapping[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for building in buildings:
        for key in building:
            seen.setdefault(key, None)
    return list(seen)


def _text_table(columns: list[str], table: list[list[object]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in table:
        writer.writerow(
            [
                ""
                if v is None
                else json.dumps(v, sort_keys=True, default=str)
                if isinstance(v, dict | list)
                else v
                for v in row
            ]
        )
    return buffer.getvalue().encode()


def _pad_text(body: bytes, pad_to: int, filler: bytes) -> bytes:
    missing = pad_to - len(body)
    if missing <= 0:
        return body
    return b"".join((body, filler * missing))  # one multiplication, one copy


def render_output(
    sov: Mapping[str, object], output_format: str, extension: str, pad_to: int = 0
) -> bytes:
    """The bytes of ``sov`` as ``output_format`` with file ``extension``; at least ``pad_to`` long.

    ``sov`` is ``{"id", "source_filename", "num_buildings", "extra_data", "buildings"}``.
    ``json`` (and any unknown extension): the JSON document of contract 7.3 (DEBUGJSON adds
    a ``debug`` section), padded with trailing whitespace. ``xlsx``/``xlsm``/``xls``/``xlsb``:
    a workbook of the buildings, one row each, padded with a stored ``docProps/padding.bin``
    (or, for gaps of up to 116 bytes, the zip comment).
    ``csv``/``tsv``/``txt``: a table of the buildings, padded with trailing newlines.
    Deterministic: the same input always gives the same bytes. Padding is built with one
    multiplication and copied once (about twice ``pad_to`` of memory at the peak); workbooks
    of 4 GiB or more (no zip64) raise ValueError.
    """
    raw_buildings = sov.get("buildings")
    buildings: list[Mapping[str, object]] = (
        [b for b in raw_buildings if isinstance(b, Mapping)]
        if isinstance(raw_buildings, list | tuple)
        else []
    )
    fmt = output_format.strip().upper()
    ext = extension.strip().lower().lstrip(".")
    pad_to = max(0, int(pad_to))
    if ext in ("xlsx", "xlsm", "xls", "xlsb"):
        columns = _columns(buildings)
        table = [[b.get(c) for c in columns] for b in buildings]
        parts = xlsx_parts(fmt.title() or "Sheet1", columns, table, macro=ext == "xlsm")
        data = zip_parts(parts)
        if len(data) < pad_to:
            # a stored entry costs its data plus 30 + 46 bytes of headers and twice its name
            overhead = STORED_OVERHEAD + 2 * len(PADDING_NAME)
            gap = pad_to - len(data)
            if gap > overhead:
                data = zip_parts(parts, padding=gap - overhead)
            else:  # too small a gap for an entry: the archive comment fills it exactly
                data = zip_parts(parts, comment=gap)
        return data
    if ext in ("csv", "tsv", "txt"):
        columns = _columns(buildings)
        table = [[b.get(c) for c in columns] for b in buildings]
        body = _text_table(columns, table, "," if ext == "csv" else "\t")
        return _pad_text(body, pad_to, b"\n")
    extra_data = sov.get("extra_data")
    document: dict[str, object] = {
        "id": sov.get("id"),
        "source_filename": sov.get("source_filename"),
        "num_buildings": len(buildings),
        "extra_data": extra_data if isinstance(extra_data, Mapping) else {},
        "buildings": buildings,
    }
    if fmt == "DEBUGJSON":
        columns = _columns(buildings)
        document["debug"] = {
            "output_format": fmt,
            "num_columns": len(columns),
            "columns": columns,
            "sheets": sorted({str(b.get("sheet_name")) for b in buildings if "sheet_name" in b}),
            "fill_rates": {
                c: round(sum(1 for b in buildings if not is_blank(b.get(c))) / len(buildings), 4)
                for c in columns
            },
        }
    body = _json_bytes(document) + b"\n"
    return _pad_text(body, pad_to, b" ")
