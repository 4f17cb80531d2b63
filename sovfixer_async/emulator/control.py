"""The ``/_emulator`` control surface (contract 12.1): no auth, never faulted, not counted."""

from __future__ import annotations

import json

from aiohttp import web
from attrs import asdict

from sovfixer_async.emulator.bodies import read_json
from sovfixer_async.emulator.faults import FAULTS
from sovfixer_async.emulator.protocol import BadRequest, parse_int
from sovfixer_async.emulator.route_faults import RouteFault
from sovfixer_async.emulator.state import STATE
from sovfixer_async.emulator.stats import STATS

routes = web.RouteTableDef()

#: Bytes a ``POST /_emulator/faults/routes`` body may have (100 rules fit many times over).
MAX_RULES_BODY = 256 * 1024


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


@routes.get("/_emulator/faults/routes")
async def get_route_faults(request: web.Request) -> web.Response:
    return web.json_response({"routes": request.app[FAULTS].routes.as_list()})


@routes.post("/_emulator/faults/routes")
async def add_route_faults(request: web.Request) -> web.Response:
    """Append one rule (a JSON object) or several (a list); all or none. Answers every rule."""
    if (request.content_length or 0) > MAX_RULES_BODY:
        raise BadRequest(f"A route fault body is at most {MAX_RULES_BODY} bytes.")
    raw = await request.content.read(MAX_RULES_BODY + 1)
    if len(raw) > MAX_RULES_BODY:
        raise BadRequest(f"A route fault body is at most {MAX_RULES_BODY} bytes.")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # 256 KiB of '[' is too deep
        raise BadRequest(f"Malformed JSON body: {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    try:
        rules = [RouteFault.from_json(item) for item in items]
        request.app[FAULTS].routes.add(rules)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return web.json_response({"routes": request.app[FAULTS].routes.as_list()})


@routes.delete("/_emulator/faults/routes")
async def clear_route_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].routes.clear()
    return web.json_response({"routes": []})


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
