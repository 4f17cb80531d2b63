"""The converter: exact round trips, tolerance of whatever servers add, path-naming errors."""

from __future__ import annotations

import contextlib
import json
import types
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async._errors import SOVFixerError
from sovfixer_async.models import (
    ActivityPage,
    BulkEnhanceStatus,
    CreatedResponse,
    DatasourceConfig,
    EnhanceResponse,
    HistoryItem,
    HistoryPage,
    HistoryRecord,
    HistoryStatus,
    Output,
    OutputFormat,
    OutputStatus,
    ParseStatus,
    RequestStatus,
    ResponseShapeError,
    ResultStatus,
    SourceResult,
    SOVData,
    UpdateStatus,
    UsageResponse,
    structure,
    unstructure,
)
from sovfixer_async.models import _converter as converter_module  # the submodule

RESPONSE_MODELS: list[type] = [
    ParseStatus,
    UpdateStatus,
    OutputStatus,
    BulkEnhanceStatus,
    CreatedResponse,
    Output,
    OutputFormat,
    HistoryRecord,
    HistoryPage,
    HistoryItem,
    SOVData,
    ActivityPage,
    SourceResult,
    EnhanceResponse,
    DatasourceConfig,
    UsageResponse,
]

# -- strategies built from the models' own type hints ---------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
utc_datetimes = st.datetimes(timezones=st.just(UTC))


def _extra_keys(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    known = {f.name for f in attrs.fields(cls)} - {"extra"}
    keys = st.text(max_size=10).filter(lambda k: k not in known)
    return st.dictionaries(keys, json_values, max_size=3)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, Enum)]
        parts: list[st.SearchStrategy[Any]] = []
        if enums:
            parts += [st.sampled_from(list(enums[0])), st.text(max_size=12)]
        else:
            parts += [strategy_for(a) for a in args if a is not type(None)]
        if type(None) in args:
            parts.append(st.none())
        return st.one_of(parts)
    if origin is list:
        return st.lists(strategy_for(get_args(tp)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), strategy_for(get_args(tp)[1]), max_size=3)
    if tp is Any:
        return json_values
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers()
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is datetime:
        return utc_datetimes
    if attrs.has(tp):
        return model_strategy(tp)
    raise NotImplementedError(tp)


def model_strategy(cls: type) -> st.SearchStrategy[Any]:
    attrs.resolve_types(cls)
    fields = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            fields["extra"] = _extra_keys(cls)
        else:
            fields[field.name] = strategy_for(field.type)
    return st.builds(cls, **fields)


@pytest.mark.parametrize("cls", RESPONSE_MODELS, ids=lambda c: c.__name__)
def test_round_trip_is_exact(cls: type) -> None:
    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(model_strategy(cls))
    def check(obj: Any) -> None:
        data = unstructure(obj)
        json.dumps(data)  # plain JSON, nothing left typed
        assert structure(data, cls) == obj
        assert structure(json.loads(json.dumps(data)), cls) == obj

    check()


# -- tolerance -------------------------------------------------------------------------

PARSE_COMPLETE: dict[str, Any] = {
    "request": {
        "status": "COMPLETE",
        "requested_at": "2023-11-07T05:31:56Z",
        "progress_started_at": "2023-11-07T05:31:57.5Z",
        "completed_at": "2023-11-07T05:32:10.123Z",
        "last_health_check_time": "2023-11-07T05:32:10.123456+00:00",
        "last_health_status": "Finished",
        "pct_complete": 100,
    },
    "result": {
        "status": "SUCCESS",
        "message": "OK",
        "inputs": [
            {
                "status": "SUCCESS",
                "identified_document_type": "SOV",
                "url": "https://api.sovfixer.com/in/a.xlsx",
                "filename": "a.xlsx",
            }
        ],
        "outputs": [
            {
                "url": "https://api.sovfixer.com/api/v1/sov/s-1/output/a.json",
                "description": "JSON",
                "filename": "a.json",
            }
        ],
    },
}


def _add_unknown(body: Any, keys: dict[str, Any]) -> Any:
    """Every object in ``body`` gets the unknown keys (those it does not already have)."""
    if isinstance(body, dict):
        out = {k: _add_unknown(v, keys) for k, v in body.items()}
        for key, value in keys.items():
            out.setdefault(key, value)
        return out
    if isinstance(body, list):
        return [_add_unknown(item, keys) for item in body]
    return body


unknown_keys = st.dictionaries(
    st.text(min_size=1, max_size=10).map(lambda k: "zz_" + k), json_values, min_size=1, max_size=3
)


