"""JSON bodies of job status responses, history and activity, written from the contract.

Each function takes the record, the instant ``now`` (after :func:`jobs.advance`) and the
origin (``scheme://host``) absolute URLs are built on. Callbacks reuse the same functions,
so a callback body is exactly the GET status body.
"""

from __future__ import annotations

from typing import Any

from sovfixer_async.emulator.lifecycle import job_status as job_status  # used by the routes
from sovfixer_async.emulator.lifecycle import progress, seen_at
from sovfixer_async.emulator.protocol import JSONDict, iso_ms, quote_segment
from sovfixer_async.emulator.state import (
    BulkJob,
    EmulatorState,
    HistoryRecord,
    OutputJob,
    Revision,
    Sov,
    UpdateJob,
    output_path,
)

STATUS_LETTERS = {
    "PENDING": "P",
    "IN_PROGRESS": "I",
    "ENRICHING": "E",
    "REENRICHING": "R",
    "COMPLETE": "C",
    "FAILED": "F",
}


def _url(origin: str, path: str) -> str:
    return origin + path


# --- parse -------------------------------------------------------------------------------


def input_path(sovid: str, filename: str) -> str:
    return f"/api/v1/sov/{quote_segment(sovid)}/input/{quote_segment(filename)}"


def parse_status(state: EmulatorState, sov: Sov, now: float, origin: str) -> JSONDict:
    """``GET /api/v1/sov/{id}`` (contract 3.2)."""
    job = sov.parse
    status = job_status(job, now)
    pct = 100 if job.finished else int(progress(job, now) * 100)
    if job.finished:
        health = job.result_message
    elif status == "PENDING":
        health = "Waiting to be queued for processing."
    elif status == "ENRICHING":
        health = f"Enriching buildings with {', '.join(job.integrations)}."
    else:
        health = f"Parsing {sov.source_filename}: {pct}% complete."
    body: JSONDict = {
        "request": {
            "status": status,
            "requested_at": iso_ms(job.created),
            "progress_started_at": iso_ms(seen_at(job, now)),
            "completed_at": iso_ms(job.ends) if job.finished else None,
            "last_health_check_time": iso_ms(job.ends if job.finished else now),
            "last_health_status": health,
            "pct_complete": pct,
        }
    }
    if job.finished:
        result: JSONDict = {
            "status": job.result_status,
            "message": job.result_message,
            "inputs": [
                {
                    "status": item.status,
                    "identified_document_type": item.document_type,
                    "url": _url(origin, input_path(sov.id, item.filename)),
                    "filename": item.filename,
                    "status_message": item.message,
                }
                for item in sov.inputs
            ],
        }
        if not job.failed:
            revision = sov.revisions[0]
            result["outputs"] = [
                _output_entry(state, revision, fmt, filename, origin)
                for fmt, filename in job.outputs
            ]
        body["result"] = result
    return body


def _label(state: EmulatorState, fmt: str) -> str:
    info = state.format_info(fmt)
    return str(info.get("label") or fmt) if info else fmt


def _output_entry(
    state: EmulatorState, revision: Revision, fmt: str, filename: str, origin: str
) -> JSONDict:
    return {
        "url": _url(origin, output_path(revision.path_id, filename)),
        "description": _label(state, fmt),
        "filename": filename,
    }


# --- updates -----------------------------------------------------------------------------


def update_status(state: EmulatorState, job: UpdateJob, now: float, origin: str) -> JSONDict:
    """``GET /api/v1/sov/update/{id}`` (contract 3.7)."""
    status = job_status(job, now)
    if job.finished:
        pct: int | None = 100
        health = job.result_message
    elif job.started is None:
        pct = 0
        health = f"Open: {job.num_rows} location(s) added, waiting for start."
    else:
        pct = int(progress(job, now) * 100)
        health = "Queued." if status == "PENDING" else f"Applying updates: {pct}% complete."
    body: JSONDict = {
        "request": {
            "status": status,
            "request_uuid": job.request_uuid,
            "sudid": job.id,
            "record_type": job.update_type,
            "pct_complete": pct,
            "last_health_status": health,
            "last_health_check_time": iso_ms(job.ends if job.finished else now),
            "completed_at": iso_ms(job.ends) if job.finished else None,
        }
    }
    if job.finished:
        result: JSONDict = {"status": job.result_status, "message": job.result_message}
        if not job.failed:
            revision = state.sovs[job.sovid].revisions[job.revision]
            result["outputs"] = [
                _output_entry(state, revision, fmt, filename, origin)
                for fmt, filename in job.outputs
            ]
        body["result"] = result
    return body


