"""The poll decision, as plain logic: when to poll next, given what was seen.

Nothing here does I/O or reads a clock: every method takes ``now`` (monotonic seconds), so
the decision is tested by simulation (``tests/polling/test_poll_schedule.py``). The
scheduler (:mod:`sovfixer_async._polling`) only talks to the small :class:`PollStrategy`
interface, so another policy can replace :class:`PollSchedule` without touching it: pass a
:data:`StrategyFactory` to the scheduler.

The default: polls at ages (seconds since submission) growing geometrically, each
``factor`` times the last (at most ``max_interval`` apart), the first at ``initial``: a job
that ends at age T is seen by about ``T * factor`` at worst, with few polls (about
``log(T / initial) / log(factor)``). What the client has learned of the job times of the
same kind (:class:`JobTimes`, recent ends) moves polls no earlier than a low quantile of
them; reported progress only brings a poll sooner (never later than the plain schedule):
at the end that the kind's finished jobs, seen at the same progress, predict (whatever the
curve: a slow start fools a straight line); when the kind's jobs take nearly the same
time, a job found running past the shorter of them is polled again after their spread,
not ``factor`` later. A :class:`Backlog` per kind tells a job that is surely still queued
on a server running a bounded number at once (its polls are skipped), and, until a job of
the kind is seen to end, which jobs are its scouts (a burst of jobs submitted at once
does not poll all at once: only the scouts do, the others wait for the first end). Jitter
keeps thousands of handles out of lock-step; a server ``Retry-After`` is honoured.
"""

from __future__ import annotations

import bisect
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

    def learn(self, now: float, times: JobTimes) -> None:
        """A poll found the job done: teach ``times`` (its kind's) what this wait saw."""
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
#: End-to-sample age ratios kept per progress tenth, and needed before they aim a poll.
RATIOS_KEPT = 64
RATIOS_MIN = 3
#: A ratio past this is no information (a hostile or stuck progress).
RATIO_MAX = 100.0


def tenth(progress: float) -> int:
    """The progress tenth (0-9) a reported progress falls in."""
    return min(max(int(progress * 10 + 1e-9), 0), 9)


#: A due poll is skipped while more jobs of its kind, submitted before it, still wait than
#: ``QUEUE_MARGIN`` times the most ever seen waiting ahead of a job of that kind when it
#: ended (plus ``QUEUE_SLACK``), once ``QUEUE_MIN`` such ends are known; at most
#: ``SKIPS_MAX`` polls in a row.
QUEUE_MARGIN = 1.5
QUEUE_SLACK = 3
QUEUE_MIN = 10
SKIPS_MAX = 3
#: While no job of a kind was seen to end, a job that is not one of its scouts skips at
#: most this many polls in a row (with the default growth, its age grows ~11x meanwhile);
#: the kind's first end calls it in.
COLD_SKIPS_MAX = 6

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

    __slots__ = ("_ends", "_late", "_ratios", "_sorted", "_sorted_ratios")

    def __init__(self) -> None:
        self._ends: deque[float] = deque(maxlen=TIMES_KEPT)
        self._late: deque[float] = deque(maxlen=TIMES_KEPT)
        self._sorted: tuple[list[float], list[float]] | None = None
        #: Per progress tenth: the end age over the age of a poll that saw that progress.
        self._ratios: dict[int, deque[float]] = {}
        self._sorted_ratios: dict[int, list[float]] = {}

    def __len__(self) -> int:
        return len(self._ends)

    def add(self, span: Span, seen: tuple[float, float] | None = None) -> None:
        """One job ended within ``span`` (ages, seconds); ``seen``: the age of its last
        poll that reported progress, and that progress (0-1)."""
        low, high = span
        if not (math.isfinite(low) and math.isfinite(high)) or high <= 0:
            return
        low = min(max(low, 0.0), high)
        end = math.sqrt(low * high) if low > 0 else high * 0.75
        self._ends.append(end)
        self._late.append(high)
        self._sorted = None
        if seen is not None:
            age, progress = seen
            ratio = end / age if 0.0 < age <= low else math.nan
            if 0.0 < progress < 1.0 and 1.0 <= ratio <= RATIO_MAX:
                key = tenth(progress)
                self._ratios.setdefault(key, deque(maxlen=RATIOS_KEPT)).append(ratio)
                self._sorted_ratios.pop(key, None)

    def progress_ratio(self, progress: float, q: float) -> float | None:
        """The ``q`` quantile of (end age / age) of jobs polled at this progress tenth: a
        job that reported ``progress`` at age A ends at about A times it (learned from the
        kind's finished jobs, whatever its progress curve). None until ``RATIOS_MIN``."""
        if not 0.0 < progress < 1.0:
            return None
        key = tenth(progress)
        ratios = self._ratios.get(key)
        if ratios is None or len(ratios) < RATIOS_MIN:
            return None
        ordered = self._sorted_ratios.get(key)
        if ordered is None:
            ordered = self._sorted_ratios[key] = sorted(ratios)
        return _quantile(ordered, q)

    def spread(self) -> tuple[float, float, float] | None:
        """The 10% and 90% quantiles of the spans' upper ends, and the longest (None until
        ``TIMES_MIN``): how widely the kind's job times vary."""
        low, high, longest = (self.quantile(q, late=True) or 0.0 for q in (0.1, 0.9, 1.0))
        return (low, high, longest) if low > 0 else None

    def quantile(self, q: float, late: bool = False) -> float | None:
        """The ``q`` quantile (0-1) of the recent ends (``late``: of the spans' upper
        ends); None until ``TIMES_MIN`` are known."""
        if len(self._ends) < TIMES_MIN:
            return None
        if self._sorted is None:
            self._sorted = (sorted(self._ends), sorted(self._late))
        return _quantile(self._sorted[1 if late else 0], q)