@given(unknown_keys)
def test_unknown_keys_never_raise(keys: dict[str, Any]) -> None:
    status = structure(_add_unknown(PARSE_COMPLETE, keys), ParseStatus)
    plain = structure(PARSE_COMPLETE, ParseStatus)
    assert status.request == plain.request
    assert status.result is not None
    assert plain.result is not None
    assert status.result.inputs == plain.result.inputs
    assert status.result.outputs[0].extra == keys
    assert [attrs.evolve(o, extra={}) for o in status.result.outputs] == plain.result.outputs


@given(unknown_keys)
def test_unknown_keys_kept_in_extra(keys: dict[str, Any]) -> None:
    body = {"is_success": True, "latitude": 25.79, **keys}
    assert SourceResult.from_dict(body).extra == keys
    assert structure(body, SourceResult).extra == keys
    assert structure({"configs": 1, **keys}, DatasourceConfig).extra == {"configs": 1, **keys}
    page = structure({"results": [{"id": "s-1", **keys}], "cursor_id": "c", **keys}, ActivityPage)
    assert page.extra == keys
    assert page.results[0].extra == keys
    # and unstructure puts them back where they came from
    assert unstructure(SourceResult.from_dict(body))["latitude"] == 25.79
    assert {k: unstructure(SourceResult.from_dict(body))[k] for k in keys} == keys


@given(st.text(max_size=20), st.text(max_size=20))
def test_unknown_enum_values_stay_strings(state: str, result_status: str) -> None:
    body = {"request": {"status": state}, "result": {"status": result_status}}
    status = structure(body, UpdateStatus)
    assert status.state == state
    assert status.request.status == state
    assert status.done is (state in ("COMPLETE", "FAILED"))
    assert status.result is not None
    assert status.result.status == result_status
    if state in RequestStatus.__members__:
        assert status.request.status is RequestStatus(state)
    else:
        assert type(status.request.status) is str


