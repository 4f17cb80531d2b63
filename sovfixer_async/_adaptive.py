"""The pure core of the client's adaptive rate limit: one token bucket (no I/O, no clock).

Every method takes ``now``, so it is tested by simulation against a server's token bucket
(``tests/polling/test_ratelimit.py``). :mod:`sovfixer_async._ratelimit` wraps it for the
transport; its docstring tells the design.
"""

from __future__ import annotations

import math

from attrs import define, field

#: CUBIC's constants, as botocore (``retries/throttling.py``).
BETA = 0.7
SCALE = 0.4
#: The cut when the server's rate was measured (admitted answers over a window from one
#: throttle to the next): just under it.
BETA_MEASURED = 0.9
#: The send rate is measured in buckets of this many seconds, smoothed (as botocore).
MEASURE_BUCKET = 0.5
SMOOTHING = 0.8
#: Never slower than this many requests per second.
MIN_RATE = 0.5
#: The bucket holds this many seconds of tokens (botocore: one second).
BURST_SECONDS = 1.0
#: Answers admitted since the last throttle needed to estimate the server's rate from them.
ESTIMATE_MIN = 1
#: Throttled answers within this many seconds of a cut are the same episode (one cut).
CUT_INTERVAL = 0.5
#: Refusals that do not follow our rate (random 429s with a constant Retry-After): after a
#: cut to under the server's measured rate, a throttle that comes before the rate regained
#: ``EARLY`` times that measure, while the share of throttled answers did not rise (see
#: ``share_rose``), did not come from our rate. Cutting again would only measure less and
#: spiral the rate down to ``MIN_RATE``: the cut is undone, and later throttles pause the
#: client (their Retry-After holds) without cutting, until that share rises.
EARLY = 0.95
#: Cuts each measuring less than this share of the one before are one series: when they
#: prove useless, the rate before the first of them comes back.
FELL = 0.8
#: The share "rose" when, over at least ``SHARE_MIN`` answers since the last cut, more
#: were throttled than ``SHARE_RISE`` times the share before it, plus ``SHARE_SLACK``.
SHARE_RISE = 2.0
SHARE_SLACK = 2
SHARE_MIN = 10


