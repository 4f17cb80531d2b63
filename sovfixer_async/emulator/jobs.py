"""Creating jobs and applying their terminal effects (contract 12).

Effects are applied lazily: :func:`advance` pops every job whose end time has passed, in
end-time order, and finishes it. Handlers call it before looking at anything, and the
callback scheduler calls it when a callback falls due, so nothing needs a timer per job.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import io
import json
import logging
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from attrs import define

from sovfixer_async.emulator import enrich, outputs
from sovfixer_async.emulator.lifecycle import (
    BULK_PHASES,
    OUTPUT_PHASES,
    PARSE_PHASES,
    PARSE_PHASES_ENRICHING,
    UPDATE_PHASES,
    phase_start,
)
from sovfixer_async.emulator.protocol import BadRequest, JSONDict, scrub_filename
from sovfixer_async.emulator.state import (
    SEED_SOURCE_FILENAME,
    SEED_SOVID,
    Blob,
    BulkJob,
    EmulatorState,
    HistoryRecord,
    InputFile,
    Job,
    OutputJob,
    ParseJob,
    Revision,
    Sov,
    UpdateJob,
    UsageEvent,
    revision_document,
)

logger = logging.getLogger("sovfixer_async.emulator")

EXCEL_EXTENSIONS = frozenset({".xls", ".xlsx", ".xlsm", ".xlsb"})
UPLOAD_EXTENSIONS = EXCEL_EXTENSIONS | {".pdf"}
IDENTIFIER_COLUMNS = ("item_key", "sheet_name", "sheet_row_number")


# --- advancing time ----------------------------------------------------------------------


def advance(state: EmulatorState) -> float:
    """Finish every job whose end time has passed; returns the instant used ("now")."""
    now = state.clock()
    due = state.due
    while due and due[0][0] <= now:
        _, _, job = heapq.heappop(due)
        if not job.finished:
            _finish(state, job)
    return now


def _finish(state: EmulatorState, job: Job) -> None:
    if isinstance(job, BulkJob) and not _bulk_ready(state, job):
        return
    job.finished = True
    if isinstance(job, ParseJob):
        _finish_parse(state, job)
    elif isinstance(job, UpdateJob):
        _finish_update(state, job)
    elif isinstance(job, OutputJob):
        _finish_output(state, job)
    elif isinstance(job, BulkJob):
        _finish_bulk(state, job)


# --- parse -------------------------------------------------------------------------------


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
    job.started = job.ends = job.planned_end = now
    sov = Sov(
        id=SEED_SOVID,
        source_filename=SEED_SOURCE_FILENAME,
        document_type="SOV",
        created=now,
        parse=job,
        inputs=[InputFile(SEED_SOURCE_FILENAME, workbook, document_type="SOV")],
    )
    state.sovs[sov.id] = sov
    job.finished = True
    _finish_parse(state, job)
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
    state.schedule(job, now)
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


def _finish_parse(state: EmulatorState, job: ParseJob) -> None:
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
    job.outputs = _generate(state, revision, job.output_formats)
    state.add_history(
        HistoryRecord(sov.id, sov.id, "ORIG", job.ends, 0, "C", sov.client_ref),
    )


def _generate(
    state: EmulatorState, revision: Revision, formats: Sequence[str]
) -> list[tuple[str, str]]:
    """Register the outputs of ``revision`` in ``formats``; returns (format, filename) pairs."""
    made: list[tuple[str, str]] = []
    for name in formats:
        info = state.format_info(name)
        fmt = str(info["output_format"]) if info else name.upper()
        ext = str((info or {}).get("output_extension") or "json")
        filename = revision.filename_for(fmt, ext)
        state.register_file(revision, fmt, filename)
        made.append((fmt, filename))
    return made


#: Outputs padded beyond this many bytes are rendered in a worker thread, off the loop.
RENDER_IN_THREAD_BYTES = 4 * 1024 * 1024


def _render(state: EmulatorState, revision: Revision, output_format: str) -> Blob:
    sov = state.sovs[revision.sovid]
    filename = revision.files[output_format]
    data = outputs.render_output(
        revision_document(sov, revision),
        output_format,
        filename.rsplit(".", 1)[-1],
        pad_to=state.settings.output_bytes,
    )
    return Blob.of(data, filename)


async def blob_for(state: EmulatorState, revision: Revision, output_format: str) -> Blob:
    """The bytes of one output, rendered once per (SOV, revision, format) and then cached.

    Large padded outputs are rendered (and hashed) in a thread so the loop stays responsive;
    a lock per output keeps concurrent first downloads from rendering it twice.
    """
    blob = revision.blobs.get(output_format)
    if blob is not None:
        return blob
    lock = state.render_locks.setdefault((revision.path_id, output_format), asyncio.Lock())
    async with lock:
        blob = revision.blobs.get(output_format)
        if blob is None:
            if state.settings.output_bytes >= RENDER_IN_THREAD_BYTES:
                blob = await asyncio.to_thread(_render, state, revision, output_format)
            else:
                blob = _render(state, revision, output_format)
            revision.blobs[output_format] = blob
    return blob


# --- updates -----------------------------------------------------------------------------


def open_update(
    state: EmulatorState,
    sov: Sov,
    *,
    origin: str,
    update_type: str = "API",
    callback_url: str | None = None,
    client_ref: str | None = None,
) -> UpdateJob:
    """``initiate_update``: allocate the next revision number (never reused)."""
    number = sov.next_revision
    sov.next_revision += 1
    sudid = f"{sov.id}-r{number:03d}"
    job = UpdateJob(
        id=sudid,
        created=state.clock(),
        origin=origin,
        phases=UPDATE_PHASES,
        callback_url=callback_url or sov.update_callback_url,
        sovid=sov.id,
        revision=number,
        update_type=update_type,
        client_ref=client_ref,
        request_uuid=state.new_uuid(),
    )
    state.updates[sudid] = job
    sov.update_ids.append(sudid)
    return job


def parse_locations_csv(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of an ``add_locations`` CSV, each with its line number; BadRequest if unusable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("The locations file must be UTF-8 CSV.", "file") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise BadRequest("The locations file has no header row.", "file")
    reader.fieldnames = header
    has_key = "item_key" in header
    has_pair = "sheet_name" in header and "sheet_row_number" in header
    if not (has_key or has_pair):
        raise BadRequest(
            "The locations file needs an item_key column or both sheet_name and "
            "sheet_row_number columns.",
            "file",
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        line = reader.line_num
        clean = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(clean.values()):
            continue  # a blank line
        if clean.get("item_key"):
            rows.append((line, clean))
            continue
        sheet, number = clean.get("sheet_name", ""), clean.get("sheet_row_number", "")
        if not (sheet and number):
            raise BadRequest(
                f"Row on line {line} names no building: it needs item_key or both "
                "sheet_name and sheet_row_number.",
                "file",
            )
        try:
            int(number)
        except ValueError as exc:
            raise BadRequest(
                f"Row on line {line}: sheet_row_number {number!r} is not an integer.", "file"
            ) from exc
        rows.append((line, clean))
    return rows


def start_update(
    state: EmulatorState,
    job: UpdateJob,
    *,
    extra_data: JSONDict,
    output_formats: Sequence[str],
    integrations: Sequence[str],
) -> None:
    """``start``: the job's clock begins now."""
    job.extra_data = dict(extra_data)
    job.output_formats = tuple(output_formats)
    job.integrations = tuple(integrations)
    state.schedule(job, state.clock())


