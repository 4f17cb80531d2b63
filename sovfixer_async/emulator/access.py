"""Ping.Data delegation and the source access policy (contract 4.7, issue 14).

``delegate_to`` is accepted only for the organisations of ``--delegate-org`` (403
otherwise) and recorded; ``GET /api/v1/limits`` answers the policy the settings give
(``--source-allowlist``, ``--source-quota``) with usage counted from what was enriched in
the calendar windows (UTC); ``bulk_enhance`` and ``enhance`` are refused (403, naming the
source and the window) when a source is outside a restricted allowlist or a request needs
more than remains.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sovfixer_async.emulator.protocol import BadRequest, Body, JSONDict, query_body
from sovfixer_async.emulator.state import STATE, EmulatorState
from sovfixer_async.emulator.stats import route_key

#: Longest JSON text of an unknown bulk-body field kept in the record (longer: its name).
MAX_RECORDED_VALUE = 256


def forbidden(message: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=message)


def check_delegate(request: web.Request, value: object) -> str | None:
    """403 unless ``value`` (a ``delegate_to``) is absent or an allowed organisation."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("delegate_to must be a string.", "delegate_to")
    state: EmulatorState = request.app[STATE]
    if value not in state.settings.delegate_orgs:
        raise forbidden(
            f"You do not have permission to delegate to {value!r} (the delegate permission "
            "for that organisation is needed)."
        )
    return value


def record(request: web.Request, delegate: str | None, extra: Mapping[str, Any]) -> None:
    """Remember a call made with ``delegate_to`` or with unknown body fields."""
    if delegate is not None or extra:
        request.app[STATE].data_calls.append(
            {"route": route_key(request), "delegate_to": delegate, "extra": dict(extra)}
        )


def check_query_delegate(request: web.Request) -> Body:
    """The query as a body, its ``delegate_to`` checked."""
    query = query_body(request)
    record(request, check_delegate(request, query.get("delegate_to")), {})
    return query


def window_starts(now: float) -> dict[str, float]:
    """Start of today and of this month, UTC."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"daily": day.timestamp(), "monthly": day.replace(day=1).timestamp()}


def policy(state: EmulatorState, scope: str, subject: str) -> JSONDict:
    """The ``GET /api/v1/limits`` answer for the settings and the usage so far."""
    settings = state.settings
    starts = window_starts(state.clock())
    used: dict[str, dict[str, int]] = {}
    capped = {cap.source for cap in settings.source_quotas}
    for event in state.usage:
        if event.source not in capped:
            continue
        counts = used.setdefault(event.source, {})
        for window, start in starts.items():
            if event.at >= start:
                counts[window] = counts.get(window, 0) + event.count
    sources: JSONDict = {}
    for cap in settings.source_quotas:
        windows = (("daily", cap.daily), ("monthly", cap.monthly))
        limits = {w: n for w, n in windows if n is not None}
        if not limits:
            continue
        usage = {w: used.get(cap.source, {}).get(w, 0) for w in limits}
        remaining = {w: max(0, limits[w] - usage[w]) for w in limits}
        sources[cap.source] = {"limits": limits, "usage": usage, "remaining": remaining}
    allowlist = settings.source_allowlist
    return {
        "scope": scope,
        "subject": subject,
        "allowlist": {
            "mode": "unrestricted" if allowlist is None else "restricted",
            "source": "user",
            "sources": list(allowlist or ()),
        },
        "sources": sources,
    }


def enforce(state: EmulatorState, needs: Mapping[str, int]) -> None:
    """403 when a source is outside a restricted allowlist or over a remaining quota."""
    allowlist = state.settings.source_allowlist
    if allowlist is not None:
        outside = sorted(s for s in needs if s not in allowlist)
        if outside:
            raise forbidden(
                f"Source(s) {', '.join(outside)} are not in your source allowlist "
                f"({', '.join(allowlist) or 'empty'})."
            )
    if not state.settings.source_quotas:
        return
    sources = policy(state, "user", state.settings.username)["sources"]
    for source, count in sorted(needs.items()):
        entry = sources.get(source)
        if entry is None:
            continue
        for window, left in entry["remaining"].items():
            if count > left:
                raise forbidden(
                    f"Source {source}: {window} quota exceeded ({count} requested, "
                    f"{left} remaining of {entry['limits'][window]})."
                )


def recorded_extra(doc: Mapping[str, Any], known: frozenset[str]) -> JSONDict:
    """The unknown top-level fields of a body, short values kept (for tests to see)."""
    out: JSONDict = {}
    for key, value in doc.items():
        if key in known:
            continue
        text = json.dumps(value, default=str)
        out[str(key)] = value if len(text) <= MAX_RECORDED_VALUE else "<long value>"
    return out


async def limits(request: web.Request) -> web.Response:
    """``GET /api/v1/limits`` (contract 4.7)."""
    state: EmulatorState = request.app[STATE]
    query = check_query_delegate(request)
    username, org = query.get_str("username"), query.get_str("org_short_name")
    if username and org:
        raise BadRequest("username and org_short_name are mutually exclusive.", "org_short_name")
    own = state.settings.username
    if (org or (username and username != own)) and not state.settings.staff:
        raise forbidden("Only staff may read another user's or an organisation's limits.")
    delegate = query.get_str("delegate_to")
    if org:
        return web.json_response(policy(state, "org", org))
    if delegate:
        return web.json_response(policy(state, "org", delegate))
    return web.json_response(policy(state, "user", username or own))


async def data_calls(request: web.Request) -> web.Response:
    """``GET /_emulator/data_calls``: the recorded delegations and extra body fields."""
    return web.json_response({"calls": list(request.app[STATE].data_calls)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/limits", limits, name="limits")
    app.router.add_get("/_emulator/data_calls", data_calls)
