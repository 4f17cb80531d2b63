"""When to poll next, and the one poll scheduler of a client.

The decision is plain logic (:class:`PollSchedule`): the interval grows in proportion to the
time since submission, so a job that finishes at time T is seen within about
``T * (factor - 1)``, bounded below by ``initial`` and above by ``max_interval``, with jitter
so thousands of handles do not poll in lock-step, and never sooner than a server
``Retry-After``.

The async part is one :class:`PollScheduler` task per client holding a heap of due polls.
A waiting handle costs one small :class:`Poller` (its waiters' shared event) and one heap
entry; a task exists only while its poll request is in flight, and at most
``max_in_flight`` of those at once: the rest wait in the heap in due order, holding nothing,
so polls also leave request slots free for submissions. One task per handle had cost
about 60 garbage-collected objects per waiting handle, and the full collections of 10,000
of them stalled the event loop for ~350 ms every few seconds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Protocol

import anyio
from attrs import define, field

from sovfixer_async._config import PollPolicy
from sovfixer_async._errors import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    SOVFixerError,
)

logger = logging.getLogger("sovfixer_async")

#: Failures of a single poll that only mean "try again later".
TRANSIENT = (APIConnectionError, RateLimitError, InternalServerError)

#: When the estimated end is further than the plain interval, the next poll goes this share
#: of the way (an estimate from coarse progress, e.g. 10 locations, can be late by a step)...
ETA_APPROACH = 0.8
#: ...and waits at most this many plain intervals...
ETA_STRETCH = 3.0
#: ...and an aimed poll comes no sooner than this share of ``PollPolicy.initial``.
ETA_FLOOR = 0.2

#: Jitter source shared by every schedule (one ``random.Random`` per handle cost ~2.9 KB
#: of generator state each).
_RNG = random.Random()


@define
class PollSchedule:
    """Intervals for one handle, measured from its submission time (monotonic clock).

    When the server reports progress, :meth:`observe` keeps the first sample that shows
    some and estimates the end by straight-line extrapolation. The next poll is then aimed
    at that estimate: sooner than the growing interval when the end is near (so the end is
    seen within one round trip), and when it is far, most of the way there, up to
    ``ETA_STRETCH`` times later than the plain schedule (so fewer polls are sent). No
    progress, or none gained, leaves the plain schedule.
    """

    policy: PollPolicy
    started: float
    rng: random.Random = field(default=_RNG)
    #: The first progress sample above zero: when (monotonic) and how much (0-1).
    first_seen: float = -1.0
    first_progress: float = 0.0
    #: Estimated end of the job (monotonic), or None.
    eta: float | None = None
    #: When a poll last found the job still running (monotonic), or -1.
    last_running: float = -1.0

    def observe(self, now: float, progress: float | None) -> None:
        """Take the sample of a poll that found the job running (progress 0-1 or None)."""
        self.last_running = now
        self.eta = None
        if progress is None or not 0.0 < progress < 1.0:
            return
        if self.first_seen < 0:
            self.first_seen, self.first_progress = now, progress
            return
        gained = progress - self.first_progress
        if gained > 0:
            self.eta = now + (1.0 - progress) * (now - self.first_seen) / gained

    def finished_within(self, now: float) -> tuple[float, float]:
        """The job was just seen done: the span of ages (s since submission) it ended in."""
        since = self.last_running - self.started if self.last_running >= 0 else 0.0
        return max(0.0, since), max(0.0, now - self.started)

    def next_interval(
        self,
        now: float,
        retry_after: float | None = None,
        sibling: tuple[float, float] | None = None,
    ) -> float:
        """Seconds until the next poll.

        ``sibling`` is the span of ages in which the last job of the same kind ended: jobs
        of a kind often take alike, so when this one reaches that age it is polled at the
        thirds of the span (never more often than three times the plain rate).
        """
        p = self.policy
        elapsed = max(0.0, now - self.started)
        interval = min(p.max_interval, max(p.initial, elapsed * (p.factor - 1.0)))
        if p.jitter:
            interval *= self.rng.uniform(1.0 - p.jitter, 1.0 + p.jitter)
        floor = p.initial * ETA_FLOOR
        if self.eta is not None and self.eta > now:
            until = self.eta - now
            if until <= interval:
                interval = max(until, floor)
            else:  # far: go most of the way, then aim again from a longer baseline
                interval = min(
                    max(until * ETA_APPROACH, interval), interval * ETA_STRETCH, p.max_interval
                )
        elif sibling is not None and elapsed < sibling[1]:
            since, until = sibling
            step = (until - since) / 3
            if step > 0:
                target = since + step * (math.floor(max(0.0, elapsed - since) / step) + 1)
                interval = min(interval, max(target - elapsed, interval / 3, floor))
        if retry_after is not None:
            interval = max(interval, min(retry_after, p.max_retry_after))
        return interval


class Pollable(Protocol):
    """What the scheduler polls: a job handle."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    async def _poll_once(self) -> tuple[bool, float | None, float | None]:
        """Fetch and apply the status once: terminal or not, Retry-After, progress (0-1)."""
        ...