def _finish_update(state: EmulatorState, job: UpdateJob) -> None:
    sov = state.sovs[job.sovid]
    base = sov.latest()
    assert job.ends is not None
    if base is None:
        job.failed = True
        job.result_status = "FAILED_TO_PROCESS"
        job.result_message = f"SOV {sov.id} has no completed revision to update."
        return
    buildings, error = apply_rows(
        [*base.buildings, *sov.added_buildings],
        job.batches,
        sovid=sov.id,
        allow_new=sov.is_submission,
    )
    if error is not None:
        job.failed = True
        job.result_status = "FAILED_TO_PARSE"
        job.result_message = error
        return
    insured = job.extra_data.get("insured_name")
    revision = Revision(
        sovid=sov.id,
        number=job.revision,
        path_id=job.id,
        stem=scrub_filename(str(insured)) if insured else job.id,
        buildings=buildings,
        extra_data={**base.extra_data, **job.extra_data},
        completed=job.ends,
        record_type=job.update_type,
    )
    sov.revisions[job.revision] = revision
    job.batches = []
    job.result_status = "SUCCESS"
    job.result_message = "Success."
    job.outputs = _generate(state, revision, job.output_formats)
    state.add_history(
        HistoryRecord(job.id, sov.id, job.update_type, job.ends, job.revision, "C", job.client_ref)
    )


def _coerce(value: str, old: object) -> object:
    """A CSV cell typed like the attribute it replaces (numbers stay numbers)."""
    if isinstance(old, bool):
        low = value.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        return value
    if isinstance(old, int | float):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if isinstance(old, int) and number.is_integer() else number
    return value


