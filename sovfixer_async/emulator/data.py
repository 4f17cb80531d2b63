"""Ping.Data routes: contract 4.1-4.6 (bulk enhance, enhance, datasources, usage)."""

from __future__ import annotations

import contextlib
import functools
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from sovfixer_async.emulator import access, catalog, enrich, jobs, views
from sovfixer_async.emulator.bodies import read_json
from sovfixer_async.emulator.callbacks import CALLBACKS
from sovfixer_async.emulator.downloads import serve_blob
from sovfixer_async.emulator.extraction import check_sources
from sovfixer_async.emulator.protocol import (
    BadRequest,
    Body,
    JSONDict,
    NotFound,
    error_response,
    iso_ms,
    origin_of,
    parse_bool,
)
from sovfixer_async.emulator.state import STATE, EmulatorState
from sovfixer_async.emulator.stats import STATS

routes = web.RouteTableDef()

#: Query keys of ``GET /api/v1/enhance`` that are options, not location fields.
ENHANCE_OPTIONS = frozenset(
    {"sources", "timeout", "include_raw_response", "check_cache", "delegate_to"}
)
NUMERIC_FIELDS = frozenset({"latitude", "longitude"})
#: Top-level fields of a ``POST /api/v1/bulk_enhance`` body (contract 4.1).
BULK_FIELDS = frozenset(
    {
        "locations",
        "sources",
        "timeout",
        "include_raw_response",
        "check_cache",
        "callback_url",
        "delegate_to",
    }
)


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def check_timeout(value: object) -> float | None:
    """A ``timeout`` (JSON number or query text): a finite number of seconds, not negative
    (400 otherwise: NaN, infinity, 5000 digits, text)."""
    if value is None:
        return None
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float
            number = math.inf
    elif isinstance(value, str) and len(value) <= 64:
        with contextlib.suppress(ValueError):
            number = float(value)
    if not math.isfinite(number) or number < 0:
        raise BadRequest("timeout must be a finite number of seconds, not negative.", "timeout")
    return number


def _validate_bulk(state: EmulatorState, doc: object) -> tuple[list[JSONDict], list[str], JSONDict]:
    """Check a bulk enhance body; returns (locations, default sources, options)."""
    if not isinstance(doc, dict):
        raise BadRequest("The body must be a JSON object.")
    locations = doc.get("locations")
    if not isinstance(locations, list) or not locations:
        raise BadRequest("locations must be a non-empty list.", "locations")
    limit = state.settings.max_locations
    if len(locations) > limit:
        raise BadRequest(
            f"Too many locations: {len(locations)} (at most {limit} per request).", "locations"
        )
    raw_sources = doc.get("sources")
    if raw_sources is not None and not isinstance(raw_sources, list):
        raise BadRequest("sources must be a list of datasource codes.", "sources")
    sources = check_sources(raw_sources or [], "sources")
    seen: set[str] = set()
    for index, location in enumerate(locations):
        where = f"locations[{index}]"
        if not isinstance(location, dict):
            raise BadRequest(f"{where} must be an object.", where)
        ident = location.get("id")
        if not isinstance(ident, str) or not ident:
            raise BadRequest(f"{where}.id must be a non-empty string.", f"{where}.id")
        if ident in seen:
            raise BadRequest(f"Duplicate location id {ident!r}.", f"{where}.id")
        seen.add(ident)
        own = location.get("sources")
        if own is not None:
            if not isinstance(own, list):
                raise BadRequest(f"{where}.sources must be a list.", f"{where}.sources")
            location["sources"] = check_sources(own, f"{where}.sources")
        if not (location.get("sources") or sources):
            raise BadRequest(
                f"{where} has no sources (and no default sources were given).", "sources"
            )
    options: JSONDict = {
        "include_raw": parse_bool(doc.get("include_raw_response", False), "include_raw_response"),
        "callback_url": doc.get("callback_url") or None,
        "delegate_to": doc.get("delegate_to"),
        "extra": access.recorded_extra(doc, BULK_FIELDS),
    }
    parse_bool(doc.get("check_cache", True), "check_cache")  # type-checked, no cache here
    check_timeout(doc.get("timeout"))
    if options["callback_url"] is not None and not isinstance(options["callback_url"], str):
        raise BadRequest("callback_url must be a string.", "callback_url")
    return locations, sources, options


@routes.post("/api/v1/bulk_enhance", name="bulk_enhance")
async def bulk_enhance(request: web.Request) -> web.Response:
    state = _state(request)
    # aiohttp undoes Content-Encoding: gzip in bounded steps; read_json caps the decoded size
    # and checks the body in the worker thread that decodes it (if it is large)
    checked = await read_json(request, functools.partial(_validate_bulk, state))
    if checked is None:
        raise BadRequest("The body must be a JSON object.")
    locations, sources, options = checked
    delegate = access.check_delegate(request, options["delegate_to"])
    needs: dict[str, int] = {}
    for location in locations:
        for source in location.get("sources") or sources:
            needs[source] = needs.get(source, 0) + 1
    access.enforce(state, needs)
    access.record(request, delegate, options["extra"])
    jobs.advance(state)
    job = jobs.create_bulk(
        state,
        locations=locations,
        sources=sources,
        include_raw=options["include_raw"],
        origin=origin_of(request),
        callback_url=options["callback_url"],
    )
    stats = request.app[STATS]
    stats.jobs_created["bulk_enhance"] += 1
    stats.locations_submitted += len(locations)
    request.app[CALLBACKS].watch(job)
    return web.json_response({"id": job.id, "message": "OK"}, status=201)


