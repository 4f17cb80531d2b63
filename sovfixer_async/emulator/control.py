"""The ``/_emulator`` control surface (contract 12.1): no auth, never faulted, not counted."""

from __future__ import annotations

from aiohttp import web
from attrs import asdict

from sovfixer_async.emulator.bodies import read_json
from sovfixer_async.emulator.faults import FAULTS
from sovfixer_async.emulator.protocol import parse_int
from sovfixer_async.emulator.state import STATE
from sovfixer_async.emulator.stats import STATS

routes = web.RouteTableDef()


@routes.get("/_emulator/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/_emulator/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].snapshot())


@routes.post("/_emulator/stats/reset")
async def reset_stats(request: web.Request) -> web.Response:
    request.app[STATS].reset()
    return web.json_response(request.app[STATS].snapshot())


@routes.get("/_emulator/faults")
async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].knobs.as_dict())


@routes.post("/_emulator/faults")
async def set_faults(request: web.Request) -> web.Response:
    changes = await read_json(request, dict) or {}
    knobs = request.app[FAULTS].knobs
    knobs.merge(changes)
    return web.json_response(knobs.as_dict())


@routes.get("/_emulator/requests")
async def requests(request: web.Request) -> web.Response:
    """The last API requests (newest last): method, path, route, status, headers of interest."""
    log = list(request.app[STATS].requests)
    limit = request.query.get("limit")
    if limit is not None:
        count = parse_int(limit, "limit")
        log = log[-count:] if count > 0 else []
    return web.json_response({"requests": log})


@routes.get("/_emulator/settings")
async def settings(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[STATE].settings))


def add_routes(app: web.Application) -> None:
    """Register the control routes."""
    app.router.add_routes(routes)