def apply_rows(
    buildings: Sequence[JSONDict],
    batches: Sequence[Sequence[tuple[int, dict[str, str]]]],
    *,
    sovid: str,
    allow_new: bool = False,
) -> tuple[list[JSONDict], str | None]:
    """Apply correction rows to copies of ``buildings``; (buildings, error naming the row)."""
    out = [dict(b) for b in buildings]
    by_key = {str(b.get("item_key")): i for i, b in enumerate(out)}
    by_sheet = {
        (str(b.get("sheet_name")), _row_no(b.get("sheet_row_number"))): i for i, b in enumerate(out)
    }
    for file_no, batch in enumerate(batches, 1):
        for line, row in batch:
            key = row.get("item_key", "")
            if key:
                index = by_key.get(key)
                where = f"item_key {key!r}"
            else:
                sheet, number = row["sheet_name"], int(row["sheet_row_number"])
                index = by_sheet.get((sheet, number))
                where = f"sheet_name {sheet!r}, sheet_row_number {number}"
            if index is None:
                if not allow_new or key:
                    return out, (
                        f"Row on line {line} of locations file {file_no} ({where}) "
                        f"matches no building of {sovid}."
                    )
                index = len(out)
                out.append(
                    {
                        "item_key": f"i-{sovid}!{row['sheet_name']}!{row['sheet_row_number']}",
                        "building_counter": index + 1,
                        "sheet_name": row["sheet_name"],
                        "sheet_row_number": int(row["sheet_row_number"]),
                    }
                )
                by_sheet[(row["sheet_name"], int(row["sheet_row_number"]))] = index
            building = out[index]
            for column, value in row.items():
                if column in IDENTIFIER_COLUMNS or value == "":
                    continue
                building[column] = _coerce(value, building.get(column))
    return out, None


