"""The retry decision: a pure core, no I/O, no clock, no randomness of its own.

:func:`decide` answers, for one finished attempt, what the caller does next: return the
answer, wait and repeat, give up, or give up saying the submission is ambiguous. The
transport and the downloads both ask it, and both draw from one :class:`RetryBudget`.

Rules (one retry layer for the whole SDK):

- 2xx is a success; so is a 409 on a repeated ``start`` (the earlier attempt landed).
- 429, 503 and connections that never opened were not processed: repeat any request.
- 502, 504, dropped connections and read timeouts may have been processed: repeat reads
  and ``start``; a job-creating POST is ambiguous unless ``resubmit_ambiguous``.
- Every other answer is final. Repeats stop after ``policy.attempts`` attempts or when
  the budget is spent. Waits are capped exponential with full jitter; a ``Retry-After``
  hint (capped at ``max_retry_after``) is the floor.
"""

from __future__ import annotations

import enum
import re
import time
from collections import deque
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Protocol

from attrs import frozen

from sovfixer_async._config import RetryPolicy


class Safety(enum.Enum):
    """What may be repeated when a request's outcome is unknown (502, 504, dropped link)."""

    #: Reads: repeat freely.
    IDEMPOTENT = "idempotent"
    #: Update ``start``: repeat; a 409 on a repeat means the first one landed.
    START = "start"
    #: Job-creating POSTs and ``add_locations``: never repeat blindly.
    SUBMIT = "submit"


class Failure(enum.Enum):
    """How an attempt failed when no HTTP answer was read."""

    #: The connection never opened (refused, DNS, connect timeout): nothing was sent.
    NOT_SENT = "not sent"
    #: Dropped or timed out after the request was (maybe) written: outcome unknown.
    MAYBE_SENT = "maybe sent"


#: Statuses that mean "not processed, come back later" (any request may repeat).
REFUSED_STATUSES = frozenset({429, 503})
#: Gateway statuses: the request may have been processed behind the gateway.
GATEWAY_STATUSES = frozenset({502, 504})


@frozen
class Outcome:
    """What one attempt ended with: an HTTP status, or a failure without one."""

    status: int | None = None
    failure: Failure | None = None
    #: Seconds from the answer's ``Retry-After`` header, if any.
    retry_after: float | None = None

    @classmethod
    def answered(cls, status: int, retry_after: float | None = None) -> Outcome:
        return cls(status=status, retry_after=retry_after)

    @classmethod
    def not_sent(cls) -> Outcome:
        return cls(failure=Failure.NOT_SENT)

    @classmethod
    def maybe_sent(cls) -> Outcome:
        return cls(failure=Failure.MAYBE_SENT)

    @property
    def processed(self) -> bool | None:
        """True: the server answered for itself; False: it did not act; None: unknown."""
        if self.failure is Failure.NOT_SENT or self.status in REFUSED_STATUSES:
            return False
        if self.failure is Failure.MAYBE_SENT or self.status in GATEWAY_STATUSES:
            return None
        return True


class Verdict(enum.Enum):
    #: Hand the answer to the caller (a 2xx, or a 409 that confirms a ``start``).
    SUCCESS = "success"
    #: Wait ``Decision.delay`` seconds (one retry drawn from the budget), then repeat.
    RETRY = "retry"
    #: Raise the error of this outcome.
    FAIL = "fail"
    #: Raise ``AmbiguousSubmissionError``: the job may exist, its id is unknown.
    AMBIGUOUS = "ambiguous"


@frozen
class Decision:
    verdict: Verdict
    delay: float = 0.0
    #: Why: "ok", "conflict confirms start", "not retryable", "attempts exhausted", ...
    reason: str = ""

    @property
    def retry(self) -> bool:
        return self.verdict is Verdict.RETRY


def decide(
    attempt: int,
    outcome: Outcome,
    safety: Safety,
    policy: RetryPolicy,
    *,
    budget_available: bool,
    jitter: float,
) -> Decision:
    """The next step after ``attempt`` (1 for the first) ended with ``outcome``.

    ``budget_available`` says whether the shared budget has a retry left (ask
    :meth:`RetryBudget.available`; on ``RETRY`` call :meth:`RetryBudget.spend`).
    ``jitter`` is a uniform sample in [0, 1] that scales the backoff (pass
    ``random.random()``; tests pass fixed values).
    """
    status = outcome.status
    if status is not None and 200 <= status < 300:
        return Decision(Verdict.SUCCESS, reason="ok")
    if status == 409 and safety is Safety.START and attempt > 1:
        return Decision(Verdict.SUCCESS, reason="conflict confirms start")
    processed = outcome.processed
    if processed is True:
        return Decision(Verdict.FAIL, reason="not retryable")
    if processed is None and safety is Safety.SUBMIT and not policy.resubmit_ambiguous:
        return Decision(Verdict.AMBIGUOUS, reason="submission may have landed")
    if attempt >= policy.attempts:
        return Decision(Verdict.FAIL, reason="attempts exhausted")
    if not budget_available:
        return Decision(Verdict.FAIL, reason="retry budget spent")
    delay = backoff(attempt, policy, outcome.retry_after, jitter)
    return Decision(Verdict.RETRY, delay=delay, reason="retry")


def backoff(attempt: int, policy: RetryPolicy, retry_after: float | None, jitter: float) -> float:
    """Capped exponential backoff scaled by ``jitter`` in [0, 1]; a hint sets the floor."""
    exponent = min(max(attempt - 1, 0), 64)  # 2**64 x anything is past any cap
    ceiling = min(policy.backoff_max, policy.backoff_initial * (2.0**exponent))
    delay = min(max(jitter, 0.0), 1.0) * ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return delay


class _Uniform(Protocol):
    """What :func:`backoff_delay` needs of a random generator."""

    def uniform(self, a: float, b: float) -> float: ...


def backoff_delay(
    attempt: int, policy: RetryPolicy, retry_after: float | None, rng: _Uniform
) -> float:
    """Capped exponential backoff with full jitter drawn from ``rng``; a hint is the floor."""
    return backoff(attempt, policy, retry_after, rng.uniform(0.0, 1.0))


_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{0,6})?")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if len(value) > 64:
        return None
    if _SECONDS.fullmatch(value):  # digits only: no "inf", "nan", "1e999" or "-5"
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryBudget:
    """Retries may be at most ``ratio`` of requests over a sliding window, with a floor.

    One budget per client, shared by API requests and downloads: an outage cannot
    multiply traffic. Once spent, failures surface at once (polls then count as missed
    and wait for their next turn). Record every attempt with :meth:`record_request`;
    before a retry ask :meth:`available` (or :meth:`try_spend`, which also takes one).
    """

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic):
        self._policy = policy
        self._clock = clock
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        horizon = now - self._policy.budget_window
        for q in (self._requests, self._retries):
            while q and q[0] < horizon:
                q.popleft()

    def record_request(self) -> None:
        """Count one attempt (first tries and retries alike)."""
        self._requests.append(self._clock())

    def available(self) -> bool:
        """Whether one more retry fits in the budget now (takes nothing)."""
        self._trim(self._clock())
        allowed = max(
            self._policy.budget_ratio * len(self._requests),
            self._policy.budget_min_per_second * self._policy.budget_window,
        )
        return len(self._retries) < allowed

    def spend(self) -> None:
        """Take one retry (call after :meth:`available` said yes, or after ``RETRY``)."""
        self._retries.append(self._clock())

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when none is left."""
        if not self.available():
            return False
        self.spend()
        return True
