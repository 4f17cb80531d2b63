"""One request budget per API token across every live worker: each worker's share.

The live workers register in ``ledger_workers`` and renew their row with every heartbeat;
a worker's share of the budget is the total divided by the live workers (at least 1).
``apply_share`` gives the share to the client's request limiter (the number of requests
in flight) and to its adaptive rate limiter (a ceiling on requests per second).
"""

from __future__ import annotations

from attrs import frozen

from sovfixer_async._client import Client


@frozen
class RequestBudget:
    """What every worker together may use: requests in flight and per second."""

    max_in_flight: int | None = None
    rate: float | None = None

    def share(self, live_workers: int) -> RequestShare:
        live = max(1, live_workers)
        return RequestShare(
            None if self.max_in_flight is None else max(1, self.max_in_flight // live),
            None if self.rate is None else self.rate / live,
        )


@frozen
class RequestShare:
    """One worker's part of the budget."""

    max_in_flight: int | None
    rate: float | None


def apply_share(client: Client, share: RequestShare) -> None:
    """Set the client's request limiter to ``share`` (requests already in flight finish).

    The limit is the one ``ClientConfig.max_concurrent_requests`` sets when the client is
    made; the live limiter is adjusted so the share follows the number of live workers.
    """
    transport = client._context.transport
    if share.max_in_flight is not None:
        transport.limiter.total_tokens = share.max_in_flight
    if share.rate is not None:
        transport.rate.cap(share.rate)
