"""The poll schedule as plain logic: geometric ages, Retry-After, progress, learned times.

A simulated job (its end, and the progress it reports) is polled by following
``next_interval`` (and ``defer``, as the scheduler does when a poll is due); no clock, no
server.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from sovfixer_async import PollPolicy
from sovfixer_async._poll_policy import TIMES_MIN, JobTimes, PollSchedule

POLICY = PollPolicy()  # first poll at 1 s, each at 1.5x the previous age, jitter 10%

Progress = Callable[[float], float | None]


def simulate(
    end: float,
    progress: Progress,
    *,
    times: JobTimes | None = None,
    policy: PollPolicy = POLICY,
) -> tuple[float, int]:
    """Poll a job that ends at ``end`` (s after submission): (when it is seen done, polls)."""
    schedule = PollSchedule(policy, 0.0, random.Random(7))
    now = schedule.next_interval(0.0, times=times)
    polls = 0
    while True:
        later = schedule.defer(now, times)
        if later > 0:
            now += later
            continue
        polls += 1
        if now >= end:
            return now, polls
        schedule.observe(now, progress(now))
        now += schedule.next_interval(now, times=times)


def linear(start: float, end: float, step: float) -> Progress:
    """Progress rising linearly from ``start`` to ``end``, reported in steps of ``step``."""

    def at(now: float) -> float | None:
        share = min(max((now - start) / (end - start), 0.0), 0.99)
        return math.floor(share / step) * step

    return at


def slow_start(start: float, end: float) -> Progress:
    """The realistic emulator's curve: the square of the elapsed share, in 10% steps."""

    def at(now: float) -> float | None:
        share = min(max((now - start) / (end - start), 0.0), 1.0)
        return min(math.floor(share * share * 10 + 1e-9) / 10, 0.9)

    return at


def learned(*ends: float) -> JobTimes:
    times = JobTimes()
    for end in ends:
        times.add((end, end))
    return times


def worst_ratio(policy: PollPolicy) -> float:
    """How late the plain schedule may see an end, relative to it (past the first poll)."""
    return 1.0 + (policy.factor - 1.0) * (1.0 + policy.jitter)


@given(st.floats(0.0, 10_000.0))
def test_poll_ages_grow_geometrically_between_the_bounds(age: float) -> None:
    schedule = PollSchedule(POLICY, 100.0, random.Random(1))
    schedule.observe(100.0 + age, None)
    interval = schedule.next_interval(100.0 + age)
    step = min(POLICY.max_interval, max(age, POLICY.initial) * (POLICY.factor - 1.0))
    upper = max(POLICY.initial, age + step) * (1 + POLICY.jitter)
    assert interval > 0
    assert age + interval <= upper + 1e-9


@settings(max_examples=300)
@given(end=st.floats(0.0, 5_000.0), seed=st.integers(0, 2**16))
def test_a_job_is_seen_within_the_factor_of_its_end_with_few_polls(end: float, seed: int) -> None:
    schedule_rng = random.Random(seed)
    schedule = PollSchedule(POLICY, 0.0, schedule_rng)
    now, polls = schedule.next_interval(0.0), 1
    while now < end:
        schedule.observe(now, None)
        now += schedule.next_interval(now)
        polls += 1
    first = POLICY.initial * (1 + POLICY.jitter)
    assert now <= max(first, end * worst_ratio(POLICY), end + POLICY.max_interval * 1.1) + 1e-6
    # about 1 + log(end / initial) / log(factor) polls (jitter and the ceiling aside)
    capped = POLICY.max_interval / (POLICY.factor - 1)  # the age from which steps are capped
    growth = math.log(1 + (POLICY.factor - 1) * (1 - POLICY.jitter))
    earliest = POLICY.initial * (1 - POLICY.jitter)  # the first poll, jittered early
    bound = 2 + math.log(max(min(end, capped), earliest) / earliest) / growth
    bound += max(0.0, end - capped) / (POLICY.max_interval * (1 - POLICY.jitter))
    assert polls <= bound
    if end <= POLICY.initial * (1 - POLICY.jitter):
        assert polls == 1


def test_the_first_poll_is_not_absurdly_early_and_few_polls_see_a_3_s_job() -> None:
    schedule = PollSchedule(POLICY, 0.0)
    assert schedule.next_interval(0.0) >= 0.9
    assert 0.9 <= 0.5 + schedule.next_interval(0.5) <= 1.1  # a missed first poll: still ~1 s
    seen, polls = simulate(3.0, lambda _: None)
    assert seen <= 3.0 * worst_ratio(POLICY)
    assert polls <= 5


