"""Ping.Extraction (SOV Fixer) response bodies: parse, update, outputs, history, activity.

Every field is optional except the few a body is meaningless without; unknown keys are
ignored (or kept in ``extra`` where the class has one) and unknown enum values stay
``str``. Structure them with :func:`sovfixer_async.models.structure`.
"""

from datetime import datetime
from typing import Any

import attrs

from sovfixer_async.models._common import Output, StatusLogic, fraction
from sovfixer_async.models._enums import (
    DocumentType,
    HistoryStatus,
    Origin,
    RecordType,
    RequestStatus,
    ResultStatus,
)

__all__ = [
    "ActivityPage",
    "HistoryItem",
    "HistoryOutput",
    "HistoryPage",
    "HistoryRecord",
    "OutputFormat",
    "OutputRequestInfo",
    "OutputResult",
    "OutputStatus",
    "ParseInput",
    "ParseRequestInfo",
    "ParseResult",
    "ParseStatus",
    "SOVData",
    "UpdateData",
    "UpdateRequestInfo",
    "UpdateResult",
    "UpdateStatus",
]


# -- parse (§3.2) ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ParseInput:
    """One uploaded file of a parse, as the result reports it."""

    status: ResultStatus | str | None = None
    identified_document_type: DocumentType | str | None = None
    url: str | None = None
    filename: str | None = None
    status_message: str | None = None


@attrs.frozen(kw_only=True)
class ParseRequestInfo:
    """``request`` of a parse status; ``pct_complete`` is 0-100."""

    status: RequestStatus | str
    requested_at: datetime | None = None
    progress_started_at: datetime | None = None
    completed_at: datetime | None = None
    last_health_check_time: datetime | None = None
    last_health_status: str | None = None
    pct_complete: float | None = None


@attrs.frozen(kw_only=True)
class ParseResult:
    """``result`` of a parse, present once the job is terminal."""

    status: ResultStatus | str | None = None
    message: str | None = None
    inputs: list[ParseInput] = attrs.field(factory=list)
    outputs: list[Output] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class ParseStatus(StatusLogic):
    """``GET /api/v1/sov/{id}`` (also the body POSTed to a parse ``callback_url``)."""

    request: ParseRequestInfo
    result: ParseResult | None = None

    @property
    def progress(self) -> float | None:
        return fraction(self.request.pct_complete, 100.0)


# -- update (§3.7) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UpdateRequestInfo:
    """``request`` of an update (SUD) status."""

    status: RequestStatus | str
    request_uuid: str | None = None
    sudid: str | None = None
    record_type: RecordType | str | None = None
    pct_complete: float | None = None
    last_health_status: str | None = None
    last_health_check_time: datetime | None = None
    completed_at: datetime | None = None


@attrs.frozen(kw_only=True)
class UpdateResult:
    """``result`` of an update, present once the job is terminal."""

    status: ResultStatus | str | None = None
    message: str | None = None
    outputs: list[Output] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class UpdateStatus(StatusLogic):
    """``GET /api/v1/sov/update/{id}`` (also the body POSTed to its ``callback_url``)."""

    request: UpdateRequestInfo
    result: UpdateResult | None = None

    @property
    def progress(self) -> float | None:
        return fraction(self.request.pct_complete, 100.0)


# -- get_or_create_output (§3.8, §3.9) -------------------------------------------------


@attrs.frozen(kw_only=True)
class OutputRequestInfo:
    """``request`` of an output request; ``id`` is absent from some poll answers."""

    status: RequestStatus | str
    id: str | None = None


@attrs.frozen(kw_only=True)
class OutputResult:
    """The flat ``result`` of an output request.

    The older list-shaped answer (``{message, status, outputs: [{description, filename,
    url}]}``) is mapped into this shape by the converter, from its first output.
    """

    label: str | None = None
    output_format: str | None = None
    scrubbed_filename: str | None = None
    url: str | None = None
    message: str | None = None
    status: ResultStatus | str | None = None


@attrs.frozen(kw_only=True)
class OutputStatus(StatusLogic):
    """Answer of ``get_or_create_output`` (POST) and of its poll (GET)."""

    request: OutputRequestInfo
    result: OutputResult | None = None

    @property
    def outputs(self) -> list[Output]:
        result = self.result
        if result is None or not result.url:
            return []
        return [Output(url=result.url, filename=result.scrubbed_filename, description=result.label)]

    @property
    def progress(self) -> float | None:
        return None


