"""Job lifecycles of contract 12, computed from clocks (no timers, no loops).

A job runs from ``running_from`` (after any wait for a free slot, see :mod:`.timing`) to
``planned_end = running_from + duration``; its running states share that time equally and
its progress rises linearly, or in coarse steps (``--progress coarse``). Nothing here does I/O: handlers ask
:func:`phase_at` what a job looks like at ``now``.
"""

from __future__ import annotations

from attrs import frozen

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
