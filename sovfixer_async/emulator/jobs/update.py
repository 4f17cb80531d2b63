"""Update jobs (contract 3.4-3.7): open, add CSV rows, start; the revision applied at the end.

Also the other SOV calls that change buildings (contract 3.14): ``add_building``,
``get_building`` and ``POST /api/v1/submission`` (an empty SOV plus an open update).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import PurePath

from sovfixer_async.emulator.jobs.output import generate
from sovfixer_async.emulator.lifecycle import PARSE_PHASES, UPDATE_PHASES
from sovfixer_async.emulator.protocol import BadRequest, JSONDict, scrub_filename
from sovfixer_async.emulator.state import (
    EmulatorState,
    HistoryRecord,
    ParseJob,
    Revision,
    Sov,
    UpdateJob,
)

IDENTIFIER_COLUMNS = ("item_key", "sheet_name", "sheet_row_number")


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
    state.timing.submit(job, state.clock())


def finish_update(state: EmulatorState, job: UpdateJob) -> None:
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
    job.outputs = generate(state, revision, job.output_formats)
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


# --- buildings and submissions (contract 3.14) ------------------------------------------


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
    job.done_at(now)
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
