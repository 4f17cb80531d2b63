"""The retry decision, tested without I/O: every rule, for every attempt, safety and policy."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async._config import RetryPolicy
from sovfixer_async._transport import (
    Failure,
    Outcome,
    RetryBudget,
    Safety,
    Verdict,
    backoff,
    decide,
    parse_retry_after,
)

policies = st.builds(
    RetryPolicy,
    attempts=st.integers(1, 12),
    backoff_initial=st.floats(0, 5),
    backoff_max=st.floats(0, 30),
    max_retry_after=st.floats(0, 120),
    resubmit_ambiguous=st.booleans(),
)
hints = st.one_of(st.none(), st.floats(0, 10_000))
answers = st.builds(Outcome.answered, st.integers(100, 599), hints)
failures = st.builds(Outcome, failure=st.sampled_from(Failure))
outcomes = st.one_of(answers, failures)
safeties = st.sampled_from(Safety)
attempts = st.integers(1, 20)
jitters = st.floats(0, 1)


@given(attempts, st.integers(200, 299), safeties, policies, st.booleans(), jitters)
def test_a_2xx_is_always_a_success(
    attempt: int, status: int, safety: Safety, policy: RetryPolicy, budget: bool, u: float
) -> None:
    outcome = Outcome.answered(status)
    decision = decide(attempt, outcome, safety, policy, budget_available=budget, jitter=u)
    assert decision.verdict is Verdict.SUCCESS


@given(attempts, outcomes, safeties, policies, st.booleans(), jitters)
def test_every_decision_keeps_the_rules(
    attempt: int, outcome: Outcome, safety: Safety, policy: RetryPolicy, budget: bool, u: float
) -> None:
    decision = decide(attempt, outcome, safety, policy, budget_available=budget, jitter=u)
    status, failure = outcome.status, outcome.failure
    refused = failure is Failure.NOT_SENT or status in (429, 503)
    maybe = failure is Failure.MAYBE_SENT or status in (502, 504)
    if decision.verdict is Verdict.RETRY:
        # Only what was refused, or what may repeat safely; never past the limits.
        assert refused or (maybe and (safety is not Safety.SUBMIT or policy.resubmit_ambiguous))
        assert attempt < policy.attempts
        assert budget
        floor = min(outcome.retry_after or 0.0, policy.max_retry_after)
        assert floor <= decision.delay <= max(policy.backoff_max, floor)
    if decision.verdict is Verdict.AMBIGUOUS:
        assert safety is Safety.SUBMIT
        assert maybe
        assert not policy.resubmit_ambiguous
    if decision.verdict is Verdict.SUCCESS:
        assert status is not None
        assert 200 <= status < 300 or (status == 409 and safety is Safety.START and attempt > 1)
    if not refused and not maybe and decision.verdict is not Verdict.SUCCESS:
        assert decision.verdict is Verdict.FAIL
        assert decision.reason == "not retryable"


@given(attempts, st.sampled_from([502, 504, None]), policies, jitters)
def test_a_submission_that_may_have_landed_is_never_repeated_blindly(
    attempt: int, status: int | None, policy: RetryPolicy, u: float
) -> None:
    outcome = Outcome.maybe_sent() if status is None else Outcome.answered(status)
    decision = decide(attempt, outcome, Safety.SUBMIT, policy, budget_available=True, jitter=u)
    if policy.resubmit_ambiguous:
        assert decision.verdict in (Verdict.RETRY, Verdict.FAIL)
    else:
        assert decision.verdict is Verdict.AMBIGUOUS


def test_conflict_on_a_repeated_start_counts_as_success() -> None:
    policy = RetryPolicy.no_wait()
    conflict = Outcome.answered(409)
    first = decide(1, conflict, Safety.START, policy, budget_available=True, jitter=0.5)
    again = decide(2, conflict, Safety.START, policy, budget_available=True, jitter=0.5)
    read = decide(2, conflict, Safety.IDEMPOTENT, policy, budget_available=True, jitter=0.5)
    assert (first.verdict, again.verdict, read.verdict) == (
        Verdict.FAIL,
        Verdict.SUCCESS,
        Verdict.FAIL,
    )


@given(policies, safeties, st.sampled_from([429, 503]))
def test_a_refusing_server_gets_exactly_the_policy_attempts(
    policy: RetryPolicy, safety: Safety, status: int
) -> None:
    attempt = 0
    while True:
        attempt += 1
        decision = decide(
            attempt, Outcome.answered(status), safety, policy, budget_available=True, jitter=1
        )
        if not decision.retry:
            break
    assert attempt == policy.attempts
    assert decision.reason == "attempts exhausted"


def test_a_spent_budget_stops_retries() -> None:
    decision = decide(
        1, Outcome.not_sent(), Safety.IDEMPOTENT, RetryPolicy(), budget_available=False, jitter=0
    )
    assert decision.verdict is Verdict.FAIL
    assert decision.reason == "retry budget spent"


@given(st.integers(1, 10_000), policies, hints, jitters)
def test_backoff_is_finite_capped_and_floored(
    attempt: int, policy: RetryPolicy, hint: float | None, u: float
) -> None:
    delay = backoff(attempt, policy, hint, u)
    floor = min(hint, policy.max_retry_after) if hint is not None else 0.0
    assert floor <= delay <= max(policy.backoff_max, floor)


@given(st.text(max_size=200))
def test_any_retry_after_header_is_a_finite_wait_or_none(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or 0 <= seconds < float("inf")


def test_retry_budget_available_takes_nothing_and_is_shared() -> None:
    now = [0.0]
    policy = RetryPolicy(budget_ratio=0.5, budget_window=10, budget_min_per_second=0.1)
    budget = RetryBudget(policy, clock=lambda: now[0])
    for _ in range(10):
        budget.record_request()
    assert all(budget.available() for _ in range(100))  # asking spends nothing
    granted = 0
    while budget.try_spend():  # the transport and the downloads draw from the one budget
        granted += 1
    assert granted == 5  # half of the 10 requests in the window
    assert not budget.available()


def test_backoff_delay_draws_its_jitter_from_the_generator() -> None:
    from sovfixer_async._transport import backoff_delay

    policy = RetryPolicy(backoff_initial=1, backoff_max=100)
    delays = {backoff_delay(3, policy, None, random.Random(seed)) for seed in range(20)}
    assert len(delays) > 1
    assert all(0 <= d <= 4 for d in delays)
