"""The poll schedule as plain logic: growth, Retry-After, estimated ends, sibling hints.

A simulated job (its end, and the progress it reports) is polled by following
``next_interval`` exactly as the scheduler does; no clock, no server.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from sovfixer_async import PollPolicy
from sovfixer_async._poll_policy import PollSchedule

POLICY = PollPolicy()  # initial 0.05 s, factor 1.1, ceiling 5 s, jitter 10%

Progress = Callable[[float], float | None]


def simulate(
    end: float,
    progress: Progress,
    *,
    sibling: tuple[float, float] | None = None,
    policy: PollPolicy = POLICY,
) -> tuple[float, int]:
    """Poll a job that ends at ``end`` (s after submission): (when it is seen done, polls)."""
    schedule = PollSchedule(policy, 0.0, random.Random(7))
    now = schedule.next_interval(0.0, sibling=sibling)
    polls = 1
    while now < end:
        schedule.observe(now, progress(now))
        now += schedule.next_interval(now, sibling=sibling)
        polls += 1
    return now, polls


def linear(start: float, end: float, step: float) -> Progress:
    """Progress rising linearly from ``start`` to ``end``, reported in steps of ``step``."""

    def at(now: float) -> float | None:
        share = min(max((now - start) / (end - start), 0.0), 0.99)
        return math.floor(share / step) * step

    return at


def plain_lag_bound(end: float, policy: PollPolicy = POLICY) -> float:
    """The plain schedule's worst-case lag for a job ending at ``end``."""
    growth = min(policy.max_interval, max(policy.initial, end * 1.1 * (policy.factor - 1)))
    return growth * (1 + policy.jitter)


@given(st.floats(0.0, 10_000.0))
def test_plain_interval_grows_with_age_between_the_bounds(elapsed: float) -> None:
    schedule = PollSchedule(POLICY, 100.0, random.Random(1))
    interval = schedule.next_interval(100.0 + elapsed)
    expected = min(5.0, max(0.05, elapsed * 0.1))
    assert expected * 0.9 <= interval <= expected * 1.1


def test_retry_after_pushes_the_poll_back_up_to_its_cap() -> None:
    schedule = PollSchedule(POLICY, 0.0, random.Random(1))
    assert 29.9 < schedule.next_interval(1.0, retry_after=30.0) <= 30.0
    assert schedule.next_interval(1.0, retry_after=10_000.0) == POLICY.max_retry_after


@settings(max_examples=300)
@given(
    end=st.floats(0.3, 3_000.0),
    working=st.floats(0.2, 1.0),
    step=st.sampled_from([0.01, 0.001, 0.1]),
)
def test_a_job_with_progress_is_seen_soon_after_its_end(
    end: float, working: float, step: float
) -> None:
    # it works (and reports progress) during the last `working` share of its time
    start = end * (1 - working)
    seen, polls = simulate(end, linear(start, end, step))
    _, plain_polls = simulate(end, lambda _: None)
    assert seen - end <= plain_lag_bound(end)
    assert polls <= plain_polls + 3


def test_fine_progress_puts_the_poll_right_after_the_end() -> None:
    end = 60.0
    seen, polls = simulate(end, linear(30.0, end, 0.01))
    _, plain_polls = simulate(end, lambda _: None)
    assert seen - end < 0.7  # the plain schedule's lag at 60 s is up to 6.6 s
    assert polls < plain_polls


@given(st.floats(0.0, 0.99), st.floats(1.0, 500.0))
def test_stalled_progress_keeps_the_plain_schedule(stuck: float, age: float) -> None:
    with_progress = PollSchedule(POLICY, 0.0, random.Random(3))
    without = PollSchedule(POLICY, 0.0, random.Random(3))
    for now in (age, age + 1.0, age + 2.0):
        with_progress.observe(now, stuck)
        without.observe(now, None)
        assert with_progress.next_interval(now) == without.next_interval(now)


def test_progress_at_one_without_the_end_gives_no_estimate() -> None:
    schedule = PollSchedule(POLICY, 0.0)
    schedule.observe(10.0, 0.5)
    schedule.observe(11.0, 1.0)
    assert schedule.eta is None


def test_a_sibling_end_draws_polls_into_its_span_and_no_sooner() -> None:
    # a job of the same kind ended between ages 50 and 55 s: this one, alike, ends at 51 s
    seen, polls = simulate(51.0, lambda _: None, sibling=(50.0, 55.0))
    plain_seen, plain_polls = simulate(51.0, lambda _: None)
    assert seen - 51.0 <= 5.0 / 3 + 1e-9
    assert seen <= plain_seen
    assert polls <= plain_polls + 3


@given(st.floats(0.0, 1_000.0), st.floats(0.01, 100.0), st.floats(0.0, 2_000.0))
def test_a_sibling_hint_never_polls_faster_than_three_times_the_plain_rate(
    since: float, width: float, age: float
) -> None:
    hinted = PollSchedule(POLICY, 0.0, random.Random(5))
    plain = PollSchedule(POLICY, 0.0, random.Random(5))
    interval = hinted.next_interval(age, sibling=(since, since + width))
    baseline = plain.next_interval(age)
    assert baseline / 3 - 1e-9 <= interval <= baseline