@attrs.frozen(kw_only=True)
class OutputFormat:
    """One entry of ``GET /api/v1/output_formats``."""

    output_format: str
    label: str | None = None
    is_public: bool | None = None
    output_extension: str | None = None


# -- history (§3.11, §3.12) ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HistoryRecord:
    """One record of the history feed: a completed (C) or failed (F) SOV or SUD."""

    id: str
    sovid: str | None = None
    record_type: RecordType | str | None = None
    completed_time: datetime | None = None
    pingid: str | None = None
    revision: int | None = None
    status: HistoryStatus | str | None = None
    client_ref: str | None = None
    incremental: bool | None = None
    is_data_ready: bool | None = None


@attrs.frozen(kw_only=True)
class HistoryPage:
    """A page of the history feed; pass ``cursor_id`` on to get the next one."""

    results: list[HistoryRecord] = attrs.field(factory=list)
    cursor_id: str | None = None


@attrs.frozen(kw_only=True)
class HistoryOutput:
    """An output listed by history and activity entries (fields vary by endpoint)."""

    url: str | None = None
    output_format: str | None = None
    completed_time: datetime | None = None
    scrubbed_filename: str | None = None
    label: str | None = None


@attrs.frozen(kw_only=True)
class HistoryItem:
    """``GET /api/v1/sov/history/{id}``: the fields of its ``result`` (the wrapper is removed)."""

    sovid: str | None = None
    previous_sovid: str | None = None
    original_sovid: str | None = None
    sheet_name: str | None = None
    outputs: list[HistoryOutput] = attrs.field(factory=list)
    error_message: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


# -- activity (§3.13) ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UpdateData:
    """One update (SUD) inside an activity entry's ``updates`` / ``all_updates``."""

    sovid: str | None = None
    sudid: str | None = None
    status: HistoryStatus | str | None = None
    filename: str | None = None
    document_type: DocumentType | str | None = None
    record_type: RecordType | str | None = None
    sheet_name: str | None = None
    original_sovid: str | None = None
    posted_time: datetime | None = None
    num_rows: int | None = None
    sov_data_last_updated_date: datetime | None = None
    outputs: list[HistoryOutput] = attrs.field(factory=list)
    output_formats: list[str] | None = None
    contract_terms_tracking_id: str | None = None
    contract_terms_policy_number: str | None = None
    completed_time: datetime | None = None
    client_ref: str | None = None
    extra_data: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class SOVData:
    """One activity entry (the SDK's ``SOVData``); every key may be absent or null."""

    id: str | None = None
    document_type: DocumentType | str | None = None
    pct_complete: float | None = None
    filename: str | None = None
    additional_filenames: list[str] | None = None
    status: HistoryStatus | str | None = None
    status_display: str | None = None
    last_health_status: str | None = None
    client_ref: str | None = None
    input_data: list[ParseInput] | None = None
    output_data: list[HistoryOutput] | None = None
    origin: Origin | str | None = None
    organization__short_name: str | None = None
    company__short_name: str | None = None
    team__name: str | None = None
    division__short_name: str | None = None
    global_request_id: str | None = None
    ping_maps_url: str | None = None
    ping_vision_url: str | None = None
    input_file_url: str | None = None
    extra_data: dict[str, Any] | None = None
    updates: dict[str, UpdateData] | None = None
    all_updates: list[UpdateData] | None = None
    latest_revision: int | None = None
    completed_time: datetime | None = None
    created_time: datetime | None = None
    subject: str | None = None
    from_email: str | None = None
    to_email: str | None = None
    num_buildings: int | None = None
    progress_started_time: datetime | None = None
    parsing_completed_time: datetime | None = None
    pingdata_stats: dict[str, Any] | None = None
    ping_maps: dict[str, Any] | None = None
    data_readiness_score: float | None = None
    data_readiness_notes: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ActivityPage:
    """A page of ``GET /api/v1/sov/activity``."""

    results: list[SOVData] = attrs.field(factory=list)
    cursor_id: str | None = None
    prev_cursor_id: str | None = None
    remaining_count: int | None = None
    total_count: int | None = None
    has_remaining: bool | None = None
    total_size_without_cursors: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