def test_retry_after_pushes_the_poll_back_up_to_its_cap() -> None:
    schedule = PollSchedule(POLICY, 0.0, random.Random(1))
    assert 29.9 < schedule.next_interval(1.0, retry_after=30.0) <= 30.0
    assert schedule.next_interval(1.0, retry_after=10_000.0) == POLICY.max_retry_after


@settings(max_examples=300)
@given(
    end=st.floats(0.5, 3_000.0),
    working=st.floats(0.2, 1.0),
    curve=st.sampled_from(["linear-fine", "linear-coarse", "slow-start"]),
)
def test_progress_only_brings_polls_sooner(end: float, working: float, curve: str) -> None:
    # it works (and reports progress) during the last `working` share of its time
    start = end * (1 - working)
    progress = {
        "linear-fine": linear(start, end, 0.01),
        "linear-coarse": linear(start, end, 0.1),
        "slow-start": slow_start(start, end),
    }[curve]
    seen, _ = simulate(end, progress)
    plain_seen, _ = simulate(end, lambda _: None)
    assert seen <= plain_seen + 1e-9


def test_fine_progress_puts_the_poll_right_after_the_end() -> None:
    end = 60.0
    seen, polls = simulate(end, linear(30.0, end, 0.01))
    plain_seen, plain_polls = simulate(end, lambda _: None)
    assert seen - end < 1.0  # the plain schedule's lag at 60 s is up to 10 s
    assert seen <= plain_seen
    assert polls <= plain_polls + 2


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


def test_progress_can_be_ignored() -> None:
    schedule = PollSchedule(PollPolicy(use_progress=False), 0.0)
    schedule.observe(10.0, 0.2)
    schedule.observe(11.0, 0.9)
    assert schedule.eta is None


# -- learned job times -------------------------------------------------------------------


@given(st.lists(st.floats(0.01, 1e5), min_size=1, max_size=300), st.floats(0.0, 1.0))
def test_learned_quantiles_lie_within_the_recent_ends(ends: list[float], q: float) -> None:
    times = learned(*ends)
    value = times.quantile(q)
    if len(ends) < 5:
        assert value is None
    else:
        recent = ends[-256:]
        assert value is not None
        assert min(recent) - 1e-6 <= value <= max(recent) + 1e-6


@given(st.lists(st.floats(0.5, 100.0), min_size=20, max_size=100), st.floats(0.0, 1.0))
def test_quantiles_are_robust_to_one_outlier(ends: list[float], q: float) -> None:
    base = learned(*ends).quantile(0.1)
    with_outlier = learned(*ends, 1e6).quantile(0.1)
    assert base is not None
    assert with_outlier is not None
    ordered = sorted(ends)
    assert with_outlier <= ordered[min(len(ordered) - 1, math.ceil(0.1 * len(ordered)) + 1)]


def test_hostile_spans_are_ignored() -> None:
    times = JobTimes()
    for span in [(math.nan, 1.0), (0.0, math.inf), (-5.0, -1.0), (2.0, 0.0)]:
        times.add(span)
    assert len(times) == 0


@given(st.floats(1.0, 1_000.0), st.floats(0.01, 1.0))
def test_learned_times_put_off_polls_that_cannot_find_the_end(typical: float, age: float) -> None:
    # jobs of this kind end at about `typical` s: a poll due earlier than their 10% quantile
    # is put off to it (and the job is seen sooner than, or as soon as, the plain schedule)
    times = learned(*(typical * (0.9 + 0.02 * i) for i in range(10)))
    floor = times.quantile(POLICY.learned_quantile)
    assert floor is not None
    schedule = PollSchedule(POLICY, 0.0, random.Random(1))
    later = schedule.defer(age, times)
    assert age + later >= floor - 1e-9 or floor <= age * (1 + POLICY.jitter)


@settings(max_examples=200)
@given(end=st.floats(1.0, 500.0), spread=st.floats(0.0, 0.7), seed=st.integers(0, 1000))
def test_learned_times_keep_polls_few_and_latency(end: float, spread: float, seed: int) -> None:
    rng = random.Random(seed)
    times = learned(*(end * math.exp(rng.gauss(0.0, spread)) for _ in range(50)))
    seen, polls = simulate(end, lambda _: None, times=times)
    plain_seen, plain_polls = simulate(end, lambda _: None)
    # an aimed poll replaces a plain one and the growth goes on from it: about as many
    assert polls <= plain_polls + len(POLICY.aim_quantiles)
    # never later than the plain schedule's worst lag, counted from the learned floor
    floor = times.quantile(POLICY.learned_quantile) or 0.0
    assert seen <= max(plain_seen, floor * (1 + POLICY.jitter), end) * worst_ratio(POLICY) + 1e-6


