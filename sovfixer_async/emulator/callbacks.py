"""Webhook delivery (contract 9): one scheduler task, a heap of due times, one event.

When a job with a ``callback_url`` reaches its end time the scheduler finishes it (the same
lazy :func:`jobs.advance` requests use) and POSTs exactly its GET status body, with one
attempt plus up to two retries spaced ``callback_retry_seconds``. Delivery never changes a
job's state. Each attempt is a short task; nothing sleeps per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from attrs import define, field

from sovfixer_async.emulator import jobs, views
from sovfixer_async.emulator.protocol import JSONDict
from sovfixer_async.emulator.state import (
    BulkJob,
    EmulatorState,
    Job,
    OutputJob,
    ParseJob,
    UpdateJob,
)
from sovfixer_async.emulator.stats import Stats

logger = logging.getLogger("sovfixer_async.emulator")

MAX_ATTEMPTS = 3
USER_AGENT = "ping-emulator"
ATTEMPT_TIMEOUT = aiohttp.ClientTimeout(total=10)


@define(eq=False)
class Delivery:
    """One callback: its target, its body and how its attempts went."""

    url: str
    kind: str
    job_id: str
    body: JSONDict
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    error: str | None = None

    def record(self) -> JSONDict:
        return {
            "url": self.url,
            "kind": self.kind,
            "job_id": self.job_id,
            "attempts": self.attempts,
            "status": self.status,
            "delivered": self.delivered,
            "error": self.error,
        }


def status_body(state: EmulatorState, job: Job, now: float) -> JSONDict:
    """The GET status body of ``job``, with URLs on the origin that created it."""
    if isinstance(job, ParseJob):
        return views.parse_status(state, state.sovs[job.sovid], now, job.origin)
    if isinstance(job, UpdateJob):
        return views.update_status(state, job, now, job.origin)
    if isinstance(job, BulkJob):
        return views.bulk_status(job, now, job.origin)
    if isinstance(job, OutputJob):
        return views.output_status(job, now, job.origin)
    raise TypeError(f"no status body for {job!r}")


@define(eq=False)
class CallbackScheduler:
    """Fires callbacks on time from a single task."""

    state: EmulatorState
    stats: Stats
    retry_seconds: float
    _heap: list[tuple[float, int, Job | Delivery]] = field(factory=list)
    _seq: itertools.count[int] = field(factory=itertools.count)
    _wake: asyncio.Event = field(factory=asyncio.Event)
    _attempts: set[asyncio.Task[None]] = field(factory=set)
    _session: aiohttp.ClientSession | None = None
    #: Jobs with a callback that wait in a run queue: armed when they begin.
    _queued: set[Job] = field(factory=set)

    def __attrs_post_init__(self) -> None:
        self.state.timing.listeners.append(self._began)

    def watch(self, job: Job) -> None:
        """Deliver ``job``'s callback when it ends (no-op without a callback URL)."""
        if not job.callback_url:
            return
        if job.running_from is not None and job.ends is not None:
            self._push(job.ends, job)
        elif job.started is not None and not job.finished:
            self._queued.add(job)  # waiting for a slot: its end is not known yet

    def _began(self, job: Job) -> None:
        if job in self._queued:
            self._queued.discard(job)
            assert job.ends is not None
            self._push(job.ends, job)

    def _push(self, when: float, item: Job | Delivery) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), item))
        self._wake.set()

    async def run(self) -> None:
        """The scheduler loop: sleep until the earliest due item or a new one arrives."""
        while True:
            self._wake.clear()
            now = self.state.clock()
            while self._heap and self._heap[0][0] <= now:
                _, _, item = heapq.heappop(self._heap)
                self._dispatch(item)
            delay = self._heap[0][0] - now if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _dispatch(self, item: Job | Delivery) -> None:
        if isinstance(item, Job):
            now = jobs.advance(self.state)
            if not item.finished:  # held past its end time (bulk results still computing)
                assert item.ends is not None
                self._push(item.ends, item)
                return
            assert item.callback_url is not None
            item = Delivery(
                url=item.callback_url,
                kind=item.kind,
                job_id=item.id,
                body=status_body(self.state, item, now),
            )
        task = asyncio.create_task(self._attempt(item))
        self._attempts.add(task)
        task.add_done_callback(self._attempts.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=ATTEMPT_TIMEOUT)
        delivery.attempts += 1
        try:
            async with self._session.post(
                delivery.url, json=delivery.body, headers={"User-Agent": USER_AGENT}
            ) as response:
                delivery.status = response.status
                await response.read()
                delivery.delivered = 200 <= response.status < 300
                delivery.error = None if delivery.delivered else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        if delivery.delivered:
            self.stats.callbacks_delivered += 1
            self.stats.callbacks.append(delivery.record())
        elif delivery.attempts < MAX_ATTEMPTS:
            self._push(self.state.clock() + self.retry_seconds, delivery)
        else:
            logger.info("callback to %s failed: %s", delivery.url, delivery.error)
            self.stats.callbacks.append(delivery.record())

    async def close(self) -> None:
        for task in list(self._attempts):
            task.cancel()
        for task in list(self._attempts):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()


CALLBACKS: web.AppKey[CallbackScheduler] = web.AppKey(
    "sovfixer_emulator_callbacks", CallbackScheduler
)


async def callbacks_context(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: run the scheduler for the app's lifetime."""
    scheduler = app[CALLBACKS]
    task = asyncio.create_task(scheduler.run(), name="sovfixer-emulator-callbacks")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await scheduler.close()
