"""What a handle's wait asks the poll scheduler: the status request of one job, and where
each status seen goes (:class:`Watch`). Plain data and one request; the scheduler is
:mod:`sovfixer_async._polling`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from attrs import frozen

from sovfixer_async._config import PollPolicy
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
