"""Job lifecycles of contract 12, computed from clocks (no timers, no loops).

A job runs from ``running_from`` (after any wait for a free slot, see :mod:`.timing`) to
``planned_end = running_from + duration``; its running states share that time equally and
its progress rises linearly, or in coarse steps (``--progress coarse``). Nothing here does
I/O: handlers ask :func:`phase_at` and :func:`job_status` what a job looks like at ``now``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import frozen

from sovfixer_async.emulator.timing import coarse_share

if TYPE_CHECKING:
    from sovfixer_async.emulator.state import Job

PARSE_PHASES = ("PENDING", "IN_PROGRESS")
PARSE_PHASES_ENRICHING = ("PENDING", "IN_PROGRESS", "ENRICHING")
#: Updates and output requests: the official SDK polls only while PENDING/IN_PROGRESS.
UPDATE_PHASES = ("PENDING", "IN_PROGRESS")
OUTPUT_PHASES = ("PENDING", "IN_PROGRESS")
BULK_PHASES = ("PENDING", "QUEUED", "IN_PROGRESS")

TERMINAL = frozenset({"COMPLETE", "FAILED"})


@frozen
class Phase:
    """What a running job looks like at one instant."""

    status: str
    #: Share of the job's time elapsed, 0.0 <= fraction < 1.0 while running.
    fraction: float
    #: Index of ``status`` within the job's phases.
    index: int


def phase_at(phases: tuple[str, ...], started: float, ends: float, now: float) -> Phase:
    """The running phase at ``now`` (callers handle ``now >= ends`` as terminal)."""
    span = ends - started
    if span <= 0:
        return Phase(phases[-1], 0.0, len(phases) - 1)
    fraction = min(max((now - started) / span, 0.0), 0.999999)
    index = min(int(fraction * len(phases)), len(phases) - 1)
    return Phase(phases[index], fraction, index)


def phase_start(phases: tuple[str, ...], name: str, started: float, ends: float) -> float:
    """When the phase ``name`` begins."""
    return started + (ends - started) * phases.index(name) / len(phases)


def _running(job: Job, now: float) -> Phase | None:
    """The phase of a running, unfinished job; None when finished, waiting or not started."""
    if job.finished or job.running_from is None or job.planned_end is None:
        return None
    return phase_at(job.phases, job.running_from, job.planned_end, now)


def job_status(job: Job, now: float) -> str:
    """The word status of ``job`` at ``now`` (the first terminal one is noted on its record)."""
    if job.finished:
        if job.record is not None and job.record.seen is None:
            job.record.seen = now
        return "FAILED" if job.failed else "COMPLETE"
    phase = _running(job, now)
    if phase is not None:
        return phase.status
    if job.started is not None and "QUEUED" in job.phases:
        return "QUEUED"  # waiting for a free slot of its kind
    return "PENDING"


def work_started(job: Job) -> float | None:
    """When ``job`` left its waiting phases (the start of IN_PROGRESS)."""
    if job.running_from is None or job.planned_end is None:
        return None
    return phase_start(job.phases, "IN_PROGRESS", job.running_from, job.planned_end)


def progress(job: Job, now: float) -> float:
    """Share of the work (IN_PROGRESS onwards) done, 0..1: linear in time, or coarse steps."""
    if job.finished:
        return 1.0
    begin = work_started(job)
    if begin is None or job.planned_end is None or now <= begin:
        return 0.0
    share = min((now - begin) / max(job.planned_end - begin, 1e-9), 0.99)
    return coarse_share(share) if job.coarse else share


def seen_at(job: Job, now: float) -> float | None:
    started = work_started(job)
    return started if started is not None and (job.finished or now >= started) else None
