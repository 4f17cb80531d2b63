"""Whether a download attempt that ended early is tried again, and after how long.

:func:`should_retry` asks the transport's pure retry core (``_transport._retry.decide``)
and spends from the transport's :class:`RetryBudget`, so download retries follow the same
rules and count against the same budget as every other request.

What is download-specific stays here: an attempt that brought new bytes is retried at
once and counts as no failure; a 429/503 refusal counts against ``RetryPolicy.attempts``;
any other failure (a dropped or stalled body: a GET, safe to repeat) against
``max_stalled_attempts`` (in a row).
"""

from __future__ import annotations

import random

import attrs
from attrs import define, frozen

from sovfixer_async._config import RetryPolicy
from sovfixer_async._transport import RetryBudget
from sovfixer_async._transport._retry import Outcome, Safety, Verdict, decide

_rng = random.Random()


@define
class Failure:
    """An attempt that ended without the whole body; why, and any server wait hint."""

    reason: str
    retry_after: float | None = None
    #: 429/503: the server refused for now; counted against the retry policy's attempts,
    #: like any request's, not against the stalled-attempts limit.
    refused: bool = False


@frozen
class Decision:
    """Retry after ``delay`` seconds, or (``delay`` None) give up because ``why``."""

    delay: float | None
    why: str = ""


def should_retry(
    attempt: int,
    failure: Failure,
    retry_after: float | None,
    budget: RetryBudget,
    *,
    policy: RetryPolicy,
    limit: int,
    rng: random.Random = _rng,
) -> Decision:
    """The decision after the ``attempt``-th failure in a row (1-based) of at most
    ``limit``: a backoff delay (floored by ``retry_after``) taken from ``budget``, or
    giving up. ``attempt`` 0 means the attempt made progress: retry at once, free."""
    if attempt <= 0:
        return Decision(0.0)
    outcome = Outcome.answered(503, retry_after) if failure.refused else Outcome.maybe_sent()
    decision = decide(
        attempt,
        outcome,
        Safety.IDEMPOTENT,
        attrs.evolve(policy, attempts=limit),
        budget_available=budget.available(),
        jitter=rng.random(),
    )
    if decision.verdict is Verdict.RETRY:
        budget.spend()
        return Decision(decision.delay)
    if decision.reason == "retry budget spent":
        return Decision(None, "the client's retry budget is spent, not retrying")
    if failure.refused:
        return Decision(None, f"refused {attempt} time(s)")
    return Decision(None, f"gave up after {attempt} attempt(s) in a row brought no new bytes")