def _quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of a non-empty sorted list, interpolated."""
    k = min(max(q, 0.0), 1.0) * (len(ordered) - 1)
    lo = math.floor(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Backlog:
    """The jobs of one kind a client waits on, in submission order.

    A server that runs a bounded number of jobs of a kind at once, the rest waiting in
    FIFO order, ends a job only once few of those submitted before it still run: at most
    its capacity. The most jobs ever left waiting ahead of one that ended is learned
    (without a bound it is about all of them, and nothing is skipped); a job with many
    more ahead of it is still queued, and polling it only spends the rate limit.
    """

    __slots__ = ("_ends", "_most_ahead", "_waiting")

    def __init__(self) -> None:
        self._waiting: list[float] = []
        self._most_ahead = 0
        self._ends = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, submitted: float) -> None:
        bisect.insort(self._waiting, submitted)

    def remove(self, submitted: float) -> None:
        i = bisect.bisect_left(self._waiting, submitted)
        if i < len(self._waiting) and self._waiting[i] == submitted:
            del self._waiting[i]

    def ahead(self, submitted: float) -> int:
        """How many jobs submitted before ``submitted`` are still waited on."""
        return bisect.bisect_left(self._waiting, submitted)

    def ended(self, submitted: float) -> None:
        """The job submitted at ``submitted`` was seen done (and leaves the backlog)."""
        self._most_ahead = max(self._most_ahead, self.ahead(submitted))
        self._ends += 1
        self.remove(submitted)

    def queued(self, submitted: float) -> bool:
        """Whether the job submitted at ``submitted`` is surely still queued."""
        if self._ends < QUEUE_MIN:
            return False
        return self.ahead(submitted) > self._most_ahead * QUEUE_MARGIN + QUEUE_SLACK

    def cold(self, submitted: float, scouts: int) -> bool:
        """Whether no job of the kind was seen to end yet and at least ``scouts`` jobs
        submitted before this one still wait: until one ends, its polls would only learn
        what theirs do (its kind's jobs are all still running), so it skips them."""
        return self._ends == 0 and scouts > 0 and self.ahead(submitted) >= scouts


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
    #: The latest poll that reported progress: its age (-1: none yet) and that progress.
    seen_age: float = -1.0
    seen_progress: float = 0.0

    def observe(self, now: float, progress: float | None) -> None:
        """Take the sample of a poll that found the job running (progress 0-1 or None)."""
        self.last_running = now
        self.eta = None
        if not self.policy.use_progress or progress is None or not 0.0 < progress < 1.0:
            return
        if now > self.started:
            self.seen_age, self.seen_progress = now - self.started, progress
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

    def learn(self, now: float, times: JobTimes) -> None:
        """The job was just seen done: its end span, and its last progress sample."""
        seen = (self.seen_age, self.seen_progress) if self.seen_age > 0 else None
        times.add(self.finished_within(now), seen)

    def _progress_aim(self, age: float, times: JobTimes | None) -> float | None:
        """The end age the last progress seen predicts, by what the kind's finished jobs
        that reported the same progress took (None: nothing learned, or already past)."""
        q = self.policy.progress_quantile
        if times is None or self.seen_age <= 0 or q <= 0:
            return None
        ratio = times.progress_ratio(self.seen_progress, q)
        if ratio is None:
            return None
        aim = self.seen_age * ratio
        return aim if aim > age + self.policy.initial * MIN_GAP else None

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
        spread = times.spread() if times is not None and p.aim_quantiles else None
        if spread is not None:
            low, high, longest = spread
            if low <= age + p.initial * MIN_GAP and age < longest:
                # among the kind's ends (past its shorter ones, not past its longest): when
                # its job times vary less than ``factor`` (a kind of near-equal jobs), the
                # next poll grows by their spread instead (a step or two, then plainly)
                target = min(target, max(age * high / low, age + p.initial * MIN_GAP))
        interval = max(target - age, 1e-3)
        aimed = self._progress_aim(age, times)
        if aimed is not None:
            self.eta = self.started + aimed
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
