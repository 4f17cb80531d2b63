"""Parse jobs (``POST /api/v1/sov``, contract 3.1-3.2): read the upload now, reveal at the end.

The seed SOV of the docs' examples is a parse job finished at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import PurePath

from sovfixer_async.emulator import outputs
from sovfixer_async.emulator.jobs.output import generate
from sovfixer_async.emulator.lifecycle import PARSE_PHASES, PARSE_PHASES_ENRICHING
from sovfixer_async.emulator.protocol import JSONDict, scrub_filename
from sovfixer_async.emulator.state import (
    SEED_SOURCE_FILENAME,
    SEED_SOVID,
    EmulatorState,
    HistoryRecord,
    InputFile,
    ParseJob,
    Revision,
    Sov,
)

logger = logging.getLogger("sovfixer_async.emulator")

EXCEL_EXTENSIONS = frozenset({".xls", ".xlsx", ".xlsm", ".xlsb"})
UPLOAD_EXTENSIONS = EXCEL_EXTENSIONS | {".pdf"}


def seed(state: EmulatorState) -> Sov:
    """The SOV of the docs' examples, already parsed (revision 0, JSON output cached)."""
    now = state.clock()
    buildings = outputs.seed_buildings(SEED_SOVID)
    header = [
        k
        for k, v in buildings[0].items()
        if k not in ("item_key", "building_counter") and isinstance(v, str | int | float)
    ]
    rows = [[b.get(k) for k in header] for b in buildings]
    workbook = outputs.make_xlsx("Sheet1", header, rows)
    job = ParseJob(
        id=SEED_SOVID,
        created=now,
        origin="",
        phases=PARSE_PHASES,
        sovid=SEED_SOVID,
        pending_buildings=buildings,
        result_message="Success.",
    )
    job.done_at(now)
    sov = Sov(
        id=SEED_SOVID,
        source_filename=SEED_SOURCE_FILENAME,
        document_type="SOV",
        created=now,
        parse=job,
        inputs=[InputFile(SEED_SOURCE_FILENAME, workbook, document_type="SOV")],
    )
    state.sovs[sov.id] = sov
    finish_parse(state, job)
    return sov


def create_parse(
    state: EmulatorState,
    *,
    uploads: Sequence[tuple[str, bytes]],
    origin: str,
    document_type: str = "SOV",
    output_formats: Sequence[str] = ("JSON",),
    integrations: Sequence[str] = (),
    callback_url: str | None = None,
    update_callback_url: str | None = None,
    client_ref: str | None = None,
    extra_data: JSONDict | None = None,
) -> Sov:
    """Accept an upload: read it now, reveal the outcome at the job's end time."""
    now = state.clock()
    sovid = state.new_sovid()
    job = ParseJob(
        id=sovid,
        created=now,
        origin=origin,
        phases=PARSE_PHASES_ENRICHING if integrations else PARSE_PHASES,
        callback_url=callback_url,
        sovid=sovid,
        output_formats=tuple(output_formats),
        integrations=tuple(integrations),
    )
    inputs = [InputFile(scrub_filename(name), data) for name, data in uploads]
    _read_inputs(sovid, inputs, job, document_type)
    sov = Sov(
        id=sovid,
        source_filename=inputs[0].filename,
        document_type=document_type,
        created=now,
        parse=job,
        client_ref=client_ref,
        extra_data=dict(extra_data or {}),
        update_callback_url=update_callback_url,
        inputs=inputs,
    )
    state.sovs[sovid] = sov
    state.timing.submit(job, now)
    return sov


def _read_inputs(sovid: str, inputs: list[InputFile], job: ParseJob, document_type: str) -> None:
    buildings: list[JSONDict] = []
    for item in inputs:
        ext = PurePath(item.filename).suffix.lower()
        try:
            if ext == ".xlsx":
                sheet, rows = outputs.read_xlsx(item.data)
                found = outputs.buildings_from_rows(sovid, sheet, rows)
            else:
                found = outputs.synthetic_buildings(sovid, item.filename)
        except Exception as exc:  # WorkbookError, or anything a broken file provokes
            if not isinstance(exc, outputs.WorkbookError):
                logger.warning("reading %s failed unexpectedly: %r", item.filename, exc)
            item.status = "FAILED_TO_READ"
            item.message = f"Could not read {item.filename}: {exc}"
            job.result_status = "FAILED_TO_READ"
            job.result_message = item.message
            continue
        item.document_type = document_type
        buildings.extend(found)
    if job.result_status == "SUCCESS" and not buildings:
        job.result_status = "FAILED_TO_PARSE"
        job.result_message = "No buildings were found in the uploaded file(s)."
        for item in inputs:
            item.status = "FAILED_TO_PARSE"
    if job.result_status == "SUCCESS":
        for counter, building in enumerate(buildings, 1):
            building["building_counter"] = counter
        job.pending_buildings = buildings
        job.result_message = "Success."
    job.failed = job.result_status != "SUCCESS"


def finish_parse(state: EmulatorState, job: ParseJob) -> None:
    sov = state.sovs[job.sovid]
    assert job.ends is not None
    if job.failed:
        state.add_history(
            HistoryRecord(
                id=sov.id,
                sovid=sov.id,
                record_type="ORIG",
                completed=job.ends,
                revision=0,
                status="F",
                client_ref=sov.client_ref,
                error_message=job.result_message,
            )
        )
        return
    revision = Revision(
        sovid=sov.id,
        number=0,
        path_id=sov.id,
        stem=PurePath(sov.source_filename).stem or sov.id,
        buildings=job.pending_buildings,
        extra_data=dict(sov.extra_data),
        completed=job.ends,
    )
    job.pending_buildings = []
    sov.revisions[0] = revision
    job.outputs = generate(state, revision, job.output_formats)
    state.add_history(
        HistoryRecord(sov.id, sov.id, "ORIG", job.ends, 0, "C", sov.client_ref),
    )
