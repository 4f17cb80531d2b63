"""The poll decision, as plain logic: when to poll next, given what was seen.

Nothing here does I/O or reads a clock: every method takes ``now`` (monotonic seconds), so
the decision is tested by simulation (``tests/client/test_poll_schedule.py``). The
scheduler (:mod:`sovfixer_async._polling`) only talks to the small :class:`PollStrategy`
interface, so another policy can replace :class:`PollSchedule` without touching it: pass a
:data:`StrategyFactory` to the scheduler.

The default: polls at ages (seconds since submission) growing geometrically, each
``factor`` times the last (at most ``max_interval`` apart), the first at ``initial``: a job
that ends at age T is seen by about ``T * factor`` at worst, with few polls (about
``log(T / initial) / log(factor)``). What the client has learned of the job times of the
same kind (:class:`JobTimes`, recent ends) moves polls no earlier than a low quantile of
them; reported progress only brings a poll sooner (never later than the plain schedule).
Jitter keeps thousands of handles out of lock-step; a server ``Retry-After`` is honoured.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from typing import Protocol

from attrs import define, field

from sovfixer_async._config import PollPolicy
from sovfixer_async._errors import APIStatusError, ConfigurationError, SOVFixerError

#: The span of ages (s since submission) in which a job was seen to end: its last poll that
#: found it running, and the one that found it done.
Span = tuple[float, float]


class PollStrategy(Protocol):
    """The decision for one waiting handle: what the scheduler tells it, what it answers."""

    def observe(self, now: float, progress: float | None) -> None:
        """A poll found the job still running (``progress`` 0-1 when the server said)."""
        ...

    def finished_within(self, now: float) -> Span:
        """A poll found the job done: the span of ages it ended in (learned per kind)."""
        ...

    def next_interval(
        self, now: float, retry_after: float | None = None, times: JobTimes | None = None
    ) -> float:
        """Seconds until the next poll (``times``: what is known of the kind's job times)."""
        ...

    def defer(self, now: float, times: JobTimes | None) -> float:
        """When a poll is due: seconds to put it off given what was learned since it was
        scheduled (0.0: poll now). Jobs already waiting are re-aimed this way."""
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


#: Ends kept per job kind (the most recent).
TIMES_KEPT = 256
#: Ends needed before they move any poll.
TIMES_MIN = 5
#: A poll comes no sooner than this share of ``PollPolicy.initial`` after the previous one.
MIN_GAP = 0.1

#: Jitter source shared by every schedule (one ``random.Random`` per handle cost ~2.9 KB
#: of generator state each).
_RNG = random.Random()


class JobTimes:
    """What a client learned of one job kind's times: the ages at which recent jobs ended.

    Each end is known within the span between the poll that found the job running and the
    one that found it done. Two views are kept: the geometric middle of each span (an end
    no poll should come before: ``quantile``) and its upper end, when the end was surely
    past (where to aim a poll: ``quantile(q, late=True)``). Quantiles of recent ends are
    robust to spread (one slow or fast job moves them little). The jobs that end first
    are the short ones, so early on the quantiles are low: the floor they set only ever
    delays polls less, and an aim only ever brings a poll sooner than the plain one.
    """

    __slots__ = ("_ends", "_late", "_sorted")

    def __init__(self) -> None:
        self._ends: deque[float] = deque(maxlen=TIMES_KEPT)
        self._late: deque[float] = deque(maxlen=TIMES_KEPT)
        self._sorted: tuple[list[float], list[float]] | None = None

    def __len__(self) -> int:
        return len(self._ends)

    def add(self, span: Span) -> None:
        """One job ended within ``span`` (ages, seconds)."""
        low, high = span
        if not (math.isfinite(low) and math.isfinite(high)) or high <= 0:
            return
        low = min(max(low, 0.0), high)
        self._ends.append(math.sqrt(low * high) if low > 0 else high * 0.75)
        self._late.append(high)
        self._sorted = None

    def quantile(self, q: float, late: bool = False) -> float | None:
        """The ``q`` quantile (0-1) of the recent ends (``late``: of the spans' upper
        ends); None until ``TIMES_MIN`` are known."""
        if len(self._ends) < TIMES_MIN:
            return None
        if self._sorted is None:
            self._sorted = (sorted(self._ends), sorted(self._late))
        ends = self._sorted[1 if late else 0]
        k = min(max(q, 0.0), 1.0) * (len(ends) - 1)
        lo = math.floor(k)
        hi = min(lo + 1, len(ends) - 1)
        return ends[lo] + (ends[hi] - ends[lo]) * (k - lo)


@define
class PollSchedule:
    """Intervals for one handle, measured from its submission time (monotonic clock).

    Plain schedule: poll ages ``initial``, then each ``factor`` times the previous one
    (at most ``max_interval`` later), jittered. Learned times: no poll before the
    ``PollPolicy.learned_quantile`` of the kind's recent ends. Progress: the end estimated
    from two samples (straight line) brings the next poll sooner when it falls before
    the plain one; progress never delays a poll.
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
    #: The age of the plain schedule's next poll (-1 before the first).
    grid: float = -1.0

    def observe(self, now: float, progress: float | None) -> None:
        """Take the sample of a poll that found the job running (progress 0-1 or None)."""
        self.last_running = now
        self.eta = None
        if not self.policy.use_progress or progress is None or not 0.0 < progress < 1.0:
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

    def _floor(self, times: JobTimes | None) -> float:
        """The learned age before which no poll goes (0.0 when nothing is learned)."""
        q = self.policy.learned_quantile
        if times is None or q <= 0:
            return 0.0
        return times.quantile(q) or 0.0

    def _plain_after(self, age: float) -> float:
        """The plain schedule's first poll age after ``age``: ``initial``, then each
        ``factor`` times the previous (at most ``max_interval`` later), jittered. Polls
        aimed by progress, or late, do not move it."""
        p = self.policy
        spread = (1.0 - p.jitter, 1.0 + p.jitter) if p.jitter else (1.0, 1.0)
        if self.grid < 0:
            self.grid = p.initial * self.rng.uniform(*spread)
        while self.grid <= age:
            step = min(p.max_interval, max(p.initial, self.grid) * (p.factor - 1.0))
            self.grid += max(step, p.initial * MIN_GAP) * self.rng.uniform(*spread)
        return self.grid

    def _aim(self, age: float, times: JobTimes | None) -> float | None:
        """The first of the kind's learned ``aim_quantiles`` still ahead of ``age``."""
        if times is None:
            return None
        ahead = age + self.policy.initial * MIN_GAP
        for q in self.policy.aim_quantiles:
            aim = times.quantile(q, late=True)
            if aim is None:
                return None
            if aim > ahead:
                return aim
        return None

    def next_interval(
        self,
        now: float,
        retry_after: float | None = None,
        times: JobTimes | None = None,
    ) -> float:
        """Seconds until the next poll."""
        p = self.policy
        age = max(0.0, now - self.started)
        target = max(self._plain_after(age), self._floor(times))
        aim = self._aim(age, times)
        if aim is not None and aim < target:
            # the learned typical end comes before the plain poll: poll there instead, and
            # go on growing from it (as many polls as the plain schedule)
            target = self.grid = aim
        interval = max(target - age, 1e-3)
        if self.eta is not None and self.eta > now:  # only ever sooner than the plain poll
            interval = min(interval, max(self.eta - now, p.initial * MIN_GAP))
        if retry_after is not None:
            interval = max(interval, min(retry_after, p.max_retry_after))
        return interval

    def defer(self, now: float, times: JobTimes | None) -> float:
        """Put off a due poll that learned job times say is too early to find the end
        (one aimed by progress is never put off)."""
        if self.eta is not None:
            return 0.0
        floor = self._floor(times)
        age = now - self.started
        if floor <= age * (1.0 + self.policy.jitter):
            return 0.0
        return (floor - age) * self.rng.uniform(1.0, 1.0 + self.policy.jitter)
