"""Delegation on Ping.Extraction calls (``delegate_to_team``) and a log of submitted fields.

The emulated token may act for the teams of ``--delegate-teams`` (the ``delegate``
permission the contract's 403 speaks of): any other team is refused with 403 before the
request has any effect. Every accepted delegation is recorded (``delegations`` in
``GET /_emulator/stats``), and so are the form or JSON fields of each job-creating request
(``submitted``: names and short values, files left out), so tests can see what a client
sent through.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from sovfixer_async.emulator.protocol import Body
from sovfixer_async.emulator.state import STATE
from sovfixer_async.emulator.stats import STATS, route_key

#: Longest value kept in the ``submitted`` log (longer ones are cut).
MAX_LOGGED_VALUE = 200


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_LOGGED_VALUE:
        return value[:MAX_LOGGED_VALUE] + "..."
    if isinstance(value, list):
        return [_short(item) for item in value[:20]]
    return value


def accept(request: web.Request, body: Body) -> str | None:
    """The team a request acts for (None: its own); 403 when the token may not act for it."""
    stats = request.app[STATS]
    stats.submitted.append(
        {
            "at": time.time(),
            "route": route_key(request),
            "fields": {
                name: _short(values[-1] if len(values) == 1 else values)
                for name, values in list(body.fields.items())[:100]
            },
            "files": [upload.filename for upload in body.files[:50]],
        }
    )
    team = body.get("delegate_to_team")
    if team is None or (isinstance(team, str) and not team.strip()):
        return None
    if isinstance(team, bool) or not isinstance(team, str | int):
        raise web.HTTPBadRequest(text="delegate_to_team must be a team UUID.")
    name = str(team).strip()
    allowed = request.app[STATE].settings.delegate_teams
    if name not in allowed:
        raise web.HTTPForbidden(
            text=f"You do not have permission to delegate to team {name[:80]!r}."
        )
    stats.delegations.append({"at": time.time(), "route": route_key(request), "team": name})
    return name