@define
class AdaptiveBucket:
    """A token bucket whose rate adapts to the server's throttling (pure logic).

    ``take`` spends one token (0.0) or says how long to wait; ``take_poll`` does the same
    for a background poll, which leaves ``reserve`` of the bucket to other requests;
    ``on_response`` learns from every answer.
    """

    start_rate: float
    max_rate: float = math.inf
    growth_interval: float = 0.1
    reserve: float = 0.25
    max_pause: float = 60.0
    rate: float = 0.0
    capacity: float = 0.0
    tokens: float = 0.0
    stamp: float = 0.0
    #: No request leaves before this (monotonic), after a throttled answer.
    paused_until: float = -math.inf
    #: Whether the server has throttled us yet (before: slow start).
    throttled: bool = False
    #: Slow start: demand exceeded the rate since the last doubling.
    starved: bool = False
    grown_at: float = 0.0
    #: CUBIC: the rate at the last throttle, the time to regain it, and when it came.
    w_max: float = 0.0
    k: float = 0.0
    last_fail: float = 0.0
    #: When the last throttle episode began (its answers come within ``CUT_INTERVAL``).
    episode_at: float = -math.inf
    #: Answers the server admitted since ``window_start`` (the last throttle).
    admitted: int = 0
    window_start: float = 0.0
    #: The send rate, measured (smoothed per ``MEASURE_BUCKET``).
    measured: float = 0.0
    _count: int = 0
    _measured_at: float = 0.0
    #: Answers (admitted, throttled) before the last cut (or entering noise), and since.
    before_cut: tuple[int, int] = (0, 0)
    since_cut: tuple[int, int] = (0, 0)
    #: The server's rate measured at the last cut (None: not measured), and the rate
    #: before the series of cuts that led to it (restored when they prove useless).
    last_estimate: float | None = None
    rate_before_cut: float = 0.0
    #: Throttles are noise (they do not follow our rate): they pause, but do not cut.
    noise: bool = False
    #: Throttles that paused the client without a cut.
    uncut: int = 0
    #: Throttled answers seen (for stats and tests).
    throttles: int = 0
    #: Tokens granted (for stats and tests).
    granted: int = 0
    _started: bool = field(default=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.rate = min(max(self.start_rate, MIN_RATE), self.max_rate)
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.tokens = self.capacity

    def _begin(self, now: float) -> None:
        if not self._started:
            self._started = True
            self.stamp = self.grown_at = self.window_start = self.last_fail = now
            self._measured_at = now

    def _refill(self, now: float) -> None:
        self._begin(now)
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def _set_rate(self, rate: float) -> None:
        self.rate = min(max(rate, MIN_RATE), self.max_rate)
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.tokens = min(self.tokens, self.capacity)

    def cap(self, rate: float) -> None:
        """Never grant faster than ``rate`` (a share of a budget several clients split)."""
        self.max_rate = max(rate, MIN_RATE)
        self._set_rate(min(self.rate, self.max_rate))

    def _grow(self, now: float) -> None:
        if not self.throttled and self.starved and now - self.grown_at >= self.growth_interval:
            self._set_rate(self.rate * 2.0)
            self.grown_at, self.starved = now, False

    def _measure(self, now: float) -> None:
        self._count += 1
        elapsed = now - self._measured_at
        if elapsed >= MEASURE_BUCKET:
            current = self._count / elapsed
            self.measured = current * SMOOTHING + self.measured * (1.0 - SMOOTHING)
            self._count, self._measured_at = 0, now

    def _wait(self, now: float, need: float) -> float:
        """Seconds until the bucket holds ``need`` tokens (and any pause has passed)."""
        start = max(now, self.paused_until)
        missing = need - self.tokens
        return max(start - now, 0.0) + (max(missing, 0.0) / self.rate)

    def take(self, now: float) -> float:
        """Spend one token now (returns 0.0), or the seconds to wait before asking again."""
        self._refill(now)
        self._grow(now)
        if now < self.paused_until or self.tokens < 1.0:
            self.starved = True
            return max(self._wait(now, 1.0), 1e-3)
        self.tokens -= 1.0
        self.granted += 1
        self._measure(now)
        return 0.0

    def take_poll(self, now: float) -> float:
        """As :meth:`take` for a background poll: only above the reserve."""
        self._refill(now)
        need = min(1.0 + self.reserve * self.capacity, self.capacity)
        if now < self.paused_until or self.tokens < need:
            return max(self._wait(now, need), 1e-3)
        self.tokens -= 1.0
        self.granted += 1
        self._measure(now)
        return 0.0

    def pause_left(self, now: float) -> float:
        """Seconds the bucket stays paused (0.0 when it is not)."""
        return max(0.0, self.paused_until - now)

    def on_response(self, now: float, throttled: bool, retry_after: float | None = None) -> None:
        """Learn from one answer: ``throttled`` (a 429) with its ``Retry-After`` or not."""
        self._begin(now)
        admitted, refused = self.since_cut
        self.since_cut = (admitted + (not throttled), refused + throttled)
        if not throttled:
            self.admitted += 1
            if self.throttled and now >= self.paused_until:
                cubic = SCALE * (now - self.last_fail - self.k) ** 3 + self.w_max
                ceiling = max(2.0 * self.measured, self.start_rate)
                self._set_rate(max(self.rate, min(cubic, ceiling)))
            return
        self.throttles += 1
        pause = min(retry_after if retry_after is not None else 0.0, self.max_pause)
        if now < self.paused_until or now < self.episode_at + CUT_INTERVAL:
            # the same throttling episode (requests sent before the cut, answered during
            # its pause or just after): no second cut, but a longer Retry-After still holds
            self._pause(now, pause)
            return
        self.episode_at = now
        # what the server admitted since the last throttle (or the start), the pause
        # included, is its refill rate (plus, the first time, its burst)
        window = now - self.window_start
        seen, beta = self.rate, BETA
        estimate: float | None = None
        if self.admitted >= ESTIMATE_MIN and window > 0:
            estimate = max(self.admitted / window, MIN_RATE)
            if estimate < seen:
                seen = estimate
                # measured over a whole window that began with a throttle, the pause
                # included, it is the server's refill rate: at least (a server whose
                # bucket filled while we sent slower wasted some), under the rate we were
                # sending at when refused. Go just under the middle of the two.
                if self.throttled and window >= 1.0:
                    beta = BETA_MEASURED
                    sending = min(self.rate, self.measured)
                    if sending > estimate:
                        seen = math.sqrt(estimate * sending)
            if not self.throttled:
                estimate = None  # the burst, not a measure of the refill rate
        if self.noise and not self.share_rose():
            self._skip_cut(now, pause)
            return
        early = self.last_estimate is not None and self.rate < EARLY * self.w_max
        falling = (
            estimate is not None
            and self.last_estimate is not None
            and estimate < FELL * self.last_estimate
        )
        if (early or falling) and not self.share_rose():
            # throttled again before the rate even regained what the server was measured
            # to admit, or measuring less than at the last cut, and no more often than
            # before it: these 429s do not follow our rate. Undo the cuts; cut no more
            # (each cut would measure less again: a spiral down to MIN_RATE)
            self.noise = True
            self._set_rate(max(self.rate, self.rate_before_cut))
            self._skip_cut(now, pause)
            return
        if self.last_estimate is not None and not early:
            # a probe past the last measure met the limit: the server admits at least that
            # (a window spent partly under it measures less than the server's rate)
            seen = max(seen, min(self.last_estimate, self.rate))
        target = seen * beta
        if not self.throttled:
            # the first throttle: what was admitted included the server's burst, so its
            # rate is unknown. Resume no faster than the cautious start: the next throttle,
            # if any, then measures the rate (a whole window from one throttle to the next)
            target = min(target, self.start_rate)
            seen = min(seen, self.start_rate)  # and regain it, then probe above it
        if not falling:  # not one of a series of cuts each measuring less: to restore
            self.rate_before_cut = self.rate
        self.noise = False
        self.last_estimate = estimate
        self.throttled = True
        self.w_max = seen
        self.k = (max(self.w_max - target, 0.0) / SCALE) ** (1.0 / 3.0)
        self._set_rate(target)
        self.tokens = 0.0
        self.stamp = now
        self._pause(now, pause)
        self._restart_window(now)

    def _skip_cut(self, now: float, pause: float) -> None:
        """A throttle that does not follow our rate: pause, keep the rate."""
        self.uncut += 1
        self._pause(now, pause)
        self.w_max = max(self.w_max, self.rate)
        self.k = 0.0
        self._restart_window(now)

    def _restart_window(self, now: float) -> None:
        self.admitted, self.window_start = 0, now
        b_admitted, b_refused = self.before_cut
        s_admitted, s_refused = self.since_cut
        self.before_cut = (b_admitted + s_admitted, b_refused + s_refused)
        self.since_cut = (0, 0)
        # the CUBIC curve starts from the end of the pause
        self.last_fail = max(now, self.paused_until)

    def share_rose(self) -> bool:
        """Whether more answers were throttled since the last cut than ``SHARE_RISE``
        times the share before it predicts (plus ``SHARE_SLACK``, for chance)."""
        admitted, refused = self.since_cut
        if admitted + refused < SHARE_MIN:
            return False  # too few to tell
        b_admitted, b_refused = self.before_cut
        before = b_refused / max(b_admitted + b_refused, 1)
        return refused > SHARE_RISE * before * (admitted + refused) + SHARE_SLACK

    def _pause(self, now: float, pause: float) -> None:
        """No request leaves for ``pause`` seconds from ``now`` (the bucket refills after)."""
        if pause > 0 and now + pause > self.paused_until:
            self.paused_until = now + pause
            self.tokens = min(self.tokens, 0.0)
            self.stamp = max(self.stamp, self.paused_until)
