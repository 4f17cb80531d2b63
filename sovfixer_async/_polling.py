"""The one poll scheduler of a client: status requests of every waiting handle, when due.

One :class:`PollScheduler` task per client holds a heap of due polls. A waiting handle costs
one small :class:`Poller` (its waiters' shared event) and one heap entry; a task exists only
while its poll request is in flight, and at most ``max_in_flight`` of those at once: the
rest wait in the heap in due order, holding nothing, so polls also leave request slots free
for submissions. One task per handle had cost about 60 garbage-collected objects per
waiting handle, and the full collections of 10,000 of them stalled the event loop for
~350 ms every few seconds.

Data flows one way: a handle asks :meth:`PollScheduler.wait` with a :class:`Watch` (what
to request, how to read the answer, where to put each status seen); the scheduler sends
the requests through the transport. When to poll next is decided by a
:class:`~sovfixer_async._poll_policy.PollStrategy` (plain logic, no I/O).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import anyio

from sovfixer_async._errors import SOVFixerError
from sovfixer_async._poll_policy import (
    _RNG,
    COLD_SKIPS_MAX,
    SKIPS_MAX,
    Backlog,
    JobTimes,
    PollSchedule,
    StrategyFactory,
    missed_poll,
)
from sovfixer_async._ratelimit import RateLimiter
from sovfixer_async._status import (
    Observed,
    Poller,
    StatusQuery,
    Watch,
    fetch_status,
    more_eager,
)
from sovfixer_async._transport import Transport

__all__ = [
    "Observed",
    "PollScheduler",
    "StatusQuery",
    "Watch",
    "fetch_status",
    "more_eager",
]

logger = logging.getLogger("sovfixer_async")

#: Polls take the rate limit's tokens only above a reserve, after every other request; a
#: poll overdue by this many seconds queues for a token with the others (not starved).
POLL_PATIENCE = 0.5
#: Waiting jobs of a kind are re-aimed when its typical end moved by more than this share,
#: at most once per this many seconds (each time costs a pass over the due polls).
REAIM_MOVE = 0.1
REAIM_EVERY = 1.0


class PollScheduler:
    """One task per client that starts each waiting handle's next poll when it is due.

    ``start_soon`` runs a coroutine function in the client's task group (and raises when
    the client is not open). The client calls :meth:`close` once its task group is done:
    every wait still going then ends with an error naming the job.
    """

    def __init__(
        self,
        transport: Transport,
        start_soon: Callable[..., None],
        max_in_flight: int,
        strategy: StrategyFactory = PollSchedule,
    ) -> None:
        self._transport = transport
        self._start_soon = start_soon
        self._max_in_flight = max_in_flight
        self._strategy = strategy
        self._in_flight = 0
        self._heap: list[tuple[float, int, Poller]] = []
        self._seq = itertools.count()
        #: The poller of each waited-on owner (a handle), while its polls are scheduled.
        self._live: dict[object, Poller] = {}
        #: Per job kind, the ages at which recent jobs were seen to end.
        self._times: dict[str, JobTimes] = {}
        #: Per job kind, the jobs waited on in submission order (queued ones are skipped).
        self._backlogs: dict[str, Backlog] = {}
        #: Per job kind, when its waiting jobs were last re-aimed, and the typical end then.
        self._aimed: dict[str, tuple[float, float]] = {}
        self._wake = anyio.Event()
        self._sleep_until = math.inf
        self._running = False

    async def wait(self, owner: object, watch: Watch[Any], budget: float) -> BaseException | None:
        """Wait, at most ``budget`` s, until ``owner``'s polling ends; its error, if any.

        Waiters of one owner share its poller; when the last one leaves (timeout or
        cancellation), its polls stop and the request in flight is cancelled.
        """
        poller = self._live.get(owner)
        if poller is None:
            poller = self._watch(owner, watch)
        elif more_eager(watch.policy, poller.watch.policy):
            # A waiter with its own, more eager policy: the handle's polls follow it from
            # now on (the most eager policy of a handle's waiters wins).
            poller.watch = watch
            poller.schedule = self._strategy(watch.policy, watch.submitted)
            if poller.scope is None:  # no poll in flight: bring the next one forward
                self._push(poller, None)
        poller.waiters += 1
        try:
            if budget == math.inf:
                await poller.finished.wait()
            else:
                with anyio.move_on_after(budget):
                    await poller.finished.wait()
        finally:
            poller.waiters -= 1
            if poller.waiters == 0 and poller.active:
                self._stop(owner, poller)
        return poller.error

    def settle(self, owner: object) -> None:
        """``owner``'s job is terminal (a pushed status): its waits end now."""
        poller = self._live.get(owner)
        if poller is not None:
            self._finish(owner, poller)

    def _watch(self, owner: object, watch: Watch[Any]) -> Poller:
        if not self._running:
            self._start_soon(self._run)
            self._running = True
        poller = Poller(owner, watch, self._strategy(watch.policy, watch.submitted))
        self._live[owner] = poller
        if watch.policy.skip_queued or watch.policy.scouts:
            self._backlogs.setdefault(watch.query.kind, Backlog()).add(watch.submitted)
            poller.skips = 0
        self._push(poller, None)
        return poller

    def _finish(self, owner: object, poller: Poller, error: BaseException | None = None) -> None:
        self._stop(owner, poller)
        if error is not None and poller.error is None:
            poller.error = error
        poller.finished.set()

    def _stop(self, owner: object, poller: Poller) -> None:
        poller.active = False
        self._leave(poller, ended=False)
        if self._live.get(owner) is poller:
            del self._live[owner]
        if poller.scope is not None:
            poller.scope.cancel()

    def _push(self, poller: Poller, retry_after: float | None) -> None:
        now = time.monotonic()
        times = self._times.get(poller.watch.query.kind)
        due = now + poller.schedule.next_interval(now, retry_after, times)
        poller.due = seq = next(self._seq)
        heapq.heappush(self._heap, (due, seq, poller))
        if due < self._sleep_until:
            self._wake.set()

    async def _run(self) -> None:
        heap = self._heap
        rate = self._transport.rate
        try:
            while True:
                now = time.monotonic()
                throttled = math.inf
                while heap and heap[0][0] <= now and self._in_flight < self._max_in_flight:
                    _, seq, poller = heap[0]
                    if not poller.active or seq != poller.due:  # stopped, or superseded
                        heapq.heappop(heap)
                        continue
                    query = poller.watch.query
                    later = poller.schedule.defer(now, self._times.get(query.kind))
                    if later > 0:  # re-aimed with what was learned since it was scheduled
                        poller.due = seq = next(self._seq)
                        heapq.heapreplace(heap, (now + later, seq, poller))
                        continue
                    if self._skip(poller):  # surely queued, or not a scout: its next poll
                        poller.skips += 1
                        times = self._times.get(query.kind)
                        poller.due = seq = next(self._seq)
                        due = now + poller.schedule.next_interval(now, None, times)
                        heapq.heapreplace(heap, (due, seq, poller))
                        continue
                    throttled = rate.poll_wait(self._transport.url(query.api, query.path))
                    prepaid = throttled == 0
                    if not prepaid and now - heap[0][0] < POLL_PATIENCE:
                        break  # the rate limit: other requests first (or a pause)
                    # paid, or overdue: it then queues for a token with the other requests
                    heapq.heappop(heap)
                    self._in_flight += 1
                    self._start_soon(self._poll, poller, prepaid)
                    throttled = 0.0
                if throttled < math.inf and throttled > 0:
                    self._sleep_until = now + throttled
                    delay = throttled
                elif heap and heap[0][0] <= now:
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
        for owner, poller in list(self._live.items()):
            query = poller.watch.query
            self._finish(
                owner,
                poller,
                SOVFixerError(
                    f"the client closed while waiting on {query.kind} job {query.job_id}; "
                    "the job goes on: resume it from its token in an open client"
                ),
            )

    async def _poll(self, poller: Poller, prepaid: bool) -> None:
        if prepaid:
            RateLimiter.prepaid()  # its token was taken in _run
        try:
            await self._poll_one(poller)
        finally:
            self._in_flight -= 1
            if self._sleep_until == -math.inf:
                self._wake.set()

    async def _poll_one(self, poller: Poller) -> None:
        watch = poller.watch
        query = watch.query
        retry_after: float | None = None
        done = False
        with anyio.CancelScope() as scope:
            poller.scope = scope
            try:
                status, retry_after = await fetch_status(self._transport, query)
                done = watch.apply(status)
                if done:
                    self._learn(poller, time.monotonic())
                else:
                    poller.schedule.observe(time.monotonic(), status.progress)
            except Exception as exc:
                if missed_poll(exc):
                    retry_after = getattr(exc, "retry_after", None)
                    logger.info(
                        "%s job %s: missed poll (%s); trying again",
                        query.kind,
                        query.job_id,
                        exc,
                        extra={"job_id": query.job_id},
                    )
                else:  # the job or the access is gone, or a bug: it reaches the waiters
                    if not isinstance(exc, SOVFixerError):
                        logger.exception(
                            "%s job %s: poll crashed",
                            query.kind,
                            query.job_id,
                            extra={"job_id": query.job_id},
                        )
                    self._end(poller, exc)
                    return
            finally:
                poller.scope = None
            if done:
                self._leave(poller, ended=True)
                self._end(poller, None)
                return
        if poller.active:
            self._push(poller, retry_after)

    def _leave(self, poller: Poller, ended: bool) -> None:
        """``poller``'s job leaves its kind's backlog (``ended``: seen done)."""
        if poller.skips >= 0:
            poller.skips = -1
            backlog = self._backlogs[poller.watch.query.kind]
            if ended:
                backlog.ended(poller.watch.submitted)
            else:
                backlog.remove(poller.watch.submitted)

    def _skip(self, poller: Poller) -> bool:
        """Whether ``poller``'s due poll is skipped: its job is surely still queued on the
        server (see Backlog), or no job of its kind was seen to end yet and it is not one
        of the kind's scouts. At most ``SKIPS_MAX`` (``COLD_SKIPS_MAX``) polls in a row."""
        skips = poller.skips
        if skips < 0:
            return False
        watch = poller.watch
        backlog = self._backlogs[watch.query.kind]
        policy = watch.policy
        if skips < COLD_SKIPS_MAX and backlog.cold(watch.submitted, policy.scouts):
            return True
        if skips < SKIPS_MAX and policy.skip_queued and backlog.queued(watch.submitted):
            return True
        poller.skips = 0
        return False

    def _learn(self, done: Poller, now: float) -> None:
        """``done``'s job was just seen done: learn from its wait; the first of its kind
        calls the kind's followers in (they skipped their polls while it was cold); and
        re-aim the waiting jobs of that kind when the typical end moved (at most once per
        ``REAIM_EVERY`` s)."""
        kind = done.watch.query.kind
        times = self._times.setdefault(kind, JobTimes())
        first = not times
        done.schedule.learn(now, times)
        if first:
            self._call_in(kind, now, now - done.watch.submitted)
        typical = times.quantile(0.5)
        last_at, last_typical = self._aimed.get(kind, (-math.inf, 0.0))
        if typical is None or now - last_at < REAIM_EVERY:
            return
        if abs(typical - last_typical) <= REAIM_MOVE * max(last_typical, 1e-9):
            return
        self._aimed[kind] = (now, typical)

        def sooner(due: float, poller: Poller) -> float:
            if due <= now:
                return due
            return min(due, now + poller.schedule.next_interval(now, None, times))

        self._reschedule(kind, sooner)

    def _call_in(self, kind: str, now: float, age: float) -> None:
        """The first job of ``kind`` was seen done at ``age``: each job of that kind polls
        next when it reaches that age (now, if older; a poll due sooner would only find it
        running), in a random order (ends seen in submission order look like a queue)."""

        def at_age(due: float, poller: Poller) -> float:
            if poller.skips < 0:  # not in the kind's backlog: its polls were not skipped
                return due
            p = poller.watch.policy
            return max(now, poller.watch.submitted + age) + _RNG.uniform(0, p.initial * p.jitter)

        self._reschedule(kind, at_age)

    def _reschedule(self, kind: str, when: Callable[[float, Poller], float]) -> None:
        """Move the due poll of each waiting job of ``kind`` to ``when(due, poller)``."""
        heap, moved = self._heap, False
        for i, (due, seq, poller) in enumerate(heap):
            if poller.active and poller.watch.query.kind == kind:
                at = when(due, poller)
                if at != due:
                    heap[i] = (at, seq, poller)
                    moved = True
        if moved:
            heapq.heapify(heap)
            self._wake.set()

    def _end(self, poller: Poller, error: BaseException | None) -> None:
        self._finish(poller.owner, poller, error)
