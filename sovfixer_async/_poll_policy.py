"""The poll decision, as plain logic: when to poll next, given what was seen.

Nothing here does I/O or reads a clock: every method takes ``now`` (monotonic seconds), so
the decision is tested by simulation (``tests/client/test_poll_schedule.py``). The
scheduler (:mod:`sovfixer_async._polling`) only talks to the small :class:`PollStrategy`
interface, so another policy can replace :class:`PollSchedule` without touching it: pass a
:data:`StrategyFactory` to the scheduler.

The default: the interval grows in proportion to the time since submission, so a job that
finishes at time T is seen within about ``T * (factor - 1)``, bounded below by ``initial``
and above by ``max_interval``, with jitter so thousands of handles do not poll in
lock-step, and never sooner than a server ``Retry-After``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Protocol

from attrs import define, field

from sovfixer_async._config import PollPolicy
from sovfixer_async._errors import APIStatusError, ConfigurationError, SOVFixerError

#: A sibling hint: the span of ages (s since submission) in which the last job of the same
#: kind was seen to end.
Span = tuple[float, float]


class PollStrategy(Protocol):
    """The decision for one waiting handle: what the scheduler tells it, what it answers."""

    def observe(self, now: float, progress: float | None) -> None:
        """A poll found the job still running (``progress`` 0-1 when the server said)."""
        ...

    def finished_within(self, now: float) -> Span:
        """A poll found the job done: the span of ages it ended in (a hint for siblings)."""
        ...

    def next_interval(
        self, now: float, retry_after: float | None = None, sibling: Span | None = None
    ) -> float:
        """Seconds until the next poll."""
        ...


#: Makes the strategy of one wait from the policy and the job's submission time.
StrategyFactory = Callable[[PollPolicy, float], PollStrategy]


def missed_poll(exc: BaseException) -> bool:
    """Whether a failed poll only means "try again later" (the wait goes on).

    The network, a 429 or 5xx after retries, and a 2xx body that is not the status the
    contract describes (HTML from a proxy, a wrong shape, broken JSON) are missed polls. A
    4xx that says the job or the access is gone (401, 403, 404, 400, 409) and a local
    configuration error end the wait: polling again would get the same answer.
    """
    if isinstance(exc, ConfigurationError):
        return False
    if isinstance(exc, APIStatusError):
        return not (400 <= exc.status < 500 and exc.status not in (408, 429))
    return isinstance(exc, SOVFixerError | ValueError | RecursionError)


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

    def finished_within(self, now: float) -> Span:
        """The job was just seen done: the span of ages (s since submission) it ended in."""
        since = self.last_running - self.started if self.last_running >= 0 else 0.0
        return max(0.0, since), max(0.0, now - self.started)

    def next_interval(
        self,
        now: float,
        retry_after: float | None = None,
        sibling: Span | None = None,
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
