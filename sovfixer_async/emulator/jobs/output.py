"""Output files of a revision, and ``get_or_create_output`` requests (contract 3.8-3.9)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sovfixer_async.emulator import outputs
from sovfixer_async.emulator.lifecycle import OUTPUT_PHASES
from sovfixer_async.emulator.protocol import JSONDict
from sovfixer_async.emulator.state import (
    Blob,
    EmulatorState,
    OutputJob,
    Revision,
    revision_document,
)


def generate(
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
        job.done_at(now)
    else:
        state.timing.submit(job, now)
    state.output_jobs[job.id] = job
    return job, cached and not overwrite


def finish_output(state: EmulatorState, job: OutputJob) -> None:
    # Regenerating (overwrite_existing) yields the same bytes: outputs are immutable.
    revision = state.sovs[job.sovid].revisions[job.revision]
    state.register_file(revision, job.output_format, job.filename)
