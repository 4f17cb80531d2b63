"""Creating jobs and applying their terminal effects (contract 12), one module per workflow.

Effects are applied lazily: :func:`advance` takes every job whose end time has passed from
the state's :class:`~sovfixer_async.emulator.timing.JobTiming`, in end-time order, finishes
it and hands its slot to the next job of its kind waiting in line. Handlers call it before
looking at anything, and the callback scheduler calls it when a callback falls due, so
nothing needs a timer per job.
"""

from __future__ import annotations

from sovfixer_async.emulator.jobs.bulk import (
    BULK_HOLD_SECONDS,
    BULK_IN_THREAD_RESULTS,
    BulkOutcome,
    bulk_ready,
    compute_bulk,
    create_bulk,
    enhance_one,
    finish_bulk,
)
from sovfixer_async.emulator.jobs.output import (
    RENDER_IN_THREAD_BYTES,
    blob_for,
    finish_output,
    generate,
    request_output,
)
from sovfixer_async.emulator.jobs.parse import (
    EXCEL_EXTENSIONS,
    UPLOAD_EXTENSIONS,
    create_parse,
    finish_parse,
    seed,
)
from sovfixer_async.emulator.jobs.update import (
    IDENTIFIER_COLUMNS,
    add_building,
    apply_rows,
    create_submission,
    find_building,
    finish_update,
    open_update,
    parse_locations_csv,
    start_update,
)
from sovfixer_async.emulator.state import (
    BulkJob,
    EmulatorState,
    Job,
    OutputJob,
    ParseJob,
    UpdateJob,
)

__all__ = [
    "BULK_HOLD_SECONDS",
    "BULK_IN_THREAD_RESULTS",
    "EXCEL_EXTENSIONS",
    "IDENTIFIER_COLUMNS",
    "RENDER_IN_THREAD_BYTES",
    "UPLOAD_EXTENSIONS",
    "BulkOutcome",
    "add_building",
    "advance",
    "apply_rows",
    "blob_for",
    "compute_bulk",
    "create_bulk",
    "create_parse",
    "create_submission",
    "enhance_one",
    "find_building",
    "generate",
    "open_update",
    "parse_locations_csv",
    "request_output",
    "seed",
    "start_update",
]


def advance(state: EmulatorState) -> float:
    """Finish every job whose end time has passed; returns the instant used ("now")."""
    now = state.clock()
    timing = state.timing
    while (job := timing.pop_due(now)) is not None:
        if _finish(state, job):
            timing.release(job)
    return now


def _finish(state: EmulatorState, job: Job) -> bool:
    """Apply ``job``'s terminal effects; False when it is held a little longer instead."""
    if isinstance(job, BulkJob) and not bulk_ready(state, job):
        return False
    job.finished = True
    if isinstance(job, ParseJob):
        finish_parse(state, job)
    elif isinstance(job, UpdateJob):
        finish_update(state, job)
    elif isinstance(job, OutputJob):
        finish_output(state, job)
    elif isinstance(job, BulkJob):
        finish_bulk(state, job)
    return True
