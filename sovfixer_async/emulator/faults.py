"""Injected faults: latency, 429/503, dropped connections, truncated downloads, ambiguous 502s.

One :class:`FaultInjector` per app holds the knobs (changeable at run time through
``POST /_emulator/faults``), the per-route rules (:mod:`.route_faults`, changeable through
``/_emulator/faults/routes``) and one ``random.Random`` seeded from the settings, so a run
with ``--seed`` is reproducible. ``/_emulator/*`` is never faulted.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from attrs import asdict, define

from sovfixer_async.emulator.protocol import BadRequest, error_response
from sovfixer_async.emulator.route_faults import RouteFault, RouteFaults
from sovfixer_async.emulator.settings import EmulatorSettings
from sovfixer_async.emulator.stats import DROPPED, STATS, is_api

#: Route names of the job-creating POSTs that ``ambiguous_rate`` applies to.
JOB_CREATING = frozenset({"sov_create", "initiate_update", "get_or_create_output", "bulk_enhance"})
#: Route names of file downloads that ``truncate_rate`` applies to.
DOWNLOADS = frozenset({"sov_output", "sov_input", "bulk_output"})
#: Set on a download request that must be cut mid-body.
TRUNCATE: web.RequestKey[bool] = web.RequestKey("sovfixer_emulator_truncate", bool)

RATES = ("fault_rate", "reset_rate", "truncate_rate", "ambiguous_rate")


@define
class FaultKnobs:
    """The knobs of ``POST /_emulator/faults``."""

    fault_rate: float = 0.0
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    ambiguous_rate: float = 0.0
    latency_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def merge(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` after validating all of them (all or nothing)."""
        checked: dict[str, float] = {}
        for name, value in changes.items():
            if name not in self.as_dict():
                raise BadRequest(f"Unknown fault knob {name!r}.", name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BadRequest(f"{name} must be a number.", name)
            number = float(value)
            upper = 1.0 if name in RATES else math.inf
            if not 0.0 <= number <= upper:
                raise BadRequest(f"{name} must be between 0 and {upper}.", name)
            checked[name] = number
        for name, number in checked.items():
            setattr(self, name, number)


@define
class FaultInjector:
    """The knobs plus the dice."""

    knobs: FaultKnobs
    rng: random.Random
    routes: RouteFaults

    @classmethod
    def from_settings(cls, settings: EmulatorSettings) -> FaultInjector:
        knobs = FaultKnobs(
            fault_rate=settings.fault_rate,
            reset_rate=settings.reset_rate,
            truncate_rate=settings.truncate_rate,
            ambiguous_rate=settings.ambiguous_rate,
            latency_ms=settings.latency_ms,
        )
        return cls(knobs, random.Random(settings.seed), RouteFaults.of(settings.route_faults))

    def roll(self, rate: float) -> bool:
        """True with probability ``rate`` (no draw at all when the rate is 0)."""
        return rate > 0.0 and self.rng.random() < rate


FAULTS: web.AppKey[FaultInjector] = web.AppKey("sovfixer_emulator_faults", FaultInjector)


def note_truncated(request: web.Request) -> None:
    """Count a download that was actually cut short."""
    request.app[STATS].faults_injected["truncate"] += 1


def _drop(request: web.Request) -> web.Response:
    """Close the connection: the client sees a reset, never this response."""
    request[DROPPED] = True
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def _route_fault(request: web.Request, rule: RouteFault, handler: Any) -> web.StreamResponse:
    """Answer as ``rule`` says (counted as a ``route`` fault)."""
    request.app[STATS].faults_injected["route"] += 1
    status = rule.status
    if status is not None:
        headers = {"Retry-After": "1"} if status in (429, 503) else None
        return error_response(status, f"Injected fault for {rule} (emulated).", headers=headers)
    if rule.action == "reset":
        return _drop(request)
    response: web.StreamResponse = await handler(request)
    if rule.action == "reset_after":
        return _drop(request)
    if 200 <= response.status < 300:  # ambiguous: the work is done, the answer lost
        return error_response(502, "Bad gateway (emulated): the request was processed.")
    return response


@web.middleware
async def faults_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Delay, refuse, drop or garble API requests as the knobs and route rules say."""
    if not is_api(request):
        response: web.StreamResponse = await handler(request)
        return response
    injector = request.app[FAULTS]
    knobs = injector.knobs
    stats = request.app[STATS]
    if knobs.latency_ms > 0:
        await asyncio.sleep(knobs.latency_ms / 1000)
    rule = injector.routes.pick(request.method, request.path, injector.roll)
    if rule is not None:
        return await _route_fault(request, rule, handler)
    if injector.roll(knobs.fault_rate):
        stats.faults_injected["fault"] += 1
        if injector.rng.random() < 0.5:
            return error_response(
                429, "Request was throttled (emulated).", headers={"Retry-After": "1"}
            )
        return error_response(503, "Service unavailable (emulated).", headers={"Retry-After": "1"})
    name = request.match_info.route.name
    if request.method == "GET" and injector.roll(knobs.reset_rate):
        stats.faults_injected["reset"] += 1
        return _drop(request)
    if name in DOWNLOADS and injector.roll(knobs.truncate_rate):
        request[TRUNCATE] = True
    if name in JOB_CREATING and injector.roll(knobs.ambiguous_rate):
        response = await handler(request)
        if 200 <= response.status < 300:
            stats.faults_injected["ambiguous"] += 1
            return error_response(502, "Bad gateway (emulated): the request was processed.")
        return response
    response = await handler(request)
    return response