def test_a_poll_aimed_by_progress_is_not_put_off() -> None:
    schedule = PollSchedule(POLICY, 0.0)
    schedule.observe(2.0, 0.2)
    schedule.observe(3.0, 0.6)
    assert schedule.eta is not None
    assert schedule.defer(3.5, learned(*[100.0] * 10)) == 0.0


def test_latency_first_polls_more_often_and_sees_ends_sooner() -> None:
    fast = PollPolicy.latency_first()
    for end in (0.8, 3.0, 7.5, 30.0):
        seen, polls = simulate(end, lambda _: None, policy=fast)
        _plain_seen, plain_polls = simulate(end, lambda _: None)
        assert polls >= plain_polls
        assert seen <= max(fast.initial * 1.1, end * worst_ratio(fast)) + 1e-6
        assert worst_ratio(fast) < worst_ratio(POLICY)


def test_a_learned_typical_end_brings_the_poll_sooner() -> None:
    # jobs of this kind were all seen done by 5.2 s: a job ending at 5 s is polled there,
    # not at the plain schedule's next poll (~7.6 s)
    times = JobTimes()
    for _ in range(10):
        times.add((3.4, 5.2))
    seen, polls = simulate(5.0, lambda _: None, times=times)
    plain_seen, plain_polls = simulate(5.0, lambda _: None)
    assert seen <= 5.2 + 1e-9 < plain_seen
    assert polls <= plain_polls