def test_known_enum_values_become_members() -> None:
    status = structure(PARSE_COMPLETE, ParseStatus)
    assert status.request.status is RequestStatus.COMPLETE
    assert status.result is not None
    assert status.result.status is ResultStatus.SUCCESS
    record = structure({"id": "x", "status": "C"}, HistoryRecord)
    assert record.status is HistoryStatus.COMPLETE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-07T05:31:56Z", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("2026-02-02T19:18:52.624Z", datetime(2026, 2, 2, 19, 18, 52, 624000, tzinfo=UTC)),
        ("2026-02-02T19:18:52.624+00:00", datetime(2026, 2, 2, 19, 18, 52, 624000, tzinfo=UTC)),
        ("2026-02-02T19:18:52.123456Z", datetime(2026, 2, 2, 19, 18, 52, 123456, tzinfo=UTC)),
        ("2026-02-02T19:18:52", datetime(2026, 2, 2, 19, 18, 52, tzinfo=UTC)),  # naive = UTC
        ("2026-02-02T21:18:52+02:00", datetime(2026, 2, 2, 19, 18, 52, tzinfo=UTC)),
        ("2026-02-02 19:18:52.5Z", datetime(2026, 2, 2, 19, 18, 52, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_with_and_without_fractions(text: str, expected: datetime) -> None:
    record = structure({"id": "x", "completed_time": text}, HistoryRecord)
    assert record.completed_time == expected
    assert record.completed_time is not None
    assert record.completed_time.tzinfo is UTC


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetimes_unstructure_with_z_and_round_trip(when: datetime) -> None:
    text = unstructure(HistoryRecord(id="x", completed_time=when))["completed_time"]
    assert text.endswith("Z")
    assert "+" not in text
    assert structure({"id": "x", "completed_time": text}, HistoryRecord).completed_time == when


def test_non_utc_datetimes_unstructure_as_utc() -> None:
    when = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert unstructure(HistoryRecord(id="x", completed_time=when))["completed_time"] == (
        "2026-01-01T10:00:00Z"
    )


OUTPUT = {"url": "https://x/a.json", "filename": "a.json", "description": "Data file 1"}
SOURCE = {"source": "DTC", "num_fetched": 1, "num_successes": 1, "num_fails": 0}


@pytest.mark.parametrize("shape", ["list", "object", "null", "absent"])
def test_outputs_and_sources_as_list_or_object(shape: str) -> None:
    result: dict[str, Any] = {"status": "SUCCESS"}
    if shape == "list":
        result.update(outputs=[OUTPUT], sources=[SOURCE])
    elif shape == "object":
        result.update(outputs=OUTPUT, sources=SOURCE)
    elif shape == "null":
        result.update(outputs=None, sources=None)
    status = structure({"request": {"status": "COMPLETE"}, "result": result}, BulkEnhanceStatus)
    assert status.result is not None
    if shape in ("list", "object"):
        assert status.outputs == [
            Output(url=OUTPUT["url"], filename="a.json", description="Data file 1")
        ]
        assert [s.source for s in status.result.sources] == ["DTC"]
    else:
        assert status.outputs == []
        assert status.result.sources == []


def test_null_is_accepted_for_every_optional_field() -> None:
    body = {
        "request": {
            "status": "PENDING",
            "requested_at": None,
            "progress_started_at": None,
            "completed_at": None,
            "num_requested": None,
            "num_completed": None,
            "num_problems": None,
            "num_canceled": None,
        },
        "result": None,
    }
    status = structure(body, BulkEnhanceStatus)
    assert status.result is None
    assert status.progress is None
    page = structure({"results": None, "cursor_id": None}, HistoryPage)
    assert page.results == []


def test_numbers_are_lenient() -> None:
    body = {"request": {"status": "IN_PROGRESS", "num_requested": "10", "num_completed": 4.0}}
    status = structure(body, BulkEnhanceStatus)
    assert status.request.num_requested == 10
    assert status.request.num_completed == 4
    assert status.progress == pytest.approx(0.4)
    parse = structure({"request": {"status": "IN_PROGRESS", "pct_complete": 45}}, ParseStatus)
    assert parse.request.pct_complete == 45.0
    assert isinstance(parse.request.pct_complete, float)
    assert parse.progress == pytest.approx(0.45)
    source = SourceResult.from_dict({"confidence": 80, "status_code": "200", "fetch_time": "0.5"})
    assert (source.confidence, source.status_code, source.fetch_time) == (80.0, 200, 0.5)
    # numeric ids (the official SDK types some as int) become strings
    assert structure({"id": 12, "message": "OK"}, CreatedResponse).id == "12"


# -- wrong shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cls", "path"),
    [
        ([PARSE_COMPLETE], ParseStatus, "ParseStatus"),
        (None, ParseStatus, "ParseStatus"),
        ("text", CreatedResponse, "CreatedResponse"),
        ({"message": "OK"}, CreatedResponse, "CreatedResponse.id"),
        ({"result": {}}, ParseStatus, "ParseStatus.request"),
        ({"request": []}, ParseStatus, "ParseStatus.request"),
        (
            {"request": {"status": "X", "pct_complete": "abc"}},
            ParseStatus,
            "ParseStatus.request.pct_complete",
        ),
        (
            {"request": {"status": "COMPLETE"}, "result": {"outputs": [OUTPUT, {"filename": "b"}]}},
            UpdateStatus,
            "UpdateStatus.result.outputs[1].url",
        ),
        (
            {"request": {"status": "COMPLETE"}, "result": {"outputs": [OUTPUT, 5]}},
            UpdateStatus,
            "UpdateStatus.result.outputs[1]",
        ),
        (
            {"location_data": {"PG": {"confidence": "high"}}},
            EnhanceResponse,
            "EnhanceResponse.location_data['PG'].confidence",
        ),
        ({"location_data": {"PG": [1]}}, EnhanceResponse, "EnhanceResponse.location_data['PG']"),
        ({"location_data": [1]}, EnhanceResponse, "EnhanceResponse.location_data"),
        ({"id": "x", "completed_time": "yesterday"}, HistoryRecord, "HistoryRecord.completed_time"),
        ({"id": "x", "incremental": "maybe"}, HistoryRecord, "HistoryRecord.incremental"),
    ],
)
def test_wrong_shapes_name_the_path(body: Any, cls: type, path: str) -> None:
    with pytest.raises(ResponseShapeError) as caught:
        structure(body, cls)
    assert isinstance(caught.value, SOVFixerError)
    assert any(line.endswith(f"@ {path}") for line in caught.value.errors), caught.value.errors
    assert path in str(caught.value)


def test_source_result_from_dict_errors() -> None:
    with pytest.raises(ResponseShapeError, match=r"SourceResult\.status_code"):
        SourceResult.from_dict({"status_code": "two hundred"})
    with pytest.raises(ResponseShapeError, match="expected an object"):
        SourceResult.from_dict([1, 2])  # type: ignore[arg-type]


@given(st.dictionaries(st.text(max_size=15), json_values, max_size=8))
def test_source_result_fast_path_equals_converter(body: dict[str, Any]) -> None:
    try:
        fast = SourceResult.from_dict(body)
    except ResponseShapeError:
        with pytest.raises(ResponseShapeError):
            structure(body, SourceResult)
        return
    assert structure(body, SourceResult) == fast
    assert SourceResult.from_dict(unstructure(fast)) == fast


@given(json_values)
def test_arbitrary_json_gives_a_model_or_a_shape_error(body: Any) -> None:
    for cls in (ParseStatus, BulkEnhanceStatus, OutputStatus, ActivityPage, UsageResponse):
        with contextlib.suppress(ResponseShapeError):
            structure(body, cls)


def test_converter_module_exports() -> None:
    assert converter_module.ResponseShapeError is ResponseShapeError
    assert converter_module.structure is structure
    assert converter_module.converter.structure({"id": "x"}, CreatedResponse) == CreatedResponse(
        id="x"
    )