@routes.get("/api/v1/bulk_enhance/{id}", name="bulk_status")
async def bulk_status(request: web.Request) -> web.Response:
    state = _state(request)
    now = jobs.advance(state)
    ident = request.match_info["id"]
    job = state.bulk_jobs.get(ident)
    if job is None:
        raise NotFound("Bulk enhance job", ident)
    return web.json_response(views.bulk_status(job, now, origin_of(request)))


@routes.get("/api/v1/bulk_enhance/{id}/output/{filename}", name="bulk_output")
async def bulk_output(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    jobs.advance(state)
    ident, filename = request.match_info["id"], request.match_info["filename"]
    job = state.bulk_jobs.get(ident)
    if job is None or job.output is None or filename != job.filename:
        raise NotFound("Bulk enhance output", f"{ident}/{filename}")
    return await serve_blob(request, job.output, filename, ranges=not state.settings.no_range)


def _location_from_query(query: Body) -> JSONDict:
    location: JSONDict = {}
    for key, values in query.fields.items():
        if key in ENHANCE_OPTIONS or not values:
            continue
        value: Any = values[0]
        if key in NUMERIC_FIELDS:
            try:
                value = float(value) if len(value) <= 64 else math.nan
            except ValueError:
                raise BadRequest(f"{key} must be a number.", key) from None
        location[key] = value
    return location


@routes.get("/api/v1/enhance", name="enhance")
async def enhance(request: web.Request) -> web.Response:
    state = _state(request)
    query = access.check_query_delegate(request)
    sources = check_sources(query.get_list("sources") or [], "sources")
    if not sources:
        raise BadRequest("sources is required.", "sources")
    location = _location_from_query(query)
    if not enrich.has_location_info(location):
        raise BadRequest(
            "No location information: give address, latitude and longitude, or "
            "address_line_1 and city.",
            "address",
        )
    check_timeout(query.get("timeout"))
    include_raw = query.get_bool("include_raw_response", False)
    query.get_bool("check_cache", True)  # type-checked, no cache here
    access.enforce(state, dict.fromkeys(sources, 1))
    data = jobs.enhance_one(state, location, sources, include_raw=include_raw)
    return web.json_response({"id": state.new_uuid(), "location_data": data})


@routes.get("/api/v1/datasources", name="datasources")
async def datasources(request: web.Request) -> web.Response:
    access.check_query_delegate(request)
    return web.json_response({"configs": catalog.datasource_configs()})


@routes.get("/api/v1/datasources/{code}", name="datasource")
async def datasource(request: web.Request) -> web.Response:
    access.check_query_delegate(request)
    code = request.match_info["code"]
    config = catalog.datasource_configs().get(code.upper())
    if config is None:
        raise NotFound("Datasource", code)
    return web.json_response({"config": config})


_RELATIVE = re.compile(r"^-(\d+)([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_GRANULARITY = (
    (timedelta(days=1), "5m", timedelta(minutes=5)),
    (timedelta(days=31), "1h", timedelta(hours=1)),
)


def _instant(value: str, now: datetime, field: str) -> datetime:
    """A usage bound: ``-5m``/``-1h``/``-30d`` or ISO-8601 (UTC when no offset)."""
    match = _RELATIVE.match(value.strip())
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{field} must be a relative offset (-5m, -1h, -30d) or ISO-8601.", field
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@routes.get("/api/v1/usage", name="usage")
async def usage(request: web.Request) -> web.Response:
    state = _state(request)
    query = access.check_query_delegate(request)
    username, org = query.get_str("username"), query.get_str("org_short_name")
    if username and org:
        return error_response(
            400,
            "username and org_short_name are mutually exclusive.",
            errors={"org_short_name": ["Give username or org_short_name, not both."]},
        )
    if (org or (username and username != state.settings.username)) and not state.settings.staff:
        raise access.forbidden("Only staff may read another user's or an organisation's usage.")
    now = datetime.fromtimestamp(state.clock(), UTC)
    end = _instant(query.get_str("end") or "-0m", now, "end")
    start = _instant(query.get_str("start") or "-30d", now, "start")
    if start > end:
        raise BadRequest("start must not be after end.", "start")
    granularity, step = "1d", timedelta(days=1)
    for span, name, size in _GRANULARITY:
        if end - start <= span:
            granularity, step = name, size
            break
    seconds = step.total_seconds()
    buckets: dict[float, dict[str, int]] = {}
    totals: dict[str, int] = {"total": 0}
    for event in state.usage:
        if not start.timestamp() <= event.at <= end.timestamp():
            continue
        bucket = buckets.setdefault(event.at // seconds * seconds, {"total": 0})
        for counts in (bucket, totals):
            counts[event.source] = counts.get(event.source, 0) + event.count
            counts["total"] += event.count
    return web.json_response(
        {
            "granularity": granularity,
            "start": iso_ms(start.timestamp()),
            "end": iso_ms(end.timestamp()),
            "buckets": [{"bucket": iso_ms(at), "counts": buckets[at]} for at in sorted(buckets)],
            "totals": totals,
        }
    )


def add_routes(app: web.Application) -> None:
    """Register the Ping.Data routes."""
    app.router.add_routes(routes)
    access.add_routes(app)
