"""Micro-measurements of the models' hot paths, printed (never asserted: machines differ).

``python benchmarks/bench_models_speed.py`` prints microseconds per call (best of five
rounds) of structuring status bodies and source results, and of validating one bulk
location or update row, and the rows per second of reading locations from CSV bytes.
No targets: the figures are for comparing before and after a change on one machine.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable
from typing import Any

import _common as c
import anyio

from sovfixer_async._locations import bulk_locations
from sovfixer_async.models import BulkEnhanceStatus, SourceResult, UpdateStatus, structure
from sovfixer_async.models._location_fields import validate_location
from sovfixer_async.models._update_rows import validate_update_row

BULK_STATUS = {
    "request": {
        "status": "COMPLETE",
        "requested_at": "2026-02-02T19:18:48.842Z",
        "progress_started_at": "2026-02-02T19:18:49.264Z",
        "completed_at": "2026-02-02T19:18:52.624Z",
        "num_requested": 1000,
        "num_completed": 1000,
        "num_problems": 2,
        "num_canceled": 0,
    },
    "result": {
        "status": "SUCCESS",
        "message": "Success.",
        "total_processing_time": 3.782,
        "outputs": [
            {"description": "Data file 1", "filename": "o.json", "url": "https://x/o.json"}
        ],
        "sources": [
            {
                "source": code,
                "num_fetched": 1000,
                "num_successes": 998,
                "num_fails": 2,
                "avg_fetch_duration": 0.121,
                "max_fetch_duration": 0.152,
                "min_fetch_duration": 0.09,
                "total_fetch_duration": 121.0,
            }
            for code in ("PG", "PH")
        ],
    },
}
UPDATE_STATUS = {
    "request": {
        "status": "IN_PROGRESS",
        "request_uuid": "0c5e",
        "sudid": "s-no-ping-hggcsk-r001",
        "record_type": "API",
        "pct_complete": 40,
        "last_health_status": "Applying corrections",
        "last_health_check_time": "2026-02-02T19:18:52.624Z",
        "completed_at": None,
    }
}
SOURCE_RESULT = {
    "is_success": True,
    "error_message": None,
    "confidence": 80,
    "status_code": 200,
    "fetch_time": 0.121,
    "is_cache_hit": False,
    "latitude": 25.79,
    "longitude": -80.14,
    "formatted_address": "123 Main St, Miami, FL 33139, USA",
    "place_id": "ChIJ",
    "location_type": "ROOFTOP",
}
JSON_LOCATION = {
    "id": "item-1",
    "address": "123 main st, miami, fl",
    "sources": ["PG", "PH"],
    "latitude": 25.79,
    "longitude": -80.14,
}
CSV_LOCATION = {
    "id": "item-1",
    "address": "123 main st, miami, fl",
    "latitude": "25.79",
    "longitude": "-80.14",
    "city": "",
    "postal_code": "33139",
    "const__num_stories": "3",
    "limits__building_limit": "1500000",
}
UPDATE_ROW = {"sheet_name": "Sheet1", "sheet_row_number": "2", "bldg_name": "Normal House", "x": ""}


def microseconds(call: Callable[[], Any], repeat: int = 5, number: int = 2000) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("structure bulk status (2 sources)", lambda: structure(BULK_STATUS, BulkEnhanceStatus)),
    ("structure update status", lambda: structure(UPDATE_STATUS, UpdateStatus)),
    ("SourceResult.from_dict", lambda: SourceResult.from_dict(SOURCE_RESULT)),
    ("structure SourceResult", lambda: structure(SOURCE_RESULT, SourceResult)),
    ("validate_location (JSON, 5 keys)", lambda: validate_location(JSON_LOCATION, 0)),
    ("validate_location (CSV, 8 keys)", lambda: validate_location(CSV_LOCATION, 0)),
    ("validate_update_row (4 columns)", lambda: validate_update_row(UPDATE_ROW, 0)),
]


def csv_bytes(n: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(CSV_LOCATION), lineterminator="\n")
    writer.writeheader()
    for i in range(n):
        writer.writerow({**CSV_LOCATION, "id": f"loc-{i}"})
    return out.getvalue().encode()


async def read_all(data: bytes) -> int:
    count = 0
    async for _ in bulk_locations(data):
        count += 1
    return count


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    c.header("bench_models_speed", args)
    number = 500 if args.quick else 2000
    t = c.Table("models hot paths (µs per call, best of 5)")
    for name, call in CALLS:
        t.info(name, f"{microseconds(call, number=number):.2f} µs")
    n = 20_000 if args.quick else 200_000
    data = csv_bytes(n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        count = anyio.run(read_all, data)
        best = min(best, time.perf_counter() - start)
    assert count == n
    t.info(f"bulk_locations from CSV bytes ({n:,} rows)", f"{n / best:,.0f} rows/s")
    t.info("  per row", f"{best / n * 1e6:.2f} µs")
    t.print()
    return c.finish([t])


if __name__ == "__main__":
    sys.exit(main())