# --- output requests ---------------------------------------------------------------------


def output_status(job: OutputJob, now: float, origin: str) -> JSONDict:
    """``get_or_create_output`` POST answer and GET status (contract 3.8, 3.9)."""
    body: JSONDict = {"request": {"id": job.id, "status": job_status(job, now)}}
    if job.finished:
        if job.failed:
            body["result"] = {"message": "Output generation failed."}
        else:
            body["result"] = {
                "label": job.label,
                "output_format": job.output_format,
                "scrubbed_filename": job.filename,
                "url": _url(origin, output_path(job.path_id, job.filename)),
            }
    return body


# --- bulk enhance ------------------------------------------------------------------------


def bulk_output_path(job: BulkJob) -> str:
    return f"/api/v1/bulk_enhance/{job.id}/output/{job.filename}"


def bulk_status(job: BulkJob, now: float, origin: str) -> JSONDict:
    """``GET /api/v1/bulk_enhance/{id}`` (contract 4.2)."""
    started = seen_at(job, now)
    completed = int(job.num_requested * progress(job, now))
    body: JSONDict = {
        "request": {
            "status": job_status(job, now),
            "requested_at": iso_ms(job.created),
            "progress_started_at": iso_ms(started),
            "completed_at": iso_ms(job.ends) if job.finished else None,
            "num_requested": job.num_requested,
            "num_completed": completed,
            "num_problems": job.num_problems,
            "num_canceled": 0,
        }
    }
    if job.finished:
        assert job.ends is not None
        body["result"] = {
            "status": "FAILED" if job.failed else "SUCCESS",
            "message": "Failed." if job.failed else "Success.",
            "total_processing_time": round(job.ends - (started or job.ends), 3),
            "outputs": [
                {
                    "description": "Data file 1",
                    "filename": job.filename,
                    "url": _url(origin, bulk_output_path(job)),
                }
            ],
            "sources": job.source_stats,
        }
    return body


# --- history and activity ----------------------------------------------------------------


def history_row(record: HistoryRecord) -> JSONDict:
    """One ``results[]`` row of ``GET /api/v1/sov/history`` (contract 3.11)."""
    return {
        "id": record.id,
        "sovid": record.sovid,
        "record_type": record.record_type,
        "completed_time": iso_ms(record.completed),
        "pingid": None,
        "revision": record.revision,
        "status": record.status,
        "client_ref": record.client_ref,
        "incremental": False,
        "is_data_ready": record.status == "C",
    }


def history_item(state: EmulatorState, record: HistoryRecord, origin: str) -> JSONDict:
    """``GET /api/v1/sov/history/{id}`` (contract 3.12)."""
    sov = state.sovs[record.sovid]
    revision = sov.revisions.get(record.revision) if record.status == "C" else None
    earlier = [n for n in sov.revisions if n < record.revision]
    previous = sov.revisions[max(earlier)].path_id if earlier else None
    buildings = revision.buildings if revision else []
    result: JSONDict = {
        **history_row(record),
        "previous_sovid": previous,
        "original_sovid": sov.id,
        "sheet_name": str(buildings[0].get("sheet_name", "")) if buildings else "",
        "source_filename": sov.source_filename,
        "num_buildings": len(buildings),
        "outputs": [
            {
                "url": _url(origin, output_path(revision.path_id, filename)),
                "output_format": fmt,
                "completed_time": iso_ms(revision.completed),
            }
            for fmt, filename in (revision.files.items() if revision else ())
            if (revision.path_id, filename) in state.files
        ]
        if revision
        else [],
        "error_message": record.error_message,
    }
    return {"result": result}