class Poller:
    """The shared wait of one handle: its waiters, their event, and how the polling ended.

    ``active`` while polls are scheduled for it. It ends at a terminal status, a
    non-transient error (kept in ``error`` for the waiters), a status pushed by a callback,
    or when its last waiter leaves.
    """

    __slots__ = ("active", "error", "finished", "schedule", "scope", "target", "waiters")

    def __init__(self, target: Pollable, schedule: PollSchedule) -> None:
        self.target = target
        self.schedule = schedule
        self.waiters = 0
        self.active = True
        self.finished = anyio.Event()
        self.error: BaseException | None = None
        #: The cancel scope of the poll request in flight, if one is.
        self.scope: anyio.CancelScope | None = None


class PollScheduler:
    """One task per client that starts each handle's next poll when it is due.

    ``start_soon`` runs a coroutine function in the client's task group (and raises when
    the client is not open). The client calls :meth:`close` once its task group is done:
    every wait still going then ends with an error naming the job.
    """

    def __init__(self, start_soon: Callable[..., None], max_in_flight: int) -> None:
        self._start_soon = start_soon
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._heap: list[tuple[float, int, Poller]] = []
        self._seq = itertools.count()
        self._live: set[Poller] = set()
        #: Per job kind, the span of ages in which the last job seen done had ended.
        self._ended: dict[str, tuple[float, float]] = {}
        self._wake = anyio.Event()
        self._sleep_until = math.inf
        self._running = False

    def watch(self, target: Pollable, policy: PollPolicy, submitted: float) -> Poller:
        """A new poller for ``target``, its first poll scheduled (soon after submission)."""
        if not self._running:
            self._start_soon(self._run)
            self._running = True
        poller = Poller(target, PollSchedule(policy, submitted))
        self._live.add(poller)
        self._push(poller, None)
        return poller

    def finish(self, poller: Poller, error: BaseException | None = None) -> None:
        """End ``poller``'s polling and wake its waiters (``error`` is theirs to raise)."""
        self._stop(poller)
        if error is not None and poller.error is None:
            poller.error = error
        poller.finished.set()

    def abandon(self, poller: Poller) -> None:
        """The last waiter left: no more polls, and the one in flight is cancelled."""
        self._stop(poller)

    def _stop(self, poller: Poller) -> None:
        poller.active = False
        self._live.discard(poller)
        if poller.scope is not None:
            poller.scope.cancel()

    def _push(self, poller: Poller, retry_after: float | None) -> None:
        now = time.monotonic()
        sibling = self._ended.get(poller.target.kind)
        due = now + poller.schedule.next_interval(now, retry_after, sibling)
        heapq.heappush(self._heap, (due, next(self._seq), poller))
        if due < self._sleep_until:
            self._wake.set()

    async def _run(self) -> None:
        heap = self._heap
        try:
            while True:
                now = time.monotonic()
                while heap and heap[0][0] <= now and self._in_flight < self._max_in_flight:
                    poller = heapq.heappop(heap)[2]
                    if poller.active:
                        self._in_flight += 1
                        self._start_soon(self._poll, poller)
                if heap and heap[0][0] <= now:
                    # every poll slot is taken: the next wake-up is a poll ending, and the
                    # polls pushed meanwhile are due no sooner than those already waiting
                    self._sleep_until = -math.inf
                    delay = math.inf
                else:
                    self._sleep_until = heap[0][0] if heap else math.inf
                    delay = self._sleep_until - now
                if not self._wake.is_set():
                    with anyio.move_on_after(delay):
                        await self._wake.wait()
                self._wake = anyio.Event()
        finally:
            self._running = False

    def close(self) -> None:
        """The client closed: forget every due poll and end every wait still going."""
        self._running = False
        self._sleep_until = math.inf
        self._in_flight = 0
        self._heap.clear()
        live, self._live = self._live, set()
        for poller in live:
            target = poller.target
            self.finish(
                poller,
                SOVFixerError(
                    f"the client closed while waiting on {target.kind} job {target.id}; "
                    "the job goes on: resume it from its token in an open client"
                ),
            )

    async def _poll(self, poller: Poller) -> None:
        try:
            await self._poll_one(poller)
        finally:
            self._in_flight -= 1
            if self._sleep_until == -math.inf:
                self._wake.set()

    async def _poll_one(self, poller: Poller) -> None:
        target = poller.target
        retry_after: float | None = None
        done = False
        with anyio.CancelScope() as scope:
            poller.scope = scope
            try:
                done, retry_after, progress = await target._poll_once()
                if done:
                    self._ended[target.kind] = poller.schedule.finished_within(time.monotonic())
                else:
                    poller.schedule.observe(time.monotonic(), progress)
            except TRANSIENT as exc:
                retry_after = getattr(exc, "retry_after", None)
                logger.info(
                    "%s job %s: missed poll (%s); trying again",
                    target.kind,
                    target.id,
                    exc,
                    extra={"job_id": target.id},
                )
            except SOVFixerError as exc:
                self.finish(poller, exc)
                return
            except Exception as exc:  # a bug must reach the waiters, not the task group
                logger.exception(
                    "%s job %s: poll crashed", target.kind, target.id, extra={"job_id": target.id}
                )
                self.finish(poller, exc)
                return
            finally:
                poller.scope = None
            if done:
                self.finish(poller)
                return
        if poller.active:
            self._push(poller, retry_after)
