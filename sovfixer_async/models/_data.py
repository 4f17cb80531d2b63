"""Ping.Data response bodies: bulk-enhance status, per-source results, datasources, usage."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from sovfixer_async.models._coerce import show, to_bool, to_dict, to_float, to_int, to_str
from sovfixer_async.models._common import Output, ResponseShapeError, StatusLogic, fraction
from sovfixer_async.models._enums import Granularity, RequestStatus, ResultStatus

__all__ = [
    "BulkEnhanceStatus",
    "BulkRequestInfo",
    "BulkResult",
    "DatasourceConfig",
    "EnhanceResponse",
    "SourceResult",
    "SourceStatistics",
    "UsageBucket",
    "UsageResponse",
]


# -- bulk enhance status (§4.2) --------------------------------------------------------


@attrs.frozen(kw_only=True)
class BulkRequestInfo:
    """``request`` of a bulk-enhance status; the counters are locations."""

    status: RequestStatus | str
    requested_at: datetime | None = None
    progress_started_at: datetime | None = None
    completed_at: datetime | None = None
    num_requested: int | None = None
    num_completed: int | None = None
    num_problems: int | None = None
    num_canceled: int | None = None


@attrs.frozen(kw_only=True)
class SourceStatistics:
    """Per-source counters of a finished bulk job (§6.5); durations are seconds."""

    source: str | None = None
    num_fetched: int | None = None
    num_successes: int | None = None
    num_fails: int | None = None
    avg_fetch_duration: float | None = None
    max_fetch_duration: float | None = None
    min_fetch_duration: float | None = None
    total_fetch_duration: float | None = None


@attrs.frozen(kw_only=True)
class BulkResult:
    """``result`` of a bulk-enhance status (``outputs``/``sources`` always lists)."""

    status: ResultStatus | str | None = None
    message: str | None = None
    total_processing_time: float | None = None
    outputs: list[Output] = attrs.field(factory=list)
    sources: list[SourceStatistics] = attrs.field(factory=list)
    additional_info: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class BulkEnhanceStatus(StatusLogic):
    """``GET /api/v1/bulk_enhance/{id}``."""

    request: BulkRequestInfo
    result: BulkResult | None = None

    @property
    def progress(self) -> float | None:
        return fraction(self.request.num_completed, self.request.num_requested)


# -- per-source results (§6.4, §4.4) ---------------------------------------------------


@attrs.frozen(kw_only=True)
class SourceResult:
    """What one datasource returned for one location.

    The base attributes are fields; everything else a source adds (geocoder address
    parts, ``place_id``, ...) is kept in ``extra`` under its own key.
    """

    is_success: bool | None = None
    error_message: str | None = None
    confidence: float | None = None
    status_code: int | None = None
    fetch_time: float | None = None
    is_cache_hit: bool | None = None
    worker_name: str | None = None
    persist_for: Any = None
    raw_response: Any = None
    latitude: float | None = None
    longitude: float | None = None
    formatted_address: str | None = None
    external_data: dict[str, Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SourceResult":
        """Build from one decoded JSON object: one pass over its keys, no reflection.

        The hot path of reading bulk results (100,000 locations x sources); the converter
        uses the same code, so both give the same object. Raises :class:`ResponseShapeError`.
        """
        try:
            return build_source_result(data)
        except SourceFieldError as exc:
            raise ResponseShapeError(
                "SourceResult", [f"{exc.error} @ SourceResult.{exc.field}"]
            ) from None
        except TypeError as exc:
            raise ResponseShapeError("SourceResult", [f"{exc} @ SourceResult"]) from None


class SourceFieldError(Exception):
    """One field of a per-source result has the wrong type (internal; see from_dict)."""

    def __init__(self, field: str, error: TypeError | ValueError):
        super().__init__(field, error)
        self.field = field
        self.error = error


def build_source_result(data: Any) -> SourceResult:
    """:meth:`SourceResult.from_dict` without the error wrapping (shared with the converter).

    Raises ``TypeError`` when ``data`` is not an object, :class:`SourceFieldError` for a
    bad field.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"expected an object, got {type(data).__name__} {show(data)}")
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    spec_of = _SOURCE_RESULT_FIELDS.get
    for key, value in data.items():
        spec = spec_of(key)
        if spec is None:
            if extra is None:
                extra = {}
            extra[key] = value
        elif value is None or type(value) is spec[0] or spec[1] is None:
            kwargs[key] = value
        else:
            try:
                kwargs[key] = spec[1](value)
            except (TypeError, ValueError) as exc:
                raise SourceFieldError(key, exc) from None
    if extra is not None:
        kwargs["extra"] = extra
    return SourceResult(**kwargs)


# Wire key -> (the type taken as is, else the coercion; None: any value kept as is).
# Built once; ``extra`` is not a wire key.
_SOURCE_RESULT_FIELDS: dict[str, tuple[type | None, Callable[[Any], Any] | None]] = {
    "is_success": (bool, to_bool),
    "error_message": (str, to_str),
    "confidence": (float, to_float),
    "status_code": (int, to_int),
    "fetch_time": (float, to_float),
    "is_cache_hit": (bool, to_bool),
    "worker_name": (str, to_str),
    "persist_for": (None, None),
    "raw_response": (None, None),
    "latitude": (float, to_float),
    "longitude": (float, to_float),
    "formatted_address": (str, to_str),
    "external_data": (dict, to_dict),
}


@attrs.frozen(kw_only=True)
class EnhanceResponse:
    """``GET /api/v1/enhance``: one location's results keyed by source code."""

    id: str | None = None
    location_data: dict[str, SourceResult] = attrs.field(factory=dict)


# -- datasources (§4.5) ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DatasourceConfig:
    """One datasource's configuration; ``output_fields`` values are left as JSON objects."""

    source_name: str | None = None
    source_code: str | None = None
    required_attrs: list[str] = attrs.field(factory=list)
    optional_attrs: list[str] = attrs.field(factory=list)
    requires_credentials: bool | None = None
    non_supported_input_values: dict[str, Any] | None = None
    supported_countries: list[str] | None = None
    supported_us_states: list[str] | None = None
    excluded_us_states: list[str] | None = None
    geocode_confidence_required: int | None = None
    geocode_precision_required: int | None = None
    output_fields: dict[str, Any] = attrs.field(factory=dict)
    base_output_fields: dict[str, Any] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)


# -- usage (§4.6) ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UsageBucket:
    """Credits used in one time bucket, per source code plus ``total``.

    The SDK's ``{bucket_time, source, count}`` rows are read into this shape too.
    """

    bucket: datetime | None = None
    counts: dict[str, int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class UsageResponse:
    """``GET /api/v1/usage``: buckets in ascending time, and totals per source."""

    granularity: Granularity | str | None = None
    start: datetime | None = None
    end: datetime | None = None
    buckets: list[UsageBucket] = attrs.field(factory=list)
    totals: dict[str, int] = attrs.field(factory=dict)
