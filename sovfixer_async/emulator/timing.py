"""When jobs run: how long each takes, how many of a kind run at once, and the end order.

A job is *submitted* (created; for an update, started by its client), waits in its kind's
FIFO queue while ``capacity`` jobs of that kind are running, then *begins* and runs for its
drawn duration: ``job_seconds`` exactly, or a log-normal draw around that median when
``job_spread`` is set (one seeded ``random.Random`` of its own, drawn in submission order).
Everything is computed from clocks: :meth:`JobTiming.pop_due` hands out jobs whose end has
passed, in end order, and :meth:`JobTiming.release` begins the next waiting job at the
instant the slot freed (in the past, when nobody looked in between), so the queue behaves
as if a worker had been watching. Nothing here knows what a job does.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attrs import define, field

from sovfixer_async.emulator.settings import EmulatorSettings

if TYPE_CHECKING:
    from sovfixer_async.emulator.state import Job

#: Finished jobs whose record the stats endpoint shows (the oldest are forgotten).
RECORDS_KEPT = 2000


@define(eq=False)
class JobRecord:
    """One finished server job, on the server's clock (``time.time()`` seconds)."""

    id: str
    kind: str
    #: The creating request (for an update, ``initiate_update``).
    created: float
    #: When it asked to run (creation; an update's ``start``).
    submitted: float
    #: When it left the queue and began running.
    began: float
    ended: float
    #: The first time an answer (status, activity or callback) reported it terminal.
    seen: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "created": round(self.created, 6),
            "submitted": round(self.submitted, 6),
            "began": round(self.began, 6),
            "ended": round(self.ended, 6),
            "seen": None if self.seen is None else round(self.seen, 6),
        }


@define(eq=False)
class JobLog:
    """Finished jobs: bounded records plus aggregates (for a benchmark's server floor)."""

    records: deque[JobRecord] = field(factory=lambda: deque(maxlen=RECORDS_KEPT))
    finished: Counter[str] = field(factory=Counter)
    first_created: float | None = None
    last_ended: float | None = None

    def add(self, record: JobRecord) -> None:
        self.records.append(record)
        self.finished[record.kind] += 1
        if self.first_created is None or record.created < self.first_created:
            self.first_created = record.created
        if self.last_ended is None or record.ended > self.last_ended:
            self.last_ended = record.ended

    def reset(self) -> None:
        self.records.clear()
        self.finished.clear()
        self.first_created = self.last_ended = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "jobs_finished": dict(self.finished),
            "first_job_created": self.first_created,
            "last_job_ended": self.last_ended,
            "job_records": [r.as_dict() for r in self.records],
        }


def coarse_share(share: float) -> float:
    """The realistic progress curve: slow start (``share ** 2``), in 10% steps."""
    clipped = min(max(share, 0.0), 1.0)
    return math.floor(clipped * clipped * 10 + 1e-9) / 10


@define(eq=False)
class JobTiming:
    """The run queues, the heap of due jobs and the duration dice of one emulator."""

    settings: EmulatorSettings
    log: JobLog = field(factory=JobLog)
    #: Called with every job that begins running (after its queue wait, if any).
    listeners: list[Callable[[Job], None]] = field(factory=list)
    due: list[tuple[float, int, Job]] = field(factory=list)
    waiting: dict[str, deque[Job]] = field(factory=dict)
    running: Counter[str] = field(factory=Counter)
    _seq: itertools.count[int] = field(factory=itertools.count)
    _dice: random.Random = field(factory=random.Random)

    def __attrs_post_init__(self) -> None:
        seed = self.settings.seed
        # A stream of its own: ids and faults draw from other generators.
        self._dice.seed(None if seed is None else f"job-durations:{seed}")

    def duration(self) -> float:
        """One job's running time: the median, or a log-normal draw around it."""
        median, sigma = self.settings.job_seconds, self.settings.job_spread
        if sigma <= 0 or median <= 0:
            return median
        return self._dice.lognormvariate(math.log(median), sigma)

    def submit(self, job: Job, at: float) -> None:
        """``job`` asks to run at ``at``: it begins now if its kind has a free slot."""
        job.started = at
        job.duration = self.duration()
        job.coarse = self.settings.progress == "coarse"
        capacity = self.settings.capacity
        if capacity is None or self.running[job.kind] < capacity:
            self._begin(job, at)
        else:
            self.waiting.setdefault(job.kind, deque()).append(job)

    def _begin(self, job: Job, at: float) -> None:
        self.running[job.kind] += 1
        job.running_from = at
        job.planned_end = at + job.duration
        self.hold(job, job.planned_end)
        if job.on_begin is not None:
            job.on_begin(job)
        for listener in self.listeners:
            listener(job)

    def hold(self, job: Job, ends: float) -> None:
        """(Re)set when ``job`` ends (a job whose results are not ready is held longer)."""
        job.ends = ends
        heapq.heappush(self.due, (ends, next(self._seq), job))

    def pop_due(self, now: float) -> Job | None:
        """The next running job whose end is at or before ``now`` (end order), else None."""
        while self.due and self.due[0][0] <= now:
            ends, _, job = heapq.heappop(self.due)
            if not job.finished and job.ends == ends:  # skip entries a hold replaced
                return job
        return None

    def release(self, job: Job) -> None:
        """``job`` finished at ``job.ends``: record it and hand its slot to the next in line."""
        assert job.ends is not None
        assert job.running_from is not None
        job.record = JobRecord(
            id=job.id,
            kind=job.kind,
            created=job.created,
            submitted=job.started if job.started is not None else job.created,
            began=job.running_from,
            ended=job.ends,
        )
        self.log.add(job.record)
        self.running[job.kind] -= 1
        queue = self.waiting.get(job.kind)
        if queue:
            self._begin(queue.popleft(), job.ends)

    def queued(self, kind: str) -> int:
        """How many jobs of ``kind`` wait for a slot."""
        return len(self.waiting.get(kind, ()))
