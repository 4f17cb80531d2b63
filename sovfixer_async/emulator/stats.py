"""Counters and a request log of the API traffic, for ``GET /_emulator/stats`` and tests.

The stats middleware is the outermost one, so it sees every API request, including those
refused by an injected fault, and the status each one finally got.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from aiohttp import web
from attrs import define, field

from sovfixer_async.emulator.protocol import JSONDict
from sovfixer_async.emulator.timing import JobLog

JOB_KINDS = ("parse", "update", "output", "bulk_enhance")
FAULT_KINDS = ("fault", "reset", "truncate", "ambiguous", "route")
#: How many requests and callback deliveries are kept for inspection.
LOG_SIZE = 2000

#: Set on a request whose connection the emulator dropped on purpose (no status to count).
DROPPED: web.RequestKey[bool] = web.RequestKey("sovfixer_emulator_dropped", bool)


def is_api(request: web.BaseRequest) -> bool:
    return request.path.startswith("/api/")


def route_key(request: web.Request) -> str:
    """``"METHOD /template"``, e.g. ``"GET /api/v1/sov/update/{id}"``."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else "<unmatched>"
    return f"{request.method} {template}"


@define
class Stats:
    """Everything counted since start or the last :meth:`reset`."""

    requests_by_route: Counter[str] = field(factory=Counter)
    responses_by_status: Counter[str] = field(factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    jobs_created: Counter[str] = field(factory=Counter)
    outputs_cached: int = 0
    locations_submitted: int = 0
    faults_injected: Counter[str] = field(factory=Counter)
    callbacks_delivered: int = 0
    #: Every API request seen (throttled, faulted and dropped ones included).
    requests_total: int = 0
    #: Requests the per-token rate limit answered 429.
    rate_limited: int = 0
    #: Finished jobs (shared with the state's :class:`~.timing.JobTiming`).
    job_log: JobLog = field(factory=JobLog)
    callbacks: deque[JSONDict] = field(factory=lambda: deque(maxlen=LOG_SIZE))
    requests: deque[JSONDict] = field(factory=lambda: deque(maxlen=LOG_SIZE))
    #: Accepted ``delegate_to_team`` values, with their route (issue 14).
    delegations: deque[JSONDict] = field(factory=lambda: deque(maxlen=LOG_SIZE))
    #: Fields of each job-creating Ping.Extraction request (issue 14; see ``delegation``).
    submitted: deque[JSONDict] = field(factory=lambda: deque(maxlen=LOG_SIZE))

    def reset(self) -> None:
        """Zero every counter and forget the logs (requests in flight stay counted)."""
        self.requests_by_route.clear()
        self.responses_by_status.clear()
        self.max_in_flight = self.in_flight
        self.jobs_created.clear()
        self.outputs_cached = self.locations_submitted = self.callbacks_delivered = 0
        self.requests_total = self.rate_limited = 0
        self.job_log.reset()
        self.faults_injected.clear()
        self.callbacks.clear()
        self.requests.clear()
        self.delegations.clear()
        self.submitted.clear()

    def snapshot(self) -> dict[str, Any]:
        """The JSON body of ``GET /_emulator/stats`` (bounded: logs keep their newest entries)."""
        return {
            "requests_total": self.requests_total,
            "rate_limited": self.rate_limited,
            "requests_by_route": dict(self.requests_by_route),
            "responses_by_status": dict(self.responses_by_status),
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "jobs_created": {kind: self.jobs_created[kind] for kind in JOB_KINDS},
            "outputs_cached": self.outputs_cached,
            "locations_submitted": self.locations_submitted,
            "faults_injected": {kind: self.faults_injected[kind] for kind in FAULT_KINDS},
            "callbacks_delivered": self.callbacks_delivered,
            "callbacks": list(self.callbacks),
            "delegations": list(self.delegations),
            "submitted": list(self.submitted),
            **self.job_log.snapshot(),
        }


STATS: web.AppKey[Stats] = web.AppKey("sovfixer_emulator_stats", Stats)


def _log_entry(request: web.Request) -> JSONDict:
    headers = request.headers
    return {
        "at": time.time(),
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "route": route_key(request),
        "status": None,
        "authorization": bool(headers.get("Authorization")),
        "range": headers.get("Range"),
        "if_range": headers.get("If-Range"),
        "accept_encoding": headers.get("Accept-Encoding"),
        "content_encoding": headers.get("Content-Encoding"),
        "content_type": headers.get("Content-Type"),
        "user_agent": headers.get("User-Agent"),
    }


@web.middleware
async def stats_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Count API requests by route and status, track concurrency, keep a request log."""
    if not is_api(request):
        response: web.StreamResponse = await handler(request)
        return response
    stats = request.app[STATS]
    entry = _log_entry(request)
    stats.requests_by_route[entry["route"]] += 1
    stats.requests_total += 1
    stats.requests.append(entry)
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    status: str = "500"
    try:
        response = await handler(request)
        status = "dropped" if request.get(DROPPED) else str(response.status)
        return response
    except web.HTTPException as exc:
        status = str(exc.status)
        raise
    finally:
        stats.in_flight -= 1
        entry["status"] = status
        if status != "dropped":
            stats.responses_by_status[status] += 1
