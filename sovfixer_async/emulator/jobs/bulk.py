"""Bulk enhance jobs (contract 4.1-4.4): results computed while the job runs, shown at its end."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from attrs import define

from sovfixer_async.emulator import enrich
from sovfixer_async.emulator.lifecycle import BULK_PHASES, phase_start
from sovfixer_async.emulator.protocol import JSONDict
from sovfixer_async.emulator.state import Blob, BulkJob, EmulatorState, Job, UsageEvent

logger = logging.getLogger("sovfixer_async.emulator")


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
    if sum(counts.values()) > BULK_IN_THREAD_RESULTS:
        job.on_begin = lambda begun: _start_computing(state, begun)
    state.timing.submit(job, now)
    return job


def _start_computing(state: EmulatorState, job: Job) -> None:
    """Compute a large job's results in a worker thread from the end of its PENDING phase."""
    assert isinstance(job, BulkJob)
    assert job.running_from is not None
    assert job.planned_end is not None
    work_starts = phase_start(job.phases, "QUEUED", job.running_from, job.planned_end)
    job.pending = asyncio.ensure_future(_compute_from(work_starts - state.clock(), state, job))


async def _compute_from(delay: float, state: EmulatorState, job: BulkJob) -> BulkOutcome:
    """Compute ``job`` in a worker thread once it leaves PENDING (not while clients submit)."""
    await asyncio.sleep(max(0.0, delay))
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


def bulk_ready(state: EmulatorState, job: BulkJob) -> bool:
    """False (and the job held a little longer) while its worker thread is still busy."""
    if job.pending is None or job.pending.done():
        return True
    state.timing.hold(job, state.clock() + BULK_HOLD_SECONDS)
    return False


def finish_bulk(state: EmulatorState, job: BulkJob) -> None:
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
