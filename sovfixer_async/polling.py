"""When to poll next, and the shared poll loop of a job handle.

The decision is plain logic (:class:`PollSchedule`): the interval grows in proportion to the
time since submission, so a job that finishes at time T is seen within about
``T * (factor - 1)``, bounded below by ``initial`` and above by ``max_interval``, with jitter
so thousands of handles do not poll in lock-step, and never sooner than a server
``Retry-After``. The async part (:class:`Poller`) only sends the request and sleeps; it holds
no socket and no limiter slot while it sleeps.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable

import anyio
from attrs import define, field

from sovfixer_async.config import PollPolicy
from sovfixer_async.errors import (
    AmbiguousSubmissionError,
    RateLimitedError,
    ServerError,
    SOVFixerError,
    TransportError,
)

logger = logging.getLogger("sovfixer_async")

#: Failures of a single poll that only mean "try again later".
TRANSIENT = (TransportError, RateLimitedError, ServerError)

#: Jitter source shared by every schedule (one ``random.Random`` per handle cost ~2.9 KB
#: of generator state each).
_RNG = random.Random()


@define
class PollSchedule:
    """Intervals for one handle, measured from its submission time (monotonic clock)."""

    policy: PollPolicy
    started: float
    rng: random.Random = field(default=_RNG)

    def next_interval(self, now: float, retry_after: float | None = None) -> float:
        p = self.policy
        elapsed = max(0.0, now - self.started)
        interval = min(p.max_interval, max(p.initial, elapsed * (p.factor - 1.0)))
        if p.jitter:
            interval *= self.rng.uniform(1.0 - p.jitter, 1.0 + p.jitter)
        if retry_after is not None:
            interval = max(interval, min(retry_after, p.max_retry_after))
        return interval


class Poller:
    """One poll task per handle, shared by all its waiters.

    It runs in the client's task group, stops at a terminal status, at a non-transient
    error (kept in ``error`` for the waiters), or when its last waiter leaves.
    """

    __slots__ = ("error", "finished", "scope", "waiters")

    def __init__(self) -> None:
        self.waiters = 0
        self.finished = anyio.Event()
        self.scope = anyio.CancelScope()
        self.error: BaseException | None = None

    async def run(
        self,
        fetch: Callable[[], Awaitable[tuple[bool, float | None]]],
        schedule: PollSchedule,
        describe: str,
        job_id: str,
    ) -> None:
        """Call ``fetch`` (True when terminal) until done; transient failures are missed polls."""
        try:
            with self.scope:
                retry_after: float | None = None
                while True:
                    await anyio.sleep(schedule.next_interval(time.monotonic(), retry_after))
                    retry_after = None
                    try:
                        done, retry_after = await fetch()
                        if done:
                            return
                    except AmbiguousSubmissionError as exc:  # never raised by GETs; be safe
                        self.error = exc
                        return
                    except TRANSIENT as exc:
                        retry_after = getattr(exc, "retry_after", None)
                        logger.info(
                            "%s: missed poll (%s); trying again",
                            describe,
                            exc,
                            extra={"job_id": job_id},
                        )
                    except SOVFixerError as exc:
                        self.error = exc
                        return
        except Exception as exc:  # a bug must reach the waiters, not the task group
            logger.exception("%s: poll task crashed", describe, extra={"job_id": job_id})
            self.error = exc
        finally:
            self.finished.set()