@settings(max_examples=200)
@given(
    typical=st.floats(0.5, 500.0),
    spread=st.floats(0.0, 0.05),
    where=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_a_kind_of_near_equal_jobs_is_polled_again_soon_among_its_ends(
    typical: float, spread: float, where: float, seed: int
) -> None:
    # every job of the kind took about `typical`: one found running among their ends ends
    # soon, so its next poll grows by their spread (or the least step), not by 1.5x
    rng = random.Random(seed)
    times = learned(*(typical * math.exp(rng.gauss(0.0, spread)) for _ in range(20)))
    low, high, _ = times.spread() or (math.nan, math.nan, math.nan)
    step = POLICY.initial * 0.1
    lead = step * 0.999  # (from just before low to just before high)
    age = low - lead + where * (high - low + lead) * 0.999
    schedule = PollSchedule(POLICY, 0.0, random.Random(seed))
    schedule.observe(age, None)
    interval = schedule.next_interval(age, times=times)
    assert interval <= max(age * (high / low - 1.0), step) + 1e-9
    plain = PollSchedule(POLICY, 0.0, random.Random(seed))
    plain.observe(age, None)
    floor = (times.quantile(POLICY.learned_quantile) or 0.0) - age  # (what may delay it)
    assert interval <= max(plain.next_interval(age), floor) + 1e-9  # never later


def test_a_job_past_every_end_of_its_kind_grows_plainly() -> None:
    # an outlier of a kind whose jobs all took 20 s is not polled every 0.1 s from then on
    times = learned(*[20.0] * 20)
    seen, polls = simulate(60.0, lambda _: None, times=times)
    _, plain_polls = simulate(60.0, lambda _: None)
    assert polls <= plain_polls + 2
    assert seen <= 60.0 + POLICY.max_interval * (1 + POLICY.jitter)


@given(ends=st.lists(st.floats(0.1, 1000.0), min_size=3, max_size=60), age=st.floats(0.0, 2000.0))
def test_the_spread_of_learned_times_never_delays_a_poll(ends: list[float], age: float) -> None:
    times = learned(*ends)
    schedule = PollSchedule(POLICY, 0.0, random.Random(3))
    plain = PollSchedule(POLICY, 0.0, random.Random(3))
    floor = times.quantile(POLICY.learned_quantile) or 0.0  # (what learned times may delay)
    interval = schedule.next_interval(age, times=times)
    assert interval <= max(plain.next_interval(age), floor - age) + 1e-9


def test_widely_spread_times_keep_the_plain_growth() -> None:
    times = learned(*(1.0 + i for i in range(20)))  # 1 s to 20 s: a spread of 10x
    policy = PollPolicy(jitter=0.0, learned_quantile=0.0)
    schedule, plain = PollSchedule(policy, 0.0), PollSchedule(policy, 0.0)
    for age in (0.0, 3.0, 25.0):  # (before the aims, and past them)
        assert schedule.next_interval(age, times=times) == plain.next_interval(age)
    assert learned(*range(1, TIMES_MIN)).spread() is None  # too few to tell


# -- progress, as the kind's finished jobs reported it ---------------------------------------


def finish(times: JobTimes, end: float, progress: Progress, policy: PollPolicy = POLICY) -> int:
    """Poll a job that ends at ``end`` to its end and teach ``times`` what was seen."""
    schedule = PollSchedule(policy, 0.0, random.Random(11))
    now, polls = schedule.next_interval(0.0, times=times), 1
    while now < end:
        schedule.observe(now, progress(now))
        now += schedule.next_interval(now, times=times)
        polls += 1
    schedule.learn(now, times)
    return polls


def test_learned_progress_aims_the_poll_at_the_end_it_predicts() -> None:
    # a slow-start curve (the straight line through two samples overestimates the end):
    # what finished jobs of the kind took from each progress tenth aims the next poll
    times = JobTimes()
    for i in range(20):
        end = 9.0 + 0.1 * i
        finish(times, end, slow_start(end / 2, end))
    ratios = [times.progress_ratio(tenth / 10 + 0.05, 0.5) for tenth in range(10)]
    learned = [r for r in ratios if r is not None]
    assert learned
    assert all(1.0 < r < 2.0 for r in learned)
    seen, polls = simulate(10.0, slow_start(5.0, 10.0), times=times)
    plain_seen, plain_polls = simulate(10.0, slow_start(5.0, 10.0))
    assert seen <= plain_seen
    assert seen - 10.0 < plain_seen - 10.0 or plain_seen - 10.0 < 0.5
    assert polls <= plain_polls + 1


@settings(max_examples=200)
@given(
    end=st.floats(1.0, 500.0),
    learned_end=st.floats(1.0, 500.0),
    working=st.floats(0.2, 1.0),
)
def test_learned_progress_never_delays_a_poll(
    end: float, learned_end: float, working: float
) -> None:
    # whatever the kind's other jobs took (even much longer), this one is seen no later
    # than without progress aims
    times = JobTimes()
    for _ in range(10):
        finish(times, learned_end, slow_start(learned_end * (1 - working), learned_end))
    progress = slow_start(end * (1 - working), end)
    seen, _ = simulate(end, progress, times=times)
    unaimed = PollPolicy(progress_quantile=0.0)
    unaimed_seen, _ = simulate(end, progress, times=times, policy=unaimed)
    # (an extra aimed poll shifts the jitter draws and the learned aims that follow: past
    # the 10 s ceiling those add up, so the plain schedule's own guarantee is the bound)
    floor = times.quantile(POLICY.learned_quantile) or 0.0
    guaranteed = max(
        end * worst_ratio(POLICY),
        end + POLICY.max_interval * (1 + POLICY.jitter),
        floor * (1 + POLICY.jitter) * worst_ratio(POLICY),
    )
    assert seen <= max(unaimed_seen * (1 + POLICY.jitter), guaranteed) + 1e-9


@given(
    age=st.floats(allow_nan=True, allow_infinity=True),
    progress=st.floats(allow_nan=True, allow_infinity=True),
    span=st.tuples(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9)),
)
def test_hostile_progress_samples_teach_nothing_out_of_bounds(
    age: float, progress: float, span: tuple[float, float]
) -> None:
    times = JobTimes()
    for _ in range(5):
        times.add(span, (age, progress))
    for p in (0.05, 0.5, 0.95):
        ratio = times.progress_ratio(p, 0.5)
        assert ratio is None or 1.0 <= ratio <= 100.0


def test_progress_ratios_are_kept_per_tenth_and_bounded() -> None:
    times = JobTimes()
    for _i in range(500):
        times.add((9.0, 11.0), (5.0, 0.42))
        times.add((9.0, 11.0), (8.0, 0.91))
    near_half = times.progress_ratio(0.45, 0.5)
    near_end = times.progress_ratio(0.95, 0.5)
    assert near_half is not None
    assert near_end is not None
    assert near_half > near_end
    assert times.progress_ratio(0.05, 0.5) is None  # nothing learned at that tenth
    assert all(len(ratios) <= 64 for ratios in times._ratios.values())


def test_progress_aims_can_be_turned_off() -> None:
    times = JobTimes()
    for _ in range(20):
        finish(times, 10.0, slow_start(5.0, 10.0))
    off = PollPolicy(progress_quantile=0.0, aim_quantiles=(), learned_quantile=0.0)
    plain = PollPolicy(aim_quantiles=(), learned_quantile=0.0, use_progress=False)
    assert simulate(10.0, slow_start(5.0, 10.0), times=times, policy=off) == simulate(
        10.0, slow_start(5.0, 10.0), times=times, policy=plain
    )
