"""Ping.Extraction odds and ends: server info, buildings, shareable URLs, submissions (3.14)."""

from __future__ import annotations

import importlib.metadata

from aiohttp import web

from sovfixer_async.emulator import catalog, jobs
from sovfixer_async.emulator.bodies import read_body
from sovfixer_async.emulator.delegation import accept
from sovfixer_async.emulator.extraction import _sov, _state, created
from sovfixer_async.emulator.protocol import BadRequest, NotFound, iso_ms, origin_of
from sovfixer_async.emulator.stats import STATS

routes = web.RouteTableDef()


def _version() -> str:
    try:
        return importlib.metadata.version("sovfixer-async")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@routes.get("/api/v1/serverinfo", name="serverinfo")
async def serverinfo(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response(
        {
            "server": "sovfixer-async emulator",
            "version": _version(),
            "apis": ["Ping.Extraction", "Ping.Data"],
            "time": iso_ms(state.clock()),
            "job_seconds": state.settings.job_seconds,
        }
    )


@routes.post("/api/v1/sov/{sovid}/add_building", name="add_building")
async def add_building(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    jobs.advance(state)
    sov = _sov(state, request.match_info["sovid"])
    data = body.get_object("building_data")
    if data is None:
        raise BadRequest("building_data (an object) is required.", "building_data")
    if sov.latest() is None:
        raise BadRequest(f"SOV {sov.id} has not been parsed successfully (yet).", "sovid")
    building = jobs.add_building(sov, data)
    return web.json_response({"message": "OK", "item_key": building["item_key"]})


@routes.get("/api/v1/building/{item_key}", name="building")
async def building(request: web.Request) -> web.Response:
    state = _state(request)
    jobs.advance(state)
    item_key = request.match_info["item_key"]
    found = jobs.find_building(state, item_key)
    if found is None:
        raise NotFound("Building", item_key)
    return web.json_response(found)


@routes.get("/api/v1/pli/policy/{sovid}/get_public_shareable_url", name="shareable_url")
async def shareable_url(request: web.Request) -> web.Response:
    sov = _sov(_state(request), request.match_info["sovid"])
    return web.json_response({"url": f"{origin_of(request)}/maps/shared/{sov.id}"})


@routes.post("/api/v1/submission", name="submission")
async def submission(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_body(request)
    accept(request, body)
    document_type = (body.get_str("document_type") or "SOV").upper()
    if document_type not in catalog.DOCUMENT_TYPES:
        raise BadRequest(f"Unknown document_type {document_type!r}.", "document_type")
    jobs.advance(state)
    number, job = jobs.create_submission(
        state,
        origin=origin_of(request),
        document_type=document_type,
        client_ref=body.get_str("client_ref"),
        extra_data=body.with_prefix("extra_data_"),
        filename=body.get_str("filename"),
    )
    request.app[STATS].jobs_created["update"] += 1
    return created({"message": "OK", "id": number, "sudid": job.id})


def add_routes(app: web.Application) -> None:
    """Register the routes of this module."""
    app.router.add_routes(routes)