def _row_no(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# --- get_or_create_output ----------------------------------------------------------------


def request_output(
    state: EmulatorState,
    revision: Revision,
    info: JSONDict,
    *,
    origin: str,
    overwrite: bool,
) -> tuple[OutputJob, bool]:
    """A generation request, or an ``immediately-done-`` one when cached; (job, was_cached)."""
    now = state.clock()
    fmt = str(info["output_format"])
    filename = revision.filename_for(fmt, str(info.get("output_extension") or "json"))
    cached = (revision.path_id, filename) in state.files
    job = OutputJob(
        id=state.new_uuid(),
        created=now,
        origin=origin,
        phases=OUTPUT_PHASES,
        sovid=revision.sovid,
        revision=revision.number,
        output_format=fmt,
        label=str(info.get("label") or fmt),
        filename=filename,
        path_id=revision.path_id,
    )
    if cached and not overwrite:
        job.id = "immediately-done-" + job.id
        job.started = job.ends = job.planned_end = now
        job.finished = True
    else:
        state.schedule(job, now)
    state.output_jobs[job.id] = job
    return job, cached and not overwrite


def _finish_output(state: EmulatorState, job: OutputJob) -> None:
    # Regenerating (overwrite_existing) yields the same bytes: outputs are immutable.
    revision = state.sovs[job.sovid].revisions[job.revision]
    state.register_file(revision, job.output_format, job.filename)


# --- bulk enhance ------------------------------------------------------------------------


#: Bulk jobs with more (location, source) results than this are computed in a worker thread
#: from the end of their PENDING phase, as a real server works during the job time. Computed
#: when the job ended, 20 batches of 1,000 held the emulator's loop ~0.5 s at the moment
#: every client polls for the end; computed at creation, they slowed the submissions of a
#: fleet. Smaller jobs are computed when they end (a few ms).
BULK_IN_THREAD_RESULTS = 100
#: How long a bulk job whose results are not ready yet is held before it is looked at again.
BULK_HOLD_SECONDS = 0.05


@define(frozen=True)
class BulkOutcome:
    """What a bulk job produces: its data file and the figures of its status body."""

    output: Blob
    num_problems: int
    source_stats: list[dict[str, object]]


def compute_bulk(
    locations: Sequence[JSONDict],
    sources: Sequence[str],
    filename: str,
    *,
    include_raw: bool,
    problem_rate: float,
    seed: int,
) -> BulkOutcome:
    """Enrich every location with each of its sources (pure: safe in a worker thread)."""
    results = {
        str(location["id"]): {
            source: enrich.enrich_location(
                location,
                source,
                include_raw=include_raw,
                problem_rate=problem_rate,
                seed=seed,
            )
            for source in location.get("sources") or sources
        }
        for location in locations
    }
    return BulkOutcome(
        output=Blob.of(json.dumps(results).encode(), filename),
        num_problems=enrich.count_problems(results),
        source_stats=enrich.source_statistics(results),
    )


def create_bulk(
    state: EmulatorState,
    *,
    locations: list[JSONDict],
    sources: Sequence[str],
    include_raw: bool,
    origin: str,
    callback_url: str | None,
) -> BulkJob:
    """Accept a validated batch; a large one starts computing at once in a worker thread."""
    now = state.clock()
    job = BulkJob(
        id=state.new_uuid(),
        created=now,
        origin=origin,
        phases=BULK_PHASES,
        callback_url=callback_url,
        locations=locations,
        sources=tuple(sources),
        include_raw=include_raw,
        num_requested=len(locations),
    )
    counts: dict[str, int] = {}
    for location in locations:
        for source in location.get("sources") or sources:
            counts[source] = counts.get(source, 0) + 1
    state.usage.extend(UsageEvent(now, source, n) for source, n in counts.items())
    state.bulk_jobs[job.id] = job
    state.schedule(job, now)
    if sum(counts.values()) > BULK_IN_THREAD_RESULTS:
        assert job.planned_end is not None
        work_starts = phase_start(job.phases, "QUEUED", now, job.planned_end)
        job.pending = asyncio.ensure_future(_compute_from(work_starts - now, state, job))
    return job


async def _compute_from(delay: float, state: EmulatorState, job: BulkJob) -> BulkOutcome:
    """Compute ``job`` in a worker thread once it leaves PENDING (not while clients submit)."""
    await asyncio.sleep(delay)
    async with state.compute_slot:
        return await asyncio.to_thread(_compute_for, state, job)


def _compute_for(state: EmulatorState, job: BulkJob) -> BulkOutcome:
    return compute_bulk(
        job.locations,
        job.sources,
        job.filename,
        include_raw=job.include_raw,
        problem_rate=state.settings.problem_rate,
        seed=state.settings.seed or 0,
    )


def _bulk_ready(state: EmulatorState, job: BulkJob) -> bool:
    """False (and the job held a little longer) while its worker thread is still busy."""
    if job.pending is None or job.pending.done():
        return True
    state.schedule_end(job, state.clock() + BULK_HOLD_SECONDS)
    return False


def _finish_bulk(state: EmulatorState, job: BulkJob) -> None:
    try:
        outcome = job.pending.result() if job.pending is not None else _compute_for(state, job)
    except Exception:
        logger.exception("bulk enhance job %s failed", job.id)
        job.failed = True
    else:
        job.output = outcome.output
        job.num_problems = outcome.num_problems
        job.source_stats = outcome.source_stats
    job.pending = None
    job.locations = []


def enhance_one(
    state: EmulatorState, location: JSONDict, sources: Sequence[str], *, include_raw: bool
) -> dict[str, Any]:
    """``GET /api/v1/enhance``: per-source results, synchronously."""
    now = state.clock()
    state.usage.extend(UsageEvent(now, s, 1) for s in sources)
    return {s: enrich.enrich_location(location, s, include_raw=include_raw) for s in sources}


# --- misc (contract 3.14) ----------------------------------------------------------------


def add_building(sov: Sov, data: JSONDict) -> JSONDict:
    """Remember a building; the SOV's next update revision will include it."""
    base = sov.latest()
    count = (len(base.buildings) if base else 0) + len(sov.added_buildings)
    row = len(sov.added_buildings) + 2
    building: JSONDict = {
        **data,
        "item_key": f"i-{sov.id}!Added!{row}",
        "building_counter": count + 1,
        "sheet_name": "Added",
        "sheet_row_number": row,
    }
    sov.added_buildings.append(building)
    return building


def find_building(state: EmulatorState, item_key: str) -> JSONDict | None:
    """A building of the latest revision (or added since) by its ``item_key``."""
    if not item_key.startswith("i-") or "!" not in item_key:
        return None
    sov = state.sovs.get(item_key[2:].split("!", 1)[0])
    if sov is None:
        return None
    latest = sov.latest()
    for building in [*(latest.buildings if latest else []), *sov.added_buildings]:
        if building.get("item_key") == item_key:
            return building
    return None


def create_submission(
    state: EmulatorState,
    *,
    origin: str,
    document_type: str,
    client_ref: str | None,
    extra_data: JSONDict,
    filename: str | None,
) -> tuple[int, UpdateJob]:
    """``POST /api/v1/submission``: an empty SOV plus an open update whose rows add buildings."""
    now = state.clock()
    sovid = state.new_sovid()
    source = scrub_filename(filename or f"{sovid}.csv")
    job = ParseJob(id=sovid, created=now, origin=origin, phases=PARSE_PHASES, sovid=sovid)
    job.started = job.ends = job.planned_end = now
    job.finished = True
    job.result_message = "Success."
    sov = Sov(
        id=sovid,
        source_filename=source,
        document_type=document_type,
        created=now,
        parse=job,
        client_ref=client_ref,
        extra_data=dict(extra_data),
        is_submission=True,
    )
    sov.revisions[0] = Revision(
        sovid=sovid,
        number=0,
        path_id=sovid,
        stem=PurePath(source).stem or sovid,
        buildings=[],
        extra_data=dict(extra_data),
        completed=now,
    )
    state.sovs[sovid] = sov
    update = open_update(state, sov, origin=origin, client_ref=client_ref)
    number = state.new_submission_id()
    state.submissions[str(number)] = update.id
    return number, update
