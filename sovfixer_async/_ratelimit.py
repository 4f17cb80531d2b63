"""Client-side adaptive rate limiting, shared by every request of a client.

As botocore's adaptive retry mode: a token bucket whose rate drops on throttling (to
``beta`` times the rate the server was seen to admit) and recovers along a cubic curve
(CUBIC, as TCP), so that a client settles under the server's limit instead of meeting it
with a storm of retries. Three additions:

* **a cautious start**: before the server has throttled anything the rate starts at
  ``start_rate`` and doubles every ``growth_interval`` seconds in which demand exceeded it
  (slow start, as TCP), so an unthrottled server is soon used in full;
* **a throttled answer pauses the whole bucket** until its ``Retry-After`` has passed (not
  only the request that got it); the rate afterwards is estimated from what the server
  admitted since the previous throttle (the pause included), which is its refill rate;
* **priorities**: background polls take a token only when more than ``reserve`` of the
  bucket remains and nobody else is waiting, so submissions and downloads are not starved.

:class:`AdaptiveBucket` is the pure core (every method takes ``now``; no I/O, no clock):
tested by simulation. :class:`RateLimiter` is the thin async wrapper the transport calls:
one bucket per configured API origin (the two APIs share one when they share a host),
nothing for other hosts.
"""

from __future__ import annotations

import contextvars
import math
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import anyio

from sovfixer_async._adaptive import MIN_RATE, AdaptiveBucket
from sovfixer_async._config import RetryPolicy

__all__ = ["MIN_RATE", "AdaptiveBucket", "RateLimiter"]

#: Set in a poll task whose token the scheduler already took (see :meth:`RateLimiter.poll`).
_PREPAID: contextvars.ContextVar[bool] = contextvars.ContextVar("sovfixer_prepaid", default=False)


def _host(url: str) -> str:
    """``scheme://host:port`` of a base URL (its bucket: one per API host)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Waiter:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = anyio.Event()


class RateLimiter:
    """The async side: FIFO waiters per bucket, one of them (the head) watching the clock.

    A URL under one of ``bases`` (the API base URLs) takes a token of its host's bucket;
    any other URL (another host) is not limited. The transport calls :meth:`acquire`
    before it sends a request and :meth:`on_response` with every answer.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        bases: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        #: (base URL, its host's bucket key), longest first.
        self._bases = sorted(((b.rstrip("/"), _host(b)) for b in bases), key=lambda x: -len(x[0]))
        self._clock = clock
        self._buckets: dict[Any, AdaptiveBucket] = {}
        self._queues: dict[Any, deque[_Waiter]] = {}
        #: A ceiling set from outside (a worker's share of a ledger's budget), or None.
        self._cap: float | None = None

    @property
    def enabled(self) -> bool:
        return self._policy.adaptive

    def _key(self, url: str) -> str | None:
        for base, key in self._bases:
            if url.startswith(base) and url[len(base) : len(base) + 1] in ("", "/", "?"):
                return key
        return None

    def bucket(self, url: str) -> AdaptiveBucket | None:
        """The bucket of ``url``'s origin, made on first use; None when not limited."""
        if not self._policy.adaptive:
            return None
        key = self._key(url)
        if key is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            p = self._policy
            bucket = AdaptiveBucket(
                start_rate=p.start_rate,
                max_rate=p.max_rate if self._cap is None else min(p.max_rate, self._cap),
                reserve=p.poll_reserve,
                max_pause=p.max_retry_after,
            )
            self._buckets[key] = bucket
            self._queues[key] = deque()
        return bucket

    def cap(self, rate: float) -> None:
        """Send at most ``rate`` requests per second to each host, from now on (the
        adaptive rate still drops below it on throttling)."""
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"a rate cap must be a positive number, got {rate!r}")
        self._cap = min(rate, self._policy.max_rate)
        for bucket in self._buckets.values():
            bucket.cap(self._cap)

    async def acquire(self, url: str) -> None:
        """Wait for a token of ``url``'s bucket (in arrival order); return at once if free."""
        bucket = self.bucket(url)
        if bucket is None:
            return
        if _PREPAID.get():
            _PREPAID.set(False)  # the scheduler took this poll's token; retries take anew
            left = bucket.pause_left(self._clock())
            if left > 0:
                await anyio.sleep(left)
            return
        queue = self._queues[self._key(url)]
        if not queue and bucket.take(self._clock()) == 0.0:
            return
        me = _Waiter()
        queue.append(me)
        try:
            while True:
                if queue[0] is not me:
                    await me.event.wait()
                    me.event = anyio.Event()
                    continue
                wait = bucket.take(self._clock())
                if wait == 0.0:
                    return
                await anyio.sleep(wait)
        finally:
            was_head = bool(queue) and queue[0] is me
            queue.remove(me)
            if was_head and queue:
                queue[0].event.set()

    def poll_wait(self, url: str) -> float:
        """For the poll scheduler: 0.0 when a poll to ``url`` may go now (its token taken:
        the poll's request then passes :meth:`acquire`), else the seconds to wait."""
        bucket = self.bucket(url)
        if bucket is None:
            return 0.0
        if self._queues[self._key(url)]:
            return max(1.0 / bucket.rate, 1e-3)  # others are waiting: they go first
        return bucket.take_poll(self._clock())

    @staticmethod
    def prepaid() -> None:
        """Mark the current task's next request as paid by :meth:`poll_wait`."""
        _PREPAID.set(True)

    def on_response(self, url: str, status: int, retry_after: float | None) -> None:
        """Learn from one answer (a 429 pauses the whole bucket for ``retry_after``)."""
        bucket = self.bucket(url)
        if bucket is not None:
            bucket.on_response(self._clock(), status == 429, retry_after)

    def snapshot(self) -> dict[str, float]:
        """Rate, throttles and tokens of each bucket (for benchmarks and logs)."""
        out: dict[str, float] = {}
        for key, b in self._buckets.items():
            name = str(key)
            out[f"{name} rate"] = round(b.rate, 2)
            out[f"{name} throttles"] = b.throttles
            out[f"{name} granted"] = b.granted
        return out
