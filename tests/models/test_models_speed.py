"""Micro-measurements of the hot paths, printed (never asserted: machines differ).

Run with ``pytest tests/models/test_models_speed.py -s`` to see the figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from sovfixer_async.models import (
    BulkEnhanceStatus,
    SourceResult,
    UpdateStatus,
    structure,
    validate_location,
    validate_update_row,
)

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


def _microseconds(call: Callable[[], Any], repeat: int = 5, number: int = 2000) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("structure bulk status (2 sources)", lambda: structure(BULK_STATUS, BulkEnhanceStatus)),
        ("structure update status", lambda: structure(UPDATE_STATUS, UpdateStatus)),
        ("SourceResult.from_dict", lambda: SourceResult.from_dict(SOURCE_RESULT)),
        ("structure SourceResult", lambda: structure(SOURCE_RESULT, SourceResult)),
        ("validate_location (JSON, 5 keys)", lambda: validate_location(JSON_LOCATION, 0)),
        ("validate_location (CSV, 8 keys)", lambda: validate_location(CSV_LOCATION, 0)),
        ("validate_update_row (4 columns)", lambda: validate_update_row(UPDATE_ROW, 0)),
    ],
)
def test_print_speed(
    name: str, call: Callable[[], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    figure = _microseconds(call)
    with capsys.disabled():
        print(f"\n  {name}: {figure:.2f} µs", end="")
