"""The contract's documented example bodies (§3, §4, §8) structure into the right values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sovfixer_async.models import (
    ActivityPage,
    BulkEnhanceStatus,
    CreatedResponse,
    DatasourceConfig,
    EnhanceResponse,
    Granularity,
    HistoryItem,
    HistoryPage,
    HistoryStatus,
    JobStatus,
    Output,
    OutputFormat,
    OutputStatus,
    ParseStatus,
    RecordType,
    RequestStatus,
    ResultStatus,
    SourceResult,
    UpdateStatus,
    UsageResponse,
    structure,
)

SOV_URL = "https://api.sovfixer.com/api/v1/sov/s-no-ping-hggcsk/output/parse_sov_testfile.json"
JOB = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def test_8_1_and_8_5_created() -> None:
    assert structure({"message": "OK", "id": "s-no-ping-hggcsk-r001"}, CreatedResponse) == (
        CreatedResponse(id="s-no-ping-hggcsk-r001", message="OK")
    )
    assert structure({"id": "s-pl-ping-21nyms3", "message": "OK"}, CreatedResponse).id == (
        "s-pl-ping-21nyms3"
    )


def test_8_2_output_cached() -> None:
    body = {
        "request": {
            "id": "immediately-done-7b3c1a04-2d6e-4f95-bf18-a08e25c4d731",
            "status": "COMPLETE",
        },
        "result": {
            "label": "JSON",
            "output_format": "JSON",
            "scrubbed_filename": "parse_sov_testfile.json",
            "url": SOV_URL,
        },
    }
    status = structure(body, OutputStatus)
    assert status.request.id == "immediately-done-7b3c1a04-2d6e-4f95-bf18-a08e25c4d731"
    assert status.done
    assert status.succeeded
    assert status.failure is None
    assert status.result is not None
    assert status.result.output_format == "JSON"
    assert status.outputs == [
        Output(url=SOV_URL, filename="parse_sov_testfile.json", description="JSON")
    ]


def test_8_3_output_pending() -> None:
    status = structure(
        {"request": {"id": "9f4d8c10-3b7e-4a52-bd91-c823f15e4d76", "status": "PENDING"}},
        OutputStatus,
    )
    assert status.request.id == "9f4d8c10-3b7e-4a52-bd91-c823f15e4d76"
    assert status.result is None
    assert not status.done
    assert status.outputs == []
    assert status.progress is None


def test_8_4_output_poll_complete_without_request_id() -> None:
    body = {
        "request": {"status": "COMPLETE"},
        "result": {
            "label": "JSON",
            "output_format": "JSON",
            "scrubbed_filename": "parse_sov_testfile.json",
            "url": SOV_URL,
        },
    }
    status = structure(body, OutputStatus)
    assert status.request.id is None
    assert status.succeeded
    assert [o.filename for o in status.outputs] == ["parse_sov_testfile.json"]


def test_q7_list_shaped_output_result_is_flattened() -> None:
    body = {
        "request": {"status": "COMPLETE"},
        "result": {
            "message": "Done",
            "status": "SUCCESS",
            "outputs": [
                {"description": "JSON", "filename": "parse_sov_testfile.json", "url": SOV_URL}
            ],
        },
    }
    status = structure(body, OutputStatus)
    assert status.result is not None
    assert status.result.url == SOV_URL
    assert status.result.scrubbed_filename == "parse_sov_testfile.json"
    assert status.result.label == "JSON"
    assert status.result.message == "Done"
    assert status.succeeded
    assert status.outputs == [
        Output(url=SOV_URL, filename="parse_sov_testfile.json", description="JSON")
    ]


def test_3_9_output_failed() -> None:
    status = structure(
        {"request": {"status": "FAILED"}, "result": {"message": "could not render"}}, OutputStatus
    )
    assert status.done
    assert not status.succeeded
    assert status.failure == (None, "could not render")
    assert status.outputs == []


def test_8_6_bulk_created() -> None:
    assert structure({"id": JOB, "message": "OK"}, CreatedResponse).id == JOB


BULK_8_7: dict[str, Any] = {
    "request": {
        "status": "COMPLETE",
        "requested_at": "2026-02-02T19:18:48.842Z",
        "progress_started_at": "2026-02-02T19:18:49.264Z",
        "completed_at": "2026-02-02T19:18:52.624Z",
        "num_requested": 2,
        "num_completed": 2,
        "num_problems": 2,
        "num_canceled": 0,
    },
    "result": {
        "status": "SUCCESS",
        "message": "Success.",
        "total_processing_time": 3.782,
        "outputs": [
            {
                "description": "Data file 1",
                "filename": f"output-data-{JOB}.json",
                "url": f"https://data-api.sovfixer.com/api/v1/bulk_enhance/{JOB}/output/output-data-{JOB}.json",
            }
        ],
        "sources": [
            {
                "source": "PG",
                "num_fetched": 2,
                "num_successes": 2,
                "num_fails": 0,
                "avg_fetch_duration": 0.121,
                "max_fetch_duration": 0.152,
                "min_fetch_duration": 0.09,
                "total_fetch_duration": 0.242,
            },
            {
                "source": "PGPRE",
                "num_fetched": 2,
                "num_successes": 2,
                "num_fails": 0,
                "avg_fetch_duration": 0.0795,
                "max_fetch_duration": 0.08,
                "min_fetch_duration": 0.079,
                "total_fetch_duration": 0.159,
            },
            {
                "source": "PH",
                "num_fetched": 2,
                "num_successes": 2,
                "num_fails": 0,
                "avg_fetch_duration": None,
                "max_fetch_duration": None,
                "min_fetch_duration": None,
                "total_fetch_duration": 0.0,
            },
        ],
    },
}


def test_8_7_bulk_status_complete() -> None:
    status = structure(BULK_8_7, BulkEnhanceStatus)
    request = status.request
    assert request.status is RequestStatus.COMPLETE
    assert request.requested_at == datetime(2026, 2, 2, 19, 18, 48, 842000, tzinfo=UTC)
    assert request.completed_at == datetime(2026, 2, 2, 19, 18, 52, 624000, tzinfo=UTC)
    assert (request.num_requested, request.num_completed, request.num_problems) == (2, 2, 2)
    assert request.num_canceled == 0
    assert status.succeeded
    assert status.progress == 1.0
    assert status.failure is None
    result = status.result
    assert result is not None
    assert result.total_processing_time == 3.782
    assert [s.source for s in result.sources] == ["PG", "PGPRE", "PH"]
    ph = result.sources[2]
    assert ph.avg_fetch_duration is None
    assert ph.min_fetch_duration is None
    assert ph.total_fetch_duration == 0.0
    assert status.outputs[0].filename == f"output-data-{JOB}.json"
    assert status.outputs[0].description == "Data file 1"


def test_8_8_bulk_placeholder_with_single_objects() -> None:
    stamp = "2023-11-07T05:31:56Z"
    body = {
        "request": {
            "status": "PENDING",
            "requested_at": stamp,
            "progress_started_at": stamp,
            "completed_at": stamp,
            "num_requested": 123,
            "num_completed": 123,
            "num_problems": 123,
            "num_canceled": 123,
        },
        "result": {
            "message": "<string>",
            "status": "SUCCESS",
            "total_processing_time": 123,
            "outputs": {"description": "<string>", "filename": "<string>", "url": "<string>"},
            "sources": {
                "source": "DTC",
                "avg_fetch_duration": 123,
                "max_fetch_duration": 123,
                "min_fetch_duration": 123,
                "num_fetched": 123,
                "num_successes": 123,
                "num_fails": 123,
                "total_fetch_duration": 123,
            },
        },
    }
    status = structure(body, BulkEnhanceStatus)
    assert not status.done
    assert status.result is not None
    assert len(status.outputs) == 1
    assert status.result.sources[0].source == "DTC"
    assert status.result.sources[0].total_fetch_duration == 123.0


def test_3_2_parse_in_progress_and_failed() -> None:
    running = structure(
        {
            "request": {
                "status": "IN_PROGRESS",
                "requested_at": "2023-11-07T05:31:56Z",
                "progress_started_at": None,
                "completed_at": None,
                "last_health_check_time": "2023-11-07T05:31:58.100Z",
                "last_health_status": "Reading sheet 1 of 2",
                "pct_complete": 40,
            }
        },
        ParseStatus,
    )
    assert running.progress == pytest.approx(0.4)
    assert running.request.last_health_status == "Reading sheet 1 of 2"
    assert not running.done
    assert running.outputs == []
    failed = structure(
        {
            "request": {"status": "FAILED", "pct_complete": 100},
            "result": {
                "status": "FAILED_TO_READ",
                "message": "not a workbook",
                "inputs": [
                    {
                        "status": "FAILED_TO_READ",
                        "identified_document_type": None,
                        "url": "https://x/in.xlsx",
                        "filename": "in.xlsx",
                        "status_message": "bad zip",
                    }
                ],
            },
        },
        ParseStatus,
    )
    assert failed.failure == ("FAILED_TO_READ", "not a workbook")
    assert failed.result is not None
    assert failed.result.inputs[0].status is ResultStatus.FAILED_TO_READ
    assert failed.result.inputs[0].status_message == "bad zip"


def test_3_7_update_statuses() -> None:
    pending = structure(
        {
            "request": {
                "status": "PENDING",
                "request_uuid": "0c5e",
                "sudid": "s-no-ping-hggcsk-r001",
                "record_type": "API",
                "pct_complete": None,
                "last_health_status": None,
                "last_health_check_time": None,
                "completed_at": None,
            }
        },
        UpdateStatus,
    )
    assert pending.request.record_type is RecordType.API
    assert pending.progress is None
    assert not pending.done
    done = structure(
        {
            "request": {"status": "COMPLETE", "sudid": "s-no-ping-hggcsk-r001"},
            "result": {
                "status": "SUCCESS",
                "message": "OK",
                "outputs": [
                    {
                        "filename": "Acme Corp.json",
                        "url": "https://x/Acme Corp.json",
                        "description": "JSON",
                    }
                ],
            },
        },
        UpdateStatus,
    )
    assert done.succeeded
    assert [o.filename for o in done.outputs] == ["Acme Corp.json"]
    partial = structure(
        {
            "request": {"status": "COMPLETE"},
            "result": {"status": "PARTIAL_PARSE", "message": "row 7"},
        },
        UpdateStatus,
    )
    assert partial.done
    assert not partial.succeeded
    assert partial.failure == ("PARTIAL_PARSE", "row 7")


def test_3_10_output_formats() -> None:
    formats = [
        structure(f, OutputFormat)
        for f in [
            {
                "output_format": "JSON",
                "label": "JSON",
                "is_public": True,
                "output_extension": "json",
            },
            {
                "output_format": "AMRISC",
                "label": "AMRISC",
                "is_public": False,
                "output_extension": None,
            },
        ]
    ]
    assert formats[0] == OutputFormat(
        output_format="JSON", label="JSON", is_public=True, output_extension="json"
    )
    assert formats[1].output_extension is None


def test_3_11_history_page() -> None:
    page = structure(
        {
            "results": [
                {
                    "id": "s-no-ping-hggcsk",
                    "sovid": "s-no-ping-hggcsk",
                    "record_type": "ORIG",
                    "completed_time": "2023-11-07T05:31:56Z",
                    "pingid": None,
                    "revision": 0,
                    "status": "C",
                    "client_ref": None,
                    "incremental": False,
                    "is_data_ready": None,
                },
                {
                    "id": "s-no-ping-hggcsk-r001",
                    "sovid": "s-no-ping-hggcsk",
                    "record_type": "SOMETHING_NEW",
                    "completed_time": "2023-11-07T06:00:00.250Z",
                    "revision": 1,
                    "status": "F",
                },
            ],
            "cursor_id": "s-no-ping-hggcsk-r001",
        },
        HistoryPage,
    )
    first, second = page.results
    assert first.record_type is RecordType.ORIG
    assert first.status is HistoryStatus.COMPLETE
    assert first.revision == 0
    assert first.incremental is False
    assert second.record_type == "SOMETHING_NEW"
    assert second.status is HistoryStatus.FAILED
    assert page.cursor_id == "s-no-ping-hggcsk-r001"


def test_3_12_history_item_wrapped_in_result() -> None:
    item = structure(
        {
            "result": {
                "sovid": "s-no-ping-hggcsk-r001",
                "previous_sovid": "s-no-ping-hggcsk",
                "original_sovid": "s-no-ping-hggcsk",
                "sheet_name": "SOV",
                "outputs": [
                    {
                        "url": SOV_URL,
                        "output_format": "JSON",
                        "completed_time": "2023-11-07T05:31:56.000Z",
                    }
                ],
                "error_message": None,
                "num_rows": 26,
            }
        },
        HistoryItem,
    )
    assert item.previous_sovid == "s-no-ping-hggcsk"
    assert item.outputs[0].output_format == "JSON"
    assert item.extra == {"num_rows": 26}
    # an unwrapped body reads the same
    assert structure({"sovid": "s", "error_message": "boom"}, HistoryItem).error_message == "boom"


def test_3_13_activity_page_sdk_shape() -> None:
    page = structure(
        {
            "results": [
                {
                    "id": "s-no-ping-hggcsk",
                    "document_type": "SOV",
                    "pct_complete": 100,
                    "filename": "sov.xlsx",
                    "status": "C",
                    "origin": "api",
                    "output_data": [
                        {
                            "label": "JSON",
                            "scrubbed_filename": "a.json",
                            "output_format": "JSON",
                            "url": SOV_URL,
                        }
                    ],
                    "updates": {
                        "1": {
                            "sovid": "s-no-ping-hggcsk",
                            "sudid": 1001,
                            "status": "C",
                            "posted_time": "2024-01-02T03:04:05.6Z",
                            "sov_data_last_updated_date": "2024-01-02",
                            "outputs": [{"url": SOV_URL, "output_format": "JSON", "label": "JSON"}],
                        }
                    },
                    "all_updates": [],
                    "pingdata_stats": {"PG": {"num_successes": 3}},
                    "ping_maps": {"status": "C", "url": "https://maps"},
                    "data_readiness_score": 87,
                    "brand_new_key": [1, 2],
                }
            ],
            "cursor_id": "c2",
            "prev_cursor_id": None,
            "remaining_count": 0,
            "total_count": 1,
            "has_remaining": False,
            "total_size_without_cursors": "1",
        },
        ActivityPage,
    )
    entry = page.results[0]
    assert entry.origin == "api"
    assert entry.status is HistoryStatus.COMPLETE
    assert entry.output_data is not None
    assert entry.output_data[0].scrubbed_filename == "a.json"
    assert entry.updates is not None
    assert entry.updates["1"].sudid == "1001"
    assert entry.updates["1"].sov_data_last_updated_date == datetime(2024, 1, 2, tzinfo=UTC)
    assert entry.extra == {"brand_new_key": [1, 2]}
    assert entry.data_readiness_score == 87.0
    assert page.has_remaining is False
    assert page.total_count == 1


def test_3_13_activity_page_reference_shape() -> None:
    page = structure(
        {
            "results": [{"id": "s-1", "sovid": "s-1", "record_type": "ORIG", "revision": 123}],
            "cursor_id": "s-1",
        },
        ActivityPage,
    )
    assert page.results[0].id == "s-1"
    assert page.results[0].extra == {"sovid": "s-1", "record_type": "ORIG", "revision": 123}


def test_4_4_enhance_response() -> None:
    response = structure(
        {
            "id": "77b078a8-9215-11ef-9774-0242ac110010",
            "location_data": {
                "GG": {
                    "is_success": True,
                    "error_message": None,
                    "status_code": 200,
                    "fetch_time": 0.015,
                    "is_cache_hit": True,
                    "latitude": 29.326504,
                    "longitude": -94.945988,
                    "place_id": "ChIJ",
                    "location_type": "ROOFTOP",
                }
            },
        },
        EnhanceResponse,
    )
    gg = response.location_data["GG"]
    assert gg.is_success is True
    assert gg.is_cache_hit is True
    assert gg.latitude == 29.326504
    assert gg.extra == {"place_id": "ChIJ", "location_type": "ROOFTOP"}


def test_6_4_output_file_entries() -> None:
    data: dict[str, dict[str, dict[str, Any]]] = {
        "item-1": {
            "PG": {
                "is_success": True,
                "error_message": None,
                "confidence": 80,
                "status_code": 200,
                "fetch_time": 0.121,
                "is_cache_hit": False,
                "latitude": 25.79,
                "longitude": -80.14,
            },
            "PH": {"is_success": True, "error_message": None, "external_data": {"wind_tier": 2}},
        },
        "item-2": {"PG": {"is_success": False, "error_message": "not found", "status_code": 404}},
    }
    results = {
        loc: {src: SourceResult.from_dict(v) for src, v in per.items()} for loc, per in data.items()
    }
    assert results["item-1"]["PG"].confidence == 80.0
    assert results["item-1"]["PH"].external_data == {"wind_tier": 2}
    assert results["item-2"]["PG"].is_success is False
    assert results["item-2"]["PG"].status_code == 404


def test_4_5_datasources() -> None:
    config = structure(
        {
            "source_name": "Ping Geocoding",
            "source_code": "PG",
            "required_attrs": ["address"],
            "optional_attrs": ["country"],
            "requires_credentials": False,
            "non_supported_input_values": None,
            "supported_countries": ["US"],
            "supported_us_states": None,
            "excluded_us_states": None,
            "geocode_confidence_required": None,
            "geocode_precision_required": None,
            "output_fields": {"latitude": {"type": "float", "category": "geo"}},
            "base_output_fields": {},
            "pricing": {"per_call": 1},
        },
        DatasourceConfig,
    )
    assert config.source_code == "PG"
    assert config.required_attrs == ["address"]
    assert config.output_fields["latitude"]["type"] == "float"
    assert config.extra == {"pricing": {"per_call": 1}}


def test_4_6_usage_docs_shape() -> None:
    usage = structure(
        {
            "granularity": "1h",
            "start": "2025-05-08T10:00:00Z",
            "end": "2025-05-15T10:00:00Z",
            "buckets": [{"bucket": "2025-05-08T10:00:00Z", "counts": {"TD": 12, "total": 12}}],
            "totals": {"TD": 100, "total": 100},
        },
        UsageResponse,
    )
    assert usage.granularity is Granularity.HOUR
    assert usage.buckets[0].counts == {"TD": 12, "total": 12}
    assert usage.buckets[0].bucket == datetime(2025, 5, 8, 10, tzinfo=UTC)
    assert usage.totals["total"] == 100


def test_4_6_usage_sdk_rows() -> None:
    rows = [
        {"bucket_time": "2025-05-08T10:00:00Z", "source": "PG", "count": 3},
        {"bucket_time": "2025-05-08T10:00:00Z", "source": "PH", "count": 2},
        {"bucket_time": "2025-05-08T11:00:00Z", "source": "PG", "count": 1},
    ]
    for body in (rows, {"buckets": rows}):
        usage = structure(body, UsageResponse)
        assert [b.counts for b in usage.buckets] == [{"PG": 3, "PH": 2}, {"PG": 1}]
        assert usage.totals == {"PG": 4, "PH": 2, "total": 6}


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (BULK_8_7, BulkEnhanceStatus),
        ({"request": {"status": "COMPLETE"}}, UpdateStatus),
        ({"request": {"status": "PENDING"}}, ParseStatus),
        ({"request": {"status": "PENDING"}}, OutputStatus),
    ],
)
def test_every_status_model_is_a_job_status(body: dict[str, Any], cls: type) -> None:
    status: JobStatus = structure(body, cls)
    assert isinstance(status.state, str)
    assert isinstance(status.done, bool)
    assert isinstance(status.succeeded, bool)
    assert isinstance(status.outputs, list)
