"""What a handle's wait asks the poll scheduler: the status request of one job, and where
each status seen goes (:class:`Watch`); and the scheduler's record of one wait
(:class:`Poller`). Plain data and one request; the scheduler is
:mod:`sovfixer_async._polling`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import anyio
from attrs import frozen

from sovfixer_async._config import PollPolicy
from sovfixer_async._poll_policy import PollStrategy
from sovfixer_async._transport import Api, Transport, parse_retry_after


class Observed(Protocol):
    """What the scheduler reads of a status: whether it is terminal, and its progress."""

    @property
    def done(self) -> bool: ...

    @property
    def progress(self) -> float | None: ...


S = TypeVar("S", bound=Observed)


@frozen
class StatusQuery(Generic[S]):
    """One job's status request, and how its JSON answer becomes a status."""

    kind: str
    job_id: str
    api: Api
    path: str
    params: Mapping[str, str] | None
    parse: Callable[[Any], S]


async def fetch_status(transport: Transport, query: StatusQuery[S]) -> tuple[S, float | None]:
    """GET the status once: (status, the server's Retry-After in seconds or None)."""
    response = await transport.request(
        "GET",
        query.api,
        query.path,
        params=dict(query.params) if query.params is not None else None,
        job_id=query.job_id,
        what=f"status of {query.kind} job",
    )
    status = query.parse(response.json())
    return status, parse_retry_after(response.headers.get("Retry-After"))


@frozen
class Watch(Generic[S]):
    """What one handle's wait needs polled: the query, and where each status seen goes.

    ``apply`` takes every status a poll fetched and answers whether the job is now
    terminal (a handle that has seen its job terminal stays so, whatever comes later).
    """

    query: StatusQuery[S]
    apply: Callable[[S], bool]
    policy: PollPolicy
    submitted: float


def more_eager(policy: PollPolicy, than: PollPolicy) -> bool:
    """True when ``policy`` polls sooner than ``than`` (a lower ceiling, then first step)."""
    return (policy.max_interval, policy.initial) < (than.max_interval, than.initial)


class Poller:
    """The shared wait of one handle: its waiters, their event, and how the polling ended.

    ``active`` while polls are scheduled for it. It ends at a terminal status, an error
    that is not a missed poll (kept in ``error`` for the waiters), a status pushed by a
    callback, or when its last waiter leaves.
    """

    __slots__ = (
        "active",
        "due",
        "error",
        "finished",
        "owner",
        "schedule",
        "scope",
        "skips",
        "waiters",
        "watch",
    )

    def __init__(self, owner: object, watch: Watch[Any], schedule: PollStrategy) -> None:
        self.owner = owner
        self.watch = watch
        self.schedule = schedule
        self.waiters = 0
        self.active = True
        self.finished = anyio.Event()
        self.error: BaseException | None = None
        #: The cancel scope of the poll request in flight, if one is.
        self.scope: anyio.CancelScope | None = None
        #: The sequence number of its one live heap entry (older entries are skipped).
        self.due = -1
        #: Polls skipped in a row (its job surely queued, or not a scout; -1: no backlog).
        self.skips = -1
