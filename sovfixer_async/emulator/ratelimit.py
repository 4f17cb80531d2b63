"""A per-token rate limit, as a real API has: a token bucket per API token.

Each API token owns a bucket of ``burst`` tokens refilled at ``rate_limit`` per second; a
request takes one token. A request that finds less than one is answered ``429`` with a
``Retry-After`` that tells the truth: the whole seconds after which the bucket holds a token
again (RFC 9110 allows only whole seconds; the wait is rounded up, so a request sent then
is admitted unless others of the same token spent the token first). Refused requests take
nothing from the bucket. Buckets are kept for at most :data:`MAX_BUCKETS` tokens, least
recently used first out (a forgotten bucket was full or nearly: forgetting it only forgives).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Any

from aiohttp import web
from attrs import define, field

from sovfixer_async.emulator.protocol import error_response
from sovfixer_async.emulator.settings import EmulatorSettings
from sovfixer_async.emulator.stats import STATS, is_api

MAX_BUCKETS = 10_000


@define
class Bucket:
    tokens: float
    stamp: float


@define(eq=False)
class RateLimiter:
    """Token buckets by API token; :meth:`take` says whether a request may pass."""

    rate: float
    size: float
    clock: Any = time.monotonic
    buckets: OrderedDict[str, Bucket] = field(factory=OrderedDict)

    @classmethod
    def from_settings(cls, settings: EmulatorSettings) -> RateLimiter | None:
        if settings.rate_limit is None:
            return None
        return cls(settings.rate_limit, settings.bucket_size)

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 when admitted, else the seconds to wait."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = Bucket(self.size, now)
            self.buckets[key] = bucket
            if len(self.buckets) > MAX_BUCKETS:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
            bucket.tokens = min(self.size, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


RATE_LIMITER: web.AppKey[RateLimiter | None] = web.AppKey("sovfixer_emulator_rate_limiter")


def retry_after(wait: float) -> str:
    """The ``Retry-After`` value of a wait: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait - 1e-9)))


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer 429 + Retry-After to API requests over their token's rate."""
    limiter = request.app[RATE_LIMITER]
    if limiter is not None and is_api(request):
        wait = limiter.take(request.headers.get("Authorization", "").strip())
        if wait > 0:
            request.app[STATS].rate_limited += 1
            return error_response(
                429,
                f"Request was throttled. Expected available in {math.ceil(wait)} second"
                f"{'' if math.ceil(wait) == 1 else 's'}.",
                headers={"Retry-After": retry_after(wait)},
            )
    response: web.StreamResponse = await handler(request)
    return response
