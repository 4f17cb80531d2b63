"""The poll decision's interface: which failed polls are missed polls, and a strategy the
scheduler takes without knowing it (another policy needs no change to the scheduler)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovfixer_async import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PollPolicy,
    RateLimitError,
    SOVFixerError,
)
from sovfixer_async._config import ClientConfig, RetryPolicy
from sovfixer_async._context import JobContext
from sovfixer_async._events import EventBus
from sovfixer_async._lifecycle import Lifecycle, Receivers
from sovfixer_async._poll_policy import JobTimes, PollSchedule, PollStrategy, missed_poll
from sovfixer_async._workflows.catalog import Catalog
from sovfixer_async._workflows.output import get_or_create_output
from sovfixer_async.models import ResponseShapeError

SOVID = "s-no-ping-hggcsk"


@given(st.integers(min_value=400, max_value=599))
def test_a_status_error_is_missed_unless_it_says_the_job_or_access_is_gone(status: int) -> None:
    error = APIStatusError("status of output job", status, "no")
    gone = 400 <= status < 500 and status not in (408, 429)
    assert missed_poll(error) is not gone


@pytest.mark.parametrize(
    ("error", "missed"),
    [
        (APIConnectionError("poll", "reset"), True),
        (RateLimitError("poll", 429, "slow down"), True),
        (InternalServerError("poll", 502, "bad gateway"), True),
        (ResponseShapeError("OutputStatus", ["request: not an object"]), True),
        (ValueError("Expecting value: line 1 column 1"), True),
        (RecursionError("maximum recursion depth exceeded"), True),
        (SOVFixerError("a 2xx body that is not the expected JSON object"), True),
        (NotFoundError("poll", 404, "gone"), False),
        (AuthenticationError("poll", 401, "bad token"), False),
        (ConfigurationError("no token"), False),
        (TypeError("a bug"), False),
    ],
)
def test_missed_polls(error: BaseException, missed: bool) -> None:
    assert missed_poll(error) is missed


class Recording:
    """A strategy that polls at a fixed pace and records what it was told."""

    instances: ClassVar[list[Recording]] = []

    def __init__(self, policy: PollPolicy, started: float) -> None:
        self.running: list[float | None] = []
        self.finished = 0
        Recording.instances.append(self)

    def observe(self, now: float, progress: float | None) -> None:
        self.running.append(progress)

    def learn(self, now: float, times: JobTimes) -> None:
        self.finished += 1

    def next_interval(
        self, now: float, retry_after: float | None = None, times: JobTimes | None = None
    ) -> float:
        return 0.02

    def defer(self, now: float, times: JobTimes | None) -> float:
        return 0.0


def test_the_default_schedule_is_a_strategy() -> None:
    strategy: PollStrategy = PollSchedule(PollPolicy(), 0.0)
    assert strategy.next_interval(0.0) > 0


@pytest.mark.anyio
async def test_the_scheduler_takes_another_strategy(emulator: Any) -> None:
    config = ClientConfig(
        api_url=emulator.url, data_api_url=emulator.url, token="t", retry=RetryPolicy.no_wait()
    )
    context = JobContext.build(config, EventBus(), strategy=Recording)
    lifecycle = Lifecycle(context, Receivers(), keep_work_files=False)
    await lifecycle.open()
    try:
        job = await get_or_create_output(
            context,
            Catalog(context.transport),
            SOVID,
            "DEBUGJSON",
            revision=-1,
            overwrite_existing=True,
        )
        status = await job.wait(timeout=30)
    finally:
        await lifecycle.close()
    assert status.state == "COMPLETE"
    (strategy,) = Recording.instances
    assert strategy.finished == 1
    assert len(strategy.running) >= 1