def _update_data(
    state: EmulatorState, sov: Sov, job: UpdateJob, now: float, origin: str
) -> JSONDict:
    revision = sov.revisions.get(job.revision) if job.finished and not job.failed else None
    return {
        "sovid": sov.id,
        "sudid": job.id,
        "status": STATUS_LETTERS[job_status(job, now)],
        "filename": sov.source_filename,
        "document_type": sov.document_type,
        "record_type": job.update_type,
        "sheet_name": "Sheet1",
        "original_sovid": sov.id,
        "posted_time": iso_ms(job.created),
        "num_rows": job.num_rows,
        "sov_data_last_updated_date": iso_ms(job.ends if job.finished else job.created),
        "outputs": _output_data(state, revision, origin, with_time=True) if revision else [],
        "output_formats": list(job.output_formats),
        "completed_time": iso_ms(job.ends) if job.finished else None,
        "client_ref": job.client_ref,
        "extra_data": job.extra_data,
    }


def _output_data(
    state: EmulatorState, revision: Revision, origin: str, *, with_time: bool = False
) -> list[JSONDict]:
    rows: list[JSONDict] = []
    for fmt, filename in revision.files.items():
        if (revision.path_id, filename) not in state.files:
            continue
        row: JSONDict = {
            "label": _label(state, fmt),
            "scrubbed_filename": filename,
            "output_format": fmt,
            "url": _url(origin, output_path(revision.path_id, filename)),
        }
        if with_time:
            row["completed_time"] = iso_ms(revision.completed)
        rows.append(row)
    return rows


def activity_entry(state: EmulatorState, sov: Sov, now: float, origin: str) -> dict[str, Any]:
    """One ``SOVData`` of ``GET /api/v1/sov/activity`` (contract 3.13, the SDK's shape)."""
    parse = sov.parse
    status = job_status(parse, now)
    updates = [state.updates[sudid] for sudid in sov.update_ids]
    update_rows = [_update_data(state, sov, u, now, origin) for u in updates]
    base = sov.revisions.get(0)
    parse_body = parse_status(state, sov, now, origin)
    return {
        "id": sov.id,
        "document_type": sov.document_type,
        "pct_complete": parse_body["request"]["pct_complete"],
        "filename": sov.source_filename,
        "additional_filenames": [i.filename for i in sov.inputs[1:]],
        "status": STATUS_LETTERS[status],
        "status_display": status.replace("_", " ").title(),
        "last_health_status": parse_body["request"]["last_health_status"],
        "client_ref": sov.client_ref,
        "input_data": parse_body.get("result", {}).get("inputs", []),
        "output_data": _output_data(state, base, origin) if base else [],
        "origin": "api",
        "organization__short_name": "EMULATOR",
        "company__short_name": "EMULATOR",
        "team__name": "Emulator Team",
        "division__short_name": "EMULATOR",
        "global_request_id": sov.id,
        "ping_maps_url": None,
        "ping_vision_url": None,
        "input_file_url": _url(origin, input_path(sov.id, sov.inputs[0].filename))
        if sov.inputs
        else None,
        "extra_data": sov.extra_data,
        "updates": {str(u.revision): row for u, row in zip(updates, update_rows, strict=True)},
        "all_updates": update_rows,
        "latest_revision": max(sov.revisions) if sov.revisions else None,
        # not in the SDK's SOVData, but asked for by the official activity example
        "revision": max(sov.revisions) if sov.revisions else None,
        "completed_time": iso_ms(parse.ends) if parse.finished else None,
        "created_time": iso_ms(sov.created),
        "subject": None,
        "from_email": None,
        "to_email": None,
        "num_buildings": len(base.buildings) if base else 0,
        "progress_started_time": parse_body["request"]["progress_started_at"],
        "parsing_completed_time": iso_ms(parse.ends) if parse.finished else None,
        "pingdata_stats": {},
    }


ACTIVITY_FIELDS = frozenset(
    {
        "id", "document_type", "pct_complete", "filename", "additional_filenames", "status",
        "status_display", "last_health_status", "client_ref", "input_data", "output_data",
        "origin", "organization__short_name", "company__short_name", "team__name",
        "division__short_name", "global_request_id", "ping_maps_url", "ping_vision_url",
        "input_file_url", "extra_data", "updates", "all_updates", "latest_revision",
        "completed_time", "created_time", "subject", "from_email", "to_email", "num_buildings",
        "progress_started_time", "parsing_completed_time", "pingdata_stats", "ping_maps",
        "data_readiness_score", "data_readiness_notes",
    }
)  # fmt: skip
#: Keys outside the SDK's SOVData that official example scripts ask for (issue 14).
EXAMPLE_ACTIVITY_FIELDS = frozenset({"revision"})
